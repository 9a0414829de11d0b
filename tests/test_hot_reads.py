"""Hot reads (issue 21): coalescing of identical GETs and the response cache, against the
real sandbox over loopback. The sandbox counts what reaches it."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from ttg_testkit import KEY, NO_WAIT, RETAILER, Running, Show, assert_pool_idle, find_show

from ttg_async import (
    APITimeoutError,
    CacheStats,
    CartItemInput,
    ConfigurationError,
    Contact,
    NotFoundError,
    ResponseCache,
    RetryPolicy,
    ServerError,
    TTGClient,
)
from ttg_async._core.hot import SERVED

EVENT = "GET /api/v3/events/{eventId}"
INVENTORY = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
OCCURRENCES = "GET /api/v3/events/{eventId}/occurrences"
CART = "GET /api/v3/carts/{cartId}"
HERD = 1000


class Clock:
    """The cache's clock, moved by the test: the cache's own decisions only."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def cached(running: Running) -> AsyncIterator[tuple[TTGClient, Clock]]:
    clock = Clock()
    cache = ResponseCache(ttl=60.0, max_entries=1000, clock=clock)
    async with TTGClient(
        KEY, RETAILER, base_url=running.base_url, retry=NO_WAIT, cache=cache
    ) as client:
        yield client, clock


# -- coalescing --------------------------------------------------------------------------


async def test_a_herd_of_identical_gets_makes_one_request(
    ttg: TTGClient, running: Running, show: Show
) -> None:
    sandbox = running.sandbox
    sandbox.set_latency(EVENT, 0.02)
    sandbox.reset_counters()
    occ = show.occurrence.id
    events, inventories = await asyncio.gather(
        asyncio.gather(*(ttg.events.get(show.event_id) for _ in range(HERD))),
        asyncio.gather(*(ttg.inventory.list(show.event_id, occ) for _ in range(HERD))),
    )
    assert sandbox.request_count(EVENT) == 1
    assert sandbox.request_count(INVENTORY) == 1
    assert ttg.cache_stats().coalesced == 2 * (HERD - 1)
    assert all(event == events[0] for event in events)
    # Each caller holds its own list: one changed by one caller is not changed under another,
    # and the models in it are frozen.
    assert len({id(items) for items in inventories}) == HERD
    inventories[0].clear()
    inventories[1].reverse()
    assert all(items == show.items for items in inventories[2:])
    with pytest.raises(AttributeError):
        inventories[2][0].quantity_available = 0  # type: ignore[misc]


async def test_what_reaches_the_wire_keys_the_request(
    ttg: TTGClient, running: Running, show: Show
) -> None:
    """Same URL, other Accept-Language, retailer or key: one request each, never one for all."""
    sandbox = running.sandbox
    sandbox.set_latency(EVENT, 0.02)
    sandbox.reset_counters()
    variants: list[dict[str, str] | None] = [
        None,
        {"Accept-Language": "fr-FR"},
        {"Accept-Language": "de-DE"},
        {"X-TT-Retailer": "retailer-2"},
        {"X-TT-API-Key": "sk_test_another_key_000000"},
    ]
    calls = [
        ttg.events.get(show.event_id, extra_headers=headers)
        for headers in variants
        for _ in range(200)
    ]
    await asyncio.gather(*calls)
    assert sandbox.request_count(EVENT) == len(variants)


async def test_clients_with_other_credentials_sharing_a_cache_do_not_share_answers(
    running: Running, show: Show
) -> None:
    sandbox = running.sandbox
    cache = ResponseCache(ttl=60.0)
    sandbox.reset_counters()
    url = running.base_url
    async with (
        TTGClient(KEY, RETAILER, base_url=url, cache=cache) as one,
        TTGClient(KEY, "retailer-2", base_url=url, cache=cache) as other_retailer,
        TTGClient("sk_test_other_key_0000000", RETAILER, base_url=url, cache=cache) as other_key,
        TTGClient(KEY, RETAILER, base_url=url, cache=cache, accept_language="fr-FR") as french,
    ):
        for client in (one, other_retailer, other_key, french):
            await asyncio.gather(*(client.events.get(show.event_id) for _ in range(50)))
            await client.events.get(show.event_id)
    assert sandbox.request_count(EVENT) == 4
    assert len(cache) == 4
    assert not any(KEY in repr(key) for key in cache._entries)  # only a hash of the key


async def test_a_caller_that_leaves_does_not_cancel_the_others(
    ttg: TTGClient, running: Running, show: Show
) -> None:
    running.sandbox.set_latency(EVENT, 0.1)
    running.sandbox.reset_counters()
    tasks = [asyncio.create_task(ttg.events.get(show.event_id)) for _ in range(HERD)]
    await asyncio.sleep(0.02)  # every caller has joined the first one's request
    tasks[500].cancel()  # a follower leaves: nothing changes for the others
    await asyncio.sleep(0.01)
    tasks[0].cancel()  # the one that sent the request leaves: another sends it again
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[500], asyncio.CancelledError)
    others = results[1:500] + results[501:]
    assert all(getattr(r, "id", None) == show.event_id for r in others)
    assert running.sandbox.request_count(EVENT) == 2


async def test_when_every_caller_leaves_nothing_is_in_flight(
    ttg: TTGClient, running: Running, show: Show
) -> None:
    running.sandbox.set_latency(EVENT, 5.0)
    before = asyncio.all_tasks()
    tasks = [asyncio.create_task(ttg.events.get(show.event_id)) for _ in range(HERD)]
    await asyncio.sleep(0.05)
    assert ttg._shared.hot.flights
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert not ttg._shared.hot.flights
    # No request in flight: every connection is back and every slot free; no task is left
    # behind by the client.
    assert_pool_idle(ttg, 64)
    left = [
        t
        for t in asyncio.all_tasks() - before
        if not t.done() and "/ttg_async/_" in t.get_coro().cr_code.co_filename
    ]
    assert not left
    assert running.sandbox.request_count(EVENT) == 1  # the leader's, never sent again


async def test_each_caller_keeps_its_own_deadline(
    ttg: TTGClient, running: Running, show: Show
) -> None:
    running.sandbox.set_latency(EVENT, 0.3)
    hurried = ttg.with_options(retry=RetryPolicy(max_attempts=1, deadline=0.05))
    patient = asyncio.create_task(ttg.events.get(show.event_id))
    await asyncio.sleep(0.01)
    with pytest.raises(APITimeoutError) as caught:
        await hurried.events.get(show.event_id)
    assert caught.value.request_id is not None
    assert (await patient).id == show.event_id
    assert running.sandbox.request_count(EVENT) == 1


async def test_an_error_reaches_every_waiter_and_is_not_kept(running: Running, show: Show) -> None:
    sandbox = running.sandbox
    async with TTGClient(
        KEY, RETAILER, base_url=running.base_url, max_retries=0, cache=ResponseCache(ttl=60.0)
    ) as ttg:
        sandbox.set_latency(EVENT, 0.02)
        sandbox.reset_counters()
        sandbox.inject(EVENT, "status", status=500, times=1)
        results = await asyncio.gather(
            *(ttg.events.get(show.event_id) for _ in range(HERD)), return_exceptions=True
        )
        assert sandbox.request_count(EVENT) == 1
        assert all(type(r) is ServerError for r in results)
        # Each waiter its own copy, all naming the one request that served them.
        assert len({id(r) for r in results}) == HERD
        (sent,) = sandbox.wire_log(EVENT)
        assert {r.request_id for r in results if isinstance(r, ServerError)} == {sent.request_id}
        event = await ttg.events.get(show.event_id)
        assert event.id == show.event_id
        assert sandbox.request_count(EVENT) == 2


async def test_writes_are_never_coalesced(ttg: TTGClient, running: Running, show: Show) -> None:
    running.sandbox.set_latency("POST /api/v3/carts", 0.05)
    running.sandbox.reset_counters()
    item = show.first(type(show.items[0].inventory_variant))
    ga = next(i for i in show.items if i.quantity_available > 2 and i is not item)
    wanted = [CartItemInput.for_option(show.occurrence.id, ga, ga.price_options[0])]
    one, two = await asyncio.gather(ttg.carts.create(wanted), ttg.carts.create(wanted))
    assert one.id != two.id
    assert running.sandbox.request_count("POST /api/v3/carts") == 2
    await asyncio.gather(ttg.carts.delete(one.id), ttg.carts.delete(one.id))
    assert running.sandbox.request_count("DELETE /api/v3/carts/{cartId}") == 2
    await ttg.carts.delete(two.id)


async def test_a_joined_call_logs_the_request_that_served_it(
    ttg: TTGClient, running: Running, show: Show, caplog: pytest.LogCaptureFixture
) -> None:
    running.sandbox.set_latency(EVENT, 0.02)
    with caplog.at_level(logging.DEBUG, logger="ttg_async"):
        await asyncio.gather(*(ttg.events.get(show.event_id) for _ in range(3)))
    (sent,) = running.sandbox.wire_log(EVENT)[-1:]
    joined = [r.getMessage() for r in caplog.records if "joined request" in r.getMessage()]
    assert joined == [f"GET /api/v3/events/{show.event_id}: joined request {sent.request_id}"] * 2


async def test_served_says_how_each_call_was_served(ttg: TTGClient, show: Show) -> None:
    async def one() -> str:
        await ttg.events.get(show.event_id)
        return SERVED.get()

    assert sorted(await asyncio.gather(one(), one(), one())) == [
        "coalesced",
        "coalesced",
        "upstream",
    ]


async def test_coalescing_can_be_turned_off(ttg: TTGClient, running: Running, show: Show) -> None:
    running.sandbox.set_latency(EVENT, 0.02)
    running.sandbox.reset_counters()
    alone = ttg.with_options(coalesce=False)
    await asyncio.gather(*(alone.events.get(show.event_id) for _ in range(5)))
    assert running.sandbox.request_count(EVENT) == 5
    with pytest.raises(ConfigurationError):
        ttg.with_options(coalesce="no")  # type: ignore[arg-type]


# -- the cache -----------------------------------------------------------------------------


async def test_within_the_ttl_repeats_make_no_request(
    cached: tuple[TTGClient, Clock], running: Running
) -> None:
    ttg, clock = cached
    show = await find_show(ttg)
    sandbox = running.sandbox
    sandbox.reset_counters()
    for _ in range(3):
        assert (await ttg.events.get(show.event_id)).id == show.event_id
        assert await ttg.inventory.list(show.event_id, show.occurrence.id) == show.items
    assert sandbox.request_count(EVENT) == 1
    assert sandbox.request_count(INVENTORY) == 0  # find_show read it already
    clock.now += 50.0  # well before the end (no early refresh yet)
    await ttg.events.get(show.event_id)
    assert sandbox.request_count(EVENT) == 1
    clock.now += 10.0  # the TTL is over
    await ttg.events.get(show.event_id)
    assert sandbox.request_count(EVENT) == 2
    # The bypass view goes upstream, and its answer is not mixed into the cache's counts.
    await ttg.with_options(cache=None).events.get(show.event_id)
    assert sandbox.request_count(EVENT) == 3
    stats = ttg.cache_stats()
    assert isinstance(stats, CacheStats)
    assert stats.hits >= 6
    with pytest.raises(ConfigurationError):
        ttg.with_options(cache=ResponseCache(ttl=1.0))  # type: ignore[arg-type]


async def test_cached_lists_are_each_callers_own(cached: tuple[TTGClient, Clock]) -> None:
    ttg, _ = cached
    show = await find_show(ttg)
    first = await ttg.inventory.list(show.event_id, show.occurrence.id)
    first.clear()
    again = await ttg.inventory.list(show.event_id, show.occurrence.id)
    assert again == show.items
    again.pop()
    assert (await ttg.inventory.list(show.event_id, show.occurrence.id)) == show.items


async def test_errors_are_never_cached(cached: tuple[TTGClient, Clock], running: Running) -> None:
    ttg, _ = cached
    show = await find_show(ttg)
    running.sandbox.reset_counters()
    running.sandbox.inject(EVENT, "status", status=500, times=1)
    with pytest.raises(ServerError):
        await ttg.with_options(max_retries=0).events.get(show.event_id)
    assert (await ttg.events.get(show.event_id)).id == show.event_id
    assert running.sandbox.request_count(EVENT) == 2
    with pytest.raises(NotFoundError):
        await ttg.carts.get("cart_nope")
    with pytest.raises(NotFoundError):
        await ttg.carts.get("cart_nope")
    assert running.sandbox.request_count(CART) == 2


def _counts(running: Running) -> tuple[int, int, int]:
    sb = running.sandbox
    return sb.request_count(CART), sb.request_count(INVENTORY), sb.request_count(OCCURRENCES)


async def _warm(ttg: TTGClient, show: Show, cart_id: str) -> None:
    await ttg.carts.get(cart_id)
    await ttg.inventory.list(show.event_id, show.occurrence.id)
    await ttg.occurrences.list(show.event_id)


async def test_writes_make_the_cart_and_its_occurrence_stale(
    cached: tuple[TTGClient, Clock], running: Running
) -> None:
    ttg, _ = cached
    show = await find_show(ttg)
    ga = next(i for i in show.items if i.quantity_available > 3)
    wanted = [CartItemInput.for_option(show.occurrence.id, ga, ga.price_options[0])]
    await ttg.occurrences.list(show.event_id)
    inventory_before = await ttg.inventory.list(show.event_id, show.occurrence.id)

    # A cart created: the occurrence's inventory and occurrence list go upstream again.
    cart = await ttg.carts.create(wanted)
    running.sandbox.reset_counters()
    inventory_after = await ttg.inventory.list(show.event_id, show.occurrence.id)
    assert _counts(running) == (0, 1, 0)
    assert inventory_after != inventory_before  # the hold took some
    await ttg.occurrences.list(show.event_id)
    assert _counts(running) == (0, 1, 1)

    # Cached, then deleted: the cart and the inventory go upstream.
    await _warm(ttg, show, cart.id)
    running.sandbox.reset_counters()
    await _warm(ttg, show, cart.id)
    assert _counts(running) == (0, 0, 0)
    await ttg.carts.delete(cart.id)
    with pytest.raises(NotFoundError):
        await ttg.carts.get(cart.id)
    await ttg.inventory.list(show.event_id, show.occurrence.id)
    await ttg.occurrences.list(show.event_id)
    assert _counts(running) == (1, 1, 1)

    # An order placed: the cart and the inventory go upstream.
    cart = await ttg.carts.create(wanted)
    await _warm(ttg, show, cart.id)
    running.sandbox.reset_counters()
    await ttg.orders.create(
        cart.id, expected_total=cart.total, contact=Contact("Ann", "ann@example.com", "+15550100")
    )
    await _warm(ttg, show, cart.id)
    assert _counts(running) == (1, 1, 1)


async def test_a_write_on_a_cart_never_seen_invalidates_conservatively(
    cached: tuple[TTGClient, Clock], running: Running
) -> None:
    ttg, _ = cached
    show = await find_show(ttg)
    ga = next(i for i in show.items if i.quantity_available > 3)
    wanted = [CartItemInput.for_option(show.occurrence.id, ga, ga.price_options[0])]
    async with TTGClient(KEY, RETAILER, base_url=running.base_url) as elsewhere:
        cart = await elsewhere.carts.create(wanted)
    await ttg.inventory.list(show.event_id, show.occurrence.id)
    await ttg.occurrences.list(show.event_id)
    running.sandbox.reset_counters()
    await ttg.carts.delete(cart.id)  # which occurrence? unknown: every inventory is stale
    await ttg.inventory.list(show.event_id, show.occurrence.id)
    await ttg.occurrences.list(show.event_id)
    assert _counts(running) == (0, 1, 1)


async def test_the_cache_is_bounded(running: Running, show: Show) -> None:
    cache = ResponseCache(ttl=60.0, max_entries=2)
    async with TTGClient(KEY, RETAILER, base_url=running.base_url, cache=cache) as ttg:
        location = (await ttg.locations.list().collect())[0]
        events = await ttg.events.list(location.id, max_items=4).collect()
        for event in events[:3]:
            await ttg.events.get(event.id)
        assert len(cache) == 2
        assert ttg.cache_stats().evictions >= 2
        running.sandbox.reset_counters()
        await ttg.events.get(events[2].id)  # the most recent: kept
        await ttg.events.get(events[0].id)  # the least recent: evicted
        assert running.sandbox.request_count(EVENT) == 1
    with pytest.raises(ConfigurationError):
        ResponseCache(ttl=0)
    with pytest.raises(ConfigurationError):
        ResponseCache(ttl=1.0, max_entries=0)
    with pytest.raises(ConfigurationError):
        TTGClient(KEY, RETAILER, base_url=running.base_url, cache="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("coalesce", [True, False])
async def test_a_hot_key_is_refreshed_about_once_per_ttl(
    running: Running, show: Show, coalesce: bool
) -> None:
    """10,000 reads a second of one key for 10 TTL windows, on the cache's own clock.

    Time is the test's: each tick is 0.5 ms and brings 5 reads; a request upstream is held
    (by a trace hook) for exactly 4 ticks, whatever the machine's speed. Upstream requests are
    counted, and how many are in flight at once.
    """
    random.seed(21)
    clock = Clock()
    ttl, tick, per_tick, fetch_ticks, windows = 0.2, 0.0005, 5, 4, 10
    held: dict[asyncio.Event, int] = {}  # requests upstream, held, and for how many ticks
    sent: list[float] = []
    concurrent = most = 0

    async def on_start(session: object, context: object, params: Any) -> None:
        nonlocal concurrent, most
        if "/events/" in str(params.url):
            concurrent += 1
            most = max(most, concurrent)
            sent.append(clock.now)
            if not sent[0]:
                return  # the warm-up read
            event = asyncio.Event()
            held[event] = 0
            await event.wait()

    async def on_end(session: object, context: object, params: Any) -> None:
        nonlocal concurrent
        if "/events/" in str(params.url):
            concurrent -= 1

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    cache = ResponseCache(ttl=ttl, max_entries=10, clock=clock)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        TTGClient(KEY, RETAILER, base_url=running.base_url, cache=cache, session=session) as ttg,
    ):
        reader = ttg.with_options(coalesce=coalesce)
        # Warm first: without coalescing, a cold start is a stampede the cache cannot help.
        sent.append(0.0)
        await reader.events.get(show.event_id)
        sent.clear()
        pending: set[asyncio.Task[Any]] = set()
        for _ in range(round(windows * ttl / tick)):
            for _ in range(per_tick):
                pending.add(asyncio.create_task(reader.events.get(show.event_id)))
            for _ in range(5):
                await asyncio.sleep(0)
            for event in list(held):
                held[event] += 1
                if held[event] >= fetch_ticks:  # the answer arrives now, on the test's clock
                    event.set()
                    del held[event]
            while pending and not held:
                await asyncio.wait(pending, timeout=0.002)
                pending = {t for t in pending if not t.done()}
            clock.now += tick
        for event in held:
            event.set()
        await asyncio.gather(*pending)
    refreshes = len(sent)
    assert refreshes / windows <= 1.1, sent
    assert refreshes >= windows - 1
    assert most == 1  # never a burst of concurrent refreshes
    stats = ttg.cache_stats()
    assert stats.refreshes >= windows - 2  # renewed early (XFetch), not stampeded at expiry
    assert stats.hits > 0.99 * windows * ttl / tick * per_tick


# -- the crawl and the rate codes keep working -----------------------------------------------


async def test_by_rate_codes_and_the_crawl_with_coalescing_and_a_cache(
    cached: tuple[TTGClient, Clock], running: Running
) -> None:
    ttg, _ = cached
    show = await find_show(ttg)
    tiers = await ttg.inventory.by_rate_codes(show.event_id, show.occurrence.id, [None, "nope"])
    assert tiers[None] == show.items
    assert isinstance(tiers["nope"], Exception)
    location = (await ttg.locations.list().collect())[0]
    running.sandbox.reset_counters()
    crawl = ttg.crawl([location.id], inventory=False)
    records = [record async for record in crawl]
    assert records
    # The crawl bypasses the cache and counts every request it sends.
    assert crawl.stats.requests == running.sandbox.request_count()
