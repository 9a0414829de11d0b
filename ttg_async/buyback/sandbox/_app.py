"""The Buyback sandbox's aiohttp.web application: routes, auth, faults and the envelope.

One middleware does the per-request bookkeeping (counters, request IDs, faults, the bearer
token) so each handler only validates its input and reads or changes the state; bodies are
read and checked by ``_rules``. Every refusal, and any failure, is answered in the envelope.
Fault injection is the TTG sandbox's own (``ttg_async.sandbox._faults``), imported, not copied.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from aiohttp import hdrs, web

from ttg_async.buyback.sandbox._catalog import Catalog, Event
from ttg_async.buyback.sandbox._rules import (
    IN_HAND_LEAD_DAYS,
    MAX_FORM_BYTES,
    BuybackApiError,
    check_pdf,
    delivery_type,
    iso_day,
    not_found,
    quote_extras,
    read_form,
    read_json,
    text_field,
    validation,
)
from ttg_async.buyback.sandbox._state import (
    BodyRecord,
    Partner,
    QuoteRecord,
    State,
    iso,
    order_wire,
    quote_wire,
)
from ttg_async.sandbox._faults import AFTER_COMMIT, PROXY_502, Fault, FaultPlan, proxy_answer
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
PARTNER_KEY: Final = web.RequestKey("tbb_partner", Partner)
REQUEST_ID_KEY: Final = web.RequestKey("tbb_request_id", str)
RECORD_KEY: Final = web.RequestKey("tbb_record", BodyRecord)
_MULTIPART: Final = "multipart/form-data"
# The payout version's section descriptions; the others have none (null on the wire).
_SECTION_DESC: Final = {
    "Floor A": "Standing room in front of the stage",
    "Club & Suites": "Padded seats with access to the club lounge",
    "Box #5": "A private box",
}
_GA_SECTIONS: Final = frozenset({"Floor A"})
# The envelope's codes for the refusals aiohttp or the body readers raise as HTTP errors.
_HTTP_CODES: Final = {
    400: "VALIDATION_ERROR",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
log: Final = logging.getLogger("ttg_async.buyback.sandbox")
_PRINTABLE_RE: Final = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_QUANTITY: Final = 8

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_encoder: Final = msgspec.json.Encoder(decimal_format="number")


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
        # aiohttp's own limit only backs ours up: JSON bodies stop at MAX_JSON_BYTES (413 in
        # the envelope), multipart orders at MAX_FORM_BYTES.
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_FORM_BYTES)
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

    def render_error(self, status: int) -> web.Response:
        """The answer to a request aiohttp answers itself (unparsable: 400; a crash: 500)."""
        code, message = (
            ("INTERNAL_ERROR", "The server failed.")
            if status >= 500
            else (
                "VALIDATION_ERROR",
                "The request could not be read.",
            )
        )
        request_id = str(uuid.uuid4())
        meta = {"request_id": request_id, "timestamp": iso(self.state.now())}
        body = {"success": False, "error": {"code": code, "message": message}, "meta": meta}
        return web.Response(
            body=_encoder.encode(body),
            status=status,
            content_type=_JSON,
            headers={"X-Request-ID": request_id},
        )

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
        if fault is not None and kind in ("status", "html_502", "proxy_status"):
            return self._fault_response(request, fault)

        record = counters.record(
            route, sent, request.headers.get(hdrs.CONTENT_TYPE), request.content_length
        )
        request[RECORD_KEY] = record
        resp = await self._handle(request, handler, route)
        record.status = resp.status
        resp.headers["X-Request-ID"] = request_id
        if fault is None or kind not in AFTER_COMMIT:
            return resp
        return await strike_after(
            request, resp, fault, request_id, lambda: self._fault_response(request, fault)
        )

    async def _handle(self, request: web.Request, handler: Handler, route: str) -> web.Response:
        """Run the handler; every refusal, and any failure, is answered in the envelope."""
        try:
            if route == "unmatched":
                raise self._no_route(request)
            if route != "POST /v1/auth/token":
                request[PARTNER_KEY] = self._authenticate(request)
            if request.method == "POST":
                self._check_content_type(request, route)
            resp = await handler(request)
            assert isinstance(resp, web.Response)
            return resp
        except BuybackApiError as err:
            return self._error(request, err)
        except web.HTTPException as exc:
            # aiohttp's own refusals (a body over client_max_size): the envelope, not text.
            code = _HTTP_CODES.get(exc.status, "HTTP_ERROR")
            return self._error(request, BuybackApiError(exc.status, code, exc.reason))
        except Exception:
            log.exception("the Buyback sandbox failed on %s %s", request.method, request.path)
            failure = BuybackApiError(500, "INTERNAL_ERROR", "The sandbox failed; this is a bug.")
            return self._error(request, failure)

    @staticmethod
    def _no_route(request: web.Request) -> BuybackApiError:
        exc = getattr(request.match_info, "http_exception", None)
        if isinstance(exc, web.HTTPMethodNotAllowed):
            allowed = ", ".join(sorted(exc.allowed_methods))
            return BuybackApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {request.path}; use {allowed}.",
                {"allowed": sorted(exc.allowed_methods)},
                {"Allow": allowed},
            )
        return BuybackApiError(404, "NOT_FOUND", f"No route {request.path}.")

    def _check_content_type(self, request: web.Request, route: str) -> None:
        """JSON for every POST, except a payout version's order: multipart/form-data."""
        wanted = _JSON
        if route == "POST /v1/orders" and self.state.docs_version == "payout":
            wanted = _MULTIPART
        if request.content_type != wanted:
            sent = request.headers.get(hdrs.CONTENT_TYPE) or "none"
            raise BuybackApiError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"This endpoint takes {wanted}, not {sent}.",
                {"expected": wanted},
            )

    def _fault_response(self, request: web.Request, fault: Fault) -> web.Response:
        if fault.kind in ("html_502", "html_502_after_commit"):
            return web.Response(body=PROXY_502, status=502, content_type="text/html")
        if fault.kind == "proxy_status":
            return web.Response(
                body=proxy_answer(fault.status), status=fault.status, content_type="text/plain"
            )
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

    # -- auth ----------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        body = await read_json(request, request[RECORD_KEY])
        client_id, secret = body.get("client_id"), body.get("client_secret")
        grant = body.get("grant_type")
        if isinstance(client_id, str):
            counted = self.state.counters.token_requests
            counted[client_id] = counted.get(client_id, 0) + 1
        for name, value in (("client_id", client_id), ("client_secret", secret)):
            if not isinstance(value, str) or not value:
                raise validation(name, f"{name} is required.")
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
            raise not_found("event", event_id)
        return event

    async def events(self, request: web.Request) -> web.Response:
        q = request.query
        limit = int_param(q, "limit", 20, 1, 100, validation)
        offset = int_param(q, "offset", 0, 0, None, validation)
        date_from = date_param(q, "date_from", validation)
        date_to = date_param(q, "date_to", validation)
        if date_from is not None and date_to is not None and date_to < date_from:
            raise validation("date_to", "date_to must not be before date_from.")
        text = {}
        for name in ("q", "event_id", "venue_id", "venue_name", "performer_id", "performer_name"):
            value = q.get(name)
            if value is not None:
                if not value.strip():
                    raise validation(name, f"{name} must not be empty.")
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
        size = int(self.options.get("section_page_size", 100))
        limit = min(int_param(request.query, "limit", size, 1, 100, validation), size)
        offset = int_param(request.query, "offset", 0, 0, None, validation)
        page = event.sections[offset : offset + limit]
        partner = request[PARTNER_KEY]
        data: list[dict[str, Any]] = []
        for section in page:
            if self.state.docs_version == "payout":
                data.append(
                    {
                        "section_name": section.name,
                        "section_name_display": section.display,
                        "section_desc": _SECTION_DESC.get(section.name),
                        "is_ga": section.name in _GA_SECTIONS,
                        "has_quote": self.state.has_quote(partner, event, section),
                    }
                )
            else:
                data.append(
                    {
                        "section_id": section.section_id,
                        "section_name": section.name,
                        "section_name_display": section.display,
                    }
                )
        total = len(event.sections)
        has_more = offset + len(page) < total
        pagination = {"total": total, "limit": limit, "offset": offset, "has_more": has_more}
        return self._ok(request, data, pagination=pagination)

    async def rows(self, request: web.Request) -> web.Response:
        event = self._event(request)
        name = request.match_info["section_name"]
        section = event.section(name)
        if section is None:
            raise not_found("section", name)
        data = [
            {"row_name": row, "row_name_display": f"Row {row}", "available_quantity": MAX_QUANTITY}
            for row in section.rows
        ]
        return self._ok(request, data)

    # -- quotes and orders ---------------------------------------------------------------
    def _payer(self, request: web.Request) -> Partner:
        partner = request[PARTNER_KEY]
        if not partner.payment_configured:
            if self.state.docs_version == "payout":
                raise BuybackApiError(
                    403,
                    "PAYOUT_METHOD_NOT_CONFIGURED",
                    "Configure a payout method before creating quotes or orders.",
                )
            raise BuybackApiError(
                403,
                "PAYMENT_NOT_CONFIGURED",
                "Configure a Routable payment method before creating quotes or orders.",
            )
        return partner

    async def create_quote(self, request: web.Request) -> web.Response:
        partner = self._payer(request)
        body = await read_json(request, request[RECORD_KEY])
        event_id = text_field(body, "event_id")
        section_name = text_field(body, "section_name")
        quantity = body.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise validation("quantity", "quantity must be an integer.")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise validation("quantity", f"quantity must be between 1 and {MAX_QUANTITY}.")
        row = body.get("row_name")
        if row is not None:
            row = text_field(body, "row_name")
        event = self.catalog.event(event_id)
        if event is None:
            raise not_found("event", event_id)
        section = event.section(section_name)
        if section is None:
            raise not_found("section", section_name)
        if row is not None and row not in section.rows:
            raise not_found("row", row)
        # The seed version documents none of these, so there a server ignores them.
        extras = quote_extras(body) if self.state.docs_version == "payout" else {}
        quote = self.state.create_quote(partner, event, section, row, quantity, extras)
        return self._ok(request, quote_wire(quote, self.state.now()), 201)

    async def create_order(self, request: web.Request) -> web.Response:
        partner = self._payer(request)
        if self.state.docs_version == "payout":
            return await self._multipart_order(request, partner)
        body = await read_json(request, request[RECORD_KEY])
        quote_id = text_field(body, "quote_id")
        kind = delivery_type(body.get("delivery_type"))
        raw_deadline = text_field(body, "delivery_deadline")
        try:
            deadline = dt.datetime.fromisoformat(raw_deadline)
        except ValueError:
            raise validation("delivery_deadline", "delivery_deadline must be ISO 8601.") from None
        if deadline.tzinfo is None or deadline.utcoffset() != dt.timedelta(0):
            raise validation("delivery_deadline", "delivery_deadline must be in UTC.")
        quote = self._orderable_quote(partner, quote_id)
        if deadline >= quote.event.starts_at:
            raise validation("delivery_deadline", "delivery_deadline must be before the event.")
        if deadline.timestamp() <= self.state.now():
            raise validation("delivery_deadline", "delivery_deadline must be in the future.")
        order = self.state.create_order(
            partner,
            quote,
            kind,
            delivery_deadline=deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return self._ok(request, order_wire(order), 201)

    async def _multipart_order(self, request: web.Request, partner: Partner) -> web.Response:
        """The payout version's order: multipart/form-data, with a PDF for pdf delivery."""
        form = await read_form(request, request[RECORD_KEY])

        def text(name: str) -> str | None:
            found = form.get(name)
            if found is None:
                return None
            if found[0].filename is not None:
                raise validation(name, f"{name} must be a plain form field, not a file.")
            return found[0].text

        quote_id = text("quote_id")
        if not quote_id or not quote_id.strip():
            raise validation("quote_id", "quote_id must be a non-empty string.")
        kind = delivery_type(text("delivery_type"))
        ready_text = text("is_ready_to_deliver")
        if ready_text not in ("true", "false"):
            raise validation("is_ready_to_deliver", "is_ready_to_deliver must be true or false.")
        ready = ready_text == "true"
        in_hand_text = text("in_hand_date")
        in_hand = None
        if in_hand_text is not None:
            in_hand = iso_day(in_hand_text, "in_hand_date")
        elif not ready:
            raise validation("in_hand_date", "in_hand_date is required when not ready to deliver.")
        file = form.get("file")
        if kind == "pdf":
            if file is None:
                raise validation("file", "file (the ticket PDF) is required for pdf delivery.")
            check_pdf(*file)
        elif file is not None:
            raise validation("file", "Only pdf delivery takes a file.")
        quote = self._orderable_quote(partner, quote_id)
        if in_hand is not None:
            latest = quote.event.local_start.date() - dt.timedelta(days=IN_HAND_LEAD_DAYS)
            if in_hand > latest:
                raise validation(
                    "in_hand_date",
                    f"in_hand_date must be at least {IN_HAND_LEAD_DAYS} days before the event.",
                )
        order = self.state.create_order(
            partner,
            quote,
            kind,
            is_ready_to_deliver=ready,
            in_hand_date=None if in_hand is None else in_hand.isoformat(),
            file_size=None if file is None else file[0].size,
        )
        return self._ok(request, order_wire(order), 201)

    def _orderable_quote(self, partner: Partner, quote_id: str) -> QuoteRecord:
        quote = self.state.visible_quote(partner, quote_id)
        if quote is None:
            raise not_found("quote", quote_id)
        if quote.order_id is not None:
            # A consumed quote says so even after its TTL: the order exists.
            raise BuybackApiError(
                422,
                "QUOTE_ALREADY_CONSUMED",
                "This quote has already been used for an order.",
                {"quote_id": quote.quote_id, "order_id": quote.order_id},
            )
        if self.state.now() >= quote.expires_at:
            raise BuybackApiError(
                422,
                "QUOTE_EXPIRED",
                "The requested quote has expired. Please create a new quote.",
                {"quote_id": quote.quote_id, "expired_at": iso(quote.expires_at)},
            )
        return quote


__all__ = ["PREFIX", "App", "BuybackApiError"]
