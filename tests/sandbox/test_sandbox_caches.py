"""The catalog's event JSON cache and the inventory body cache: exact bytes, never stale.

These tests do not time anything; they check what the caches hold and that a cached answer
is byte for byte the answer built from scratch.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiohttp
import msgspec
import pytest
from sandbox_helpers import HEADERS, START, Api, first

from ttg_async.sandbox import RetailerConfig, Sandbox
from ttg_async.sandbox._catalog import EVENT_JSON_CACHE, Catalog
from ttg_async.sandbox._wire import encode


async def _raw(
    http: aiohttp.ClientSession, url: str, params: dict[str, str] | None = None
) -> bytes:
    async with http.get(url, params=params, headers=HEADERS) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


def _decode(raw: bytes) -> Any:
    return msgspec.json.decode(raw)


def test_event_json_is_exactly_the_encoded_event() -> None:
    cat = Catalog(seed=11, locations=20, events=5000, start=START)
    for index in range(5000):
        event = cat.event(index)
        assert event.encoded == encode(cat.event_wire(event)), index
        assert cat.event_json(index) is event.encoded  # one copy, shared


def test_event_draws_keep_the_documented_shape() -> None:
    cat = Catalog(seed=0, locations=4, events=20_000, start=START)
    first_event = cat.event(0)
    assert (first_event.venue.kind, first_event.count) == ("arena", 12)
    kinds: Counter[str] = Counter()
    open_ended = 0
    seen_modes: set[str] = set()
    for index in range(1, 20_000):
        event = cat.event(index)
        kinds[event.venue.kind] += 1
        assert 4 <= event.count <= 24
        assert 0 <= (event.first_day - START).days < 60
        assert event.gap_days in (1, 2, 7)
        wire = cat.event_wire(event)
        if wire["endDate"] is None:
            assert event.venue.kind == "theatre"  # only theatre runs are open-ended
            open_ended += 1
        seen_modes.add(event.discount_mode)
    assert min(kinds.values()) > 6000  # about a third each
    assert 0.15 < open_ended / kinds["theatre"] < 0.25
    assert seen_modes == {"both", "amount", "percent"}


def test_same_seed_gives_identical_event_bytes_and_other_seeds_differ() -> None:
    def page(seed: int) -> list[bytes]:
        cat = Catalog(seed=seed, locations=7, events=3000, start=START)
        return cat.event_page(cat.locations[3], 0, 400)

    assert page(5) == page(5)
    assert page(5) != page(6)
    assert page(-5) != page(5)


def test_event_cache_holds_the_whole_large_catalog() -> None:
    # The crawl benchmarks read 100,000 events in 20 locations in a cycle: every one of them
    # must stay cached, or each pass would rebuild the whole catalog.
    assert EVENT_JSON_CACHE >= 100_000
    cat = Catalog(seed=0, locations=20, events=100_000, start=START)
    pages = [
        cat.event_page(loc, offset, min(offset + 1000, cat.events_in_location(loc)))
        for loc in cat.locations
        for offset in range(0, cat.events_in_location(loc), 1000)
    ]
    assert sum(map(len, pages)) == 100_000

    def fail(index: int) -> bytes:
        raise AssertionError(f"event {index} was built again")

    cat._encode_event = fail  # type: ignore[method-assign]
    again = [
        cat.event_page(loc, offset, min(offset + 1000, cat.events_in_location(loc)))
        for loc in cat.locations
        for offset in range(0, cat.events_in_location(loc), 1000)
    ]
    assert again == pages
    assert cat.event(99_999).encoded == pages[-1][-1]


def test_events_past_the_cache_are_built_on_the_fly() -> None:
    cat = Catalog(seed=2, locations=3, events=EVENT_JSON_CACHE + 9, start=START)
    loc = cat.locations[1]
    total = cat.events_in_location(loc)
    page = cat.event_page(loc, total - 5, total)  # straddles the end of the cache
    assert len(page) == 5
    for offset, body in enumerate(page):
        event = cat.event(cat.event_index(loc, total - 5 + offset))
        assert body == encode(cat.event_wire(event))
    assert cat.event_page(loc, total, total + 10) == []


async def test_a_page_reads_the_same_cold_and_warm() -> None:
    def sandbox() -> Sandbox:
        return Sandbox(seed=4, events=100_000, locations=20, start_date=START)

    params = {"locationId": "13", "limit": "1000", "offset": "3000"}
    cold_sb, fresh_sb = sandbox(), sandbox()
    async with aiohttp.ClientSession() as http:
        async with cold_sb.serve() as url:
            cold = await _raw(http, url + "/api/v3/events", params)
            warm = await _raw(http, url + "/api/v3/events", params)
            single = await _raw(http, url + "/api/v3/events/61013")  # the page's first
        async with fresh_sb.serve() as url:
            # A single event first, then the page around it: the same bytes either way.
            single_first = await _raw(http, url + "/api/v3/events/61013")
            fresh = await _raw(http, url + "/api/v3/events", params)
    assert cold == warm == fresh
    assert single == single_first
    body: dict[str, Any] = _decode(cold)
    assert body["pagination"] == {"limit": 1000, "offset": 3000, "total": 5000}
    assert [e["id"] for e in body["data"][:2]] == ["61013", "61033"]
    assert single == b'{"data":' + encode(body["data"][0]) + b"}"
    assert cold == encode(body)  # exactly what encoding the whole page would give


async def test_inventory_cache_follows_holds_prices_and_codes() -> None:
    sb = Sandbox(seed=0, locations=3, start_date=START)
    event_id, occ_id = sb.find_occurrence(rate_code="campaign-may")
    path = f"/api/v3/events/{event_id}/occurrences/{occ_id}/inventory-items"
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        before = await _raw(http, url + path)
        assert await _raw(http, url + path) == before
        items = _decode(before)["data"]
        seat, ga = first(items, "AssignedSeat"), first(items, "GeneralAdmission", 3)
        cart = await api.cart(occ_id, (seat, 1), (ga, 3))
        assert cart.status == 201, cart.body
        held = _decode(await _raw(http, url + path))["data"]
        assert seat["id"] not in {i["id"] for i in held}
        ga_now = next(i for i in held if i["id"] == ga["id"])
        assert ga_now["quantityAvailable"] == ga["quantityAvailable"] - 3
        await api.call("DELETE", f"/carts/{cart.data['id']}")
        # Stock is back: rebuilt from fragments, the body is the cached one byte for byte.
        assert await _raw(http, url + path) == before

        tier_params = {"providerCode": "campaign-may"}
        tier = await _raw(http, url + path, tier_params)
        assert tier != before
        sb.add_rate_code(event_id, "campaign-may", percent_off=50)  # the code changes
        changed = await _raw(http, url + path, tier_params)
        assert changed != tier
        option = _decode(changed)["data"][0]["priceOptions"][0]
        list_price = option["listPrice"]["amount"]
        assert option["sellPrice"]["amount"] < list_price * 0.6
        sb.remove_rate_code(event_id, "campaign-may")
        gone = await api.get(path[len("/api/v3") :], params=tier_params)
        assert gone.status == 404

        sb.set_price(items[-1]["priceOptions"][0]["id"], 4242)
        repriced = _decode(await _raw(http, url + path))["data"]
        assert repriced[-1]["priceOptions"][0]["sellPrice"]["amount"] == 4242


@pytest.mark.parametrize("markup", [0, 10, -25])
async def test_inventory_bodies_match_a_fresh_sandbox(markup: int) -> None:
    # The second read comes from the cache; a fresh sandbox builds it from scratch.
    def sandbox() -> Sandbox:
        retailers = {"retailer-a": RetailerConfig(markup_percent=markup)}
        return Sandbox(seed=9, locations=5, events=40, retailers=retailers, start_date=START)

    warm_sb, fresh_sb = sandbox(), sandbox()
    event_id, occ_id = warm_sb.find_occurrence(rate_code="MEMBERS")
    path = f"/api/v3/events/{event_id}/occurrences/{occ_id}/inventory-items"
    bodies: list[list[bytes]] = []
    async with aiohttp.ClientSession() as http:
        for sb, reads in ((warm_sb, 2), (fresh_sb, 1)):
            async with sb.serve() as url:
                got = []
                for code in (None, "MEMBERS", "VIP-PLUS"):
                    params = None if code is None else {"providerCode": code}
                    for _ in range(reads):
                        got.append(await _raw(http, url + path, params))
                bodies.append(got[reads - 1 :: reads])
    assert bodies[0] == bodies[1]
    assert len(set(bodies[0])) == 3
