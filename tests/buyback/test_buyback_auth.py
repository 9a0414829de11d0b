"""Tokens: caching, early renewal, single-flight under concurrency, replay after a refusal."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from buyback_helpers import FAST

from ttg_async.buyback import AccountSuspendedError, BuybackClient, TokenExpiredError
from ttg_async.buyback._auth import renewal_margin
from ttg_async.buyback.sandbox import BuybackSandbox

EVENT = "GET /v1/events/{event_id}"


def test_renewal_margin_scales_with_lifetime() -> None:
    assert renewal_margin(3600) == 60.0
    assert renewal_margin(300) == 60.0
    assert renewal_margin(100) == 20.0
    assert renewal_margin(2) == pytest.approx(0.4)
    assert renewal_margin(0) == 0.0


async def test_token_is_cached(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    for _ in range(5):
        await tbb.events.get("evt_1001")
    assert sb.token_requests() == 1
    assert sb.request_count(EVENT) == 5


async def test_short_lived_token_is_not_renewed_on_every_call(
    base_url: str, sb: BuybackSandbox
) -> None:
    sb.token_lifetime = 2.0  # renewed 0.4 s before its end: a few quick calls share it
    async with BuybackClient("tbb_test_alpha", "secret", base_url=base_url) as tbb:
        for _ in range(3):
            await tbb.events.get("evt_1001")
    assert sb.token_requests() == 1


async def test_hundred_concurrent_calls_at_expiry_make_one_token_request(
    base_url: str, sb: BuybackSandbox
) -> None:
    sb.token_lifetime = 1.0  # the client renews it 0.2 s early, 0.8 s after asking
    async with BuybackClient("tbb_test_alpha", "secret", base_url=base_url, retry=FAST) as tbb:
        await tbb.events.get("evt_1001")
        await asyncio.sleep(0.85)  # past the renewal point: every call below needs a new token
        sb.token_lifetime = 3600
        alone = tbb.with_options(coalesce=False)  # one request per call: the token is tested
        results = await asyncio.gather(*(alone.events.get("evt_1001") for _ in range(100)))
    assert len(results) == 100
    assert sb.token_requests() == 2  # the first token, and one renewal for all hundred
    assert sb.request_count(EVENT) == 101  # and no call met a refused token


async def test_hundred_concurrent_calls_that_meet_an_expired_token_renew_once(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get("evt_1001")
    sb.advance(3600)  # expired on the server; the client cannot know before it asks
    alone = tbb.with_options(coalesce=False)  # one request per call: the token is tested
    await asyncio.gather(*(alone.events.get("evt_1001") for _ in range(100)))
    assert sb.token_requests() == 2
    assert sb.request_count(EVENT) == 1 + 100 + 100  # each call refused once, replayed once


async def test_fifty_concurrent_calls_that_meet_a_revoked_token_renew_once(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get("evt_1001")
    sb.set_latency(0.05)  # refusals arrive over a while: some after the renewal is done
    sb.revoke_tokens()
    alone = tbb.with_options(coalesce=False)  # one request per call: the token is tested
    await asyncio.gather(*(alone.sections.list("evt_1001") for _ in range(50)))
    assert sb.token_requests() == 2
    assert sb.request_count("GET /v1/events/{event_id}/sections") == 100


async def test_concurrent_first_calls_share_one_token_request(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await asyncio.gather(*(tbb.events.get("evt_1001") for _ in range(30)))
    assert sb.token_requests() == 1


async def test_post_is_replayed_once_after_token_expired(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get("evt_1001")
    sb.advance(3600)
    quote = await tbb.quotes.create("evt_1001", sb.section_names("evt_1001")[0], 1)
    assert sb.quotes() == [quote.quote_id]  # the refused attempt made nothing
    assert sb.request_count("POST /v1/quotes") == 2
    assert sb.token_requests() == 2


async def test_replay_keeps_the_request_id(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    await tbb.events.get("evt_1001")
    sb.revoke_tokens()
    sb.tokens_born_expired = True
    with pytest.raises(TokenExpiredError) as caught:
        await tbb.events.get("evt_1001")
    request_id = caught.value.request_id
    assert request_id is not None
    assert sb.attempts(request_id) == 2  # the refused call and its one replay


async def test_second_refusal_raises_token_expired(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sb.tokens_born_expired = True
    with pytest.raises(TokenExpiredError) as caught:
        await tbb.orders.create(
            "qt_any",
            delivery_type="pdf",
            delivery_deadline=sb.event_start("evt_1001"),
        )
    assert caught.value.status == 401
    assert caught.value.code == "TOKEN_EXPIRED"
    assert caught.value.outcome_unknown is False
    assert sb.token_requests() == 2  # one token, one renewal: never a loop
    assert sb.request_count("POST /v1/orders") == 2
    # The next call starts afresh with a new token.
    sb.tokens_born_expired = False
    assert await tbb.events.get("evt_1001")


async def test_a_refused_token_is_not_reused_after_a_failed_renewal(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get("evt_1001")
    sb.revoke_tokens()
    sb.suspend("tbb_test_alpha")
    with pytest.raises(AccountSuspendedError):  # met while renewing: its own class
        await tbb.events.get("evt_1001")
    sb.suspend("tbb_test_alpha", suspended=False)
    await tbb.events.get("evt_1001")
    assert sb.token_requests() == 3


async def test_aclose_stops_a_token_request_in_flight(base_url: str, sb: BuybackSandbox) -> None:
    sb.set_latency(5)
    tbb = BuybackClient("tbb_test_alpha", "secret", base_url=base_url)
    call = asyncio.ensure_future(tbb.events.get("evt_1001"))
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await tbb.aclose()  # the shielded token request is cancelled, nothing leaks
    assert tbb.closed


async def test_a_refusal_that_arrives_after_the_renewal_reuses_the_new_token(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    await tbb.events.get("evt_1001")
    sb.revoke_tokens()
    # The sections call is refused late, after the events call has renewed and replayed.
    sb.inject("GET /v1/events/{event_id}/sections", "slow", delay=0.3)
    sections = asyncio.ensure_future(tbb.sections.list("evt_1001"))
    await tbb.events.get("evt_1001")
    assert sb.token_requests() == 2
    assert await sections
    assert sb.token_requests() == 2  # the late refusal took the token already renewed


async def test_aclose_stops_a_token_request_on_a_session_it_does_not_own(
    base_url: str, sb: BuybackSandbox
) -> None:
    sb.set_latency(5)
    async with aiohttp.ClientSession() as session:
        tbb = BuybackClient("tbb_test_alpha", "secret", base_url=base_url, session=session)
        call = asyncio.ensure_future(tbb.events.get("evt_1001"))
        await asyncio.sleep(0.1)
        flight = tbb._shared.tokens._flight
        assert flight is not None
        call.cancel()
        async with asyncio.timeout(3):  # generous: the server would answer only after 5 s
            await tbb.aclose()
        assert flight.done()  # not left running on the caller's session
        with pytest.raises(asyncio.CancelledError):
            await call
