"""Type-checked in CI (mypy --strict), never run: the Buyback signatures must not drift.

Each line uses ``ttg_async.buyback`` the way public-api.md promises it; assignments with
explicit annotations make mypy check every return type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp

from ttg_async import (
    APIError,
    AuthenticationError,
    CacheStats,
    ConflictError,
    GoneError,
    InvalidRequestError,
    Page,
    Paginator,
    PermissionDeniedError,
    ResponseCache,
    RetryPolicy,
)
from ttg_async.buyback import (
    AccountSuspendedError,
    BuybackClient,
    BuybackEvent,
    BuybackOrder,
    BuybackVenue,
    InvalidCredentialsError,
    PaymentNotConfiguredError,
    Quote,
    QuoteAlreadyConsumedError,
    QuoteEvent,
    QuoteExpiredError,
    Row,
    Section,
    TokenExpiredError,
)
from ttg_async.buyback.sandbox import BuybackSandbox


async def buyback_flow(session: aiohttp.ClientSession) -> None:
    payout_sandbox: BuybackSandbox = BuybackSandbox(docs_version="payout", section_page_size=2)
    async with BuybackSandbox(seed=0).serve() as base_url:
        base: str = base_url
        async with BuybackClient(
            "tbb_test_typing",
            "secret",
            base_url=base,
            timeout=30.0,
            retry=RetryPolicy(deadline=10),
            max_connections=8,
            session=session,
        ) as tbb:
            same: BuybackClient = tbb
            env_client: BuybackClient = BuybackClient()
            await env_client.aclose()
            observed = BuybackClient(
                "tbb_test_typing",
                "secret",
                event_hooks={"request": [print], "retry": []},
                telemetry=False,
                tracer_provider=None,
                meter_provider=None,
            )
            await observed.aclose()
            view: BuybackClient = tbb.with_options(retry=RetryPolicy.disabled(), timeout=2.0)
            cached = BuybackClient(cache=ResponseCache(ttl=30.0, max_entries=1000))
            alone: BuybackClient = cached.with_options(coalesce=False, cache=None)
            stats: CacheStats = alone.cache_stats()
            hits: int = stats.hits
            await cached.aclose()
            policy: RetryPolicy = view.retry
            seconds: float = view.timeout
            closed: bool = tbb.closed

            events: Paginator[BuybackEvent] = tbb.events.list(
                q="jazz",
                event_id=None,
                venue_id="ven_1",
                venue_name=None,
                performer_id=None,
                performer_name="Owls",
                date_from=date(2030, 1, 1),
                date_to="2030-02-01",
                limit=20,
                offset=0,
                max_items=100,
                concurrency=1,
            )
            collected: list[BuybackEvent] = await events.collect()
            async for page in events.pages():
                typed_page: Page[BuybackEvent] = page
                more: bool | None = page.has_more
            async for event in events:
                when: datetime = event.event_datetime_utc
                venue: BuybackVenue | None = event.venue
                name: str = event.event_name
            event_one: BuybackEvent = await tbb.events.get("evt_1001")
            sections: list[Section] = await tbb.sections.list("evt_1001")
            section_name: str = sections[0].section_name
            rows: list[Row] = await tbb.rows.list("evt_1001", "Club & Suites")
            quote: Quote = await tbb.quotes.create("evt_1001", "Club & Suites", 2, row_name="A")
            quote_plain: Quote = await tbb.quotes.create("evt_1001", "Floor A", 1)
            expires: datetime = quote.expires_at
            price: Decimal | None = quote.total_price
            order: BuybackOrder = await tbb.orders.create(
                quote.quote_id,
                delivery_type="mobile_transfer",
                delivery_deadline=datetime(2030, 1, 1, tzinfo=UTC),
            )
            transfer_email: str = order.transfer_email

            # Both published versions: optional section and venue fields.
            section_id: str | None = sections[0].section_id
            section_desc: str | None = sections[0].section_desc
            is_ga: bool | None = sections[0].is_ga
            has_quote: bool | None = sections[0].has_quote
            venue_name: str | None = venue.venue_name if venue is not None else None
            # The payout version's quote fields; each is optional.
            payout_quote: Quote = await tbb.quotes.create(
                "evt_1001",
                "Floor A",
                2,
                row_name=None,
                section_name_display="Floor A",
                row_name_display="Row C",
                face_value=Decimal("89.50"),
                seat_start="1",
                seat_end="2",
                general_admission=False,
                is_view_restricted=True,
                restriction_detail="pillar",
                restrictions=["obstructed view"],
                user_metadata={"first_name": "Ada", "email": "ada@example.com"},
            )
            by_int: Quote = await tbb.quotes.create("evt_1001", "Floor A", 1, face_value=90)
            by_float: Quote = await tbb.quotes.create("evt_1001", "Floor A", 1, face_value=89.5)
            quote_event: QuoteEvent | None = payout_quote.event
            if quote_event is not None:
                local: datetime | None = quote_event.event_datetime_local
                zone: str | None = quote_event.event_timezone
            # The payout version's multipart order: from bytes, a str path or a Path.
            pdf_order: BuybackOrder = await tbb.orders.create(
                payout_quote.quote_id,
                delivery_type="pdf",
                is_ready_to_deliver=True,
                file=b"%PDF-1.7",
            )
            later: BuybackOrder = await tbb.orders.create(
                payout_quote.quote_id,
                delivery_type="pdf",
                is_ready_to_deliver=False,
                in_hand_date=date(2030, 1, 3),
                file=Path("tickets.pdf"),
            )
            text_date: BuybackOrder = await tbb.orders.create(
                payout_quote.quote_id,
                delivery_type="mobile_qr",
                is_ready_to_deliver=False,
                in_hand_date="2030-01-03",
                file=None,
            )
            ready: bool | None = later.is_ready_to_deliver
            in_hand: date | None = later.in_hand_date
            # Per-call options on every resource call.
            headers = {"X-Partner-Trace": "t-1"}
            opt_events: Paginator[BuybackEvent] = tbb.events.list(
                q="jazz", extra_headers=headers, timeout=2.0
            )
            opt_event: BuybackEvent = await tbb.events.get("evt_1001", extra_headers=headers)
            opt_sections: list[Section] = await tbb.sections.list("evt_1001", timeout=1)
            opt_rows: list[Row] = await tbb.rows.list(
                "evt_1001", "Floor A", extra_headers=headers, timeout=1.5
            )
            opt_quote: Quote = await tbb.quotes.create(
                "evt_1001", "Floor A", 1, extra_headers=headers, timeout=5.0
            )
            opt_order: BuybackOrder = await tbb.orders.create(
                opt_quote.quote_id,
                delivery_type="mobile_qr",
                is_ready_to_deliver=True,
                extra_headers=headers,
                timeout=5.0,
            )


def error_tree(exc: Exception) -> None:
    auth: type[AuthenticationError] = InvalidCredentialsError
    expired: type[AuthenticationError] = TokenExpiredError
    suspended: type[PermissionDeniedError] = AccountSuspendedError
    no_payment: type[PermissionDeniedError] = PaymentNotConfiguredError
    consumed: type[ConflictError] = QuoteAlreadyConsumedError
    gone: type[GoneError] = QuoteExpiredError
    invalid: type[APIError] = InvalidRequestError
    if isinstance(exc, QuoteExpiredError):
        quote_id: str | None = exc.quote_id
        expired_at: datetime | None = exc.expired_at
        request_id: str | None = exc.request_id
        unknown: bool = exc.outcome_unknown


async def payout_mistakes(tbb: BuybackClient) -> None:
    # mypy --strict warns about unused ignores: each line must really be refused.
    await tbb.quotes.create("evt_1", "Floor A", 1, face_value="89.50")  # type: ignore[arg-type]
    await tbb.quotes.create("evt_1", "A", 1, general_admission="yes")  # type: ignore[arg-type]
    await tbb.orders.create("qt_1", delivery_type="pdf", file=42)  # type: ignore[arg-type]
    await tbb.events.get("evt_1", timeout="1")  # type: ignore[arg-type]
