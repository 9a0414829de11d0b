"""What the SDK says when something goes wrong: the message, the debug log, the misuse.

- A timeout or connection error after retries says how many attempts were made and how long
  the whole call took, not only the last attempt's limit.
- The debug log has one line per attempt with the method, the path and its query (secrets
  masked), the status (or the error), the attempt number and the time the attempt took.
- ``with TTGClient()`` (a plain ``with``) says to use ``async with``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ttg_async import APIConnectionError, APITimeoutError, RetryPolicy, TTGClient
from ttg_async._core.transport import RequestSpec
from ttg_async.buyback import BuybackClient
from ttg_async.sandbox import SEEDED_CODES, Sandbox

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
RETAILER = "messages-retailer"
ERRORS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
NO_WAIT = RetryPolicy(max_attempts=3, backoff_base=0, backoff_max=0)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=0)
    async with sandbox.serve() as base_url:
        yield sandbox, base_url


async def test_a_timeout_after_retries_says_how_many_attempts_and_how_long(
    served: tuple[Sandbox, str],
) -> None:
    sandbox, base_url = served
    sandbox.set_latency("GET /api/v3/events/{eventId}", 1.0)
    async with TTGClient(KEY, RETAILER, base_url=base_url, timeout=0.1, retry=NO_WAIT) as ttg:
        with pytest.raises(APITimeoutError) as caught:
            await ttg.events.get("1001")
    error = caught.value
    assert error.attempts == 3
    assert error.elapsed is not None
    assert error.elapsed >= 0.3
    message = str(error)
    assert "per-attempt timeout of 0.1 s" in message  # the last attempt's limit ...
    assert f"gave up after 3 attempts in {error.elapsed:.2f} s" in message  # ... and the call's


async def test_a_connection_error_after_retries_says_how_many_attempts_and_how_long() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = RetryPolicy(max_attempts=2, backoff_base=0, backoff_max=0)
    base_url = f"http://127.0.0.1:{port}"
    async with TTGClient(KEY, RETAILER, base_url=base_url, retry=policy) as ttg:
        with pytest.raises(APIConnectionError) as caught:
            await ttg.events.get("1001")
    assert caught.value.attempts == 2
    assert "gave up after 2 attempts in " in str(caught.value)
    assert str(caught.value).startswith(f"could not connect to {base_url}")


async def test_one_attempt_says_attempt_not_attempts(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    sandbox.set_latency("GET /api/v3/events/{eventId}", 1.0)
    once = RetryPolicy.disabled()
    async with TTGClient(KEY, RETAILER, base_url=base_url, timeout=0.1, retry=once) as ttg:
        with pytest.raises(APITimeoutError, match=r"gave up after 1 attempt in \d+\.\d\d s"):
            await ttg.events.get("1001")


async def test_the_debug_log_has_the_query_status_attempt_and_time(
    served: tuple[Sandbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, base_url = served
    code = SEEDED_CODES[0][0]
    event_id, occurrence_id = sandbox.find_occurrence(rate_code=code)
    caplog.set_level(logging.DEBUG, logger="ttg_async")
    async with TTGClient(KEY, RETAILER, base_url=base_url) as ttg:
        await ttg.inventory.list(event_id, occurrence_id, provider_code=code)
    lines = [r.getMessage() for r in caplog.records if " -> " in r.getMessage()]
    assert lines, caplog.text
    line = lines[0]
    path = f"/api/v3/events/{event_id}/occurrences/{occurrence_id}/inventory-items?"
    assert f"GET {path}" in line  # the method and the path with its query ...
    assert f"providerCode={code}" in line  # ... which says which rate code
    assert "attempt 1/3 -> 200 in " in line  # the attempt, the status, the time it took
    assert line.endswith(" s")
    record = next(r for r in caplog.records if " -> " in r.getMessage())
    assert record.attempt == 1  # type: ignore[attr-defined]
    assert record.elapsed >= 0  # type: ignore[attr-defined]
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in caplog.text


async def test_the_debug_log_names_a_failed_attempt_and_the_time_given_up(
    served: tuple[Sandbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, base_url = served
    sandbox.set_latency("GET /api/v3/events/{eventId}", 1.0)
    caplog.set_level(logging.DEBUG, logger="ttg_async")
    policy = RetryPolicy(max_attempts=2, backoff_base=0, backoff_max=0)
    async with TTGClient(KEY, RETAILER, base_url=base_url, timeout=0.1, retry=policy) as ttg:
        with pytest.raises(APITimeoutError):
            await ttg.events.get("1001")
    text = caplog.text
    assert "GET /api/v3/events/1001 attempt 1/2 -> APITimeoutError in 0.1" in text
    assert "GET /api/v3/events/1001 attempt 2/2 -> APITimeoutError in 0.1" in text
    assert "giving up after " in text


def test_a_query_secret_never_reaches_the_log() -> None:
    from ttg_async._core.pipeline import log_target

    spec = RequestSpec(
        "GET", "/v1/x", (("q", "arena"), ("client_secret", "hunter2")), {}, None, "r"
    )
    target = log_target(spec)
    assert target == "/v1/x?q=arena&client_secret=[redacted]"


def test_a_plain_with_says_to_use_async_with() -> None:
    client = TTGClient(KEY, RETAILER, base_url="http://127.0.0.1:9")
    with (
        pytest.raises(TypeError, match=r"use 'async with TTGClient\(\.\.\.\) as client:'"),
        client,
    ):
        pass  # pragma: no cover


def test_a_plain_with_on_the_buyback_client_says_to_use_async_with() -> None:
    client = BuybackClient("tbb_test_me", "secret", base_url="http://127.0.0.1:9")
    with (
        pytest.raises(TypeError, match=r"use 'async with BuybackClient\(\.\.\.\) as client:'"),
        client,
    ):
        pass  # pragma: no cover


async def test_errors_md_tells_the_truth_about_bad_arguments(
    served: tuple[Sandbox, str],
) -> None:
    from ttg_async import CartItemInput, ConfigurationError, Contact, TTGError

    page = ERRORS_PAGE.read_text()
    assert "Every exception the SDK raises is a `TTGError`" not in page
    assert "`TypeError` for a value of the wrong type" in page
    assert "`ValueError` for a value of the right type" in page
    # ... and the examples it gives do raise what it says, before any request.
    sandbox, base_url = served
    async with TTGClient(KEY, RETAILER, base_url=base_url) as ttg:
        with pytest.raises(TypeError, match="event_id: must be a str") as wrong_type:
            await ttg.events.get(1001)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="event_id") as wrong_value:
            await ttg.events.get("")
    assert not isinstance(wrong_type.value, TTGError)
    assert not isinstance(wrong_value.value, TTGError)
    with pytest.raises(TypeError):
        Contact(1, "a@example.com", "+1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quantity"):
        CartItemInput("1", "2", "3", quantity=0)
    assert issubclass(ConfigurationError, TTGError)
    assert issubclass(ConfigurationError, ValueError)
    assert sandbox.wire_log() == []  # none of it reached the server
