"""BuybackClient against the Buyback sandbox: the whole flow, every error, validation,
quoting, pagination, configuration and the lifecycle."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from buyback_helpers import FAST

from ttg_async import (
    ClientClosedError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    RetryPolicy,
    ServerError,
)
from ttg_async.buyback import (
    AccountSuspendedError,
    BuybackClient,
    InvalidCredentialsError,
    PaymentNotConfiguredError,
    QuoteAlreadyConsumedError,
    QuoteExpiredError,
)
from ttg_async.buyback.sandbox import BuybackSandbox


def _deadline(sb: BuybackSandbox, event_id: str) -> dt.datetime:
    # Two hours before the show, given in the venue's own zone: sent in UTC.
    start = sb.event_start(event_id) - dt.timedelta(hours=2)
    return start.astimezone(dt.timezone(dt.timedelta(hours=-5)))


async def test_whole_flow(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    events = await tbb.events.list().collect()
    assert [e.event_id for e in events] == sb.event_ids()  # every page, in order
    event = await tbb.events.get(events[3].event_id)
    assert event == events[3]
    assert event.event_datetime_utc.tzinfo is not None
    sections = await tbb.sections.list(event.event_id)
    assert [s.section_name for s in sections] == sb.section_names(event.event_id)
    section = sections[-1]
    rows = await tbb.rows.list(event.event_id, section.section_name)
    assert rows
    quote = await tbb.quotes.create(
        event.event_id, section.section_name, 2, row_name=rows[0].row_name
    )
    assert quote.status == "active"
    assert quote.quantity == 2
    assert quote.row_name == rows[0].row_name
    assert quote.total_price == quote.price_per_ticket * 2  # type: ignore[operator]
    assert isinstance(quote.total_price, Decimal)
    assert quote.expires_at > sb.now()
    order = await tbb.orders.create(
        quote.quote_id,
        delivery_type="mobile_transfer",
        delivery_deadline=_deadline(sb, event.event_id),
    )
    assert order.transfer_email.endswith("@sandbox.ticketbuyback.test")
    assert order.status == "confirmed"
    assert order.quote_id == quote.quote_id
    assert order.delivery_type == "mobile_transfer"
    assert order.delivery_deadline == sb.event_start(event.event_id) - dt.timedelta(hours=2)
    assert sb.orders_for_quote(quote.quote_id) == [order.order_id]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"q": "ARENA"}, lambda e: "Harbor Arena" in e["venue"]),
        ({"venue_id": "ven_200"}, lambda e: e["venue_id"] == "ven_200"),
        ({"venue_name": "lakeside"}, lambda e: "Lakeside" in e["venue"]),
        ({"performer_id": "prf_3"}, lambda e: "prf_3" in e["performers"]),
        ({"performer_name": "owls"}, lambda e: "The Midnight Owls" in e["names"]),
        ({"event_id": "evt_1005"}, lambda e: e["id"] == "evt_1005"),
        ({"date_from": dt.date(2030, 1, 5), "date_to": "2030-01-09"}, None),
    ],
)
async def test_every_documented_filter(
    tbb: BuybackClient, filters: dict[str, Any], expected: Any
) -> None:
    everything = await tbb.events.list(limit=100).collect()
    found = await tbb.events.list(**filters).collect()
    assert found
    if expected is None:
        days = {e.event_datetime_local.date() for e in found if e.event_datetime_local}
        assert min(days) == dt.date(2030, 1, 5)
        assert max(days) == dt.date(2030, 1, 9)
        assert len(found) == 5
        return
    for event in everything:
        assert event.venue is not None
        facts = {
            "id": event.event_id,
            "venue": event.venue.venue_name,
            "venue_id": event.venue.venue_id,
            "performers": [p.performer_id for p in event.performers],
            "names": [p.performer_name for p in event.performers],
        }
        assert (event in found) == bool(expected(facts)), event.event_id


async def test_pages_max_items_and_offset(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    pages = [page async for page in tbb.events.list(limit=7).pages()]
    assert [len(p.items) for p in pages] == [7, 7, 7, 3]
    assert [p.has_more for p in pages] == [True, True, True, False]
    assert [p.offset for p in pages] == [0, 7, 14, 21]
    some = await tbb.events.list(limit=5, offset=2, max_items=6).collect()
    assert [e.event_id for e in some] == sb.event_ids()[2:8]


async def test_walks_while_has_more_even_when_total_disagrees(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    sb.pagination_quirk = "lying_total"
    events = await tbb.events.list(limit=5).collect()
    assert [e.event_id for e in events] == sb.event_ids()


async def test_empty_page_with_has_more_ends_the_walk(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    sb.pagination_quirk = "endless"
    async with asyncio.timeout(20):  # generous; a walk that never ends fails here
        events = await tbb.events.list(limit=10).collect()
    assert [e.event_id for e in events] == sb.event_ids()
    # Three full-ish pages, then one empty page that says has_more: the walk stops there.
    assert sb.request_count("GET /v1/events") == 4


async def test_quote_is_single_use(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    event_id = sb.event_ids()[0]
    quote = await tbb.quotes.create(event_id, sb.section_names(event_id)[0], 1)
    deadline = _deadline(sb, event_id)
    order = await tbb.orders.create(quote.quote_id, delivery_type="pdf", delivery_deadline=deadline)
    with pytest.raises(QuoteAlreadyConsumedError) as caught:
        await tbb.orders.create(quote.quote_id, delivery_type="pdf", delivery_deadline=deadline)
    assert caught.value.status == 422
    assert caught.value.details["order_id"] == order.order_id
    assert caught.value.request_id
    assert sb.orders_for_quote(quote.quote_id) == [order.order_id]


async def test_quote_expires(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sb.quote_ttl = 30
    event_id = sb.event_ids()[1]
    quote = await tbb.quotes.create(event_id, sb.section_names(event_id)[0], 2)
    assert quote.expires_at == quote.created_at + dt.timedelta(seconds=30)  # type: ignore[operator]
    sb.advance(31)
    with pytest.raises(QuoteExpiredError) as caught:
        await tbb.orders.create(
            quote.quote_id, delivery_type="mobile_qr", delivery_deadline=_deadline(sb, event_id)
        )
    assert caught.value.quote_id == quote.quote_id
    assert caught.value.expired_at == quote.expires_at
    assert sb.orders_for_quote(quote.quote_id) == []


async def test_partners_are_isolated(base_url: str, sb: BuybackSandbox) -> None:
    event_id = sb.event_ids()[0]
    async with (
        BuybackClient("tbb_test_alpha", "secret", base_url=base_url, retry=FAST) as alpha,
        BuybackClient("tbb_test_beta", "secret", base_url=base_url, retry=FAST) as beta,
    ):
        quote = await alpha.quotes.create(event_id, sb.section_names(event_id)[0], 1)
        with pytest.raises(NotFoundError):
            await beta.orders.create(
                quote.quote_id, delivery_type="pdf", delivery_deadline=_deadline(sb, event_id)
            )
        # Beta's attempt neither used nor spoiled alpha's quote.
        order = await alpha.orders.create(
            quote.quote_id, delivery_type="pdf", delivery_deadline=_deadline(sb, event_id)
        )
    assert sb.quotes("tbb_test_beta") == []
    assert sb.orders("tbb_test_beta") == []
    assert sb.orders("tbb_test_alpha") == [order.order_id]


async def test_account_without_payment_method(base_url: str, sb: BuybackSandbox) -> None:
    event_id = sb.event_ids()[0]
    async with BuybackClient("tbb_test_nopay_1", "secret", base_url=base_url) as tbb:
        assert await tbb.events.get(event_id)  # browsing works
        with pytest.raises(PaymentNotConfiguredError) as caught:
            await tbb.quotes.create(event_id, sb.section_names(event_id)[0], 1)
    assert caught.value.code == "PAYMENT_NOT_CONFIGURED"
    assert caught.value.status == 403


async def test_suspended_account(base_url: str, sb: BuybackSandbox) -> None:
    async with BuybackClient("tbb_test_suspended_1", "secret", base_url=base_url) as tbb:
        with pytest.raises(AccountSuspendedError) as caught:
            await tbb.events.get(sb.event_ids()[0])
    assert caught.value.status == 403
    assert sb.token_requests("tbb_test_suspended_1") == 1


async def test_wrong_secret(base_url: str, sb: BuybackSandbox) -> None:
    async with BuybackClient("tbb_test_alpha", "not-the-secret", base_url=base_url) as tbb:
        with pytest.raises(InvalidCredentialsError) as caught:
            await tbb.events.get(sb.event_ids()[0])
    assert caught.value.status == 401
    assert caught.value.outcome_unknown is False
    assert sb.request_count("GET /v1/events/{event_id}") == 0


async def test_not_found_and_server_validation(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    with pytest.raises(NotFoundError):
        await tbb.events.get("evt_nope")
    with pytest.raises(NotFoundError):
        await tbb.rows.list(sb.event_ids()[0], "No Such Section")
    with pytest.raises(InvalidRequestError) as caught:
        await tbb.quotes.create(sb.event_ids()[0], sb.section_names(sb.event_ids()[0])[0], 9)
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details == {"field": "quantity"}


async def test_section_names_are_quoted(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    checked = set()
    for event_id in sb.event_ids()[:8]:
        for name in sb.section_names(event_id):
            rows = await tbb.rows.list(event_id, name)
            assert rows, name
            quote = await tbb.quotes.create(event_id, name, 1, row_name=rows[-1].row_name)
            assert quote.section_name == name
            checked.add(name)
    assert {"Club & Suites", "Box #5", "Upper 300's"} <= checked


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        (lambda t: t.events.get(""), ValueError, "event_id"),
        (lambda t: t.events.get(5), TypeError, "event_id"),
        (lambda t: t.sections.list(" "), ValueError, "event_id"),
        (lambda t: t.rows.list("evt_1001", ""), ValueError, "section_name"),
        (lambda t: t.quotes.create("evt_1001", "Balcony", 0), ValueError, "quantity"),
        (lambda t: t.quotes.create("evt_1001", "Balcony", True), TypeError, "quantity"),
        (lambda t: t.quotes.create("evt_1001", "Balcony", 1.5), TypeError, "quantity"),
        (lambda t: t.quotes.create("", "Balcony", 1), ValueError, "event_id"),
        (lambda t: t.quotes.create("evt_1001", "", 1), ValueError, "section_name"),
        (lambda t: t.quotes.create("evt_1001", "A", 1, row_name=""), ValueError, "row_name"),
        (
            lambda t: t.orders.create(
                "qt_1", delivery_type="email", delivery_deadline=dt.datetime.now(dt.UTC)
            ),
            ValueError,
            "delivery_type",
        ),
        (
            lambda t: t.orders.create(
                "qt_1", delivery_type="pdf", delivery_deadline=dt.datetime(2030, 1, 1)
            ),
            ValueError,
            "delivery_deadline",
        ),
        (
            lambda t: t.orders.create(
                "qt_1",
                delivery_type="pdf",
                delivery_deadline=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
            ),
            ValueError,
            "delivery_deadline",
        ),
        (
            lambda t: t.orders.create(
                "qt_1", delivery_type="pdf", delivery_deadline="2030-01-01T00:00:00Z"
            ),
            TypeError,
            "delivery_deadline",
        ),
        (
            lambda t: t.orders.create(
                "", delivery_type="pdf", delivery_deadline=dt.datetime.now(dt.UTC)
            ),
            ValueError,
            "quote_id",
        ),
    ],
)
async def test_validation_before_any_request(
    tbb: BuybackClient, sb: BuybackSandbox, call: Any, error: type[Exception], field: str
) -> None:
    with pytest.raises(error, match=f"^{field}: "):
        await call(tbb)
    assert sb.request_count() == 0  # not even a token request


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"limit": 101}, ValueError, "limit"),
        ({"limit": 0}, ValueError, "limit"),
        ({"offset": -1}, ValueError, "offset"),
        ({"date_from": "01/05/2030"}, ValueError, "date_from"),
        ({"date_to": dt.datetime(2030, 1, 1)}, TypeError, "date_to"),
        ({"date_from": "2030-02-01", "date_to": "2030-01-01"}, ValueError, "date_to"),
        ({"q": ""}, ValueError, "q"),
        ({"venue_id": 3}, TypeError, "venue_id"),
    ],
)
def test_list_arguments_are_checked_at_once(
    tbb: BuybackClient, kwargs: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error, match=f"^{field}: "):
        tbb.events.list(**kwargs)


def test_configuration_from_arguments_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBB_CLIENT_ID", "tbb_test_env")
    monkeypatch.setenv("TBB_CLIENT_SECRET", "env-secret-value")
    monkeypatch.setenv("TBB_BASE_URL", "http://127.0.0.1:9/partner/")
    client = BuybackClient()
    assert client.client_id == "tbb_test_env"
    assert client.base_url == "http://127.0.0.1:9/partner"
    monkeypatch.delenv("TBB_BASE_URL")
    assert BuybackClient().base_url == "https://api.ticketbuyback.com/partner"
    monkeypatch.delenv("TBB_CLIENT_SECRET")
    with pytest.raises(ConfigurationError, match="client_secret"):
        BuybackClient()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url": "http://api.ticketbuyback.com/partner"}, "base_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": "secret\n"}, "client_secret"),
        ({"timeout": 0}, "timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"retry": 3}, "retry"),
        ({"session": object()}, "session"),
    ],
)
def test_bad_configuration(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"client_id": "tbb_test_a", "client_secret": "secret", **kwargs}
    with pytest.raises(ConfigurationError) as caught:
        BuybackClient(**args)
    assert caught.value.field == field


async def test_with_options_shares_session_and_token(base_url: str, sb: BuybackSandbox) -> None:
    async with BuybackClient("tbb_test_alpha", "secret", base_url=base_url) as tbb:
        view = tbb.with_options(retry=RetryPolicy.disabled(), timeout=5)
        assert view.retry.max_attempts == 1
        assert view.timeout == 5.0
        assert tbb.timeout == 30.0
        await tbb.events.get(sb.event_ids()[0])
        await view.events.get(sb.event_ids()[0])
        await view.aclose()  # a view's aclose does nothing
        assert not tbb.closed
        await tbb.events.get(sb.event_ids()[0])
        with pytest.raises(ConfigurationError):
            tbb.with_options(retry="no")  # type: ignore[arg-type]
    assert sb.token_requests() == 1
    assert tbb.closed
    assert view.closed
    with pytest.raises(ClientClosedError):
        await view.events.get(sb.event_ids()[0])


async def test_body_error_closes_everything(base_url: str) -> None:
    # With warnings as errors, an unclosed session would fail this test at teardown.
    client = BuybackClient("tbb_test_alpha", "secret", base_url=base_url)

    async def use() -> None:
        async with client as tbb:
            await tbb.events.get("evt_1001")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await use()
    assert client.closed
    await client.aclose()  # twice is fine


async def test_a_session_passed_in_is_not_closed(base_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with BuybackClient(
            "tbb_test_alpha", "secret", base_url=base_url, session=session
        ) as tbb:
            await tbb.events.get("evt_1001")
        assert not session.closed


async def test_every_call_sends_one_request_id(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sb.inject("GET /v1/events/{event_id}", "status", status=503, times=2)
    with pytest.raises(ServerError) as caught:
        await tbb.with_options(retry=RetryPolicy(max_attempts=2, backoff_base=0)).events.get(
            "evt_1001"
        )
    request_id = caught.value.request_id
    assert request_id is not None
    assert request_id.startswith("req_")
    assert sb.attempts(request_id) == 2


@pytest.mark.parametrize("quirk", [None, "lying_total", "endless"])
async def test_pages_fetched_ahead_give_every_event_once(
    tbb: BuybackClient, sb: BuybackSandbox, quirk: str | None
) -> None:
    sb.pagination_quirk = quirk
    async with asyncio.timeout(20):
        events = await tbb.events.list(limit=5, concurrency=3).collect()
    assert [e.event_id for e in events] == sb.event_ids()
