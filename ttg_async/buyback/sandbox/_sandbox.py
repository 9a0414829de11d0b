"""The [`BuybackSandbox`][ttg_async.buyback.sandbox.BuybackSandbox] object: a local Ticket Buyback
server plus test controls."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any, Final, Unpack

from aiohttp import web

from ttg_async.buyback.sandbox._app import PREFIX, App
from ttg_async.buyback.sandbox._catalog import Catalog
from ttg_async.buyback.sandbox._state import (
    DOCS_VERSIONS,
    TEST_SECRET,
    BodyRecord,
    Partner,
    State,
)
from ttg_async.sandbox._faults import Fault, FaultPlan
from ttg_async.sandbox._plumbing import FaultOptions, serve_app
from ttg_async.sandbox._wirelog import WireRecord

ROUTES: Final = (
    "POST /v1/auth/token",
    "GET /v1/events",
    "GET /v1/events/{event_id}",
    "GET /v1/events/{event_id}/sections",
    "GET /v1/events/{event_id}/sections/{section_name}/rows",
    "POST /v1/quotes",
    "POST /v1/orders",
)
"""Route templates, as accepted by ``inject`` and ``request_count``."""

TEST_CLIENT_ID: Final = "tbb_test_sandbox"
"""A client ID to print in examples. Any ``tbb_test_*`` ID works, with the secret ``secret``."""

PAGINATION_QUIRKS: Final = (None, "lying_total", "endless")


def _check_route(route: str) -> str:
    if route != "*" and route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; use '*' or one of ROUTES")
    return route


def _check_seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class BuybackSandbox:
    """A faithful local Ticket Buyback partner API, with a deterministic catalog.

    ``docs_version`` picks the published version of the API docs it follows:
    ``"routable"`` (the seed's, the default) or ``"payout"`` (sections without
    ``section_id``, ``PAYOUT_METHOD_NOT_CONFIGURED``, the extra quote fields, and orders as
    ``multipart/form-data`` only). ``section_page_size`` caps each page of sections, so a
    client's walk over ``has_more`` can be tested.

    Any client ID that starts with ``tbb_test_`` is a partner, with the secret ``secret``;
    each partner sees only its own quotes and orders. IDs starting ``tbb_test_nopay`` have no
    payment method (``PAYMENT_NOT_CONFIGURED``) and IDs starting ``tbb_test_suspended`` are
    suspended (``ACCOUNT_SUSPENDED``); `add_partner` configures any other. Tokens live
    ``token_lifetime`` seconds and quotes ``quote_ttl`` seconds, on a clock that
    `advance` moves forward.

    >>> from ttg_async.buyback import BuybackClient
    >>> async def main() -> None:
    ...     async with BuybackSandbox(seed=0).serve() as base_url:
    ...         async with BuybackClient("tbb_test_me", "secret", base_url=base_url) as tbb:
    ...             print(await tbb.events.list().collect())
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        events: int = 24,
        token_lifetime: float = 3600.0,
        quote_ttl: float = 900.0,
        start_date: dt.date | None = None,
        docs_version: str = "routable",
        section_page_size: int = 100,
    ) -> None:
        if docs_version not in DOCS_VERSIONS:
            raise ValueError(
                f"docs_version must be one of {', '.join(map(repr, DOCS_VERSIONS))}, "
                f"got {docs_version!r}"
            )
        if (
            isinstance(section_page_size, bool)
            or not isinstance(section_page_size, int)
            or not 1 <= section_page_size <= 100
        ):
            raise ValueError(f"section_page_size must be 1-100, got {section_page_size!r}")
        start = start_date or dt.datetime.now(dt.UTC).date()
        self.seed = seed
        self.docs_version = docs_version
        """The published version of the docs this sandbox follows (``"routable"``, ``"payout"``)."""
        self._catalog = Catalog(seed, events, start)
        self._state = State(
            self._catalog,
            _check_seconds("token_lifetime", token_lifetime),
            _check_seconds("quote_ttl", quote_ttl),
            docs_version,
        )
        self._faults = FaultPlan()
        self._options: dict[str, Any] = {
            "pagination": None,
            "latency": 0.0,
            "section_page_size": section_page_size,
        }
        self._app = App(self._catalog, self._state, self._faults, self._options)
        self.base_url: str | None = None
        """Set while `serve` runs, e.g. ``"http://127.0.0.1:54321/partner"``."""

    # -- serving -------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        """A fresh ``aiohttp.web.Application`` over this sandbox's state."""
        return self._app.make()

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host:port`` (``0``: a free port) and yield the base URL.

        The URL ends in ``/partner``, like the real API's, so it is a client's ``base_url``.

        >>> async def test_it() -> None:
        ...     async with BuybackSandbox().serve() as base_url:
        ...         print(base_url)  # http://127.0.0.1:54321/partner
        """
        try:
            app = self._app
            async with serve_app(
                app.make(),
                host,
                port,
                path=PREFIX,
                render_error=app.render_error,
                credentials=f"any tbb_test_* client ID with the secret {TEST_SECRET!r}",
            ) as base_url:
                self.base_url = base_url
                yield base_url
        finally:
            self.base_url = None

    # -- catalog -------------------------------------------------------------------------
    def event_ids(self) -> list[str]:
        """Every event ID, in catalog order.

        >>> BuybackSandbox(seed=0).event_ids()[0]
        'evt_1001'
        """
        return [event.event_id for event in self._catalog.events]

    def section_names(self, event_id: str) -> list[str]:
        """The section names of an event (``KeyError`` for an unknown event)."""
        event = self._catalog.event(event_id)
        if event is None:
            raise KeyError(event_id)
        return [section.name for section in event.sections]

    def event_start(self, event_id: str) -> dt.datetime:
        """When an event starts (UTC); an order's delivery deadline must come before it."""
        event = self._catalog.event(event_id)
        if event is None:
            raise KeyError(event_id)
        return event.starts_at

    # -- partners and tokens ---------------------------------------------------------------
    def add_partner(
        self,
        client_id: str,
        *,
        secret: str = TEST_SECRET,
        payment_configured: bool = True,
        suspended: bool = False,
    ) -> None:
        """Create or reconfigure a partner account (any client ID, any secret).

        >>> sb = BuybackSandbox()
        >>> sb.add_partner("acme", secret="s3cr3t-value", payment_configured=False)
        """
        if not client_id or not secret:
            raise ValueError("client_id and secret must be non-empty")
        self._state.partners[client_id] = Partner(client_id, secret, payment_configured, suspended)

    def suspend(self, client_id: str, suspended: bool = True) -> None:
        """Suspend (or reinstate) a partner: its calls, token requests included, get 403."""
        partner = self._state.partner(client_id)
        if partner is None:
            raise KeyError(client_id)
        partner.suspended = suspended

    @property
    def token_lifetime(self) -> float:
        """Seconds a new token lives. Changing it affects tokens issued later."""
        return self._state.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        self._state.token_lifetime = _check_seconds("token_lifetime", seconds)

    @property
    def quote_ttl(self) -> float:
        """Seconds a new quote stays valid. Changing it affects quotes created later."""
        return self._state.quote_ttl

    @quote_ttl.setter
    def quote_ttl(self, seconds: float) -> None:
        self._state.quote_ttl = _check_seconds("quote_ttl", seconds)

    def revoke_tokens(self, client_id: str | None = None) -> int:
        """Revoke every token issued so far (to one partner, or to all); returns how many.

        A revoked token gets ``401 UNAUTHORIZED``; an expired one ``401 TOKEN_EXPIRED``.
        """
        return self._state.revoke(client_id)

    def expire_tokens(self, client_id: str | None = None) -> None:
        """Make every token issued so far expire now (``401 TOKEN_EXPIRED`` from now on)."""
        now = self._state.now()
        for token in self._state.tokens.values():
            if client_id is None or token.client_id == client_id:
                token.expires_at = min(token.expires_at, now)

    @property
    def tokens_born_expired(self) -> bool:
        """When true, every new token is already expired, as from a server whose clock runs
        ahead: a client's renewal gets ``TOKEN_EXPIRED`` again."""
        return self._state.tokens_born_expired

    @tokens_born_expired.setter
    def tokens_born_expired(self, value: bool) -> None:
        self._state.tokens_born_expired = bool(value)

    def issued_tokens(self, client_id: str | None = None) -> list[str]:
        """Every access token issued so far (to one partner, or to all), oldest first."""
        return [
            t.value
            for t in self._state.tokens.values()
            if client_id is None or t.client_id == client_id
        ]

    def token_requests(self, client_id: str | None = None) -> int:
        """How many ``POST /v1/auth/token`` requests arrived (for one client ID, or all)."""
        counts = self._state.counters.token_requests
        return sum(counts.values()) if client_id is None else counts.get(client_id, 0)

    # -- quotes and orders -----------------------------------------------------------------
    def expire_quote(self, quote_id: str) -> None:
        """End a quote's TTL now. ``KeyError`` for an unknown quote."""
        quote = self._state.quotes[quote_id]
        quote.expires_at = min(quote.expires_at, self._state.now())

    def orders_for_quote(self, quote_id: str) -> list[str]:
        """The order IDs made from a quote: never more than one."""
        return [o.order_id for o in self._state.orders.values() if o.quote.quote_id == quote_id]

    def orders(self, client_id: str | None = None) -> list[str]:
        """Every order ID (of one partner, or of all), oldest first."""
        return [
            o.order_id
            for o in self._state.orders.values()
            if client_id is None or o.client_id == client_id
        ]

    def quotes(self, client_id: str | None = None) -> list[str]:
        """Every quote ID (of one partner, or of all), oldest first."""
        return [
            q.quote_id
            for q in self._state.quotes.values()
            if client_id is None or q.client_id == client_id
        ]

    # -- clock, faults, quirks -------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The sandbox clock (real time plus everything passed to `advance`), UTC."""
        return dt.datetime.fromtimestamp(self._state.now(), dt.UTC)

    def freeze_clock(self, frozen: bool = True) -> None:
        """Stop the sandbox clock where it is (``frozen=False`` lets it run again): it then
        moves only by `advance`, so a test of a token's or a quote's lifetime does not
        depend on how fast the machine is.

        >>> sb = BuybackSandbox(token_lifetime=2.5)
        >>> sb.freeze_clock()
        >>> sb.advance(2.4)  # exactly 2.4 s later for the sandbox, however long it took
        """
        state = self._state
        if frozen and state.frozen_at is None:
            state.frozen_at = time.time()
        elif not frozen and state.frozen_at is not None:
            # Running again from the instant it showed: nothing jumps.
            state.clock_offset += state.frozen_at - time.time()
            state.frozen_at = None

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward: tokens and quotes age without waiting.

        >>> sb = BuybackSandbox(token_lifetime=60)
        >>> sb.advance(61)  # every token issued so far has expired
        """
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._state.clock_offset += seconds

    @property
    def pagination_quirk(self) -> str | None:
        """``None`` (honest), ``"lying_total"`` (``total`` understates, ``has_more`` is right)
        or ``"endless"`` (``has_more`` is true on every page, even an empty one)."""
        quirk: str | None = self._options["pagination"]
        return quirk

    @pagination_quirk.setter
    def pagination_quirk(self, quirk: str | None) -> None:
        if quirk not in PAGINATION_QUIRKS:
            raise ValueError(f"pagination_quirk must be one of {PAGINATION_QUIRKS}")
        self._options["pagination"] = quirk

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (``0`` removes the delay)."""
        self._options["latency"] = max(0.0, float(seconds))

    def inject(self, route: str, kind: str, **options: Unpack[FaultOptions]) -> Fault:
        """Script a fault on ``route`` (a template from [`ROUTES`][ttg_async.sandbox.ROUTES], or
        ``"*"``).

        The kinds and options are the TTG sandbox's (``docs/sandbox.md``): ``"status"``,
        ``"html_502"``, ``"proxy_status"`` (``status`` as a proxy's plain text, no envelope),
        ``"reset_before"`` and ``"slow"`` strike before any work;
        ``"status_after_commit"``, ``"html_502_after_commit"``, ``"reset_after_commit"``,
        ``"slow_after_commit"`` and ``"truncate"`` after the work is done. Options: ``times``
        or ``probability`` (with ``seed``), ``status``, ``retry_after`` and ``delay``.

        >>> sb = BuybackSandbox()
        >>> _ = sb.inject("POST /v1/orders", "reset_after_commit")
        """
        fault = Fault(_check_route(route), kind, **options)
        self._faults.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every scripted fault."""
        self._faults.faults.clear()

    # -- counters --------------------------------------------------------------------------
    def request_count(self, route: str | None = None) -> int:
        """Requests seen (faulted ones included), in total or for one route template."""
        return self._state.counters.seen(None if route is None else _check_route(route))

    def reset_counters(self) -> None:
        """Zero the request, attempt and token-request counters and empty the wire log."""
        self._state.counters.clear()
        self._app.wire.clear()

    def arrivals(self, route: str | None = None) -> list[WireRecord]:
        """Every request since the last `reset_counters`, oldest first, as it arrived (before
        any fault, check or handler): its route (``"unmatched"`` for no route), ``X-Request-ID``
        and ``target`` (the raw path and query). `wire_log` has the bodies of those that
        reached a handler.

        >>> sb = BuybackSandbox()
        >>> # after some traffic:
        >>> targets = [r.target for r in sb.arrivals("GET /v1/events")]
        """
        records = self._app.wire.records
        if route is None:
            return list(records)
        _check_route(route)
        return [r for r in records if r.route == route]

    def wire_log(self, route: str | None = None) -> list[BodyRecord]:
        """What each request that reached the handlers carried (oldest first), for one route
        template or all: its ``Content-Type``, its JSON body as decoded (wire names, JSON
        types), or the parts of its multipart body (name, content type, file name, size, and
        the text of a plain field), and the status answered. A fault that struck before the
        work leaves no record; `reset_counters` clears the log.

        >>> sb = BuybackSandbox(docs_version="payout")
        >>> # after an order:
        >>> [p.name for p in sb.wire_log("POST /v1/orders")[-1].parts or []]
        """
        wanted = None if route is None else _check_route(route)
        return [r for r in self._state.counters.bodies if wanted is None or r.route == wanted]

    def quote_fields(self, quote_id: str) -> dict[str, Any]:
        """The payout version's optional fields a quote was created with, as sent (a copy).
        ``KeyError`` for an unknown quote."""
        return dict(self._state.quotes[quote_id].extras)

    def attempts(self, request_id: str) -> int:
        """How many requests arrived with this ``X-Request-ID`` (one per client attempt)."""
        return self._state.counters.attempts.get(request_id, 0)
