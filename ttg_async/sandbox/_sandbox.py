"""The [`Sandbox`][ttg_async.sandbox.Sandbox] object: a local TTG v3 server plus the controls tests
need."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from typing import Final

from aiohttp import web

from ttg_async.sandbox._app import App
from ttg_async.sandbox._catalog import Catalog
from ttg_async.sandbox._evolve import CatalogChanges, evolve
from ttg_async.sandbox._faults import Fault, FaultPlan
from ttg_async.sandbox._ids import parse_price_token
from ttg_async.sandbox._plumbing import serve_app
from ttg_async.sandbox._pricing import DEFAULT_RETAILER, Pricing, RetailerConfig
from ttg_async.sandbox._state import State
from ttg_async.sandbox._wirelog import WireLog, WireRecord

ROUTES: Final = (
    "GET /api/v3/locations",
    "GET /api/v3/events",
    "GET /api/v3/events/{eventId}",
    "GET /api/v3/events/{eventId}/occurrences",
    "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}",
    "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items",
    "POST /api/v3/carts",
    "GET /api/v3/carts/{cartId}",
    "DELETE /api/v3/carts/{cartId}",
    "POST /api/v3/orders",
    "GET /api/v3/orders/{orderId}",
)
"""Route templates, as accepted by ``set_latency``, ``inject`` and ``request_count``."""

_KNOWN_VARIANT_TYPES: Final = ("AssignedSeat", "GeneralAdmission", "Extra")

TEST_KEY: Final = "sk_test_sandbox"
"""A key to print in examples. Any ``sk_test_*`` key works."""


def _page_size(name: str, value: object, when_true: int) -> int:
    """A paging option: ``False`` (0, off), ``True`` (``when_true``) or a size from 1 to 1000."""
    if isinstance(value, bool):
        return when_true if value else 0
    if isinstance(value, int) and 1 <= value <= 1000:
        return value
    raise ValueError(f"{name}: must be a bool or a page size from 1 to 1000, got {value!r}")


def _check_route(route: str) -> str:
    if route != "*" and route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; use '*' or one of sandbox.ROUTES")
    return route


class Sandbox:
    """A faithful local TTG v3 server with a deterministic catalog and test controls.

    The catalog is derived from ``seed``; ``events`` can go to 100,000 and beyond, because
    events are generated on demand. ``retailers`` (name ->
    [`RetailerConfig`][ttg_async.sandbox.RetailerConfig]) restricts which ``X-TT-Retailer`` values
    are accepted; ``None`` accepts any. ``start_date`` anchors the schedule (default: today, UTC);
    pass a fixed date for fully reproducible dates. ``paginate_occurrences`` makes the occurrence
    list paginated (``True``: 50 a page unless the client sends ``limit``; an int: that default page
    size). ``paginate_lists`` follows the API reference instead of the guides: occurrences and
    inventory require ``limit`` and ``offset`` (a 400 names the one missing) and come in pages
    (``True``: as large as the ``limit`` asked for; an int: at most that many items, whatever was
    asked, with the ``limit`` in ``pagination`` saying so). ``minimal_orders`` sends orders as the
    version of the order pages without ``status`` does: no ``status``, ``total``,
    ``confirmationNumber`` or ``createdAt``. ``unprotected`` turns off the guards that would hide
    a client's retry bugs (see `unprotected`). ``unknown_variant_type`` sends the extras of every
    occurrence (drinks, parking) with that ``_type`` instead of ``Extra``: a variant type clients
    do not know yet, as the docs warn may appear. Carts and orders treat them as extras still.

    >>> import aiohttp
    >>> async def main() -> None:
    ...     sb = Sandbox(seed=0)
    ...     async with sb.serve() as base_url, aiohttp.ClientSession() as http:
    ...         headers = {"X-TT-API-Key": "sk_test_x", "X-TT-Retailer": "r"}
    ...         headers["X-TT-Platform"] = "api"
    ...         async with http.get(f"{base_url}/api/v3/locations", headers=headers) as resp:
    ...             assert resp.status == 200
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        locations: int = 4,
        events: int = 30,
        hold_seconds: float = 600.0,
        retailers: Mapping[str, RetailerConfig] | Iterable[str] | None = None,
        paginate_occurrences: bool | int = False,
        paginate_lists: bool | int = False,
        minimal_orders: bool = False,
        start_date: dt.date | None = None,
        unknown_variant_type: str | None = None,
        unprotected: bool = False,
    ) -> None:
        if unknown_variant_type is not None and (
            not isinstance(unknown_variant_type, str)
            or not unknown_variant_type
            or unknown_variant_type in _KNOWN_VARIANT_TYPES
        ):
            raise ValueError(
                "unknown_variant_type: must be a non-empty str other than "
                f"{', '.join(_KNOWN_VARIANT_TYPES)}, got {unknown_variant_type!r}"
            )
        if isinstance(paginate_occurrences, bool):
            page_size = 50 if paginate_occurrences else 0
        elif isinstance(paginate_occurrences, int) and 1 <= paginate_occurrences <= 1000:
            page_size = paginate_occurrences
        else:
            raise ValueError(
                "paginate_occurrences: must be a bool or a page size from 1 to 1000, "
                f"got {paginate_occurrences!r}"
            )
        list_cap = _page_size("paginate_lists", paginate_lists, 1000)
        if not isinstance(minimal_orders, bool):
            raise TypeError(f"minimal_orders: must be a bool, not {type(minimal_orders).__name__}")
        if retailers is not None and not isinstance(retailers, Mapping):
            retailers = {name: RetailerConfig() for name in retailers}
        self.seed = seed
        start = start_date or dt.datetime.now(dt.UTC).date()
        self._catalog = Catalog(
            seed, locations, events, start, unknown_variant_type=unknown_variant_type
        )
        self._pricing = Pricing(self._catalog, None if retailers is None else dict(retailers))
        self._state = State(self._catalog, self._pricing, 600.0)
        self.hold_seconds = hold_seconds  # validated by the setter
        self.unprotected = unprotected
        self._faults = FaultPlan()
        self._latency: dict[str, float] = {}
        self._wire = WireLog()
        self._app = App(
            self._catalog,
            self._pricing,
            self._state,
            self._faults,
            self._latency,
            page_size,
            self._wire,
            paginate_lists=list_cap,
            minimal_orders=minimal_orders,
        )
        self.base_url: str | None = None
        """Set while `serve` is running, e.g. ``"http://127.0.0.1:54321"``."""

    # -- serving -------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        """A fresh ``aiohttp.web.Application`` over this sandbox's state.

        Useful with aiohttp's own test utilities; `serve` is simpler otherwise.
        """
        return self._app.make()

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host:port`` (``0``: a free port) and yield the base URL.

        Idle connections close after 30 s and at most 512 stay open (see
        ``docs/sandbox.md``). Any ``host`` other than loopback logs a WARNING and prints a line
        on stderr: test keys then work from the network.

        >>> async def test_it() -> None:
        ...     async with Sandbox().serve() as base_url:
        ...         print(base_url)  # http://127.0.0.1:54321
        """
        app = self._app
        try:
            async with serve_app(app.make(), host, port, render_error=app.render_error) as base_url:
                self.base_url = base_url
                yield base_url
        finally:
            self.base_url = None

    # -- catalog helpers -----------------------------------------------------------------
    def find_occurrence(
        self,
        *,
        assigned_seat: bool = True,
        general_admission: bool = True,
        extra: bool = False,
        rate_code: str | None = None,
        retailer: str | None = None,
    ) -> tuple[str, str]:
        """``(event_id, occurrence_id)`` of an on-sale occurrence with the asked-for stock.

        ``rate_code`` also requires that code to be recognised on the event (for
        ``retailer``, or for every retailer when ``None``). Raises ``LookupError`` if none.

        >>> Sandbox(seed=0).find_occurrence(rate_code="campaign-may")
        ('1001', '100101')
        """
        config = DEFAULT_RETAILER
        if retailer is not None:
            config = self._pricing.retailer(retailer) or DEFAULT_RETAILER
        name = retailer if retailer is not None else "\x00any"
        cat, state = self._catalog, self._state
        state.sweep()
        for index in range(min(cat.event_count, 5000)):
            event = cat.event(index)
            if not self._pricing.can_see(config, event):
                continue
            if rate_code is not None and self._pricing.rule(name, event, rate_code) is None:
                continue
            for occ in cat.occurrences(event):
                # Seats come one at a time; GA and extras should allow a pair.
                kinds = {
                    it.kind
                    for it in cat.inventory(occ).items
                    if state.available(occ.id, it) >= (1 if it.kind == "AssignedSeat" else 2)
                }
                if (
                    (not assigned_seat or "AssignedSeat" in kinds)
                    and (not general_admission or "GeneralAdmission" in kinds)
                    and (not extra or "Extra" in kinds)
                ):
                    return event.id, occ.id
        raise LookupError("no on-sale occurrence matches")

    def rate_codes(self, event_id: str, *, retailer: str | None = None) -> list[str]:
        """The rate codes recognised on an event (for ``retailer``, or for all retailers)."""
        event = self._catalog.event_by_id(event_id)
        if event is None:
            raise KeyError(event_id)
        return self._pricing.codes(retailer if retailer is not None else "\x00any", event)

    def evolve(
        self,
        seed: int = 0,
        *,
        rate_codes: Iterable[str | None] = (None,),
        retailer: str | None = None,
        end_events: int = 2,
        add_events: int = 2,
        cancel_occurrences: int = 3,
        add_dates: int = 2,
        sell_out: int = 3,
        move_prices: int = 4,
    ) -> CatalogChanges:
        """Move the catalog on, as a night would: seeded, so the same call does the same.

        Ends ``end_events`` events and adds ``add_events`` new ones, cancels occurrences,
        adds dates at the end of events (``add_dates``; their ``endDate`` moves), sells
        extras out and moves prices up or down by a step at the given ``rate_codes``
        (``None``, the default tier, is listed for the records it reports; prices move only
        at the codes). Returns a `CatalogChanges` listing every record added, removed or
        changed at the levels a sync reports, for the ``rate_codes`` a sync would crawl.

        >>> sb = Sandbox(seed=0, events=40)
        >>> night = sb.evolve(7, rate_codes=[None, "campaign-may"])
        >>> night.added_events
        ['1041', '1042']
        >>> ("added", "event", ("1041",)) in night.keys()  # (kind, level, key)
        True
        """
        codes = list(rate_codes)
        counts = (end_events, add_events, cancel_occurrences, add_dates, sell_out, move_prices)
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts):
            raise ValueError("evolve: the counts must be non-negative ints")
        return evolve(
            self._catalog,
            self._pricing,
            self._state,
            seed=seed,
            retailer=retailer if retailer is not None else "\x00any",
            rate_codes=codes,
            end_events=end_events,
            add_events=add_events,
            cancel_occurrences=cancel_occurrences,
            add_dates=add_dates,
            sell_out=sell_out,
            move_prices=move_prices,
        )

    # -- control -------------------------------------------------------------------------
    @property
    def hold_seconds(self) -> float:
        """How long a new cart holds its stock. Changing it affects carts created later."""
        return self._state.hold_seconds

    @hold_seconds.setter
    def hold_seconds(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("hold_seconds must be positive")
        self._state.hold_seconds = float(seconds)

    @property
    def unprotected(self) -> bool:
        """Whether the server-side guards that would hide a client's bug are off.

        With ``unprotected=True`` only the ``Idempotency-Key`` replay stands between a client
        and a duplicate: a cart that already has an order is checked out again under a new
        key (a second order: a double charge, as a backend without that guard would do), and
        a hold may oversell, so a second ``POST /carts`` that should never have been sent
        places a second hold instead of being refused for stock. Tests of retry logic run
        against it and count what the server did (`orders_for_cart`,
        `orders_for_key`, `wire_log`). It can be switched at any time.

        >>> sb = Sandbox(unprotected=True)
        >>> sb.unprotected = False  # the normal rules again
        """
        return self._state.unprotected

    @unprotected.setter
    def unprotected(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"unprotected must be a bool, not {type(value).__name__}")
        self._state.unprotected = value

    def now(self) -> dt.datetime:
        """The sandbox clock (real time plus everything passed to `advance`), UTC."""
        return dt.datetime.fromtimestamp(self._state.now(), dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward: holds and idempotency keys age without waiting.

        >>> sb = Sandbox()
        >>> sb.advance(24 * 3600)  # every idempotency key is now forgotten
        """
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._state.clock_offset += seconds
        self._state.sweep()

    def expire_cart(self, cart_id: str) -> None:
        """End a cart's hold now and release its stock. ``KeyError`` for an unknown cart."""
        self._state.expire(cart_id)

    def set_price(self, price_option_id: str, amount: int) -> None:
        """Set the sell price (minor units) behind a price option id, for every retailer.

        Carts holding that option are re-priced when next read or checked out, so checkout
        with the old ``expectedTotal`` gets ``TOTAL_PRICE_MISMATCH``. An id from a rate-code
        call sets that tier's price; an id from a default call sets the default price (tier
        prices derived from it follow).

        >>> sb = Sandbox()
        >>> # option_id comes from GET .../inventory-items
        >>> # sb.set_price(option_id, 19900)
        """
        parsed = parse_price_token(price_option_id)
        occ = None if parsed is None else self._catalog.occurrence_by_id(parsed[0])
        item = None if occ is None or parsed is None else self._catalog.item(occ, parsed[1])
        if parsed is None or item is None or item.price(parsed[2]) is None:
            raise ValueError(f"not a price option id issued by this sandbox: {price_option_id!r}")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("amount must be a positive integer in minor units")
        self._pricing.set_override(parsed, amount)

    def add_rate_code(
        self,
        event_id: str,
        code: str,
        *,
        retailer: str | None = None,
        percent_off: int = 10,
        sections: Collection[str] | None = None,
    ) -> None:
        """Configure a rate code (``providerCode``) on an event.

        ``retailer=None`` configures it for every retailer, and ``event_id="*"`` for every
        event (a code configured on one event wins there). ``sections`` limits the tier to
        those sections; other items keep default prices. A negative ``percent_off`` makes a
        premium tier.

        >>> sb = Sandbox()
        >>> sb.add_rate_code("1002", "spring-sale", percent_off=25, sections=["Orchestra"])
        """
        self._pricing.add_rule(
            event_id, code, percent_off, retailer=retailer, sections=sections
        )  # fmt: skip

    def remove_rate_code(self, event_id: str, code: str, *, retailer: str | None = None) -> None:
        """Withdraw a code (seeded or added), so it now gives 404 like an unknown one."""
        self._pricing.remove_rule(event_id, code, retailer=retailer)

    def set_latency(self, route: str, seconds: float) -> None:
        """Delay every answer on ``route`` (a template from [`ROUTES`][ttg_async.sandbox.ROUTES], or
        ``"*"``).

        A route's own latency replaces the ``"*"`` latency. ``0`` removes it.
        """
        _check_route(route)
        if seconds <= 0:
            self._latency.pop(route, None)
        else:
            self._latency[route] = float(seconds)

    def inject(
        self,
        route: str,
        kind: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        seed: int = 0,
        status: int = 503,
        retry_after: float | None = None,
        delay: float = 1.0,
    ) -> Fault:
        """Script a fault on ``route`` (a template from [`ROUTES`][ttg_async.sandbox.ROUTES], or
        ``"*"``).

        Before any work: ``"status"`` (an error envelope with ``status``, and
        ``Retry-After`` if given), ``"html_502"`` (a proxy's HTML page), ``"proxy_status"``
        (``status`` as a proxy's plain text, with no envelope or code), ``"reset_before"``
        (the connection is reset) and ``"slow"`` (handled after ``delay`` seconds; dropped
        unhandled if the client has gone by then). After the work is done (a cart held, an
        order placed, a hold released), only the answer goes wrong:
        ``"status_after_commit"`` (a 5xx ``status``), ``"html_502_after_commit"``,
        ``"reset_after_commit"``, ``"slow_after_commit"`` (the answer ``delay`` seconds late),
        ``"truncate"`` (full headers, half the body; half the head when there is no
        body) and ``"nested_after_commit"`` (the answer gains a member nested 100,000 deep:
        valid JSON that no recursive decoder reads). It hits the next ``times`` requests
        (default 1), or each request with ``probability`` from an RNG seeded by ``seed``.

        >>> sb = Sandbox()
        >>> _ = sb.inject("GET /api/v3/locations", "status", status=429, retry_after=2, times=2)
        """
        fault = Fault(
            _check_route(route),
            kind,
            times=times,
            probability=probability,
            seed=seed,
            status=status,
            retry_after=retry_after,
            delay=delay,
        )
        self._faults.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every scripted fault."""
        self._faults.faults.clear()

    # -- counters ------------------------------------------------------------------------
    def request_count(self, route: str | None = None) -> int:
        """Requests seen (faulted ones included), in total or for one route template."""
        requests = self._state.counters.requests
        if route is None:
            return sum(requests.values())
        return requests.get(_check_route(route), 0)

    def orders_for_cart(self, cart_id: str) -> list[str]:
        """The ids of the orders placed for a cart (more than one would be a double charge)."""
        return list(self._state.counters.orders_by_cart.get(cart_id, ()))

    def orders_for_key(self, idempotency_key: str) -> list[str]:
        """The ids of the orders placed under an ``Idempotency-Key`` (replays not counted)."""
        return list(self._state.counters.orders_by_key.get(idempotency_key, ()))

    def attempts(self, request_id: str) -> int:
        """How many requests arrived with this ``X-Request-ID`` (one per client attempt)."""
        return self._state.counters.attempts.get(request_id, 0)

    def order_payment(self, order_id: str) -> dict[str, object] | None:
        """The ``payment`` object the checkout that placed ``order_id`` sent, or ``None``.

        >>> sb = Sandbox()
        >>> sb.order_payment("ord_000001") is None
        True
        """
        order = self._state.orders.get(order_id)
        return None if order is None else order.payment

    def wire_log(self, route: str | None = None) -> list[WireRecord]:
        """Every request since the last `reset_counters`, oldest first, as sent.

        Each [`WireRecord`][ttg_async.sandbox.WireRecord] holds the ``X-Request-ID`` and
        ``Idempotency-Key`` that arrived, the fault that hit it, and what the handler did (the cart
        or order it made, checked out or released). ``route`` keeps one route template. The log
        keeps the last 100,000 requests.

        >>> sb = Sandbox()
        >>> # after a checkout that was retried: one key over the wire, however many attempts
        >>> keys = {r.idempotency_key for r in sb.wire_log("POST /api/v3/orders")}
        """
        records = self._wire.records
        if route is None:
            return list(records)
        _check_route(route)
        return [r for r in records if r.route == route]

    def reset_counters(self) -> None:
        """Zero the request and attempt counters and empty the wire log.

        Orders per cart and per key are kept: they are the server's books, not counters.
        """
        self._state.counters.requests.clear()
        self._state.counters.attempts.clear()
        self._wire.clear()
