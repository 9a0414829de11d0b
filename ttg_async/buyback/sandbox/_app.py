"""The Buyback sandbox's aiohttp.web application: routes, auth, faults and the envelope.

One middleware does the per-request bookkeeping (counters, request IDs, faults, the bearer
token) so each handler only validates its input and reads or changes the state. Fault
injection is the TTG sandbox's own (``ttg_async.sandbox._faults``), imported, not copied.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from aiohttp import web

from ttg_async.buyback.sandbox._catalog import Catalog, Event
from ttg_async.buyback.sandbox._state import (
    DELIVERY_TYPES,
    Partner,
    State,
    iso,
    order_wire,
    quote_wire,
)
from ttg_async.sandbox._faults import AFTER_COMMIT, PROXY_502, Fault, FaultPlan
from ttg_async.sandbox._plumbing import (
    date_param,
    int_param,
    retry_after_headers,
    strike_after,
    strike_before,
)
from ttg_async.sandbox._wirelog import WireLog

PREFIX: Final = "/partner"
_JSON: Final = "application/json"
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PARTNER_KEY: Final = web.RequestKey("tbb_partner", Partner)
REQUEST_ID_KEY: Final = web.RequestKey("tbb_request_id", str)
_PRINTABLE_RE: Final = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_QUANTITY: Final = 8

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_encoder: Final = msgspec.json.Encoder(decimal_format="number")


class BuybackApiError(Exception):
    """An error answer with the documented envelope; the middleware renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def _validation(field: str, message: str) -> BuybackApiError:
    return BuybackApiError(400, "VALIDATION_ERROR", message, {"field": field})


def _not_found(resource: str, resource_id: str) -> BuybackApiError:
    return BuybackApiError(
        404,
        "NOT_FOUND",
        f"No {resource} {resource_id!r} exists for this partner.",
        {"resource": resource, "id": resource_id},
    )


class App:
    """Builds the application over the sandbox's catalog, state and faults."""

    def __init__(
        self, catalog: Catalog, state: State, faults: FaultPlan, options: dict[str, Any]
    ) -> None:
        self.catalog = catalog
        self.state = state
        self.faults = faults
        # Live options the sandbox object changes: "pagination" quirk, "latency".
        self.options = options
        # What each request carried, as it arrived (read by BuybackSandbox.wire_log).
        self.wire = WireLog()

    def make(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        ev = PREFIX + "/v1/events/{event_id}"
        r.add_post(PREFIX + "/v1/auth/token", self.token)
        r.add_get(PREFIX + "/v1/events", self.events, allow_head=False)
        r.add_get(ev, self.event, allow_head=False)
        r.add_get(ev + "/sections", self.sections, allow_head=False)
        r.add_get(ev + "/sections/{section_name}/rows", self.rows, allow_head=False)
        r.add_post(PREFIX + "/v1/quotes", self.create_quote)
        r.add_post(PREFIX + "/v1/orders", self.create_order)
        return app

    # -- envelope ------------------------------------------------------------------------
    def _meta(self, request: web.Request) -> dict[str, Any]:
        return {"request_id": request[REQUEST_ID_KEY], "timestamp": iso(self.state.now())}

    def _ok(self, request: web.Request, data: Any, status: int = 200, **extra: Any) -> web.Response:
        body = {"success": True, "data": data, **extra, "meta": self._meta(request)}
        return web.Response(body=_encoder.encode(body), status=status, content_type=_JSON)

    def _error(self, request: web.Request, err: BuybackApiError) -> web.Response:
        error: dict[str, Any] = {"code": err.code, "message": err.message}
        if err.details is not None:
            error["details"] = err.details
        body = {"success": False, "error": error, "meta": self._meta(request)}
        return web.Response(
            body=_encoder.encode(body), status=err.status, content_type=_JSON, headers=err.headers
        )

    # -- the per-request pipeline --------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        counters = self.state.counters
        resource = request.match_info.route.resource
        route = "unmatched"
        if resource is not None:
            route = f"{request.method} {resource.canonical.removeprefix(PREFIX)}"
        counters.requests[route] = counters.requests.get(route, 0) + 1
        sent = request.headers.get("X-Request-ID")
        self.wire.open(route, sent, None, request.raw_path)
        if sent is not None:
            counters.attempts[sent] = counters.attempts.get(sent, 0) + 1
        echo = sent if sent is not None and _PRINTABLE_RE.match(sent) else None
        request_id = echo or str(uuid.uuid4())
        request[REQUEST_ID_KEY] = request_id

        fault = self.faults.pick(route) if self.faults.faults else None
        kind = None if fault is None else fault.kind
        if await strike_before(request, fault, float(self.options.get("latency", 0.0))):
            return web.Response(status=204)  # never written: the transport is gone
        if fault is not None and kind in ("status", "html_502"):
            return self._fault_response(request, fault)

        resp: web.StreamResponse
        try:
            if resource is None:
                raise BuybackApiError(404, "NOT_FOUND", f"No route {request.path}.")
            if route != "POST /v1/auth/token":
                request[PARTNER_KEY] = self._authenticate(request)
            resp = await handler(request)
        except BuybackApiError as err:
            resp = self._error(request, err)
        resp.headers["X-Request-ID"] = request_id
        if fault is None or kind not in AFTER_COMMIT:
            return resp
        return await strike_after(
            request, resp, fault, request_id, lambda: self._fault_response(request, fault)
        )

    def _fault_response(self, request: web.Request, fault: Fault) -> web.Response:
        if fault.kind in ("html_502", "html_502_after_commit"):
            return web.Response(body=PROXY_502, status=502, content_type="text/html")
        headers = {"X-Request-ID": request[REQUEST_ID_KEY], **retry_after_headers(fault)}
        code, message = "SANDBOX_FAULT", "Injected fault."
        if fault.status == 429:
            code, message = "RATE_LIMITED", "Too many requests; slow down."
        elif fault.status >= 500:
            code, message = "INTERNAL_ERROR", "Try again later."
        return self._error(request, BuybackApiError(fault.status, code, message, None, headers))

    def _authenticate(self, request: web.Request) -> Partner:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise BuybackApiError(401, "UNAUTHORIZED", "A Bearer token is required.")
        token = self.state.tokens.get(value.strip())
        if token is None or token.revoked:
            raise BuybackApiError(401, "UNAUTHORIZED", "The access token is not valid.")
        if self.state.now() >= token.expires_at:
            raise BuybackApiError(
                401, "TOKEN_EXPIRED", "The access token has expired. Request a new one."
            )
        partner = self.state.partner(token.client_id)
        assert partner is not None
        if partner.suspended:
            raise BuybackApiError(403, "ACCOUNT_SUSPENDED", "This partner account is suspended.")
        return partner

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            raise _validation("body", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _validation("body", "The request body must be a JSON object.")
        return body

    # -- auth ----------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        client_id, secret = body.get("client_id"), body.get("client_secret")
        grant = body.get("grant_type")
        if isinstance(client_id, str):
            counted = self.state.counters.token_requests
            counted[client_id] = counted.get(client_id, 0) + 1
        for name, value in (("client_id", client_id), ("client_secret", secret)):
            if not isinstance(value, str) or not value:
                raise _validation(name, f"{name} is required.")
        if grant != "client_credentials":
            raise BuybackApiError(
                400,
                "UNSUPPORTED_GRANT_TYPE",
                "grant_type must be client_credentials.",
                {"field": "grant_type"},
            )
        assert isinstance(client_id, str)
        assert isinstance(secret, str)
        partner = self.state.partner(client_id)
        if partner is None or partner.secret != secret:
            raise BuybackApiError(401, "INVALID_CREDENTIALS", "Invalid client credentials.")
        if partner.suspended:
            raise BuybackApiError(403, "ACCOUNT_SUSPENDED", "This partner account is suspended.")
        token = self.state.issue_token(partner)
        lifetime = token.expires_at - token.issued_at
        data = {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_at": iso(token.expires_at),
            "expires_in": int(lifetime) if float(lifetime).is_integer() else lifetime,
            "scope": "partner",
        }
        return self._ok(request, data)

    # -- discovery -----------------------------------------------------------------------
    def _event(self, request: web.Request) -> Event:
        event_id = request.match_info["event_id"]
        event = self.catalog.event(event_id)
        if event is None:
            raise _not_found("event", event_id)
        return event

    async def events(self, request: web.Request) -> web.Response:
        q = request.query
        limit = int_param(q, "limit", 20, 1, 100, _validation)
        offset = int_param(q, "offset", 0, 0, None, _validation)
        date_from = date_param(q, "date_from", _validation)
        date_to = date_param(q, "date_to", _validation)
        if date_from is not None and date_to is not None and date_to < date_from:
            raise _validation("date_to", "date_to must not be before date_from.")
        text = {}
        for name in ("q", "event_id", "venue_id", "venue_name", "performer_id", "performer_name"):
            value = q.get(name)
            if value is not None:
                if not value.strip():
                    raise _validation(name, f"{name} must not be empty.")
                text[name] = value
        found = self.catalog.search(date_from=date_from, date_to=date_to, **text)
        page = found[offset : offset + limit]
        total, has_more = len(found), offset + len(page) < len(found)
        quirk = self.options.get("pagination")
        if quirk == "lying_total":
            total = min(total, limit)  # disagrees with has_more on purpose
        elif quirk == "endless":
            has_more = True  # even on an empty page past the end
        pagination = {"total": total, "limit": limit, "offset": offset, "has_more": has_more}
        return self._ok(request, [e.wire() for e in page], pagination=pagination)

    async def event(self, request: web.Request) -> web.Response:
        return self._ok(request, self._event(request).wire())

    async def sections(self, request: web.Request) -> web.Response:
        event = self._event(request)
        data = [
            {"section_id": s.section_id, "section_name": s.name, "section_name_display": s.display}
            for s in event.sections
        ]
        return self._ok(request, data)

    async def rows(self, request: web.Request) -> web.Response:
        event = self._event(request)
        name = request.match_info["section_name"]
        section = event.section(name)
        if section is None:
            raise _not_found("section", name)
        data = [
            {"row_name": row, "row_name_display": f"Row {row}", "available_quantity": MAX_QUANTITY}
            for row in section.rows
        ]
        return self._ok(request, data)

    # -- quotes and orders ---------------------------------------------------------------
    @staticmethod
    def _payer(request: web.Request) -> Partner:
        partner = request[PARTNER_KEY]
        if not partner.payment_configured:
            raise BuybackApiError(
                403,
                "PAYMENT_NOT_CONFIGURED",
                "Configure a Routable payment method before creating quotes or orders.",
            )
        return partner

    async def create_quote(self, request: web.Request) -> web.Response:
        partner = self._payer(request)
        body = await self._body(request)
        event_id = _text(body, "event_id")
        section_name = _text(body, "section_name")
        quantity = body.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise _validation("quantity", "quantity must be an integer.")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise _validation("quantity", f"quantity must be between 1 and {MAX_QUANTITY}.")
        row = body.get("row_name")
        if row is not None:
            row = _text(body, "row_name")
        event = self.catalog.event(event_id)
        if event is None:
            raise _not_found("event", event_id)
        section = event.section(section_name)
        if section is None:
            raise _not_found("section", section_name)
        if row is not None and row not in section.rows:
            raise _not_found("row", row)
        quote = self.state.create_quote(partner, event, section, row, quantity)
        return self._ok(request, quote_wire(quote, self.state.now()), 201)

    async def create_order(self, request: web.Request) -> web.Response:
        partner = self._payer(request)
        body = await self._body(request)
        quote_id = _text(body, "quote_id")
        delivery_type = body.get("delivery_type")
        if delivery_type not in DELIVERY_TYPES:
            raise _validation(
                "delivery_type", f"delivery_type must be one of {', '.join(DELIVERY_TYPES)}."
            )
        raw_deadline = _text(body, "delivery_deadline")
        try:
            deadline = dt.datetime.fromisoformat(raw_deadline)
        except ValueError:
            raise _validation("delivery_deadline", "delivery_deadline must be ISO 8601.") from None
        if deadline.tzinfo is None or deadline.utcoffset() != dt.timedelta(0):
            raise _validation("delivery_deadline", "delivery_deadline must be in UTC.")
        quote = self.state.visible_quote(partner, quote_id)
        if quote is None:
            raise _not_found("quote", quote_id)
        now = self.state.now()
        if quote.order_id is not None:
            # A consumed quote says so even after its TTL: the order exists.
            raise BuybackApiError(
                422,
                "QUOTE_ALREADY_CONSUMED",
                "This quote has already been used for an order.",
                {"quote_id": quote.quote_id, "order_id": quote.order_id},
            )
        if now >= quote.expires_at:
            raise BuybackApiError(
                422,
                "QUOTE_EXPIRED",
                "The requested quote has expired. Please create a new quote.",
                {"quote_id": quote.quote_id, "expired_at": iso(quote.expires_at)},
            )
        if deadline >= quote.event.starts_at:
            raise _validation("delivery_deadline", "delivery_deadline must be before the event.")
        if deadline.timestamp() <= now:
            raise _validation("delivery_deadline", "delivery_deadline must be in the future.")
        order = self.state.create_order(
            partner, quote, delivery_type, deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        return self._ok(request, order_wire(order), 201)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _validation(name, f"{name} must be a non-empty string.")
    return value


__all__ = ["PREFIX", "App", "BuybackApiError"]
