"""Type-checked in CI (mypy --strict), never run: the Buyback signatures must not drift.

Each line uses ``ttg_async.buyback`` the way public-api.md promises it; assignments with
explicit annotations make mypy check every return type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import aiohttp

from ttg_async import (
    APIError,
    AuthenticationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    Page,
    Paginator,
    PermissionDeniedError,
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
    QuoteExpiredError,
    Row,
    Section,
    TokenExpiredError,
)
from ttg_async.buyback.sandbox import BuybackSandbox


async def buyback_flow(session: aiohttp.ClientSession) -> None:
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
            view: BuybackClient = tbb.with_options(retry=RetryPolicy.disabled(), timeout=2.0)
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
