"""Hot reads for Buyback (issue 21): events, sections and rows are coalesced and may be
cached; quotes and orders never are. Counted by the Buyback sandbox over loopback."""

from __future__ import annotations

import asyncio

from buyback_helpers import FAST

from ttg_async import ResponseCache, ServerError
from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox

EVENT = "GET /v1/events/{event_id}"
SECTIONS = "GET /v1/events/{event_id}/sections"
ROWS = "GET /v1/events/{event_id}/sections/{section_name}/rows"


async def test_a_herd_of_identical_gets_makes_one_request(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    sb.set_latency(0.02)
    events = await asyncio.gather(*(tbb.events.get("evt_1001") for _ in range(1000)))
    assert sb.request_count(EVENT) == 1
    assert sb.token_requests() == 1
    assert all(event == events[0] for event in events)
    assert tbb.cache_stats().coalesced == 999
    sections = await asyncio.gather(*(tbb.sections.list("evt_1001") for _ in range(100)))
    assert sb.request_count(SECTIONS) == 1
    sections[0].clear()
    assert all(s == sections[1] for s in sections[1:])
    assert sections[1]


async def test_a_caller_that_leaves_does_not_cancel_the_others(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get("evt_1001")  # a token first
    sb.set_latency(0.1)
    tasks = [asyncio.create_task(tbb.events.get("evt_1001")) for _ in range(100)]
    await asyncio.sleep(0.02)
    tasks[0].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert all(getattr(r, "event_id", None) == "evt_1001" for r in results[1:])
    # The warm-up, the first caller's (cancelled with it), and the one another caller sent.
    assert sb.request_count(EVENT) == 3


async def test_an_error_reaches_every_waiter_and_is_not_kept(
    base_url: str, sb: BuybackSandbox
) -> None:
    async with BuybackClient(
        "tbb_test_alpha",
        "secret",
        base_url=base_url,
        retry=FAST.disabled(),
        cache=ResponseCache(60),
    ) as tbb:
        await tbb.events.get("evt_1002")
        sb.set_latency(0.02)
        sb.inject(EVENT, "status", status=500, times=1)
        results = await asyncio.gather(
            *(tbb.events.get("evt_1001") for _ in range(100)), return_exceptions=True
        )
        assert all(type(r) is ServerError for r in results)
        assert (await tbb.events.get("evt_1001")).event_id == "evt_1001"
        assert sb.request_count(EVENT) == 3


async def test_the_cache_keeps_reads_and_never_quotes(base_url: str, sb: BuybackSandbox) -> None:
    cache = ResponseCache(ttl=60.0)
    async with (
        BuybackClient("tbb_test_alpha", "secret", base_url=base_url, cache=cache) as one,
        BuybackClient("tbb_test_beta", "secret", base_url=base_url, cache=cache) as other,
    ):
        section = sb.section_names("evt_1001")[0]
        for _ in range(3):
            await one.events.get("evt_1001")
            await one.sections.list("evt_1001")
            await one.rows.list("evt_1001", section)
        assert (sb.request_count(EVENT), sb.request_count(SECTIONS), sb.request_count(ROWS)) == (
            1,
            1,
            1,
        )
        await other.events.get("evt_1001")  # another partner's credentials: its own request
        assert sb.request_count(EVENT) == 2
        await one.with_options(cache=None).events.get("evt_1001")
        assert sb.request_count(EVENT) == 3
        assert one.cache_stats().hits == 6
        sb.set_latency(0.02)
        quotes = await asyncio.gather(
            one.quotes.create("evt_1001", section, 1), one.quotes.create("evt_1001", section, 1)
        )
        assert quotes[0].quote_id != quotes[1].quote_id
        assert sb.request_count("POST /v1/quotes") == 2
