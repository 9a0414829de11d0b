"""Every endpoint through TTGClient, against the real sandbox over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
import pytest
from ttg_testkit import KEY, NO_WAIT, RETAILER, Running, Show

from ttg_async import (
    AssignedSeat,
    AuthenticationError,
    CartExpiredError,
    CartItemInput,
    ClientClosedError,
    ConfigurationError,
    Contact,
    GeneralAdmission,
    InvalidRequestError,
    InventoryExhaustedError,
    Money,
    NotFoundError,
    PermissionDeniedError,
    ProviderCodeNotFoundError,
    RetryPolicy,
    TotalPriceMismatchError,
    TTGClient,
)

CONTACT = Contact(name="Ada Lovelace", email="ada@example.com", phone="+442071234567")


# --- locations and events ---------------------------------------------------------------


async def test_locations_list_walks_every_page(ttg: TTGClient) -> None:
    everything = await ttg.locations.list().collect()
    assert everything
    one_by_one = await ttg.locations.list(limit=1).collect()
    assert [loc.id for loc in one_by_one] == [loc.id for loc in everything]
    pages = [page async for page in ttg.locations.list(limit=1).pages()]
    assert len(pages) == len(everything)
    assert all(page.total == len(everything) for page in pages)


async def test_events_list_pages_max_items_and_prefetch(ttg: TTGClient) -> None:
    location = (await ttg.locations.list().collect())[0]
    events = await ttg.events.list(location.id).collect()
    assert len(events) >= 3
    assert len({event.id for event in events}) == len(events)
    small = await ttg.events.list(location.id, limit=2).collect()
    assert [e.id for e in small] == [e.id for e in events]
    prefetched = await ttg.events.list(location.id, limit=2, concurrency=4).collect()
    assert [e.id for e in prefetched] == [e.id for e in events]
    capped = await ttg.events.list(location.id, limit=2, max_items=3).collect()
    assert [e.id for e in capped] == [e.id for e in events[:3]]
    tail = await ttg.events.list(location.id, offset=1).collect()
    assert [e.id for e in tail] == [e.id for e in events[1:]]


async def test_events_get_and_unknown_event(ttg: TTGClient) -> None:
    location = (await ttg.locations.list().collect())[0]
    listed = (await ttg.events.list(location.id, max_items=1).collect())[0]
    event = await ttg.events.get(listed.id)
    assert (event.id, event.name) == (listed.id, listed.name)
    with pytest.raises(NotFoundError) as info:
        await ttg.events.get("999999999")
    assert info.value.status == 404
    assert info.value.resource_type == "event"
    assert info.value.resource_id == "999999999"
    assert re.fullmatch(r"req_[a-zA-Z0-9]+", info.value.request_id or "")


async def test_unknown_location(ttg: TTGClient) -> None:
    with pytest.raises(NotFoundError):
        await ttg.events.list("999999999").collect()


# --- occurrences ------------------------------------------------------------------------


async def test_occurrences_list_get_and_filters(ttg: TTGClient, show: Show) -> None:
    occurrences = await ttg.occurrences.list(show.event_id)
    assert show.occurrence.id in {o.id for o in occurrences}
    for occurrence in occurrences:
        assert occurrence.starts_at.tzinfo is not None
    got = await ttg.occurrences.get(show.event_id, show.occurrence.id)
    assert got.id == show.occurrence.id
    assert got.starts_at == show.occurrence.starts_at
    day = show.occurrence.starts_at.date()
    same_day = await ttg.occurrences.list(show.event_id, start_date=day, end_date=day)
    assert show.occurrence.id in {o.id for o in same_day}
    assert all(o.starts_at.date() == day for o in same_day)
    with pytest.raises(NotFoundError) as info:
        await ttg.occurrences.get(show.event_id, "999999999")
    assert info.value.resource_type == "occurrence"


async def test_occurrences_are_joined_when_a_server_paginates_them() -> None:
    from ttg_async.sandbox import Sandbox

    # Two a page at most, whatever limit is asked for (the client asks for 1000): every event
    # with three or more occurrences spans pages, so the pages really are walked and joined.
    plain, paged = Sandbox(seed=3), Sandbox(seed=3, paginate_lists=2)
    route = "GET /api/v3/events/{eventId}/occurrences"
    async with (
        plain.serve() as url_a,
        paged.serve() as url_b,
        TTGClient(KEY, RETAILER, base_url=url_a) as a,
        TTGClient(KEY, RETAILER, base_url=url_b) as b,
    ):
        location = (await a.locations.list().collect())[0]
        event = (await a.events.list(location.id, max_items=1).collect())[0]
        expected = [o.id for o in await a.occurrences.list(event.id)]
        assert len(expected) >= 5, "the test needs an event with three pages or more"
        joined = await b.occurrences.list(event.id)
        assert [o.id for o in joined] == expected  # in order, none lost, none twice
        pages = -(-len(expected) // 2)
        assert paged.request_count(route) == pages


# --- inventory and rate codes -----------------------------------------------------------


async def test_inventory_list(ttg: TTGClient, show: Show) -> None:
    items = await ttg.inventory.list(show.event_id, show.occurrence.id)
    assert {type(i.inventory_variant) for i in items} >= {AssignedSeat, GeneralAdmission}
    for item in items:
        for option in item.price_options:
            assert option.sell_price.amount > 0
            if option.list_price is not None:
                assert option.list_price.amount > option.sell_price.amount


async def test_rate_codes(running: Running, ttg: TTGClient, show: Show) -> None:
    running.sandbox.add_rate_code(show.event_id, "campaign-may", percent_off=20)
    default = await ttg.inventory.list(show.event_id, show.occurrence.id)
    tier = await ttg.inventory.list(show.event_id, show.occurrence.id, provider_code="campaign-may")
    default_prices = {o.id: o.sell_price.amount for i in default for o in i.price_options}
    tier_prices = [o.sell_price.amount for i in tier for o in i.price_options]
    assert sum(tier_prices) < sum(default_prices.values())
    with pytest.raises(ProviderCodeNotFoundError) as info:
        await ttg.inventory.list(show.event_id, show.occurrence.id, provider_code="Campaign-May")
    assert info.value.provider_code == "Campaign-May"
    tiers = await ttg.inventory.by_rate_codes(
        show.event_id, show.occurrence.id, [None, "campaign-may", "nope", None]
    )
    assert list(tiers) == [None, "campaign-may", "nope"]
    assert isinstance(tiers["nope"], ProviderCodeNotFoundError)
    assert isinstance(tiers[None], list)
    assert isinstance(tiers["campaign-may"], list)
    assert len(tiers[None]) == len(default)


async def test_by_rate_codes_raises_other_errors(ttg: TTGClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await ttg.inventory.by_rate_codes("999999999", "1", [None, "x"])
    assert not isinstance(info.value, ProviderCodeNotFoundError)


# --- carts ------------------------------------------------------------------------------


async def test_cart_create_get_delete(ttg: TTGClient, show: Show) -> None:
    ga = show.first(GeneralAdmission)
    before = ga.quantity_available
    cart = await ttg.carts.create(
        [CartItemInput.for_option(show.occurrence.id, ga, ga.price_options[0], 2)]
    )
    assert cart.expires_at.tzinfo is not None
    signed = sum(line.sign * line.total.amount for line in cart.receipt_lines)
    assert signed == cart.total.amount
    again = await ttg.carts.get(cart.id)
    assert (again.id, again.total) == (cart.id, cart.total)
    held = await ttg.inventory.list(show.event_id, show.occurrence.id)
    assert next(i for i in held if i.id == ga.id).quantity_available == before - 2
    assert await ttg.carts.delete(cart.id) is None
    assert await ttg.carts.delete(cart.id) is None  # idempotent
    with pytest.raises(NotFoundError):
        await ttg.carts.get(cart.id)
    released = await ttg.inventory.list(show.event_id, show.occurrence.id)
    assert next(i for i in released if i.id == ga.id).quantity_available == before


@pytest.mark.parametrize("status", [404, 410])
async def test_deleting_a_cart_the_server_says_is_gone_succeeds(
    running: Running, ttg: TTGClient, status: int
) -> None:
    """A server may answer DELETE for a cart it no longer has with 404 or 410.

    (The sandbox answers 204 whatever the cart, so a fault makes it say so.) Either way the
    hold is gone, which is what deleting it was for: no error reaches the caller.
    """
    fault = running.sandbox.inject("DELETE /api/v3/carts/{cartId}", "status", status=status)
    assert await ttg.carts.delete("cart_999999") is None
    assert fault.hits == 1


async def test_deleting_a_cart_still_raises_other_refusals(
    running: Running, ttg: TTGClient
) -> None:
    running.sandbox.inject("DELETE /api/v3/carts/{cartId}", "status", status=403)
    with pytest.raises(PermissionDeniedError):
        await ttg.carts.delete("cart_000001")


async def test_cart_rules_are_checked_locally(show: Show) -> None:
    seat = show.first(AssignedSeat)
    with pytest.raises(ValueError, match="quantity"):
        CartItemInput.for_option(show.occurrence.id, seat, seat.price_options[0], 2)
    with pytest.raises(ValueError, match="quantity"):
        CartItemInput(show.occurrence.id, seat.id, seat.price_options[0].id, 0)


async def test_cart_items_must_share_an_occurrence(ttg: TTGClient) -> None:
    with pytest.raises(ValueError, match=r"items\[1\]\.occurrence_id"):
        await ttg.carts.create([CartItemInput("1", "a", "b"), CartItemInput("2", "a", "b")])
    with pytest.raises(ValueError, match="items"):
        await ttg.carts.create([])


async def test_server_enforces_assigned_seat_quantity(ttg: TTGClient, show: Show) -> None:
    seat = show.first(AssignedSeat)
    raw = CartItemInput(show.occurrence.id, seat.id, seat.price_options[0].id, 2)
    with pytest.raises(InvalidRequestError) as info:
        await ttg.carts.create([raw])
    assert info.value.param == "items[0].quantity"


async def test_inventory_exhausted(ttg: TTGClient, show: Show) -> None:
    ga = show.first(GeneralAdmission)
    too_many = CartItemInput(
        show.occurrence.id, ga.id, ga.price_options[0].id, ga.quantity_available + 1
    )
    with pytest.raises(InventoryExhaustedError) as info:
        await ttg.carts.create([too_many])
    assert info.value.available_quantity == ga.quantity_available
    assert info.value.requested_quantity == ga.quantity_available + 1


# --- orders -----------------------------------------------------------------------------


async def hold(ttg: TTGClient, show: Show, quantity: int = 1) -> tuple[str, Money]:
    ga = show.first(GeneralAdmission)
    cart = await ttg.carts.create(
        [CartItemInput.for_option(show.occurrence.id, ga, ga.price_options[0], quantity)]
    )
    return cart.id, cart.total


async def test_checkout_and_order_lookup(running: Running, ttg: TTGClient, show: Show) -> None:
    cart_id, total = await hold(ttg, show, 2)
    order = await ttg.orders.create(cart_id, expected_total=total, contact=CONTACT)
    assert order.total == total
    assert order.receipt_lines
    assert sum(len(item.tickets) for item in order.items) == 2
    assert running.sandbox.orders_for_cart(cart_id) == [order.id]
    fetched = await ttg.orders.get(order.id)
    assert fetched.id == order.id
    assert (await ttg.orders.get(order.id, cart_id=cart_id)).id == order.id
    with pytest.raises(NotFoundError) as info:
        await ttg.orders.get("999999999")
    assert info.value.resource_type == "order"


async def test_same_idempotency_key_returns_the_same_order(
    running: Running, ttg: TTGClient, show: Show
) -> None:
    cart_id, total = await hold(ttg, show)
    first = await ttg.orders.create(
        cart_id, expected_total=total, contact=CONTACT, idempotency_key="idem_demo1"
    )
    second = await ttg.orders.create(
        cart_id, expected_total=total, contact=CONTACT, idempotency_key="idem_demo1"
    )
    assert first.id == second.id
    assert running.sandbox.orders_for_cart(cart_id) == [first.id]


async def test_price_change_gives_total_price_mismatch(
    running: Running, ttg: TTGClient, show: Show
) -> None:
    ga = show.first(GeneralAdmission)
    option = ga.price_options[0]
    cart = await ttg.carts.create([CartItemInput.for_option(show.occurrence.id, ga, option)])
    running.sandbox.set_price(option.id, option.sell_price.amount + 1000)
    with pytest.raises(TotalPriceMismatchError) as info:
        await ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
    assert info.value.status == 409
    assert info.value.attempts == 1  # a 409 is never retried
    fresh = await ttg.carts.get(cart.id)
    assert fresh.total.amount > cart.total.amount
    order = await ttg.orders.create(cart.id, expected_total=fresh.total, contact=CONTACT)
    assert order.total == fresh.total


async def test_expired_cart(running: Running, ttg: TTGClient, show: Show) -> None:
    cart_id, total = await hold(ttg, show)
    running.sandbox.expire_cart(cart_id)
    with pytest.raises(NotFoundError):
        await ttg.carts.get(cart_id)
    with pytest.raises(CartExpiredError) as info:
        await ttg.orders.create(cart_id, expected_total=total, contact=CONTACT)
    assert info.value.status == 410


async def test_orders_create_checks_arguments_locally(ttg: TTGClient) -> None:
    with pytest.raises(TypeError, match="expected_total"):
        await ttg.orders.create("c", expected_total=18500, contact=CONTACT)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="contact"):
        await ttg.orders.create("c", expected_total=Money(1, "USD"), contact={"name": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="idempotency_key"):
        await ttg.orders.create(
            "c", expected_total=Money(1, "USD"), contact=CONTACT, idempotency_key="key-1"
        )
    with pytest.raises(ValueError, match="cart_id"):
        await ttg.orders.create("", expected_total=Money(1, "USD"), contact=CONTACT)


# --- the client itself ------------------------------------------------------------------


async def test_request_id_is_sent_and_echoed(running: Running, ttg: TTGClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await ttg.events.get("999999999")
    rid = info.value.request_id
    assert rid is not None
    assert running.sandbox.attempts(rid) == 1


async def test_bad_key_is_an_authentication_error(running: Running) -> None:
    async with TTGClient("sk_live_notavalidkey0000", RETAILER, base_url=running.base_url) as c:
        with pytest.raises(AuthenticationError) as info:
            await c.locations.list().collect()
    assert "notavalidkey" not in str(info.value)
    assert "notavalidkey" not in repr(c)


async def test_closed_client_refuses_work(running: Running) -> None:
    client = TTGClient(KEY, RETAILER, base_url=running.base_url)
    await client.locations.list().collect()
    await client.aclose()
    await client.aclose()  # twice is fine
    with pytest.raises(ClientClosedError):
        await client.locations.list().collect()
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_a_session_passed_in_is_used_and_left_open(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        async with TTGClient(KEY, RETAILER, base_url=running.base_url, session=session) as ttg:
            assert await ttg.locations.list().collect()
        assert not session.closed


async def test_with_options_shares_the_session(running: Running, ttg: TTGClient) -> None:
    view = ttg.with_options(retry=RetryPolicy.disabled(), timeout=5.0)
    assert view.retry.max_attempts == 1
    assert view.timeout == 5.0
    assert ttg.retry is NO_WAIT
    assert await view.locations.list().collect()
    await view.aclose()  # a view does not own the session
    assert await ttg.locations.list().collect()
    with pytest.raises(ConfigurationError, match="timeout"):
        ttg.with_options(timeout=-1)


async def test_repr_and_logs_never_show_the_key(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ttg_async")
    async with TTGClient(KEY, RETAILER, base_url=running.base_url) as ttg:
        assert KEY not in repr(ttg)
        assert "p7dc" in repr(ttg)
        await ttg.locations.list().collect()
        with pytest.raises(NotFoundError) as info:
            await ttg.events.get("999999999")
    assert caplog.records
    secret = KEY[len("sk_test_") :]
    assert secret not in caplog.text
    assert secret not in str(info.value)
    assert secret not in repr(info.value)


def test_construction_fails_fast_without_network() -> None:
    with pytest.raises(ConfigurationError, match="platform"):
        TTGClient(KEY, RETAILER, platform="desktop")
    with pytest.raises(ConfigurationError, match="retailer"):
        TTGClient(KEY, "")
    with pytest.raises(ConfigurationError, match="base_url"):
        TTGClient("sk_live_abcdefabcdef1234", RETAILER, base_url="https://stg.ttix.io")
    with pytest.raises(ConfigurationError, match="retry"):
        TTGClient(KEY, RETAILER, retry=3)  # type: ignore[arg-type]


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_API_KEY", KEY)
    monkeypatch.setenv("TTG_RETAILER", RETAILER)
    monkeypatch.setenv("TTG_BASE_URL", "http://127.0.0.1:1")
    client = TTGClient()
    assert client.base_url == "http://127.0.0.1:1"
    monkeypatch.delenv("TTG_BASE_URL")
    assert TTGClient().base_url == "https://stg.ttix.io"


async def test_a_client_used_from_a_second_event_loop_says_so(ttg: TTGClient) -> None:
    await ttg.locations.list().collect()  # binds the client to this loop

    def elsewhere() -> None:
        with pytest.raises(RuntimeError, match="event loop"):
            asyncio.run(ttg.events.get("1001"))

    await asyncio.to_thread(elsewhere)
    assert await ttg.locations.list().collect()  # still fine where it belongs
