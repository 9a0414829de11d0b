"""The Buyback token's life, against the real sandbox: when it is renewed, what happens to a
refused one, who waits for a shared token request, and what a call's deadline covers.

Each test fails with the matching bug of issue 19 in place (see tests/mutation/mutations.py);
none depends on the machine being fast: a slow machine only makes a check weaker, never false.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from buyback_helpers import START

from ttg_async import APITimeoutError, RetryPolicy, ServerError
from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox

TOKEN = "POST /v1/auth/token"
EVENTS = "GET /v1/events"
QUOTES = "POST /v1/quotes"
ONE_TRY = RetryPolicy.disabled()


@pytest.fixture
async def served() -> AsyncIterator[tuple[BuybackSandbox, str]]:
    sandbox = BuybackSandbox(seed=0, start_date=START)
    async with sandbox.serve() as url:
        yield sandbox, url


def client(url: str, **options: object) -> BuybackClient:
    return BuybackClient("tbb_test_alpha", "secret", base_url=url, **options)  # type: ignore[arg-type]


async def test_a_token_lives_from_when_it_was_asked_for_not_from_when_it_came(
    served: tuple[BuybackSandbox, str],
) -> None:
    """A 2 s token whose answer took 1 s is renewed 1.6 s after it was asked for.

    Counted from its arrival it would be kept until 2.6 s, past its end at 2 s, and the next
    call would first meet a 401. The call made at 1.75 s must fetch a new token instead.
    """
    sandbox, url = served
    sandbox.token_lifetime = 2.0
    sandbox.inject(TOKEN, "slow_after_commit", delay=1.0, times=1)
    loop = asyncio.get_running_loop()
    async with client(url, retry=ONE_TRY) as tbb:
        asked = loop.time()
        await tbb.events.get(sandbox.event_ids()[0])
        assert sandbox.request_count(TOKEN) == 1
        await asyncio.sleep(max(0.0, asked + 1.75 - loop.time()))
        await tbb.events.get(sandbox.event_ids()[0])
    # A later moment than 1.75 s (a slow machine) also renews: the check can only weaken.
    assert sandbox.request_count(TOKEN) == 2
    assert sandbox.request_count("GET /v1/events/{event_id}") == 2  # no 401, no replay


async def test_a_refused_token_is_never_sent_again(served: tuple[BuybackSandbox, str]) -> None:
    """The server refuses the token and the renewal fails: the next call asks for a new one
    first, rather than sending the refused token again (and meeting a second 401)."""
    sandbox, url = served
    async with client(url, retry=ONE_TRY) as tbb:
        await tbb.events.list(limit=1, max_items=1).collect()
        sandbox.revoke_tokens()
        sandbox.inject(TOKEN, "status", status=503, times=1)
        with pytest.raises(ServerError):
            await tbb.events.list(
                limit=1, max_items=1
            ).collect()  # refused, then the renewal failed
        sandbox.reset_counters()
        await tbb.events.list(limit=1, max_items=1).collect()
    assert sandbox.request_count(TOKEN) == 1
    assert sandbox.request_count(EVENTS) == 1  # sent once, with the new token


async def test_a_cancelled_caller_does_not_cancel_the_others_token(
    served: tuple[BuybackSandbox, str],
) -> None:
    sandbox, url = served
    sandbox.inject(TOKEN, "slow", delay=0.5, times=1)
    async with client(url, retry=ONE_TRY) as tbb:
        first = asyncio.ensure_future(tbb.events.list(limit=1, max_items=1).collect())
        second = asyncio.ensure_future(tbb.events.list(limit=2, max_items=2).collect())
        await asyncio.sleep(0.1)  # both now wait for the one token request
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert len(await second) == 2
    assert sandbox.request_count(TOKEN) == 1


async def test_a_failed_token_request_leaves_the_outcome_known(
    served: tuple[BuybackSandbox, str],
) -> None:
    """The token POST failed after it may have been processed; the quote was never sent."""
    sandbox, url = served
    event_id = sandbox.event_ids()[0]
    section = sandbox.section_names(event_id)[0]
    sandbox.inject(TOKEN, "status_after_commit", status=503, times=1)
    async with client(url, retry=ONE_TRY) as tbb:
        with pytest.raises(ServerError) as info:
            await tbb.quotes.create(event_id, section, 2)
    assert not info.value.outcome_unknown
    assert sandbox.request_count(QUOTES) == 0


async def test_the_deadline_covers_the_token_request(served: tuple[BuybackSandbox, str]) -> None:
    """A token endpoint that hangs holds the call no longer than its deadline."""
    sandbox, url = served
    sandbox.inject(TOKEN, "slow", delay=30.0, times=5)
    loop = asyncio.get_running_loop()
    async with client(url, timeout=20.0, retry=RetryPolicy(deadline=0.5)) as tbb:
        start = loop.time()
        with pytest.raises(APITimeoutError):
            await tbb.events.list(limit=1, max_items=1).collect()
        elapsed = loop.time() - start
    assert elapsed < 0.5 + 1.5  # a call that ignored it would wait 20 s per attempt
    assert sandbox.request_count(EVENTS) == 0


async def test_a_bare_401_from_a_proxy_renews_the_token(served: tuple[BuybackSandbox, str]) -> None:
    """A 401 with no error code (a proxy's plain ``401 Unauthorized``) refused the token, not
    the request: the token is renewed once and the call replayed once."""
    sandbox, url = served
    async with client(url, retry=ONE_TRY) as tbb:
        await tbb.events.list(limit=1, max_items=1).collect()
        sandbox.reset_counters()
        sandbox.inject(EVENTS, "proxy_status", status=401, times=1)
        events = await tbb.events.list(limit=1, max_items=1).collect()
    assert len(events) == 1
    assert sandbox.request_count(TOKEN) == 1  # renewed
    assert sandbox.request_count(EVENTS) == 2  # refused by the proxy, then replayed


async def test_the_proxy_fault_really_has_no_envelope(served: tuple[BuybackSandbox, str]) -> None:
    """Guard for the test above: the sandbox's proxy answer carries no code to go by."""
    import aiohttp

    sandbox, url = served
    sandbox.inject(EVENTS, "proxy_status", status=401, times=1)
    async with aiohttp.ClientSession() as http, http.get(f"{url}/v1/events") as resp:
        assert resp.status == 401
        assert resp.content_type == "text/plain"
        assert (await resp.text()).strip() == "401 Unauthorized"
