"""Timeouts, deadlines, cancellation, pool health and the rate-limit gate, over loopback.

- ``timeout`` bounds one attempt; ``RetryPolicy.deadline`` bounds the whole call, waits for a
  pool slot and at the gate included.
- Waiting for a free connection is not part of an attempt (aiohttp #10313): a burst larger
  than the pool succeeds even when it queues for longer than ``timeout``.
- A server that drips bytes cannot hold a caller past its timeout (aiohttp #9547).
- Cancelling in-flight calls returns every connection and every slot.
- A 429 with ``Retry-After`` pauses every task of the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from ttg_testkit import assert_pool_idle

from ttg_async import (
    APITimeoutError,
    Event,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TTGClient,
)
from ttg_async._core.retry import MIN_RETRY_BUDGET
from ttg_async.sandbox import Sandbox

KEY = "sk_test_timeouts"
RETAILER = "timeouts"
EVENT_ROUTE = "GET /api/v3/events/{eventId}"
# Loop-time slack for "ended on time", generous for a 2-core machine whose cores are kept
# busy by other processes. Every guarded failure overshoots by far more (a whole attempt, a
# backoff, a server's latency), and the safety checks below prefer outcomes to clocks.
SLACK = 0.4


async def wait_until(predicate: Callable[[], bool], *, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        # The sandbox's counters have no event to wait on, so poll them.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[Sandbox, str]]:
    sb = Sandbox(seed=7)
    async with sb.serve() as base_url:
        yield sb, base_url


def client(base_url: str, **options: Any) -> TTGClient:
    return TTGClient(KEY, RETAILER, base_url=base_url, **options)


# -- per attempt and per call --------------------------------------------------------------


async def test_a_silent_server_times_out_the_attempt(sandbox: tuple[Sandbox, str]) -> None:
    sb, base_url = sandbox
    sb.set_latency(EVENT_ROUTE, 0.6)
    loop = asyncio.get_running_loop()
    async with client(base_url, timeout=0.2, retry=RetryPolicy.disabled()) as ttg:
        start = loop.time()
        with pytest.raises(APITimeoutError) as info:
            await ttg.events.get("1001")
        elapsed = loop.time() - start
        assert 0.2 <= elapsed <= 0.2 + SLACK
        exc = info.value
        assert exc.request_sent
        assert exc.attempts == 1
        assert exc.request_id is not None
        assert sb.attempts(exc.request_id) == 1
        assert not exc.outcome_unknown  # a GET changes nothing
        assert exc.__cause__ is None
        assert_pool_idle(ttg, 64)


async def test_the_deadline_bounds_every_attempt_together(
    sandbox: tuple[Sandbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    """timeout=0.2 and deadline=0.5: attempts of 0.2, 0.2 and what is left, then the call ends.

    The test judges what the loop decided (each attempt's budget, from its DEBUG record), not
    how fast this machine was: a late timer can only shorten what is left, so the third
    attempt may be shorter or, with less than ``MIN_RETRY_BUDGET`` left, not made at all. No
    attempt is ever started with less than that, so a fourth cannot fit.
    """
    sb, base_url = sandbox
    sb.set_latency(EVENT_ROUTE, 1.0)
    loop = asyncio.get_running_loop()
    policy = RetryPolicy(max_attempts=10, backoff_base=0, deadline=0.5)
    async with client(base_url, timeout=0.2, retry=policy) as ttg:
        start = loop.time()
        with (
            caplog.at_level(logging.DEBUG, logger="ttg_async"),
            pytest.raises(APITimeoutError) as info,
        ):
            await ttg.events.get("1001")
        elapsed = loop.time() - start
    attempts = [r for r in caplog.records if getattr(r, "reason", None) == "attempt"]
    budgets = [r.budget for r in attempts]
    exc = info.value
    assert budgets[:2] == [0.2, 0.2]  # the timeout, not the deadline, cut the first two
    assert 2 <= exc.attempts == len(budgets) <= 3
    assert all(MIN_RETRY_BUDGET <= budget <= 0.2 for budget in budgets)
    assert sum(budgets) <= 0.5 + 1e-6  # together, never more than the deadline holds
    assert 0.4 <= elapsed <= 0.5 + SLACK  # two whole attempts at least; no hang
    assert exc.request_sent
    assert exc.request_id is not None
    assert 1 <= sb.attempts(exc.request_id) <= exc.attempts


async def test_a_deadline_spent_before_the_first_attempt_sends_nothing(
    sandbox: tuple[Sandbox, str],
) -> None:
    """The deadline is gone before the loop could start an attempt: nothing is sent.

    A nanosecond is over before the loop looks at its clock again; a real program gets here
    when it hands a call the little time its own caller has left.
    """
    sb, base_url = sandbox
    async with client(base_url, retry=RetryPolicy(deadline=1e-9)) as ttg:
        with pytest.raises(APITimeoutError) as info:
            await ttg.events.get("1001")
    exc = info.value
    assert exc.attempts == 0
    assert not exc.request_sent
    assert not exc.outcome_unknown
    assert "deadline" in str(exc)
    assert "before an attempt" in str(exc)
    assert exc.request_id is not None
    assert sb.attempts(exc.request_id) == 0
    assert sb.request_count() == 0


async def test_a_wait_that_would_cross_the_deadline_is_not_slept(
    sandbox: tuple[Sandbox, str],
) -> None:
    """Retry-After: 1 with 0.3 s left: give up now with the 429, don't sleep only to fail."""
    sb, base_url = sandbox
    sb.inject(EVENT_ROUTE, "status", status=429, retry_after=1, times=1)
    loop = asyncio.get_running_loop()
    policy = RetryPolicy(backoff_base=0, deadline=0.3)
    async with client(base_url, retry=policy) as ttg:
        start = loop.time()
        with pytest.raises(RateLimitError) as info:
            await ttg.events.get("1001")
        assert loop.time() - start < 0.5  # sleeping for Retry-After would take a second
        assert info.value.attempts == 1
        assert info.value.retry_after == 1.0


async def test_backoff_waits_count_against_the_deadline(sandbox: tuple[Sandbox, str]) -> None:
    """503 forever with long backoff caps: the last 503 is raised, on time."""
    sb, base_url = sandbox
    sb.inject(EVENT_ROUTE, "status", status=503, probability=1.0)
    loop = asyncio.get_running_loop()
    policy = RetryPolicy(max_attempts=10, backoff_base=5.0, backoff_max=5.0, deadline=0.3)
    async with client(base_url, retry=policy) as ttg:
        start = loop.time()
        with pytest.raises((ServerError, APITimeoutError)) as info:
            await ttg.events.get("1001")
        assert loop.time() - start <= 0.3 + SLACK
        exc = info.value
        # Usually the first jittered wait (up to 5 s) already crosses the deadline, and the
        # 503 is raised at once; a short draw may leave a last attempt cut off by it.
        if isinstance(exc, ServerError):
            assert exc.status == 503
        assert exc.request_id is not None
        assert exc.attempts == sb.attempts(exc.request_id) >= 1


# -- the pool: #10313 ----------------------------------------------------------------------


async def test_waiting_for_a_pool_slot_does_not_time_out_unsent_requests(
    sandbox: tuple[Sandbox, str],
) -> None:
    """aiohttp #10313: 10 calls through 2 connections queue for ~0.6 s with timeout=0.25.

    Every call succeeds on its first attempt: only the time on the wire counts.
    """
    sb, base_url = sandbox
    sb.set_latency(EVENT_ROUTE, 0.15)
    loop = asyncio.get_running_loop()
    async with client(
        base_url, timeout=0.25, retry=RetryPolicy.disabled(), max_connections=2
    ) as ttg:
        ttg = ttg.with_options(coalesce=False)  # one request per call: the pool is tested
        await ttg.events.get("1001")  # warm up: one connection open
        sb.reset_counters()

        async def timed() -> tuple[Event, float]:
            start = loop.time()
            event = await ttg.events.get("1001")
            return event, loop.time() - start

        results = await asyncio.gather(*(timed() for _ in range(10)))
        assert all(event.id == "1001" for event, _ in results)
        assert sb.request_count(EVENT_ROUTE) == 10  # no attempt was lost or repeated
        # The last calls spent far longer than the attempt timeout waiting for a slot.
        assert max(elapsed for _, elapsed in results) > 0.5
        assert_pool_idle(ttg, 2)


async def test_the_deadline_does_count_the_wait_for_a_slot(sandbox: tuple[Sandbox, str]) -> None:
    """A call that never gets a connection before its deadline fails as never sent."""
    sb, base_url = sandbox
    sb.set_latency(EVENT_ROUTE, 5.0)
    loop = asyncio.get_running_loop()
    async with client(
        base_url, timeout=10.0, retry=RetryPolicy.disabled(), max_connections=2
    ) as ttg:
        ttg = ttg.with_options(coalesce=False)  # one request per call: the pool is tested
        # Two calls without a deadline hold both connections.
        blockers = [asyncio.create_task(ttg.events.get("1001")) for _ in range(2)]
        await wait_until(lambda: sb.request_count(EVENT_ROUTE) == 2)

        hurried = ttg.with_options(retry=RetryPolicy(deadline=0.3))

        async def timed() -> tuple[BaseException | None, float]:
            start = loop.time()
            try:
                await hurried.events.get("1002")
            except APITimeoutError as exc:
                return exc, loop.time() - start
            return None, loop.time() - start

        results = await asyncio.gather(*(timed() for _ in range(8)))
        for exc, elapsed in results:
            assert isinstance(exc, APITimeoutError)
            assert not exc.request_sent
            assert not exc.outcome_unknown
            assert exc.request_id is not None
            assert sb.attempts(exc.request_id) == 0
            assert "deadline" in str(exc)
            assert 0.3 - 0.01 <= elapsed <= 0.3 + SLACK
        assert sb.request_count(EVENT_ROUTE) == 2

        for task in blockers:
            task.cancel()
        await asyncio.gather(*blockers, return_exceptions=True)
        assert_pool_idle(ttg, 2)


async def test_an_attempt_that_got_its_slot_late_is_clamped_to_the_deadline(
    sandbox: tuple[Sandbox, str],
) -> None:
    """A slot freed 0.3 s into a 0.8 s deadline leaves the attempt 0.5 s, not its full budget.

    The server answers in 0.65 s. An attempt clamped to what is left of the deadline times
    out (sent, at the deadline); one that kept the 0.8 s budget it was given before the wait
    would have succeeded at 0.95 s, past the deadline. So the outcome, not a clock, tells.
    """
    sb, base_url = sandbox
    sb.set_latency("GET /api/v3/locations", 0.3)
    sb.set_latency(EVENT_ROUTE, 0.65)
    loop = asyncio.get_running_loop()
    async with client(
        base_url, timeout=10.0, retry=RetryPolicy.disabled(), max_connections=1
    ) as ttg:
        blocker = asyncio.create_task(ttg.locations.list().collect())
        await wait_until(lambda: sb.request_count("GET /api/v3/locations") == 1)
        hurried = ttg.with_options(retry=RetryPolicy(max_attempts=1, deadline=0.8))
        start = loop.time()
        with pytest.raises(APITimeoutError) as info:
            await hurried.events.get("1001")
        elapsed = loop.time() - start
        assert await blocker
        exc = info.value
        assert exc.request_sent  # it got a slot and went out; the deadline cut it short
        assert exc.attempts == 1
        assert exc.request_id is not None
        assert sb.attempts(exc.request_id) == 1
        assert elapsed <= 0.8 + SLACK
        assert_pool_idle(ttg, 1)


# -- a server that drips: #9547 ------------------------------------------------------------


async def drip(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte every 50 ms, forever: sock_read never fires."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        while True:
            await response.write(b" ")
            await asyncio.sleep(0.05)
    except ConnectionError:
        pass  # the client gave up, as it should
    return response


@asynccontextmanager
async def drip_server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", drip)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("policy", "attempts", "bound"),
    [
        (RetryPolicy.disabled(), 1, 0.3),
        (RetryPolicy(max_attempts=5, backoff_base=0, deadline=0.5), 2, 0.5),
    ],
    ids=["one attempt", "deadline"],
)
async def test_a_dripping_server_cannot_hang_a_caller(
    policy: RetryPolicy, attempts: int, bound: float
) -> None:
    loop = asyncio.get_running_loop()
    async with drip_server() as base_url, client(base_url, timeout=0.3, retry=policy) as ttg:
        start = loop.time()
        # The guard turns a regression into a failure instead of a hung test run.
        with pytest.raises(APITimeoutError) as info:
            async with asyncio.timeout(2.0):
                await ttg.events.get("1001")
        elapsed = loop.time() - start
        assert bound - 0.01 <= elapsed <= bound + SLACK
        exc = info.value
        assert exc.request_sent
        assert exc.attempts == attempts
        assert exc.request_id is not None
        assert exc.__cause__ is None
        assert_pool_idle(ttg, 64)


# -- cancellation ----------------------------------------------------------------------------


async def test_cancelling_100_in_flight_calls_returns_every_connection(
    sandbox: tuple[Sandbox, str],
) -> None:
    """16 calls waiting for the server and 84 waiting for a slot, all cancelled at once."""
    sb, base_url = sandbox
    sb.set_latency(EVENT_ROUTE, 5.0)
    async with client(base_url, timeout=10.0, max_connections=16) as ttg:
        ttg = ttg.with_options(coalesce=False)  # one request per call: the pool is tested
        tasks = [asyncio.create_task(ttg.events.get("1001")) for _ in range(100)]
        await wait_until(lambda: sb.request_count(EVENT_ROUTE) == 16)
        await asyncio.sleep(0.02)
        assert not any(task.done() for task in tasks)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        assert_pool_idle(ttg, 16)

        # The same client is healthy: a burst bigger than the pool goes through.
        sb.set_latency(EVENT_ROUTE, 0)
        events = await asyncio.gather(*(ttg.events.get("1001") for _ in range(50)))
        assert [event.id for event in events] == ["1001"] * 50
        assert_pool_idle(ttg, 16)


async def test_cancelling_calls_mid_body_returns_every_connection() -> None:
    async with drip_server() as base_url, client(base_url, timeout=10.0, max_connections=4) as ttg:
        tasks = [asyncio.create_task(ttg.events.get("1001")) for _ in range(20)]
        await asyncio.sleep(0.2)  # 4 are reading a body, 16 wait for a slot
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        assert_pool_idle(ttg, 4)


async def test_a_callers_own_timeout_is_cancellation_not_an_sdk_error(
    sandbox: tuple[Sandbox, str],
) -> None:
    sb, base_url = sandbox
    sb.set_latency(EVENT_ROUTE, 1.0)
    async with client(base_url, timeout=10.0) as ttg:
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.1):
                await ttg.events.get("1001")
        assert not isinstance(info.value, APITimeoutError)
        assert_pool_idle(ttg, 64)


# -- the client-wide rate-limit gate ---------------------------------------------------------


async def test_a_429_pauses_every_task_of_the_client(sandbox: tuple[Sandbox, str]) -> None:
    sb, base_url = sandbox
    sb.inject("GET /api/v3/locations", "status", status=429, retry_after=0.5, times=1)
    loop = asyncio.get_running_loop()
    async with client(base_url, retry=RetryPolicy(backoff_base=0)) as ttg:
        gate = ttg._shared.pipeline.gate
        first = asyncio.create_task(ttg.locations.list().collect())
        await wait_until(lambda: gate.reopen_at > loop.time())
        paused_at = loop.time()
        seen = sb.request_count()

        async def finish_time(call: Callable[[], Coroutine[Any, Any, object]]) -> float:
            await call()
            return loop.time()

        others = [
            asyncio.create_task(finish_time(lambda: ttg.events.get("1001"))) for _ in range(10)
        ]
        # A view shares the gate too.
        view = ttg.with_options(timeout=5.0)
        others.append(asyncio.create_task(finish_time(lambda: view.occurrences.list("1001"))))

        # A call that may not wait that long fails at once, without sending anything.
        hurried = ttg.with_options(retry=RetryPolicy(deadline=0.2))
        with pytest.raises(RateLimitError) as info:
            await hurried.events.get("1002")
        assert loop.time() - paused_at < 0.05
        assert info.value.attempts == 0
        assert info.value.retry_after is not None
        assert 0.3 < info.value.retry_after <= 0.5
        assert info.value.request_id is not None
        assert sb.attempts(info.value.request_id) == 0

        await asyncio.sleep(0.3)
        assert sb.request_count() == seen, "a request reached the server during the pause"

        finished = await asyncio.gather(*others)
        assert min(finished) >= gate.reopen_at
        assert len(await first) > 0
        assert sb.request_count() > seen
