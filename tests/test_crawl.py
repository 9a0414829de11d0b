"""ttg.crawl() against the real sandbox: coverage, stats, faults, the concurrency cap (counted
by the server), backpressure, stopping, and resuming from a checkpoint at random points."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from ttg_async import (
    AuthenticationError,
    CatalogRecord,
    ConfigurationError,
    CrawlError,
    CrawlStats,
    Location,
    PermissionDeniedError,
    ProviderCodeNotFoundError,
    RetryPolicy,
    ServerError,
    TTGClient,
)
from ttg_async.sandbox import Sandbox

KEY = "sk_test_crawl0000000000000000"
RETAILER = "crawler"
NO_WAIT = RetryPolicy(backoff_base=0.0, backoff_max=0.0)
ONCE = RetryPolicy.disabled()
CODES = (None, "MEMBERS", "campaign-may")


@dataclass
class Server:
    """A sandbox served with a middleware that counts requests in flight, server side."""

    sandbox: Sandbox
    base_url: str = ""
    in_flight: int = 0
    max_in_flight: int = 0
    paths: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serve(sandbox: Sandbox) -> AsyncIterator[Server]:
    server = Server(sandbox)

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        server.paths.append(request.path_qs)
        try:
            return await handler(request)
        finally:
            server.in_flight -= 1

    app = sandbox.make_app()
    app.middlewares.insert(0, count)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        yield server
    finally:
        await runner.cleanup()


def client(server: Server, retry: RetryPolicy = NO_WAIT) -> TTGClient:
    return TTGClient(KEY, RETAILER, base_url=server.base_url, retry=retry)


Key = tuple[str, str, str, str | None]


def key(record: CatalogRecord) -> Key:
    return (record.location_id, record.event.id, record.occurrence.id, record.rate_code)


async def expected_catalog(
    ttg: TTGClient, codes: tuple[str | None, ...]
) -> tuple[set[Key], int, int]:
    """Every (location, event, occurrence, code), listed call by call without the crawl."""
    keys: set[Key] = set()
    events = occurrences = 0
    async for location in ttg.locations.list():
        async for event in ttg.events.list(location.id):
            events += 1
            for occurrence in await ttg.occurrences.list(event.id):
                occurrences += 1
                keys.update((location.id, event.id, occurrence.id, code) for code in codes)
    return keys, events, occurrences


def client_tasks() -> list[asyncio.Task[object]]:
    """Tasks other than this test's own and the sandbox server's connection handlers."""
    me = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not me and "RequestHandler" not in repr(task.get_coro())
    ]


async def drained(server: Server) -> None:
    """The server finishes what it was doing (the client stopped waiting for it)."""
    for _ in range(500):
        if not server.in_flight:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{server.in_flight} requests still in flight")


async def no_tasks_left() -> None:
    """Every client-side task ends soon (generous bound; a leak fails the test)."""
    for _ in range(500):
        if not client_tasks():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"tasks left behind: {client_tasks()}")


async def test_records_cover_every_occurrence_and_code_exactly_once() -> None:
    sandbox = Sandbox(seed=0, events=12)
    async with serve(sandbox) as server, client(server) as ttg:
        expected, n_events, n_occurrences = await expected_catalog(ttg, CODES)
        sandbox.reset_counters()
        server.paths.clear()
        crawl = ttg.crawl(rate_codes=CODES, concurrency=8)
        records = [record async for record in crawl]

    counted = Counter(key(record) for record in records)
    assert set(counted) == expected
    assert max(counted.values()) == 1
    assert crawl.errors == []
    for record in records:
        assert isinstance(record.location, Location)
        known = sandbox.rate_codes(record.event.id)
        if record.rate_code is None or record.rate_code in known:
            assert isinstance(record.items, list)
        else:
            assert isinstance(record.items, ProviderCodeNotFoundError)
            assert record.items.provider_code == record.rate_code
    stats = crawl.stats
    assert isinstance(stats, CrawlStats)
    assert (stats.locations, stats.events, stats.occurrences) == (4, n_events, n_occurrences)
    assert stats.records == len(records) == n_occurrences * len(CODES)
    assert stats.items == sum(len(r.items) for r in records if isinstance(r.items, list))
    assert stats.items > 0
    assert stats.requests == sandbox.request_count()
    # One page of locations, one page of events per location (limit 1000), one occurrence
    # list per event, one inventory call per record.
    assert stats.requests == 1 + 4 + n_events + len(records)
    assert stats.errors == 0
    assert stats.elapsed > 0
    assert all("limit=1000" in p for p in server.paths if "/events?" in p or "/locations" in p)


async def test_small_pages_are_walked_and_location_ids_are_kept_as_given() -> None:
    sandbox = Sandbox(seed=3, locations=3, events=20)
    async with serve(sandbox) as server, client(server) as ttg:
        expected, _, n_occurrences = await expected_catalog(ttg, (None,))
        crawl = ttg.crawl(["1", "3"], page_size=4, concurrency=3)
        records = [record async for record in crawl]
    assert all(isinstance(record.location, str) for record in records)
    wanted = {k for k in expected if k[0] in {"1", "3"}}
    assert Counter(map(key, records)) == Counter(wanted)
    assert crawl.stats.locations == 2
    assert any("offset=4" in p for p in server.paths)  # later pages of events were walked
    assert n_occurrences > len(records)


async def test_occurrences_only() -> None:
    sandbox = Sandbox(seed=1, events=12)
    async with serve(sandbox) as server, client(server) as ttg:
        expected, _, n_occurrences = await expected_catalog(ttg, (None,))
        sandbox.reset_counters()
        crawl = ttg.crawl(rate_codes=["MEMBERS"], inventory=False)
        records = [record async for record in crawl]
    assert Counter(map(key, records)) == Counter(expected)
    assert all(record.items == [] and record.rate_code is None for record in records)
    assert (
        sandbox.request_count(
            "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        )
        == 0
    )
    assert crawl.stats.records == n_occurrences


async def test_a_failed_event_is_reported_and_the_rest_completes() -> None:
    sandbox = Sandbox(seed=0, events=10)
    async with serve(sandbox) as server, client(server, ONCE) as ttg:
        expected, _, _ = await expected_catalog(ttg, (None, "MEMBERS"))
        sandbox.inject("GET /api/v3/events/{eventId}/occurrences", "status", status=500, times=1)
        sandbox.inject(
            "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items",
            "status",
            status=503,
            times=1,
        )
        crawl = ttg.crawl(rate_codes=[None, "MEMBERS"], concurrency=4)
        records = [record async for record in crawl]

    assert len(crawl.errors) == 2
    event_failure, unit_failure = sorted(crawl.errors, key=lambda e: e.where)
    assert isinstance(event_failure, CrawlError)
    assert event_failure.where.startswith("event 10")
    assert isinstance(event_failure.error, ServerError)
    failed_event = event_failure.where.split()[1]
    assert unit_failure.where.startswith("occurrence ")
    assert isinstance(unit_failure.error, ServerError)
    failed_unit = unit_failure.where.split()
    occurrence_id = failed_unit[1]
    code = failed_unit[3] if len(failed_unit) == 4 else None
    # Everything else is there, exactly once.
    missing = {k for k in expected if k[1] == failed_event} | {
        k for k in expected if k[2] == occurrence_id and k[3] == code
    }
    assert Counter(map(key, records)) == Counter(expected - missing)
    assert crawl.stats.errors == 2


async def test_inventory_that_keeps_failing_after_retries_is_one_error() -> None:
    sandbox = Sandbox(seed=0, events=6)
    async with serve(sandbox) as server, client(server, NO_WAIT) as ttg:
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        sandbox.inject(route, "status", status=503, times=3)  # all three attempts of one call
        crawl = ttg.crawl(concurrency=1)
        records = [record async for record in crawl]
        assert [e.error.attempts for e in crawl.errors] == [3]
        assert crawl.errors[0].where.startswith("occurrence ")
        assert crawl.stats.requests == sandbox.request_count()
        assert len(records) == crawl.stats.occurrences - 1


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_requests_in_flight_never_exceed_concurrency(concurrency: int) -> None:
    sandbox = Sandbox(seed=2, events=5)
    sandbox.set_latency("*", 0.002)  # make requests overlap
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(rate_codes=CODES, concurrency=concurrency)
        records = [record async for record in crawl]
    assert records
    assert server.max_in_flight <= concurrency
    assert server.max_in_flight == concurrency  # the cap is used, not just respected


async def test_the_429_gate_pauses_the_whole_crawl() -> None:
    sandbox = Sandbox(seed=0, events=8)
    async with serve(sandbox) as server, client(server) as ttg:
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        sandbox.inject(route, "status", status=429, retry_after=0.2, times=1)
        crawl = ttg.crawl(concurrency=6)
        records = [record async for record in crawl]
    assert crawl.errors == []
    assert len(records) == crawl.stats.occurrences
    assert crawl.stats.requests == crawl.stats.records + 1 + 4 + 8 + 1  # one retried call


async def test_an_authentication_error_stops_the_crawl() -> None:
    sandbox = Sandbox(seed=0, events=12)
    sandbox.set_latency("*", 0.002)
    async with serve(sandbox) as server, client(server) as ttg:
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        sandbox.inject(route, "status", status=401, times=1)
        crawl = ttg.crawl(concurrency=4)
        got: list[CatalogRecord] = []

        async def consume() -> None:
            async for record in crawl:
                got.append(record)

        with pytest.raises(AuthenticationError):
            await consume()
        assert len(got) < sandbox.request_count()  # it stopped early
        await no_tasks_left()
        await drained(server)


async def test_a_forbidden_retailer_stops_the_crawl_at_once() -> None:
    sandbox = Sandbox(seed=0, retailers=["someone-else"])
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl()
        with pytest.raises(PermissionDeniedError):
            async for _ in crawl:
                pass
        assert crawl.stats.requests == 1
        assert crawl.errors == []


async def test_breaking_out_stops_every_request_and_leaves_no_task() -> None:
    sandbox = Sandbox(seed=0, events=30)
    sandbox.set_latency("*", 0.01)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(rate_codes=CODES, concurrency=8)
        async for _ in crawl:
            if crawl.stats.records == 5:
                break
        await no_tasks_left()
        await drained(server)
        sent = sandbox.request_count()
        await asyncio.sleep(0.1)
        assert sandbox.request_count() == sent
        assert sent < 100  # of about 1300 in the whole crawl


async def test_cancelling_the_consumer_stops_everything() -> None:
    sandbox = Sandbox(seed=0, events=30)
    sandbox.set_latency("*", 0.01)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(concurrency=8)
        taken = asyncio.Event()

        async def consume() -> None:
            async for _ in crawl:
                taken.set()

        task = asyncio.create_task(consume())
        await taken.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await no_tasks_left()
        await drained(server)


async def test_closing_the_client_stops_a_running_crawl() -> None:
    sandbox = Sandbox(seed=0, events=30)
    sandbox.set_latency("*", 0.01)
    async with serve(sandbox) as server:
        async with client(server) as ttg:
            crawl = ttg.crawl(concurrency=8)
            iterator = aiter(crawl)
            await anext(iterator)
        # The client is closed: the crawl was stopped first, so nothing is left running.
        assert client_tasks() == []
        await drained(server)
        await iterator.aclose()


async def test_a_consumer_that_stops_pulling_stops_the_crawl() -> None:
    concurrency = 2
    sandbox = Sandbox(seed=0, events=30)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(rate_codes=CODES, concurrency=concurrency)
        iterator = aiter(crawl)
        await anext(iterator)
        # Wait until the crawl has stopped by itself: requests stop coming.
        previous = -1
        while sandbox.request_count() != previous:
            previous = sandbox.request_count()
            await asyncio.sleep(0.1)
        inventory_calls = sandbox.request_count(
            "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        )
        assert inventory_calls <= 4 * concurrency + 1  # held records, plus the one taken
        assert crawl.stats.records == 1
        await iterator.aclose()
        await no_tasks_left()


async def test_without_inventory_a_consumer_that_stops_pulling_stops_the_listing() -> None:
    """With ``inventory=False`` records come straight from the occurrence lists; a consumer
    that stops pulling must stop those lists too, or memory grows with the catalog."""
    concurrency = 2
    sandbox = Sandbox(seed=0, events=30)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(concurrency=concurrency, inventory=False)
        iterator = aiter(crawl)
        await anext(iterator)
        previous = -1
        while sandbox.request_count() != previous:
            previous = sandbox.request_count()
            await asyncio.sleep(0.1)
        listed = sandbox.request_count("GET /api/v3/events/{eventId}/occurrences")
        # Every event has several occurrences: the 4 x concurrency places fill within a few
        # lists, and each worker then waits inside its own list. Unchecked, all 30 are listed.
        assert listed <= 4 * concurrency, listed
        assert crawl.stats.records == 1
        await iterator.aclose()
        await no_tasks_left()


# -- checkpoints and resuming ---------------------------------------------------------------


async def crawl_until(
    ttg: TTGClient,
    path: Path,
    stop_after: int | None,
    how: str,
    codes: tuple[str | None, ...] = (None, "MEMBERS"),
) -> tuple[list[Key], bool]:
    """One run of a crawl with a checkpoint, stopped at record ``stop_after``.

    Returns the records the loop dealt with, and whether it was stopped (not at the end).
    With ``"error"`` the loop body fails on the last record, which is therefore not dealt
    with: it must come out again after a resume.
    """
    crawl = ttg.crawl(rate_codes=codes, concurrency=4, checkpoint=path)
    crawl._checkpoint_interval = 0.0  # record every step, so any stop point is exercised
    got: list[Key] = []
    if how == "break":
        async for record in crawl:
            got.append(key(record))
            if len(got) == stop_after:
                return got, True
        return got, False
    if how == "error":
        try:
            async for record in crawl:
                if len(got) + 1 == stop_after:
                    _ = 1 / 0  # processing this record fails
                got.append(key(record))
        except ZeroDivisionError:
            return got, True
        return got, False
    enough = asyncio.Event()

    async def consume() -> None:
        async for record in crawl:
            got.append(key(record))
            if len(got) == stop_after:
                enough.set()

    task = asyncio.create_task(consume())
    waiter = asyncio.create_task(enough.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    stopped = not task.done()
    task.cancel()
    waiter.cancel()
    await asyncio.gather(task, waiter, return_exceptions=True)
    return got, stopped


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_resuming_after_random_stops_gives_the_whole_catalog(
    seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    sandbox = Sandbox(seed=seed, events=5)
    async with serve(sandbox) as server, client(server) as ttg:
        full = [key(r) async for r in ttg.crawl(rate_codes=(None, "MEMBERS"))]
        path = tmp_path / "crawl.ckpt"
        seen: list[Key] = []
        stops = 0
        while True:
            how = rng.choice(["break", "cancel", "error"])
            stop_after = rng.randint(1, max(1, len(full) // 3))
            got, stopped = await crawl_until(ttg, path, stop_after, how)
            seen += got
            await no_tasks_left()
            if not stopped:
                break  # this run reached the end
            stops += 1
        assert stops >= 2
    assert set(seen) == set(full)
    # At least once, and no finished unit repeated: only the record the loop held when it
    # broke out can come out again (the one whose processing failed was not dealt with).
    repeats = len(seen) - len(set(seen))
    assert repeats <= stops
    assert json.loads(path.read_text())["locations"] == ["1", "2", "3", "4"]


async def test_a_finished_crawl_resumed_does_nothing(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=6)
    path = tmp_path / "c.json"
    async with serve(sandbox) as server, client(server) as ttg:
        first = [key(r) async for r in ttg.crawl(checkpoint=path)]
        sandbox.reset_counters()
        again = [key(r) async for r in ttg.crawl(checkpoint=str(path))]
    assert first
    assert again == []
    assert sandbox.request_count() == 1  # the location list only


async def test_failed_units_are_retried_on_resume(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=6)
    path = tmp_path / "c.json"
    async with serve(sandbox) as server, client(server, ONCE) as ttg:
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        sandbox.inject(route, "status", status=500, times=2)
        first = ttg.crawl(checkpoint=path)
        keys = [key(r) async for r in first]
        assert len(first.errors) == 2
        second = ttg.crawl(checkpoint=path)
        rest = [key(r) async for r in second]
        assert second.errors == []
    assert len(rest) == 2
    assert not set(rest) & set(keys)


async def test_a_checkpoint_from_other_arguments_is_refused(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=2)
    path = tmp_path / "c.json"
    async with serve(sandbox) as server, client(server) as ttg:
        [_ async for _ in ttg.crawl(checkpoint=path)]
        with pytest.raises(ConfigurationError, match=r"checkpoint: .*other arguments"):
            ttg.crawl(rate_codes=["MEMBERS"], checkpoint=path)
        path.write_text("{not json")
        with pytest.raises(ConfigurationError, match=r"checkpoint: .*not a usable"):
            ttg.crawl(checkpoint=path)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"location_ids": "1"}, TypeError, "location_ids: must be an iterable"),
        ({"location_ids": ["1", ""]}, ValueError, r"location_ids\[1\]"),
        ({"rate_codes": "MEMBERS"}, TypeError, "rate_codes: must be an iterable"),
        ({"rate_codes": []}, ValueError, "rate_codes: must hold"),
        ({"rate_codes": [None, ""]}, ValueError, r"rate_codes\[1\]"),
        ({"concurrency": 0}, ValueError, "concurrency: must be between"),
        ({"concurrency": 2.5}, TypeError, "concurrency: must be an int"),
        ({"page_size": 1001}, ValueError, "page_size: must be between 1 and 1000"),
        ({"inventory": "yes"}, TypeError, "inventory: must be a bool"),
        ({"checkpoint": 3}, TypeError, "checkpoint: must be a path"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    async with TTGClient(KEY, RETAILER, base_url="http://127.0.0.1:9") as ttg:
        with pytest.raises(error, match=match):
            ttg.crawl(**kwargs)  # type: ignore[arg-type]


async def test_a_crawl_runs_once() -> None:
    sandbox = Sandbox(seed=0, events=2)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(inventory=False)
        [_ async for _ in crawl]
        with pytest.raises(RuntimeError, match="a crawl runs once"):
            [_ async for _ in crawl]
