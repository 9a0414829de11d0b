"""The aiohttp.web application: routes, header rules, faults and latency.

One middleware does the per-request bookkeeping (counters, request IDs, faults, latency,
headers) so each handler only validates its own input and reads or changes the state.
Every error is answered in the TTG envelope, aiohttp's own included: an unknown path (404),
a wrong method (405, with ``Allow``), a body over the size limit (413), a POST that is not
``application/json`` (415) and, through `App.render_error`, a request aiohttp cannot
parse (400) or a crash (500).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from ttg_async.sandbox._catalog import Catalog, Event, Occurrence
from ttg_async.sandbox._faults import AFTER_COMMIT, PROXY_502, Fault, FaultPlan, proxy_answer
from ttg_async.sandbox._plumbing import (
    date_param,
    int_param,
    retry_after_headers,
    strike_after,
    strike_before,
)
from ttg_async.sandbox._pricing import Pricing, RetailerConfig
from ttg_async.sandbox._state import State
from ttg_async.sandbox._wire import (
    IDEMPOTENCY_KEY_RE,
    ApiError,
    decode,
    echoable_request_id,
    encode,
    error_body,
    invalid,
    not_found,
    type_for_status,
)
from ttg_async.sandbox._wirelog import WireLog, WireRecord

PREFIX: Final = "/api/v3"
PLATFORMS: Final = frozenset({"ios", "android", "web", "api"})
_JSON: Final = "application/json"
#: The largest request body accepted (aiohttp's default); a larger one is a 413.
MAX_BODY: Final = 1024**2
RETAILER_KEY: Final = web.RequestKey("ttg_retailer", tuple)
WIRE_KEY: Final = web.RequestKey("ttg_wire", WireRecord)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _static_error(status: int, code: str, message: str, param: str | None = None) -> bytes:
    return error_body(type_for_status(status), code, message, param)


# Header failures are common under load tests, so their bodies are encoded once.
_NO_KEY: Final = _static_error(401, "INVALID_API_KEY", "The X-TT-API-Key header is missing.")
_LIVE_KEY: Final = _static_error(
    401, "INVALID_API_KEY", "Live keys (sk_live_*) are not accepted by the sandbox."
)
_BAD_KEY: Final = _static_error(
    401, "INVALID_API_KEY", "The API key is not valid; the sandbox accepts any sk_test_* key."
)
_NO_RETAILER: Final = _static_error(
    400, "MISSING_HEADER", "The X-TT-Retailer header is required.", "X-TT-Retailer"
)
_BAD_RETAILER: Final = _static_error(
    403,
    "INSUFFICIENT_PERMISSIONS",
    "This API key may not act for that retailer.",
    "X-TT-Retailer",
)
_NO_PLATFORM: Final = _static_error(
    400, "MISSING_HEADER", "The X-TT-Platform header is required.", "X-TT-Platform"
)
_BAD_PLATFORM: Final = _static_error(
    400, "INVALID_HEADER", "X-TT-Platform must be one of: ios, android, web, api.", "X-TT-Platform"
)
_NOT_JSON: Final = _static_error(
    415, "UNSUPPORTED_MEDIA_TYPE", "The request body must be sent as application/json."
)
#: Codes for the errors aiohttp raises or answers itself (any other status: HTTP_ERROR).
_HTTP_CODES: Final = {
    400: ("MALFORMED_REQUEST", "The request is not valid HTTP/1.1."),
    404: ("UNKNOWN_ROUTE", "No such route."),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed here."),
    413: ("REQUEST_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The request body must be sent as application/json."),
    500: ("INTERNAL_ERROR", "The sandbox failed on this request."),
}


def _http_error(status: int, message: str | None = None) -> web.Response:
    """An error aiohttp would answer in plain text, in the envelope instead."""
    code, default = _HTTP_CODES.get(status, ("HTTP_ERROR", "The request failed."))
    return _json(_static_error(status, code, message or default), status)


#: What the version of the order pages without ``status`` leaves out of an order.
_NOT_PROMISED_ORDER_FIELDS: Final = ("status", "total", "confirmationNumber", "createdAt")


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=_JSON)


def _data(payload: Any, status: int = 200) -> web.Response:
    return _json(encode({"data": payload}), status)


def _page(items: list[bytes], limit: int, offset: int, total: int) -> bytes:
    # Exactly encode({"data": [...], "pagination": {...}}), from pre-encoded items.
    tail = b'],"pagination":{"limit":%d,"offset":%d,"total":%d}}' % (limit, offset, total)
    return b"".join((b'{"data":[', b",".join(items), tail))


def _int_param(q: Any, name: str, default: int, lo: int, hi: int | None = None) -> int:
    return int_param(q, name, default, lo, hi, invalid)


def _date_param(q: Any, name: str) -> dt.date | None:
    return date_param(q, name, invalid)


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = decode(raw)
    except Exception:  # msgspec.DecodeError, but any undecodable body is the client's fault
        raise ApiError(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_JSON", "The request body must be a JSON object.")
    return body


class App:
    """Builds the aiohttp application over the sandbox's catalog, pricing and state."""

    def __init__(
        self,
        catalog: Catalog,
        pricing: Pricing,
        state: State,
        faults: FaultPlan,
        latency: dict[str, float],
        paginate_occurrences: int,
        wire: WireLog | None = None,
        paginate_lists: int = 0,
        minimal_orders: bool = False,
    ) -> None:
        self.catalog = catalog
        self.pricing = pricing
        self.state = state
        self.faults = faults
        self.latency = latency
        # 0: occurrences come in one answer; otherwise the page size when no limit is sent.
        self.paginate_occurrences = paginate_occurrences
        # The API reference's reading: occurrences and inventory take required limit and offset
        # and come in pages of at most this many items (0: off).
        self.paginate_lists = paginate_lists
        # The order pages' version without status, total, confirmationNumber or createdAt.
        self.minimal_orders = minimal_orders
        self.wire = WireLog() if wire is None else wire

    def make(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_BODY)
        ev = PREFIX + "/events/{eventId}"
        occ = ev + "/occurrences/{occurrenceId}"
        r = app.router
        r.add_get(PREFIX + "/locations", self.locations, allow_head=False)
        r.add_get(PREFIX + "/events", self.events, allow_head=False)
        r.add_get(ev, self.event, allow_head=False)
        r.add_get(ev + "/occurrences", self.occurrences, allow_head=False)
        r.add_get(occ, self.occurrence, allow_head=False)
        r.add_get(occ + "/inventory-items", self.inventory, allow_head=False)
        r.add_post(PREFIX + "/carts", self.create_cart)
        r.add_get(PREFIX + "/carts/{cartId}", self.get_cart, allow_head=False)
        r.add_delete(PREFIX + "/carts/{cartId}", self.delete_cart)
        r.add_post(PREFIX + "/orders", self.create_order)
        r.add_get(PREFIX + "/orders/{orderId}", self.get_order, allow_head=False)
        return app

    # -- the per-request pipeline --------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        counters = self.state.counters
        resource = request.match_info.route.resource
        route = "unmatched" if resource is None else f"{request.method} {resource.canonical}"
        counters.requests[route] = counters.requests.get(route, 0) + 1
        sent_id = request.headers.get("X-Request-ID")
        if sent_id is not None:
            counters.attempts[sent_id] = counters.attempts.get(sent_id, 0) + 1
        request_id = echoable_request_id(sent_id) or f"req_{os.urandom(8).hex()}"
        record = self.wire.open(
            route, sent_id, request.headers.get("Idempotency-Key"), request.raw_path
        )
        request[WIRE_KEY] = record

        fault = self.faults.pick(route) if self.faults.faults else None
        kind = None if fault is None else fault.kind
        record.fault = kind
        # A reset, or a client that gave up during latency or a "slow" fault: the request is
        # dropped unhandled, so nothing is committed that no client waits for.
        if await strike_before(request, fault, self.latency.get(route, self.latency.get("*", 0.0))):
            return web.Response(status=204)  # never written: the transport is gone
        resp: web.StreamResponse
        if fault is not None and kind in ("status", "html_502", "proxy_status"):
            resp = self._fault_response(fault, request_id)
            record.answered = resp.status
            return resp

        if resource is None:
            resp = self._no_route(request)
        else:
            resp = (
                self._check_headers(request)
                or self._check_media_type(request)
                or await self._run(request, handler)
            )
        resp.headers["X-Request-ID"] = request_id
        record.handled = resp.status
        if fault is None or kind not in AFTER_COMMIT:
            record.answered = resp.status
            return resp
        # The work is done (or refused); now only the answer goes wrong.
        resp = await strike_after(
            request, resp, fault, request_id, lambda: self._fault_response(fault, request_id)
        )
        if kind in ("status_after_commit", "html_502_after_commit", "nested_after_commit"):
            record.answered = resp.status
        elif kind == "slow_after_commit":
            record.answered = None if request.transport is None else resp.status
        return resp

    async def _run(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.state.sweep()
        try:
            return await handler(request)
        except ApiError as err:
            return web.Response(
                body=err.body(), status=err.status, content_type=_JSON, headers=err.headers
            )
        except web.HTTPException as exc:
            # aiohttp's own, raised inside a handler: a body over MAX_BODY (413) above all.
            if exc.status < 400:
                raise
            message = (
                f"The request body is larger than {MAX_BODY} bytes." if exc.status == 413 else None
            )
            return _http_error(exc.status, message)
        except web.RequestPayloadError:
            # A body aiohttp cannot read (bad chunking, a Content-Encoding it cannot undo).
            return _http_error(400, "The request body could not be read.")

    @staticmethod
    def _check_media_type(request: web.Request) -> web.Response | None:
        # Every POST takes a JSON object; anything else would be decoded by guesswork.
        if request.method == "POST" and request.content_type != _JSON:
            return _json(_NOT_JSON, 415)
        return None

    @staticmethod
    def render_error(status: int) -> web.Response:
        """The answer to a request aiohttp answers itself (unparsable: 400; a crash: 500)."""
        resp = _http_error(status)
        resp.headers["X-Request-ID"] = f"req_{os.urandom(8).hex()}"
        return resp

    def _check_headers(self, request: web.Request) -> web.Response | None:
        h = request.headers
        key = h.get("X-TT-API-Key")
        if not key:
            return _json(_NO_KEY, 401)
        if key.startswith("sk_live_"):
            return _json(_LIVE_KEY, 401)
        if not key.startswith("sk_test_") or len(key) == len("sk_test_"):
            return _json(_BAD_KEY, 401)
        name = h.get("X-TT-Retailer")
        if not name:
            return _json(_NO_RETAILER, 400)
        config = self.pricing.retailer(name)
        if config is None:
            return _json(_BAD_RETAILER, 403)
        platform = h.get("X-TT-Platform")
        if platform is None:
            return _json(_NO_PLATFORM, 400)
        if platform not in PLATFORMS:
            return _json(_BAD_PLATFORM, 400)
        request[RETAILER_KEY] = (name, config)
        return None

    def _no_route(self, request: web.Request) -> web.Response:
        exc = getattr(request.match_info, "http_exception", None)
        if isinstance(exc, web.HTTPMethodNotAllowed):
            body = _static_error(
                405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here."
            )
            resp = _json(body, 405)
            resp.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
            return resp
        return _json(_static_error(404, "UNKNOWN_ROUTE", f"No route {request.path}."), 404)

    def _fault_response(self, fault: Fault, request_id: str) -> web.Response:
        if fault.kind in ("html_502", "html_502_after_commit"):
            # A proxy knows nothing of X-Request-ID, so none is echoed here.
            return web.Response(body=PROXY_502, status=502, content_type="text/html")
        if fault.kind == "proxy_status":
            return web.Response(
                body=proxy_answer(fault.status), status=fault.status, content_type="text/plain"
            )
        headers = {"X-Request-ID": request_id, **retry_after_headers(fault)}
        body = _static_error(fault.status, "SANDBOX_FAULT", "Injected fault.")
        if fault.status == 429:
            body = _static_error(429, "RATE_LIMITED", "Too many requests; slow down.")
        elif fault.status >= 500:
            body = _static_error(fault.status, "SERVICE_UNAVAILABLE", "Try again later.")
        return web.Response(body=body, status=fault.status, content_type=_JSON, headers=headers)

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _retailer(request: web.Request) -> tuple[str, RetailerConfig]:
        value: tuple[str, RetailerConfig] = request[RETAILER_KEY]
        return value

    def _event(self, request: web.Request) -> Event:
        event_id = request.match_info["eventId"]
        event = self.catalog.event_by_id(event_id)
        if event is None or not self.pricing.can_see(self._retailer(request)[1], event):
            raise not_found("event", event_id)
        return event

    def _occurrence(self, request: web.Request) -> Occurrence:
        event = self._event(request)
        occ_id = request.match_info["occurrenceId"]
        occ = self.catalog.occurrence(event, occ_id)
        if occ is None:
            raise not_found("occurrence", occ_id)
        return occ

    # -- catalog routes ------------------------------------------------------------------
    async def locations(self, request: web.Request) -> web.Response:
        limit = _int_param(request.query, "limit", 50, 1, 1000)
        offset = _int_param(request.query, "offset", 0, 0)
        items = list(self.catalog.locations_encoded[offset : offset + limit])
        return _json(_page(items, limit, offset, len(self.catalog.locations)))

    async def events(self, request: web.Request) -> web.Response:
        q = request.query
        location_id = q.get("locationId")
        if not location_id:
            raise invalid("locationId", "locationId is required.", "MISSING_PARAMETER")
        limit = _int_param(q, "limit", 50, 1, 1000)
        offset = _int_param(q, "offset", 0, 0)
        location = self.catalog.location_by_id(location_id)
        if location is None:
            raise not_found("location", location_id, param="locationId")
        visible = self._retailer(request)[1].event_ids
        cat = self.catalog
        if visible is None and cat.ended:
            items, total = cat.visible_page(location, offset, limit)
        elif visible is None:
            total = cat.events_in_location(location)
            stop = min(total, offset + limit)
            items = cat.event_page(location, offset, stop)
        else:
            # A restricted retailer sees a short explicit list; filter it here.
            evs = [e for e in map(cat.event_by_id, visible) if e is not None]
            mine = sorted((e for e in evs if e.location is location), key=lambda e: e.number)
            total = len(mine)
            items = [e.encoded for e in mine[offset : offset + limit]]
        return _json(_page(items, limit, offset, total))

    async def event(self, request: web.Request) -> web.Response:
        return _json(b'{"data":' + self._event(request).encoded + b"}")

    async def occurrences(self, request: web.Request) -> web.Response:
        event = self._event(request)
        q = request.query
        quantity = _int_param(q, "quantity", 0, 1) if "quantity" in q else None
        start, end = _date_param(q, "startDate"), _date_param(q, "endDate")
        if start is not None and end is not None and end < start:
            raise invalid("endDate", "endDate must not be before startDate.")
        retailer = self._retailer(request)[1]
        out = []
        for occ in self.catalog.occurrences(event):
            if occ.id in self.catalog.cancelled:
                continue
            if (start is not None and occ.local_date < start) or (
                end is not None and occ.local_date > end
            ):
                continue
            view = self.state.occurrence_view(retailer, occ, quantity)
            if view is not None:
                out.append(view)
        if self.paginate_lists:
            limit, offset = self._required_paging(q)
            encoded = [encode(view) for view in out[offset : offset + limit]]
            return _json(_page(encoded, limit, offset, len(out)))
        if not self.paginate_occurrences:
            return _data(out)
        limit = _int_param(q, "limit", self.paginate_occurrences, 1, 1000)
        offset = _int_param(q, "offset", 0, 0)
        page = out[offset : offset + limit]
        pagination = {"limit": limit, "offset": offset, "total": len(out)}
        return _json(encode({"data": page, "pagination": pagination}))

    def _required_paging(self, q: Any) -> tuple[int, int]:
        """Required ``limit`` (capped at the page size) and ``offset``, as in the reference."""
        for name in ("limit", "offset"):
            if name not in q:
                raise invalid(name, f"{name} is required.", "MISSING_PARAMETER")
        limit = _int_param(q, "limit", 0, 1, 1000)
        return min(limit, self.paginate_lists), _int_param(q, "offset", 0, 0)

    async def occurrence(self, request: web.Request) -> web.Response:
        occ = self._occurrence(request)
        return _data(self.state.occurrence_view(self._retailer(request)[1], occ))

    async def inventory(self, request: web.Request) -> web.Response:
        occ = self._occurrence(request)
        name, retailer = self._retailer(request)
        code = request.query.get("providerCode")
        rule = None
        if code:
            if len(code) > 255:
                raise invalid("providerCode", "providerCode is at most 255 characters.")
            rule = self.pricing.rule(name, occ.event, code)
            if rule is None:
                raise not_found("providerCode", code, param="providerCode")
        if self.paginate_lists:
            limit, offset = self._required_paging(request.query)
            items = self.state.inventory_items(retailer, occ, rule)
            return _json(_page(items[offset : offset + limit], limit, offset, len(items)))
        return _json(self.state.inventory_body(retailer, occ, rule))

    # -- carts and orders ----------------------------------------------------------------
    async def create_cart(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        name, retailer = self._retailer(request)
        cart = self.state.create_cart(name, retailer, body.get("items"))
        record = request[WIRE_KEY]
        record.cart_id, record.created = cart.id, True
        return _data(self.state.cart_view(cart), 201)

    async def get_cart(self, request: web.Request) -> web.Response:
        cart_id = request.match_info["cartId"]
        cart = self.state.visible_cart(self._retailer(request)[0], cart_id)
        # An expired or released hold is gone, exactly like one that never existed.
        if cart is None or cart.state in ("expired", "deleted"):
            raise not_found("cart", cart_id)
        return _data(self.state.cart_view(cart))

    async def delete_cart(self, request: web.Request) -> web.Response:
        cart_id = request.match_info["cartId"]
        record = request[WIRE_KEY]
        record.cart_id = cart_id
        record.released = self.state.delete_cart(self._retailer(request)[0], cart_id)
        return web.Response(status=204)

    async def create_order(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise invalid("Idempotency-Key", "Idempotency-Key is required.", "MISSING_HEADER")
        if len(key) > 255 or not IDEMPOTENCY_KEY_RE.match(key):
            raise invalid(
                "Idempotency-Key",
                "Idempotency-Key must match ^idem_[a-zA-Z0-9]+$.",
                "INVALID_HEADER",
            )
        body = await _json_body(request)
        cart_id = body.get("cartId")
        if not isinstance(cart_id, str) or not cart_id:
            raise invalid("cartId", "cartId must be a non-empty string.")
        expected = body.get("expectedTotal")
        if not isinstance(expected, dict):
            raise invalid("expectedTotal", "expectedTotal must be a Money object.")
        amount, currency = expected.get("amount"), expected.get("currency")
        if isinstance(amount, float) and amount.is_integer():
            amount = int(amount)  # 18500.0 is the JSON number 18500; 185.5 is not an integer
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise invalid("expectedTotal.amount", "amount must be an integer in minor units.")
        if not isinstance(currency, str) or len(currency) != 3:
            raise invalid("expectedTotal.currency", "currency must be an ISO 4217 code.")
        record = request[WIRE_KEY]
        record.cart_id = cart_id
        contact = _contact(body.get("contact"))
        payment = body.get("payment")
        if payment is not None and not isinstance(payment, dict):
            raise invalid("payment", "payment must be an object.")
        name = self._retailer(request)[0]
        expected_money = {"amount": amount, "currency": currency}
        order, created = self.state.checkout(name, key, cart_id, expected_money, contact)
        record.order_id, record.created = order.id, created
        if created:
            order.payment = payment
        return _json(self._order_body(order.encoded), 201 if created else 200)

    async def get_order(self, request: web.Request) -> web.Response:
        order_id = request.match_info["orderId"]
        order = self.state.orders.get(order_id)
        cart_id = request.query.get("cartId")
        name = self._retailer(request)[0]
        if order is None or order.retailer != name or (cart_id and cart_id != order.cart_id):
            raise not_found("order", order_id)
        return _json(self._order_body(order.encoded))

    def _order_body(self, encoded: bytes) -> bytes:
        if not self.minimal_orders:
            return encoded
        body = decode(encoded)
        for name in _NOT_PROMISED_ORDER_FIELDS:
            body["data"].pop(name, None)
        return encode(body)


def _contact(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise invalid("contact", "contact must be an object with name, email and phone.")
    out: dict[str, str] = {}
    for name in ("name", "email", "phone"):
        value = raw.get(name)
        # All three are required, as in the checkout docs (and docs/openapi.yaml): an order's
        # contact echo is then always complete.
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"contact.{name}", f"contact.{name} must be a non-empty string.")
        if name == "email" and "@" not in value:
            raise invalid("contact.email", "contact.email must be an email address.")
        out[name] = value
    return out
