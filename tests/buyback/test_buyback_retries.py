"""Retries of Buyback calls: GETs as for TTG; the two POSTs only when the request provably
never left, on 429, or after a token refusal. A lost answer raises with outcome_unknown."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from buyback_helpers import FAST

from ttg_async import APIConnectionError, APITimeoutError, RateLimitError, ServerError
from ttg_async.buyback import BuybackClient, Quote
from ttg_async.buyback.sandbox import BuybackSandbox

ORDERS = "POST /v1/orders"
QUOTES = "POST /v1/quotes"


async def _quote(tbb: BuybackClient, sb: BuybackSandbox) -> Quote:
    return await tbb.quotes.create("evt_1001", sb.section_names("evt_1001")[0], 2)


def _deadline(sb: BuybackSandbox) -> dt.datetime:
    return sb.event_start("evt_1001") - dt.timedelta(days=1)


async def test_gets_are_retried_on_5xx(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sb.inject("GET /v1/events/{event_id}", "html_502", times=2)
    event = await tbb.events.get("evt_1001")
    assert event.event_id == "evt_1001"
    assert sb.request_count("GET /v1/events/{event_id}") == 3


@pytest.mark.parametrize("kind", ["reset_after_commit", "status_after_commit", "truncate"])
async def test_lost_order_answer_is_not_sent_again(
    tbb: BuybackClient, sb: BuybackSandbox, kind: str
) -> None:
    quote = await _quote(tbb, sb)
    sb.inject(ORDERS, kind, status=503)
    with pytest.raises((APIConnectionError, ServerError)) as caught:
        await tbb.orders.create(
            quote.quote_id, delivery_type="pdf", delivery_deadline=_deadline(sb)
        )
    assert caught.value.outcome_unknown is True
    assert caught.value.attempts == 1
    assert sb.request_count(ORDERS) == 1
    # The order was made: a repeat could only meet QUOTE_ALREADY_CONSUMED.
    assert len(sb.orders_for_quote(quote.quote_id)) == 1


async def test_late_order_answer_times_out_with_outcome_unknown(
    base_url: str, sb: BuybackSandbox
) -> None:
    async with BuybackClient("tbb_test_alpha", "secret", base_url=base_url, retry=FAST) as tbb:
        quote = await _quote(tbb, sb)
        sb.inject(ORDERS, "slow_after_commit", delay=3.0)
        with pytest.raises(APITimeoutError) as caught:
            await tbb.with_options(timeout=1.0).orders.create(
                quote.quote_id, delivery_type="pdf", delivery_deadline=_deadline(sb)
            )
    assert caught.value.outcome_unknown is True
    assert sb.request_count(ORDERS) == 1
    assert len(sb.orders_for_quote(quote.quote_id)) == 1


async def test_quote_post_is_not_retried_on_5xx(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sb.inject(QUOTES, "status", status=503)
    with pytest.raises(ServerError) as caught:
        await _quote(tbb, sb)
    assert caught.value.outcome_unknown is True  # a 5xx does not prove nothing was done
    assert sb.request_count(QUOTES) == 1


@pytest.mark.parametrize("route", [QUOTES, ORDERS])
async def test_posts_are_retried_on_429(tbb: BuybackClient, sb: BuybackSandbox, route: str) -> None:
    quote = await _quote(tbb, sb)
    sb.reset_counters()
    sb.inject(route, "status", status=429, retry_after=0, times=2)
    if route == QUOTES:
        quote = await _quote(tbb, sb)
        assert len(sb.quotes()) == 2
    else:
        order = await tbb.orders.create(
            quote.quote_id, delivery_type="pdf", delivery_deadline=_deadline(sb)
        )
        assert sb.orders_for_quote(quote.quote_id) == [order.order_id]
    assert sb.request_count(route) == 3


async def test_429_beyond_the_policy_gives_up(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sb.inject(QUOTES, "status", status=429, retry_after=0, times=5)
    with pytest.raises(RateLimitError) as caught:
        await _quote(tbb, sb)
    assert caught.value.attempts == 3
    assert caught.value.outcome_unknown is False


async def test_a_post_that_never_left_is_retried() -> None:
    # Nothing listens on this port: every connection is refused before a byte is sent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BuybackClient(
        "tbb_test_alpha", "secret", base_url=f"http://127.0.0.1:{port}/partner", retry=FAST
    ) as tbb:
        with pytest.raises(APIConnectionError) as caught:
            await tbb.quotes.create("evt_1001", "Balcony", 1)
    assert caught.value.request_sent is False
    assert caught.value.attempts == 3  # the token request, tried three times
    assert caught.value.outcome_unknown is False
