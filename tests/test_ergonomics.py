"""The everyday ergonomics, through the public API and against the sandbox.

Raw responses, per-call headers and timeouts, ``TTG_LOG``, ``max_retries``, ``Money``
ordering and printing, public exception names, timeout messages that say which limit ran
out, and a cancelled checkout whose idempotency key stays reachable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import subprocess
import sys
import textwrap
import traceback
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import msgspec
import pytest
from ttg_testkit import KEY, NO_WAIT, RETAILER, Running, Show

import ttg_async
from ttg_async import (
    APIResponse,
    APITimeoutError,
    CartItemInput,
    ConfigurationError,
    Contact,
    GeneralAdmission,
    Money,
    NotFoundError,
    RetryPolicy,
    ServerError,
    TTGClient,
)

CONTACT = Contact("Ada Lovelace", "ada@example.com", "+442071234567")
EVENT_ROUTE = "GET /api/v3/events/{eventId}"


# -- Money -------------------------------------------------------------------------------


def test_money_orders_within_one_currency() -> None:
    prices = [Money(1250, "USD"), Money(500, "USD"), Money(18500, "USD")]
    assert sorted(prices) == [Money(500, "USD"), Money(1250, "USD"), Money(18500, "USD")]
    assert max(prices) == Money(18500, "USD")
    assert Money(500, "USD") < Money(501, "USD")
    assert Money(500, "USD") <= Money(500, "USD")
    assert Money(501, "USD") > Money(500, "USD")
    assert Money(500, "USD") >= Money(500, "USD")
    assert not Money(500, "USD") > Money(500, "USD")


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_money_refuses_to_order_across_currencies(op: str) -> None:
    usd, eur = Money(500, "USD"), Money(400, "EUR")
    with pytest.raises(TypeError, match=r"different currencies \(USD and EUR\)"):
        eval(f"usd {op} eur", {"usd": usd, "eur": eur})
    assert usd != Money(500, "EUR")  # equality across currencies is simply false


def test_money_does_not_order_against_numbers() -> None:
    with pytest.raises(TypeError):
        _ = Money(500, "USD") < 600  # type: ignore[operator]


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(18500, "USD"), "$185.00"),
        (Money(18500, "JPY"), "¥18,500"),
        (Money(18500, "KWD"), "KWD18.500"),
    ],
)
def test_str_of_money_is_formatted(money: Money, text: str) -> None:
    assert str(money) == text
    assert f"{money}" == text
    assert repr(money) == f"Money(amount=18500, currency='{money.currency}')"


@pytest.mark.parametrize("code", ["usd", "Usd", "US", "USDX", "XYZ", "ABC"])
def test_hand_built_money_refuses_a_lowercase_or_unknown_code(code: str) -> None:
    with pytest.raises(ValueError, match=r"^currency: .*" + code):
        Money(100, code)


def test_a_currency_code_new_to_this_version_still_decodes_from_the_wire() -> None:
    money = msgspec.json.decode(b'{"amount": 100, "currency": "XYZ"}', type=Money)
    assert money == msgspec.structs.replace(Money(100, "USD"), currency="XYZ")
    assert money.currency == "XYZ"


# -- exception names ---------------------------------------------------------------------


def test_exception_classes_show_their_public_path() -> None:
    errors = [
        value
        for name in ttg_async.__all__
        if isinstance(value := getattr(ttg_async, name), type) and issubclass(value, Exception)
    ]
    assert len(errors) >= 19
    for cls in errors:
        assert cls.__module__ == "ttg_async", cls
        assert getattr(ttg_async, cls.__name__) is cls


async def test_a_traceback_names_ttg_async_not_function_module(ttg: TTGClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await ttg.events.get("404404")
    rendered = "".join(traceback.format_exception(caught.value))
    assert "ttg_async.NotFoundError: 404" in rendered
    assert "_core" not in rendered.splitlines()[-1]


# -- max_retries -------------------------------------------------------------------------


def test_max_retries_is_a_shortcut_for_the_policy() -> None:
    ttg = TTGClient(KEY, RETAILER, base_url="http://127.0.0.1:9", max_retries=4)
    assert ttg.retry.max_attempts == 5
    assert ttg.with_options(max_retries=0).retry.max_attempts == 1


def test_max_retries_and_retry_together_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"^max_retries: give either retry="):
        TTGClient(KEY, RETAILER, retry=RetryPolicy(), max_retries=2)
    ttg = TTGClient(KEY, RETAILER, base_url="http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match=r"^max_retries: "):
        ttg.with_options(retry=RetryPolicy(), max_retries=2)


@pytest.mark.parametrize("value", [-1, True, 1.5, "3"])
def test_max_retries_must_be_a_count(value: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^max_retries: "):
        TTGClient(KEY, RETAILER, max_retries=value)


async def test_max_retries_bounds_the_attempts_against_the_sandbox(running: Running) -> None:
    running.sandbox.inject(EVENT_ROUTE, "status", status=503, times=10)
    async with TTGClient(KEY, RETAILER, base_url=running.base_url, max_retries=2) as ttg:
        fast = ttg.with_options(retry=dataclasses.replace(ttg.retry, backoff_base=0.0))
        assert fast.retry.max_attempts == 3
        with pytest.raises(ServerError) as caught:
            await fast.events.get("1001")
    assert caught.value.attempts == 3
    assert caught.value.request_id is not None
    assert running.sandbox.attempts(caught.value.request_id) == 3


async def test_max_retries_zero_sends_once(running: Running) -> None:
    running.sandbox.inject(EVENT_ROUTE, "status", status=503, times=10)
    async with TTGClient(KEY, RETAILER, base_url=running.base_url, max_retries=0) as ttg:
        with pytest.raises(ServerError) as caught:
            await ttg.events.get("1001")
    assert caught.value.request_id is not None
    assert running.sandbox.attempts(caught.value.request_id) == 1


# -- the raw response --------------------------------------------------------------------


async def test_raw_response_of_a_successful_call(ttg: TTGClient) -> None:
    response = await ttg.with_raw_response(ttg.events.get, "1001")
    assert isinstance(response, APIResponse)
    assert response.status == 200
    assert response.request_id.startswith("req_")
    assert response.headers["x-request-id"] == response.request_id  # the server's echo
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.data == await ttg.events.get("1001")
    assert response.parse() is response.data
    assert "req_" in repr(response)


async def test_raw_response_of_a_paginated_collect_is_its_last_page(ttg: TTGClient) -> None:
    response = await ttg.with_raw_response(ttg.locations.list(limit=1).collect)
    assert response.status == 200
    assert len(response.data) > 1  # several pages were walked; the last one is described


async def test_raw_response_keeps_per_call_options(running: Running, ttg: TTGClient) -> None:
    response = await ttg.with_raw_response(
        ttg.events.get, "1001", extra_headers={"X-Request-ID": "req_mine0001"}, timeout=5.0
    )
    assert response.request_id == "req_mine0001"
    assert running.sandbox.attempts("req_mine0001") == 1


async def test_errors_still_raise_through_with_raw_response(ttg: TTGClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await ttg.with_raw_response(ttg.events.get, "404404")
    assert caught.value.status == 404
    assert caught.value.request_id is not None


async def test_a_call_that_sends_nothing_is_refused(ttg: TTGClient) -> None:
    async def nothing() -> int:
        return 1

    with pytest.raises(TypeError, match="made no HTTP request"):
        await ttg.with_raw_response(nothing)


async def test_concurrent_raw_responses_do_not_mix(ttg: TTGClient) -> None:
    responses = await asyncio.gather(
        *(ttg.with_raw_response(ttg.events.get, event) for event in ("1001", "1002", "1003"))
    )
    assert [r.data.id for r in responses] == ["1001", "1002", "1003"]
    assert len({r.request_id for r in responses}) == 3
    for r in responses:
        assert r.headers["x-request-id"] == r.request_id


# -- per-call extra_headers and timeout --------------------------------------------------


RESOURCE_METHODS = [
    ("locations", "list"),
    ("events", "list"),
    ("events", "get"),
    ("occurrences", "list"),
    ("occurrences", "get"),
    ("inventory", "list"),
    ("inventory", "by_rate_codes"),
    ("carts", "create"),
    ("carts", "get"),
    ("carts", "delete"),
    ("orders", "create"),
    ("orders", "get"),
]


@pytest.mark.parametrize(("resource", "method"), RESOURCE_METHODS)
def test_every_resource_method_takes_per_call_options(resource: str, method: str) -> None:
    ttg = TTGClient(KEY, RETAILER, base_url="http://127.0.0.1:9")
    params = inspect.signature(getattr(getattr(ttg, resource), method)).parameters
    for name in ("extra_headers", "timeout"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (resource, method, name)
        assert params[name].default is not inspect.Parameter.empty


@pytest.fixture
async def traced(running: Running) -> AsyncIterator[SimpleNamespace]:
    """A client on a session of our own whose trace hook records every request's headers."""
    seen: list[Any] = []

    async def on_start(_: Any, __: Any, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(params.headers)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        TTGClient(KEY, RETAILER, base_url=running.base_url, session=session, retry=NO_WAIT) as ttg,
    ):
        yield SimpleNamespace(ttg=ttg, seen=seen, sandbox=running.sandbox)


async def test_extra_headers_reach_the_wire_on_one_call_only(traced: SimpleNamespace) -> None:
    ttg: TTGClient = traced.ttg
    await ttg.events.get("1001", extra_headers={"X-Trace": "abc", "x-tt-platform": "web"})
    await ttg.events.get("1001")
    first, second = traced.seen
    assert first["X-Trace"] == "abc"
    assert first.getall("X-TT-Platform") == ["web"]  # replaced, whatever the case, not doubled
    assert first["X-TT-API-Key"] == KEY
    assert "X-Trace" not in second
    assert second["X-TT-Platform"] == "api"


async def test_extra_headers_go_on_every_page_of_a_paginator(traced: SimpleNamespace) -> None:
    ttg: TTGClient = traced.ttg
    locations = await ttg.locations.list(limit=1, extra_headers={"X-Trace": "p"}).collect()
    assert len(traced.seen) == len(locations) > 1
    assert all(headers["X-Trace"] == "p" for headers in traced.seen)


async def test_extra_headers_cannot_replace_the_idempotency_key(show: Show, ttg: TTGClient) -> None:
    item = show.first(GeneralAdmission)
    cart = await ttg.carts.create(
        [CartItemInput.for_option(show.occurrence.id, item, item.price_options[0])]
    )
    with pytest.raises(ValueError, match=r"idempotency_key="):
        await ttg.orders.create(
            cart.id,
            expected_total=cart.total,
            contact=CONTACT,
            extra_headers={"idempotency-key": "idem_abc"},
        )


@pytest.mark.parametrize(
    ("headers", "error"),
    [({"X-A": 1}, TypeError), ({"X-A": "a\r\nX-B: b"}, ValueError), (["X-A"], TypeError)],
)
async def test_bad_extra_headers_are_refused_before_sending(
    traced: SimpleNamespace, headers: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="extra_headers"):
        await traced.ttg.events.get("1001", extra_headers=headers)
    assert traced.seen == []


async def test_per_call_timeout_overrides_the_clients(running: Running) -> None:
    running.sandbox.set_latency(EVENT_ROUTE, 1.0)
    async with TTGClient(
        KEY, RETAILER, base_url=running.base_url, timeout=30.0, max_retries=0
    ) as ttg:
        with pytest.raises(APITimeoutError, match=r"per-attempt timeout of 0\.2 s"):
            await ttg.events.get("1001", timeout=0.2)
        with pytest.raises(ConfigurationError, match=r"^timeout: "):
            await ttg.events.get("1001", timeout=-1)


# -- timeout messages --------------------------------------------------------------------


async def test_the_timeout_message_names_the_call_deadline(running: Running) -> None:
    running.sandbox.set_latency(EVENT_ROUTE, 1.0)
    policy = RetryPolicy(max_attempts=1, deadline=0.2)
    async with TTGClient(KEY, RETAILER, base_url=running.base_url, retry=policy) as ttg:
        with pytest.raises(APITimeoutError) as caught:
            await ttg.events.get("1001")
    assert "of the call's deadline" in str(caught.value)
    assert "per-attempt" not in str(caught.value)


# -- TTG_LOG -----------------------------------------------------------------------------

LOG_SCRIPT = textwrap.dedent(
    """
    import asyncio, logging
    from ttg_async import TTGClient
    from ttg_async.sandbox import Sandbox

    KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

    async def main():
        async with Sandbox().serve() as base_url:
            async with TTGClient(KEY, "r1", base_url=base_url) as ttg:
                await ttg.events.get("1001")
                # Even a careless line that quotes the key is masked by the handler.
                logging.getLogger("ttg_async.user").info("calling with %s", KEY)

    asyncio.run(main())
    """
)


def _run_logged(ttg_log: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TTG_LOG"}
    if ttg_log is not None:
        env["TTG_LOG"] = ttg_log
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", LOG_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stderr


def test_ttg_log_debug_turns_on_redacted_logging() -> None:
    err = _run_logged("debug")
    assert "DEBUG ttg_async: request req_" in err
    assert "GET /api/v3/events/1001 attempt 1/3" in err
    assert "calling with sk_test_…dp7dc"[:-5] in err
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in err


def test_ttg_log_info_hides_the_debug_lines() -> None:
    err = _run_logged("INFO")
    assert "INFO ttg_async.user: calling with sk_test_…p7dc" in err
    assert "DEBUG" not in err
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in err


def test_without_ttg_log_the_sdk_writes_nothing() -> None:
    assert _run_logged(None) == ""


# -- a cancelled checkout ----------------------------------------------------------------


async def test_a_cancelled_checkout_keeps_its_key_and_retries_without_buying_twice(
    running: Running, ttg: TTGClient, show: Show
) -> None:
    item = show.first(GeneralAdmission)
    line = CartItemInput.for_option(show.occurrence.id, item, item.price_options[0])
    cart = await ttg.carts.create([line])
    # The order is placed, and then the answer is late: the worst moment to give up.
    running.sandbox.inject("POST /api/v3/orders", "slow_after_commit", delay=5.0)
    task = asyncio.create_task(
        ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
    )
    for _ in range(500):  # until the server has placed the order (bounded: ~5 s at most)
        if running.sandbox.orders_for_cart(cart.id):
            break
        await asyncio.sleep(0.01)
    assert running.sandbox.orders_for_cart(cart.id), "the order was never placed"
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await task
    key = caught.value.idempotency_key  # type: ignore[attr-defined]
    assert key.startswith("idem_")
    assert any(key in note for note in caught.value.__notes__)

    order = await ttg.orders.create(
        cart.id, expected_total=cart.total, contact=CONTACT, idempotency_key=key
    )
    assert running.sandbox.orders_for_cart(cart.id) == [order.id]
    assert running.sandbox.orders_for_key(key) == [order.id]
