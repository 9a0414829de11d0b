"""The client against the other published versions of the TTG docs (docs/versions.md).

The guides say occurrences and inventory come whole; the API reference makes ``limit`` and
``offset`` required on both and pages them. One version of the order pages lists no
``status``. A sandbox set up each way must give exactly what the seed's reading gives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from ttg_testkit import KEY, NO_WAIT, RETAILER

from ttg_async import (
    CartItemInput,
    Contact,
    InventoryItem,
    Occurrence,
    Order,
    ProviderCodeNotFoundError,
    TTGClient,
)
from ttg_async.sandbox import Sandbox

OCCURRENCES = "GET /api/v3/events/{eventId}/occurrences"
INVENTORY = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
ORDERS = "POST /api/v3/orders"
BUYER = Contact("Ada Lovelace", "ada@example.com", "+442071234567")


@dataclass
class Pair:
    plain: TTGClient
    paged: TTGClient
    paged_sandbox: Sandbox


@asynccontextmanager
async def plain_and_paged(cap: int = 2, **options: object) -> AsyncIterator[Pair]:
    """The same catalog twice: as the guides have it, and paged at most ``cap`` a page."""
    plain_sb = Sandbox(seed=3, locations=2, events=6)
    paged_sb = Sandbox(seed=3, locations=2, events=6, paginate_lists=cap)
    for sandbox in (plain_sb, paged_sb):
        sandbox.add_rate_code("*", "vip", percent_off=15)
    async with (
        plain_sb.serve() as plain_url,
        paged_sb.serve() as paged_url,
        TTGClient(KEY, RETAILER, base_url=plain_url, retry=NO_WAIT) as plain,
        TTGClient(KEY, RETAILER, base_url=paged_url, retry=NO_WAIT) as paged,
    ):
        yield Pair(plain, paged, paged_sb)


def _ids(items: list[InventoryItem]) -> list[tuple[str, list[tuple[str, int]]]]:
    """An inventory list as its item IDs, in order, with each option's price."""
    return [(item.id, [(o.id, o.sell_price.amount) for o in item.price_options]) for item in items]


async def _shows(client: TTGClient) -> list[tuple[str, Occurrence]]:
    shows = []
    async for location in client.locations.list():
        async for event in client.events.list(location.id):
            shows += [(event.id, o) for o in await client.occurrences.list(event.id)]
    return shows


async def test_a_server_that_requires_paging_refuses_a_call_without_it() -> None:
    """The paged sandbox really refuses a list call that carries no ``limit``/``offset``.

    This is what makes the tests below prove that every request carried both: a client that
    left either out would get a 400, not the list.
    """
    import aiohttp

    sandbox = Sandbox(seed=3, paginate_lists=2)
    headers = {"X-TT-API-Key": KEY, "X-TT-Retailer": RETAILER, "X-TT-Platform": "api"}
    async with sandbox.serve() as url, TTGClient(KEY, RETAILER, base_url=url) as ttg:
        location = (await ttg.locations.list().collect())[0]
        event = (await ttg.events.list(location.id, max_items=1).collect())[0]
        base = f"{url}/api/v3/events/{event.id}/occurrences"
        async with aiohttp.ClientSession(headers=headers) as http:
            for query, missing in (("", "limit"), ("?limit=5", "offset"), ("?offset=0", "limit")):
                async with http.get(base + query) as resp:
                    assert resp.status == 400
                    assert (await resp.json())["error"]["param"] == missing
            async with http.get(base + "?limit=1000&offset=0") as resp:
                body = await resp.json()
        assert body["pagination"]["limit"] == 2  # the cap, not the 1000 asked for
        assert len(body["data"]) <= 2


async def test_occurrences_and_inventory_lose_nothing_when_paged() -> None:
    async with plain_and_paged(cap=2) as pair:
        expected = await _shows(pair.plain)
        got = await _shows(pair.paged)
        assert [(e, o.id) for e, o in got] == [(e, o.id) for e, o in expected]
        per_event: dict[str, int] = {}
        for event_id, _ in expected:
            per_event[event_id] = per_event.get(event_id, 0) + 1
        assert max(per_event.values()) >= 3, "the test needs an event whose occurrences span pages"
        spanned = False
        for event_id, occurrence in expected[:12]:
            for code in (None, "vip"):
                want = await pair.plain.inventory.list(event_id, occurrence.id, provider_code=code)
                have = await pair.paged.inventory.list(event_id, occurrence.id, provider_code=code)
                assert _ids(have) == _ids(want)  # every item, in order, none twice
                spanned = spanned or len(want) > 2
        assert spanned, "the test needs an inventory list longer than one page"
        # Several requests per list: the pages were really walked, two items at a time.
        assert pair.paged_sandbox.request_count(INVENTORY) > 2 * 12


async def test_paging_follows_the_limit_the_server_reports() -> None:
    """Asked for 1000, the server sends 2 a page and says so: every page is still fetched."""
    async with plain_and_paged(cap=2) as pair:
        event_id, occurrence = (await _shows(pair.plain))[0]
        want = await pair.plain.inventory.list(event_id, occurrence.id)
        pair.paged_sandbox.reset_counters()
        have = await pair.paged.inventory.list(event_id, occurrence.id)
        assert _ids(have) == _ids(want)
        assert pair.paged_sandbox.request_count(INVENTORY) == -(-len(want) // 2)


async def test_by_rate_codes_gets_every_item_of_every_tier_when_paged() -> None:
    async with plain_and_paged(cap=3) as pair:
        event_id, occurrence = (await _shows(pair.plain))[0]
        codes = [None, "vip", "nope"]
        want = await pair.plain.inventory.by_rate_codes(event_id, occurrence.id, codes)
        have = await pair.paged.inventory.by_rate_codes(event_id, occurrence.id, codes)
        assert set(have) == {None, "vip", "nope"}
        for code in (None, "vip"):
            expected, actual = want[code], have[code]
            assert isinstance(expected, list)
            assert isinstance(actual, list)
            assert _ids(actual) == _ids(expected)
        assert isinstance(have["nope"], ProviderCodeNotFoundError)


async def test_a_whole_crawl_is_the_same_against_a_paging_server() -> None:
    async def records(client: TTGClient) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        async for record in client.crawl(rate_codes=(None, "vip"), concurrency=4):
            items = record.items
            assert isinstance(items, list)
            out.append((record.event.id, record.occurrence.id, record.rate_code, _ids(items)))
        return out

    async with plain_and_paged(cap=2) as pair:
        want = await records(pair.plain)
        have = await records(pair.paged)
    assert len(want) > 20
    # The crawl's order across units depends on timing; within a record it is the server's.
    assert sorted(have, key=repr) == sorted(want, key=repr)
    assert len({r[:3] for r in have}) == len(have)  # no record twice


async def test_an_unpaged_answer_is_one_whole_list_and_no_second_request() -> None:
    sandbox = Sandbox(seed=3, locations=2, events=6)
    async with (
        sandbox.serve() as url,
        TTGClient(KEY, RETAILER, base_url=url) as ttg,
    ):
        event_id, occurrence = (await _shows(ttg))[0]
        sandbox.reset_counters()
        items = await ttg.inventory.list(event_id, occurrence.id)
        occurrences = await ttg.occurrences.list(event_id)
        assert items
        assert occurrences
        assert sandbox.request_count(INVENTORY) == 1
        assert sandbox.request_count(OCCURRENCES) == 1


# --- orders without status, total, confirmationNumber or createdAt ----------------------


async def _checkout(ttg: TTGClient, **options: Any) -> tuple[str, Order]:
    async for location in ttg.locations.list():
        async for event in ttg.events.list(location.id):
            for occurrence in await ttg.occurrences.list(event.id):
                if occurrence.from_price is None:
                    continue
                for item in await ttg.inventory.list(event.id, occurrence.id):
                    line = CartItemInput.for_option(occurrence.id, item, item.price_options[0])
                    cart = await ttg.carts.create([line])
                    order = await ttg.orders.create(
                        cart.id, expected_total=cart.total, contact=BUYER, **options
                    )
                    return cart.id, order
    raise AssertionError("no show on sale")


async def test_an_order_without_the_unpromised_fields_still_comes_back() -> None:
    sandbox = Sandbox(seed=1, minimal_orders=True)
    async with (
        sandbox.serve() as url,
        TTGClient(KEY, RETAILER, base_url=url, retry=NO_WAIT) as ttg,
    ):
        cart_id, order = await _checkout(ttg)
        assert isinstance(order, Order)
        assert order.status is None
        assert order.total is None
        assert order.confirmation_number is None
        assert order.created_at is None
        assert order.receipt_lines  # what the docs promise is all there
        assert order.tickets
        assert sandbox.orders_for_cart(cart_id) == [order.id]  # one order on the books
        assert len(sandbox.wire_log(ORDERS)) == 1  # and one checkout request for it
        again = await ttg.orders.get(order.id, cart_id=cart_id)
        assert again.id == order.id
        assert again.status is None


async def test_the_minimal_sandbox_really_leaves_the_fields_out() -> None:
    """Guard for the test above: the server sends no status or total at all."""
    import aiohttp

    sandbox = Sandbox(seed=1, minimal_orders=True)
    async with sandbox.serve() as url, TTGClient(KEY, RETAILER, base_url=url) as ttg:
        _, order = await _checkout(ttg)
        headers = {"X-TT-API-Key": KEY, "X-TT-Retailer": RETAILER, "X-TT-Platform": "api"}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.get(f"{url}/api/v3/orders/{order.id}") as resp,
        ):
            data = (await resp.json())["data"]
    assert not {"status", "total", "confirmationNumber", "createdAt"} & set(data)
    assert {"id", "items", "receiptLines"} <= set(data)


# --- the payment object of the reference's place-order page ------------------------------


async def test_payment_is_sent_as_given() -> None:
    sandbox = Sandbox(seed=1)
    payment = {"method": "invoice", "reference": "PO-123", "split": [1, 2]}
    async with (
        sandbox.serve() as url,
        TTGClient(KEY, RETAILER, base_url=url, retry=NO_WAIT) as ttg,
    ):
        _, order = await _checkout(ttg, payment=payment)
        _, plain = await _checkout(ttg)
    assert sandbox.order_payment(order.id) == payment
    assert sandbox.order_payment(plain.id) is None


@pytest.mark.parametrize(
    ("payment", "error"),
    [("card", TypeError), (["card"], TypeError), ({"when": object()}, TypeError)],
)
async def test_a_bad_payment_is_refused_before_any_request(
    payment: object, error: type[Exception]
) -> None:
    from ttg_async import Money

    sandbox = Sandbox(seed=1)
    async with sandbox.serve() as url, TTGClient(KEY, RETAILER, base_url=url) as ttg:
        with pytest.raises(error, match="payment"):
            await ttg.orders.create(
                "cart_1",
                expected_total=Money(100, "USD"),
                contact=BUYER,
                payment=payment,  # type: ignore[arg-type]
            )
    assert sandbox.request_count() == 0
