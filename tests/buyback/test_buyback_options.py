"""Per-call options on every Buyback resource call (``extra_headers=``, ``timeout=``), and IDs
that could change the path refused before any request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from ttg_async import APITimeoutError, RetryPolicy
from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox

EVENT = "evt_1001"
Call = Callable[..., Awaitable[Any]]


class Seen:
    """The headers each request carried, as the server saw them (an aiohttp middleware)."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        result: web.StreamResponse = await handler(request)
        return result


def _calls(sb: BuybackSandbox) -> dict[str, Callable[[BuybackClient, dict[str, Any]], Call]]:
    section = sb.section_names(EVENT)[0]
    deadline = sb.event_start(EVENT) - dt.timedelta(days=1)

    async def order(tbb: BuybackClient, **options: Any) -> Any:
        quote = await tbb.quotes.create(EVENT, section, 1)
        return await tbb.orders.create(
            quote.quote_id, delivery_type="mobile_qr", delivery_deadline=deadline, **options
        )

    return {
        "events.list": lambda tbb, o: tbb.events.list(max_items=1, **o).collect,
        "events.get": lambda tbb, o: lambda: tbb.events.get(EVENT, **o),
        "sections.list": lambda tbb, o: lambda: tbb.sections.list(EVENT, **o),
        "rows.list": lambda tbb, o: lambda: tbb.rows.list(EVENT, section, **o),
        "quotes.create": lambda tbb, o: lambda: tbb.quotes.create(EVENT, section, 1, **o),
        "orders.create": lambda tbb, o: lambda: order(tbb, **o),
    }


NAMES = ["events.list", "events.get", "sections.list", "rows.list", "quotes.create"]
NAMES.append("orders.create")


@pytest.mark.parametrize("name", NAMES)
async def test_extra_headers_reach_the_server(sb: BuybackSandbox, name: str) -> None:
    seen = Seen()
    app = sb.make_app()
    app.middlewares.insert(0, seen.middleware)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/partner"
        async with BuybackClient("tbb_test_opts", "secret", base_url=url) as tbb:
            options = {"extra_headers": {"X-Partner-Trace": "t-42", "Accept-Language": "fr"}}
            await _calls(sb)[name](tbb, options)()
    finally:
        await runner.cleanup()
    # The call's own request carries them; the token request and other calls do not.
    last = seen.headers[-1]
    assert last["x-partner-trace"] == "t-42"
    assert last["accept-language"] == "fr"
    assert last["authorization"].startswith("Bearer ")
    token_request = seen.headers[0]
    assert "x-partner-trace" not in token_request


@pytest.mark.parametrize("name", NAMES)
async def test_a_tiny_timeout_applies_to_that_call_only(
    sb: BuybackSandbox, base_url: str, name: str
) -> None:
    once = RetryPolicy.disabled()
    async with BuybackClient("tbb_test_opts", "secret", base_url=base_url, retry=once) as tbb:
        await tbb.events.get(EVENT)  # the token is fetched before the slow server
        sb.set_latency(0.5)
        with pytest.raises(APITimeoutError):
            await _calls(sb)[name](tbb, {"timeout": 0.05})()
        sb.set_latency(0.05)
        await tbb.events.get(EVENT)  # the client's own 30 s still holds for other calls


async def test_the_callers_request_id_is_sent_and_kept(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get(EVENT, extra_headers={"X-Request-ID": "req_mine1"})
    assert sb.attempts("req_mine1") == 1


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"Authorization": "Bearer x"}, ValueError),
        ({"content-type": "text/plain"}, ValueError),
        ({"X-A": "one\r\nX-B: two"}, ValueError),
        ({"X-A": 1}, TypeError),
        (["X-A"], TypeError),
    ],
)
async def test_bad_extra_headers_send_nothing(
    tbb: BuybackClient, sb: BuybackSandbox, headers: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="extra_headers"):
        await tbb.events.get(EVENT, extra_headers=headers)
    assert sb.request_count() == 0


@pytest.mark.parametrize("bad", ["", ".", "..", "evt\ud800", " evt", 7])
async def test_ids_that_would_change_the_path_send_nothing(
    tbb: BuybackClient, sb: BuybackSandbox, bad: Any
) -> None:
    error = TypeError if isinstance(bad, int) else ValueError
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: tbb.events.get(bad),
        lambda: tbb.sections.list(bad),
        lambda: tbb.rows.list(EVENT, bad),
        lambda: tbb.rows.list(bad, "Balcony"),
        lambda: tbb.quotes.create(bad, "Balcony", 1),
        lambda: tbb.quotes.create(EVENT, "Balcony", 1, row_name=bad),
        lambda: tbb.orders.create(
            bad, delivery_type="pdf", delivery_deadline=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        ),
        lambda: tbb.orders.create(bad, delivery_type="mobile_qr", is_ready_to_deliver=True),
    ]
    for call in calls:
        with pytest.raises(error):
            await call()
    assert sb.request_count() == 0


async def test_a_lone_surrogate_in_a_filter_sends_nothing(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    with pytest.raises(ValueError, match=r"^venue_name:"):
        await tbb.events.list(venue_name="Arena\udc00").collect()
    assert sb.request_count() == 0
