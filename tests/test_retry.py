"""Tests for ttg_async._core.retry: the decision table, Retry-After, backoff, the gate and the loop.

The loop is driven with plain async functions standing in for one HTTP attempt; waits are
switched off through the policy (``backoff_base=0``), never by patching ``sleep``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ttg_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CartExpiredError,
    ConfigurationError,
    InventoryExhaustedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TotalPriceMismatchError,
    TTGError,
)
from ttg_async._core.retry import (
    MIN_RETRY_BUDGET,
    GateClosedError,
    RateLimitGate,
    RetryPolicy,
    backoff_wait,
    decide_retry,
    may_have_taken_effect,
    parse_retry_after,
    retry_wait,
    run_with_retries,
)
from ttg_async._ttg.errors import error_class_for

ORDERS = "/api/v3/orders"
CARTS = "/api/v3/carts"
CART = "/api/v3/carts/cart_001"

# (method, path) for the four request kinds the table distinguishes.
GET = ("GET", "/api/v3/events/1001")
DELETE = ("DELETE", CART)
POST_ORDERS = ("POST", ORDERS)
POST_CARTS = ("POST", CARTS)
METHODS = {"GET": GET, "DELETE": DELETE, "POST /orders": POST_ORDERS, "POST /carts": POST_CARTS}

FAST = RetryPolicy(backoff_base=0)


def api_error(
    status: int, type_: str | None = None, code: str | None = None, **kw: Any
) -> APIError:
    """Build the error the protocol layer would raise for this answer."""
    cls = error_class_for(status, type_, code)
    return cls(f"HTTP {status}", status=status, type=type_, code=code, **kw)


# name -> (factory, verdict for GET, DELETE, POST /orders, POST /carts); 1 = retried.
ERRORS: dict[str, tuple[Callable[[], TTGError], tuple[int, int, int, int]]] = {
    "400": (lambda: api_error(400, "INVALID_REQUEST_ERROR", "INVALID_PARAMETER"), (0, 0, 0, 0)),
    "400 untyped": (lambda: api_error(400), (0, 0, 0, 0)),
    "401": (lambda: api_error(401, "AUTHENTICATION_ERROR", "INVALID_API_KEY"), (0, 0, 0, 0)),
    "403": (lambda: api_error(403, "PERMISSION_ERROR"), (0, 0, 0, 0)),
    "404": (lambda: api_error(404, "NOT_FOUND_ERROR", "RESOURCE_NOT_FOUND"), (0, 0, 0, 0)),
    "404 providerCode": (
        lambda: error_class_for(404, "NOT_FOUND_ERROR", None, {"resourceType": "providerCode"})(
            "no such rate code", status=404, details={"resourceType": "providerCode"}
        ),
        (0, 0, 0, 0),
    ),
    "409": (lambda: api_error(409, "CONFLICT_ERROR"), (0, 0, 0, 0)),
    "409 TOTAL_PRICE_MISMATCH": (
        lambda: api_error(409, "CONFLICT_ERROR", "TOTAL_PRICE_MISMATCH"),
        (0, 0, 0, 0),
    ),
    "409 INVENTORY_EXHAUSTED": (
        lambda: api_error(409, "CONFLICT_ERROR", "INVENTORY_EXHAUSTED"),
        (0, 0, 0, 0),
    ),
    # The code wins over a status that says otherwise: still never retried.
    "503 TOTAL_PRICE_MISMATCH": (
        lambda: api_error(503, None, "TOTAL_PRICE_MISMATCH"),
        (0, 0, 0, 0),
    ),
    # The status wins over a type that says "retry me".
    "409 API_ERROR": (lambda: api_error(409, "API_ERROR"), (0, 0, 0, 0)),
    "410": (lambda: api_error(410, "RESOURCE_GONE_ERROR"), (0, 0, 0, 0)),
    "410 CART_EXPIRED": (
        lambda: api_error(410, "RESOURCE_GONE_ERROR", "CART_EXPIRED"),
        (0, 0, 0, 0),
    ),
    "418 unknown 4xx": (lambda: api_error(418), (0, 0, 0, 0)),
    "422 unknown 4xx": (lambda: api_error(422, "SOMETHING_NEW"), (0, 0, 0, 0)),
    "429 no Retry-After": (lambda: api_error(429, "RATE_LIMIT_ERROR"), (1, 1, 1, 1)),
    "429 Retry-After": (
        lambda: RateLimitError("slow", status=429, type="RATE_LIMIT_ERROR", retry_after=2.0),
        (1, 1, 1, 1),
    ),
    "500": (lambda: api_error(500, "API_ERROR", "INTERNAL_ERROR"), (1, 1, 1, 0)),
    "200 API_ERROR type": (lambda: api_error(200, "API_ERROR"), (1, 1, 1, 0)),
    "502 HTML from a proxy": (lambda: api_error(502), (1, 1, 1, 0)),
    "503": (lambda: api_error(503, "API_ERROR"), (1, 1, 1, 0)),
    "504": (lambda: api_error(504), (1, 1, 1, 0)),
    "connection refused (not sent)": (
        lambda: APIConnectionError("refused", request_sent=False),
        (1, 1, 1, 1),
    ),
    "connection reset (sent)": (lambda: APIConnectionError("reset"), (1, 1, 1, 0)),
    "timeout (sent)": (lambda: APITimeoutError("slow"), (1, 1, 1, 0)),
    "connect timeout (not sent)": (
        lambda: APITimeoutError("connect", request_sent=False),
        (1, 1, 1, 1),
    ),
    "2xx body not JSON": (lambda: ResponseDecodeError("truncated", status=200), (1, 1, 1, 0)),
    "2xx body off schema": (
        lambda: ResponseDecodeError("bad", status=200, path="$.data[0].total"),
        (0, 0, 0, 0),
    ),
    "502 body unreadable": (lambda: ResponseDecodeError("html", status=502), (1, 1, 1, 0)),
    "404 body unreadable": (lambda: ResponseDecodeError("html", status=404), (0, 0, 0, 0)),
    "ConfigurationError": (lambda: ConfigurationError("bad", field="x"), (0, 0, 0, 0)),
}

TABLE = [
    pytest.param(METHODS[m], factory, bool(verdicts[i]), id=f"{m}-{name}")
    for name, (factory, verdicts) in ERRORS.items()
    for i, m in enumerate(METHODS)
]


@pytest.mark.parametrize(("request_", "factory", "expected"), TABLE)
def test_decision_table(
    request_: tuple[str, str], factory: Callable[[], TTGError], expected: bool
) -> None:
    method, path = request_
    decision = decide_retry(method, path, factory(), keyed=request_ == POST_ORDERS)
    assert decision.retry is expected, decision.reason
    assert decision.reason


def test_table_builds_the_classes_it_claims() -> None:
    assert isinstance(ERRORS["409 TOTAL_PRICE_MISMATCH"][0](), TotalPriceMismatchError)
    assert isinstance(ERRORS["409 INVENTORY_EXHAUSTED"][0](), InventoryExhaustedError)
    assert isinstance(ERRORS["410 CART_EXPIRED"][0](), CartExpiredError)
    assert isinstance(ERRORS["503 TOTAL_PRICE_MISMATCH"][0](), TotalPriceMismatchError)
    assert isinstance(ERRORS["409 API_ERROR"][0](), ServerError)
    proxy = ERRORS["502 HTML from a proxy"][0]()
    assert isinstance(proxy, ServerError)
    assert proxy.type is None


@pytest.mark.parametrize(
    ("method", "path", "keyed", "expected"),
    [
        ("post", "/api/v3/orders/", True, True),
        ("POST", "/api/v3/orders", False, False),
        ("POST", "/v1/orders", False, False),
        ("POST", "/api/v3/something-else", False, False),
        ("PATCH", CART, False, False),
        ("PATCH", CART, True, True),
        ("PUT", CART, False, True),
        ("HEAD", CART, False, True),
    ],
)
def test_request_kinds_for_a_sent_timeout(
    method: str, path: str, keyed: bool, expected: bool
) -> None:
    # Only a request that carries an idempotency key may be sent again after a lost answer;
    # the path alone never makes a POST safe (Ticket Buyback's POST /v1/orders has no key).
    assert decide_retry(method, path, APITimeoutError("slow"), keyed=keyed).retry is expected


def test_non_ttg_errors_are_not_retried() -> None:
    assert not decide_retry("GET", "/x", KeyError("bug")).retry


@pytest.mark.parametrize(
    ("method", "path", "error", "expected"),
    [
        ("GET", "/x", APITimeoutError("slow"), False),
        ("POST", CARTS, APITimeoutError("slow"), True),
        ("POST", CARTS, APIConnectionError("refused", request_sent=False), False),
        ("POST", CARTS, api_error(502), True),
        ("POST", CARTS, ResponseDecodeError("truncated", status=201), True),
        ("POST", CARTS, api_error(409, "CONFLICT_ERROR", "INVENTORY_EXHAUSTED"), False),
        ("POST", ORDERS, RateLimitError("slow", status=429), False),
        ("POST", ORDERS, APIConnectionError("reset"), True),
        ("DELETE", CART, APITimeoutError("slow"), True),
    ],
)
def test_may_have_taken_effect(method: str, path: str, error: TTGError, expected: bool) -> None:
    assert may_have_taken_effect(method, path, error) is expected


# --- RetryPolicy -----------------------------------------------------------------------------


def test_policy_defaults_follow_the_documented_strategy() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_base, policy.backoff_max) == (3, 1.0, 8.0)
    assert (policy.max_retry_after, policy.deadline) == (60.0, None)
    assert RetryPolicy.disabled().max_attempts == 1
    assert RetryPolicy() == RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_attempts = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 2.0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"backoff_base": -1}, "backoff_base"),
        ({"backoff_max": math.nan}, "backoff_max"),
        ({"backoff_max": "8"}, "backoff_max"),
        ({"max_retry_after": math.inf}, "max_retry_after"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": -5.0}, "deadline"),
    ],
)
def test_policy_validation_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field) as info:
        RetryPolicy(**kwargs)
    assert isinstance(info.value, ConfigurationError)
    assert info.value.field == field


# --- Retry-After -----------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 12:02:00 -0000", 120.0),
        ("Sun, 01 Mar 2026 11:59:00 GMT", 0.0),
        ("Sun, 01 Mar 2026 13:00:30 +0100", 30.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_with_another_now() -> None:
    later = NOW.astimezone(timezone(timedelta(hours=-5))) + timedelta(seconds=10)
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=later) == 20.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=NOW.replace(tzinfo=None)) == 30.0


# --- Backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(8))
def test_backoff_is_full_jitter_under_a_capped_exponential(n: int) -> None:
    policy = RetryPolicy()
    cap = min(policy.backoff_max, policy.backoff_base * 2**n)
    waits = [backoff_wait(policy, n) for _ in range(200)]
    assert all(0.0 <= w <= cap for w in waits)
    # Full jitter spreads over the whole range, not a band just below the cap.
    assert min(waits) < cap / 4
    assert max(waits) > cap * 3 / 4


async def test_the_retry_loop_waits_longer_after_each_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The loop asks for step ``n`` on its ``n``-th retry: the caps double from call to call.

    Full jitter makes one wait random, so the test makes 30 calls of 3 failures each against
    the sandbox and looks at the largest wait seen at each step: with steps of 1, 2 and 4 ms
    the third retry's largest wait is above the first step's cap unless every one of 30 draws
    fell in its lowest quarter (a chance of 4**-30).
    """
    from ttg_async import TTGClient
    from ttg_async.sandbox import Sandbox

    route = "GET /api/v3/locations"
    policy = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=1.0)
    sandbox = Sandbox()
    waits: dict[int, list[float]] = {1: [], 2: [], 3: []}
    async with (
        sandbox.serve() as url,
        TTGClient("sk_test_backoff0000000000", "r", base_url=url, retry=policy) as ttg,
    ):
        with caplog.at_level(logging.DEBUG, logger="ttg_async"):
            for _ in range(30):
                sandbox.inject(route, "status", times=3, status=503)
                await ttg.locations.list().collect()
    for record in caplog.records:
        wait = getattr(record, "wait", None)
        if wait is not None:
            waits[record.attempt].append(wait)  # type: ignore[attr-defined]
    assert [len(w) for w in waits.values()] == [30, 30, 30]
    for attempt, cap in ((1, 0.001), (2, 0.002), (3, 0.004)):
        assert max(waits[attempt]) <= cap
    assert max(waits[3]) > 0.001  # the third retry's step is not the first one's
    assert max(waits[2]) > 0.0005


def test_backoff_cap_holds_and_zero_base_means_no_wait() -> None:
    assert all(backoff_wait(RetryPolicy(backoff_max=2.0), 30) <= 2.0 for _ in range(50))
    assert backoff_wait(RetryPolicy(backoff_base=0), 10) == 0.0
    assert backoff_wait(RetryPolicy(backoff_max=0), 0) == 0.0


def test_retry_wait_follows_retry_after_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    assert retry_wait(policy, 0, RateLimitError("x", status=429, retry_after=7.5)) == 7.5
    assert retry_wait(policy, 0, RateLimitError("x", status=429, retry_after=10.0)) == 10.0
    assert retry_wait(policy, 0, RateLimitError("x", status=429, retry_after=10.5)) is None
    assert retry_wait(RetryPolicy(backoff_base=0), 2, RateLimitError("x", status=429)) == 0.0
    assert retry_wait(RetryPolicy(backoff_base=0), 0, api_error(503)) == 0.0


# --- The gate --------------------------------------------------------------------------------


async def test_gate_open_returns_at_once_and_close_only_extends() -> None:
    gate = RateLimitGate()
    await asyncio.wait_for(gate.wait(), 0.05)
    now = asyncio.get_running_loop().time()
    gate.close_until(now + 5)
    gate.close_until(now + 1)
    assert gate.reopen_at == now + 5
    with pytest.raises(GateClosedError) as info:
        await gate.wait(timeout=1.0)
    assert 4.9 < info.value.remaining <= 5


async def test_gate_waits_until_reopen() -> None:
    loop = asyncio.get_running_loop()
    gate = RateLimitGate()
    start = loop.time()
    gate.close_until(start + 0.1)
    await gate.wait(timeout=1.0)
    assert loop.time() - start >= 0.1 - 0.01


# --- The loop --------------------------------------------------------------------------------

Attempt = Callable[[float], Awaitable[str]]


def scripted(*outcomes: TTGError | str, calls: list[float] | None = None) -> Attempt:
    """An attempt function that raises or returns the given outcomes in turn."""
    queue = list(outcomes)

    async def attempt(budget: float) -> str:
        if calls is not None:
            calls.append(budget)
        outcome = queue.pop(0)
        if isinstance(outcome, TTGError):
            raise outcome
        return outcome

    return attempt


async def run(
    attempt: Attempt,
    *,
    policy: RetryPolicy = FAST,
    method: str = "GET",
    path: str = "/api/v3/events/1001",
    timeout: float = 5.0,
    gate: RateLimitGate | None = None,
) -> str:
    return await run_with_retries(
        attempt,
        policy=policy,
        method=method,
        path=path,
        request_id="req_abc123",
        timeout=timeout,
        gate=gate or RateLimitGate(),
        # As the pipeline does: TTG's POST /orders is the one request sent with a key.
        keyed=(method, path) == POST_ORDERS,
    )


async def test_succeeds_after_transient_failures() -> None:
    calls: list[float] = []
    attempt = scripted(api_error(503), APITimeoutError("slow"), "ok", calls=calls)
    assert await run(attempt) == "ok"
    assert calls == [5.0, 5.0, 5.0]


async def test_stops_at_max_attempts_with_the_last_error() -> None:
    last = api_error(502)
    attempt = scripted(api_error(500), APIConnectionError("reset"), last)
    with pytest.raises(ServerError) as info:
        await run(attempt)
    assert info.value is last
    assert info.value.attempts == 3
    assert info.value.request_id == "req_abc123"
    assert not info.value.outcome_unknown  # a GET changes nothing


async def test_disabled_policy_sends_once() -> None:
    with pytest.raises(ServerError) as info:
        await run(scripted(api_error(503), "ok"), policy=RetryPolicy.disabled())
    assert info.value.attempts == 1


async def test_keeps_a_request_id_the_server_sent() -> None:
    error = api_error(500, request_id="req_from_server")
    with pytest.raises(ServerError) as info:
        await run(scripted(error), policy=RetryPolicy.disabled())
    assert info.value.request_id == "req_from_server"


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
async def test_never_retries_a_409(method: str) -> None:
    calls: list[float] = []
    mismatch = api_error(409, "CONFLICT_ERROR", "TOTAL_PRICE_MISMATCH")
    with pytest.raises(TotalPriceMismatchError) as info:
        await run(scripted(mismatch, "ok", calls=calls), method=method, path=ORDERS)
    assert len(calls) == 1
    assert info.value.attempts == 1


async def test_post_orders_retries_a_timeout_and_then_reports_outcome_unknown() -> None:
    calls: list[float] = []
    attempt = scripted(
        APITimeoutError("slow"),
        RateLimitError("slow down", status=429),
        RateLimitError("slow down", status=429),
        calls=calls,
    )
    with pytest.raises(RateLimitError) as info:
        await run(attempt, method="POST", path=ORDERS)
    assert len(calls) == 3
    # The first attempt may have bought the tickets, even though the last one was refused.
    assert info.value.outcome_unknown


async def test_post_carts_timeout_is_not_retried_and_outcome_unknown() -> None:
    calls: list[float] = []
    with pytest.raises(APITimeoutError) as info:
        await run(scripted(APITimeoutError("slow"), "ok", calls=calls), method="POST", path=CARTS)
    assert len(calls) == 1
    assert info.value.outcome_unknown
    assert info.value.attempts == 1


async def test_post_carts_retries_a_refused_connection() -> None:
    refused = APIConnectionError("refused", request_sent=False)
    assert await run(scripted(refused, "cart"), method="POST", path=CARTS) == "cart"


async def test_deadline_bounds_the_whole_call() -> None:
    """Each attempt gets ``min(timeout, what is left)``, and none is started with too little.

    Judged on the decisions (each budget against the time left when it began), not on how
    fast the machine ran: any load only moves where the call stops.
    """
    loop = asyncio.get_running_loop()
    seen: list[tuple[float, float]] = []  # (budget, time left when the attempt began)
    deadline = 0.28

    async def slow(budget: float) -> str:
        seen.append((budget, deadline - (loop.time() - start)))
        await asyncio.sleep(budget)  # the transport would time out after `budget`
        raise APITimeoutError("attempt timed out")

    policy = RetryPolicy(max_attempts=10, backoff_base=0, deadline=deadline)
    start = loop.time()
    with pytest.raises(APITimeoutError) as info:
        await run(slow, policy=policy, timeout=0.1)
    elapsed = loop.time() - start
    assert elapsed < deadline + 0.3  # generous for a busy machine; the budgets below are exact
    assert seen[0][0] == 0.1
    for budget, left in seen:
        # Never more than the timeout, nor (but for the µs the loop took) than what was left.
        assert budget <= min(0.1, left + 0.02)
        assert budget >= min(0.1, left)
    assert all(budget >= MIN_RETRY_BUDGET for budget, _ in seen[1:])
    assert info.value.attempts == len(seen) >= 2


async def test_no_retry_is_started_with_too_little_of_the_deadline_left() -> None:
    """An attempt that fails with 10 ms of a 0.3 s deadline left is the last one.

    A late timer only leaves less time, so the outcome does not depend on the machine.
    """
    loop = asyncio.get_running_loop()
    budgets: list[float] = []

    async def fails_late(budget: float) -> str:
        budgets.append(budget)
        await asyncio.sleep(0.29)
        raise APIConnectionError("refused", request_sent=False)

    start = loop.time()
    with pytest.raises(APIConnectionError) as info:
        await run(fails_late, policy=RetryPolicy(backoff_base=0, deadline=0.3), timeout=5.0)
    assert loop.time() - start >= 0.29
    assert info.value.attempts == 1
    assert budgets == [pytest.approx(0.3, abs=0.02)]
    assert MIN_RETRY_BUDGET > 0.01


async def test_a_wait_that_would_cross_the_deadline_gives_up_now() -> None:
    loop = asyncio.get_running_loop()
    policy = RetryPolicy(deadline=0.2)
    error = RateLimitError("wait", status=429, retry_after=2.0)
    start = loop.time()
    with pytest.raises(RateLimitError) as info:
        await run(scripted(error, "ok"), policy=policy)
    assert loop.time() - start < 0.5  # obeying Retry-After would take 2 s
    assert info.value is error
    assert info.value.attempts == 1


async def test_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    loop = asyncio.get_running_loop()
    error = RateLimitError("later", status=429, retry_after=3600.0)
    start = loop.time()
    with pytest.raises(RateLimitError) as info:
        await run(scripted(error, "ok"), policy=RetryPolicy(max_retry_after=0.05))
    assert loop.time() - start < 0.5
    assert info.value is error
    assert info.value.attempts == 1


async def test_retry_after_zero_retries_at_once() -> None:
    zero = RateLimitError("now", status=429, retry_after=0.0)
    assert await run(scripted(zero, "ok"), policy=RetryPolicy()) == "ok"


async def test_a_429_pauses_every_task_sharing_the_gate() -> None:
    loop = asyncio.get_running_loop()
    gate = RateLimitGate()
    limited = asyncio.Event()
    times: dict[str, float] = {}

    async def first(budget: float) -> str:
        if "a_429" not in times:
            times["a_429"] = loop.time()
            limited.set()
            raise RateLimitError("slow down", status=429, retry_after=0.2)
        times["a_retry"] = loop.time()
        return "a"

    async def second(budget: float) -> str:
        times["b"] = loop.time()
        return "b"

    async def task_b() -> str:
        await limited.wait()
        return await run(second, gate=gate)

    results = await asyncio.gather(run(first, gate=gate), task_b())
    assert list(results) == ["a", "b"]
    assert times["b"] - times["a_429"] >= 0.2 - 0.01
    assert times["a_retry"] - times["a_429"] >= 0.2 - 0.01


async def test_a_closed_gate_fails_fast_instead_of_hanging() -> None:
    loop = asyncio.get_running_loop()
    gate = RateLimitGate()
    gate.close_until(loop.time() + 30)
    calls: list[float] = []
    start = loop.time()
    with pytest.raises(RateLimitError) as info:
        await run(scripted("ok", calls=calls), policy=RetryPolicy(max_retry_after=1.0), gate=gate)
    assert loop.time() - start < 0.5  # waiting would take a second at least
    assert calls == []
    assert info.value.attempts == 0
    assert info.value.request_id == "req_abc123"
    assert info.value.retry_after is not None
    assert 29 < info.value.retry_after <= 30


async def test_the_gate_is_bounded_by_the_deadline() -> None:
    loop = asyncio.get_running_loop()
    gate = RateLimitGate()
    gate.close_until(loop.time() + 5)
    start = loop.time()
    with pytest.raises(RateLimitError):
        await run(scripted("ok"), policy=RetryPolicy(deadline=0.1), gate=gate)
    assert loop.time() - start < 0.5  # the gate stays shut for 5 s


async def test_a_bogus_retry_after_closes_the_gate_only_up_to_the_cap() -> None:
    loop = asyncio.get_running_loop()
    gate = RateLimitGate()
    error = RateLimitError("later", status=429, retry_after=86400.0)
    with pytest.raises(RateLimitError):
        await run(scripted(error), policy=RetryPolicy(max_retry_after=0.1), gate=gate)
    assert gate.reopen_at <= loop.time() + 0.1


async def test_cancellation_propagates_during_an_attempt() -> None:
    calls: list[float] = []

    async def hang(budget: float) -> str:
        calls.append(budget)
        await asyncio.sleep(10)
        return "never"

    task = asyncio.create_task(run(hang))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) == 1


async def test_cancellation_propagates_during_a_backoff_wait() -> None:
    calls: list[float] = []
    policy = RetryPolicy(backoff_base=10, backoff_max=10)
    # Full jitter may draw a tiny first wait, hence "1 to 3" calls; all three is ~1e-6 likely.
    task = asyncio.create_task(run(scripted(*[api_error(503)] * 3, calls=calls), policy=policy))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 1 <= len(calls) <= 3


async def test_a_cancelled_error_from_the_attempt_is_not_retried() -> None:
    calls: list[float] = []

    async def cancelled(budget: float) -> str:
        calls.append(budget)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run(cancelled)
    assert len(calls) == 1


async def test_a_bug_in_the_attempt_is_not_retried() -> None:
    calls: list[float] = []

    async def buggy(budget: float) -> str:
        calls.append(budget)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await run(buggy)
    assert len(calls) == 1


# --- Logging ---------------------------------------------------------------------------------


async def test_every_attempt_and_decision_is_logged_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="ttg_async")
    secret = "idem_0123456789abcdef"
    attempt = scripted(
        RateLimitError("slow", status=429, retry_after=0.0, headers={"Idempotency-Key": secret}),
        api_error(409, "CONFLICT_ERROR", "TOTAL_PRICE_MISMATCH"),
    )
    with pytest.raises(TotalPriceMismatchError):
        await run(attempt, method="POST", path=ORDERS)
    records = [r for r in caplog.records if r.name == "ttg_async"]
    # attempt 1, retry decision, attempt 2, give-up decision
    assert len(records) == 4
    assert all(r.levelno == logging.DEBUG for r in records)
    assert all("req_abc123" in r.getMessage() for r in records)
    assert [getattr(r, "attempt", None) for r in records] == [1, 1, 2, 2]
    assert getattr(records[1], "wait", None) == 0.0
    assert "rate limited" in getattr(records[1], "reason", "")
    assert "never retried" in records[3].getMessage()
    assert secret not in caplog.text
