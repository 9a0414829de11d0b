"""The catalog: pagination, lookups, 404s, data shapes and determinism."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import aiohttp
import pytest
from sandbox_helpers import START, Api, first

from ttg_async.sandbox import RetailerConfig, Sandbox

OFFSET_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


async def test_locations_shape_and_pagination(api: Api) -> None:
    reply = await api.get("/locations")
    assert reply.body["pagination"] == {"limit": 50, "offset": 0, "total": 3}
    assert reply.data[0] == {"id": "1", "name": "New York", "country": "US"}
    page = await api.get("/locations", params={"limit": "1", "offset": "1"})
    assert [loc["id"] for loc in page.data] == ["2"]
    assert page.body["pagination"] == {"limit": 1, "offset": 1, "total": 3}


@pytest.mark.parametrize(
    ("name", "value"), [("limit", "0"), ("limit", "1001"), ("limit", "x"), ("offset", "-1")]
)
async def test_bad_pagination_is_400_naming_the_param(api: Api, name: str, value: str) -> None:
    reply = await api.get("/locations", params={name: value})
    assert reply.status == 400
    assert reply.error["param"] == name


async def test_events_walk_all_pages_of_a_location(api: Api) -> None:
    seen: list[str] = []
    offset, total = 0, None
    while total is None or offset < total:
        params = {"locationId": "1", "limit": "3", "offset": str(offset)}
        reply = await api.get("/events", params=params)
        total = reply.body["pagination"]["total"]
        seen += [e["id"] for e in reply.data]
        offset += 3
    assert total == 10  # 30 events over 3 locations
    assert len(set(seen)) == total
    assert seen[:2] == ["1001", "1004"]


async def test_event_shape(api: Api) -> None:
    event = (await api.get("/events/1001")).data
    assert set(event) == {"id", "name", "startDate", "endDate", "location", "venue"}
    assert event["location"]["id"] == "1"
    assert event["venue"]["timezone"] == "America/New_York"
    dt.date.fromisoformat(event["startDate"])


async def test_events_need_location_id(api: Api) -> None:
    reply = await api.get("/events")
    assert reply.status == 400
    assert reply.error["param"] == "locationId"


async def test_unknown_location_is_404(api: Api) -> None:
    reply = await api.get("/events", params={"locationId": "99"})
    assert reply.status == 404
    assert reply.error["details"] == {"resourceType": "location", "resourceId": "99"}


@pytest.mark.parametrize(
    ("path", "rtype", "rid"),
    [
        ("/events/999999", "event", "999999"),
        ("/events/01001", "event", "01001"),
        ("/events/1001/occurrences/999", "occurrence", "999"),
        ("/events/1001/occurrences/100201", "occurrence", "100201"),  # another event's
        ("/events/1001/occurrences/100199/inventory-items", "occurrence", "100199"),
        ("/events/nope/occurrences", "event", "nope"),
    ],
)
async def test_unknown_resources_are_404_with_details(
    api: Api, path: str, rtype: str, rid: str
) -> None:
    reply = await api.get(path)
    assert reply.status == 404
    assert reply.error["type"] == "NOT_FOUND_ERROR"
    assert reply.error["code"] == "RESOURCE_NOT_FOUND"
    assert reply.error["details"] == {"resourceType": rtype, "resourceId": rid}


async def test_occurrences_are_local_time_and_unpaginated(api: Api) -> None:
    reply = await api.get("/events/1001/occurrences")
    assert "pagination" not in reply.body
    occs = reply.data
    assert len(occs) == 12
    for occ in occs:
        assert OFFSET_TS.match(occ["startsAt"])
        assert occ["venue"]["timezone"] == "America/New_York"
        assert occ["startsAt"].endswith(("-05:00", "-04:00"))  # EST or EDT
    detail = (await api.get(f"/events/1001/occurrences/{occs[0]['id']}")).data
    assert detail == occs[0]


async def test_occurrence_filters(api: Api) -> None:
    all_occs = (await api.get("/events/1001/occurrences")).data
    days = [o["startsAt"][:10] for o in all_occs]
    params = {"startDate": days[2], "endDate": days[4]}
    some = (await api.get("/events/1001/occurrences", params=params)).data
    assert [o["startsAt"][:10] for o in some] == days[2:5]  # inclusive at both ends
    many = (await api.get("/events/1001/occurrences", params={"quantity": "100000"})).data
    assert many == []
    few = (await api.get("/events/1001/occurrences", params={"quantity": "1"})).data
    assert len(few) == sum(o["fromPrice"] is not None for o in all_occs)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"startDate": "2026-13-01"}, "startDate"),
        ({"endDate": "20260301"}, "endDate"),
        ({"startDate": "2026-03-05", "endDate": "2026-03-01"}, "endDate"),
    ],
)
async def test_bad_occurrence_filters_are_400(api: Api, params: dict[str, str], param: str) -> None:
    reply = await api.get("/events/1001/occurrences", params=params)
    assert reply.status == 400
    assert reply.error["param"] == param


async def test_paginated_occurrences_option() -> None:
    sb = Sandbox(paginate_occurrences=True, start_date=START)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        reply = await api.get("/events/1001/occurrences", params={"limit": "5", "offset": "10"})
        assert reply.body["pagination"] == {"limit": 5, "offset": 10, "total": 12}
        assert len(reply.data) == 2


def _all_inventory_checks(items: list[Any], currency: str) -> None:
    for item in items:
        variant = item["inventoryVariant"]
        assert item["quantityAvailable"] >= 1
        if variant["_type"] == "AssignedSeat":
            assert item["quantityAvailable"] == 1
            assert {"section", "row", "seat"} <= set(variant)
        elif variant["_type"] == "GeneralAdmission":
            assert "section" in variant
            assert "row" not in variant
        else:
            assert variant["_type"] == "Extra"
            assert "section" not in variant
        for option in item["priceOptions"]:
            assert option["sellPrice"]["currency"] == currency
            assert isinstance(option["sellPrice"]["amount"], int)
            if "listPrice" in option:  # only when discounted
                assert option["listPrice"]["amount"] > option["sellPrice"]["amount"]


async def test_inventory_shapes(api: Api, occ: tuple[str, str]) -> None:
    items = await api.inventory(*occ)
    kinds = {i["inventoryVariant"]["_type"] for i in items}
    assert kinds == {"AssignedSeat", "GeneralAdmission", "Extra"}
    _all_inventory_checks(items, "USD")
    assert any("listPrice" in o for i in items for o in i["priceOptions"])
    assert any("listPrice" not in o for i in items for o in i["priceOptions"])


async def test_catalog_is_realistic_across_markets() -> None:
    sb = Sandbox(seed=3, locations=6, events=120, start_date=START)
    currencies: set[str] = set()
    sold_out = discounted_only_amount = discounted_only_pct = no_discount = 0
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        for index in range(60):
            event_id = str(1001 + index)
            event = (await api.get(f"/events/{event_id}")).data
            occs = (await api.get(f"/events/{event_id}/occurrences")).data
            for occ in occs:
                if occ["fromPrice"] is None:
                    sold_out += 1
                    assert "maxDiscountAmount" not in occ
                    assert "maxDiscountPercentage" not in occ
                    continue
                currencies.add(occ["fromPrice"]["currency"])
                has_amount, has_pct = "maxDiscountAmount" in occ, "maxDiscountPercentage" in occ
                discounted_only_amount += has_amount and not has_pct
                discounted_only_pct += has_pct and not has_amount
                no_discount += not (has_amount or has_pct)
            on_sale = next(o for o in occs if o["fromPrice"] is not None)
            items = await api.inventory(event_id, on_sale["id"])
            _all_inventory_checks(items, on_sale["fromPrice"]["currency"])
            tz = event["venue"]["timezone"]
            assert tz.count("/") >= 1
    assert {"USD", "GBP", "JPY", "KWD", "EUR", "KRW"} <= currencies
    assert sold_out > 0
    assert discounted_only_amount > 0
    assert discounted_only_pct > 0
    assert no_discount > 0


async def test_currency_scales_in_prices() -> None:
    sb = Sandbox(locations=4, events=8, start_date=START)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        for event_id, currency, step in (("1003", "JPY", 100), ("1004", "KWD", 250)):
            occs = (await api.get(f"/events/{event_id}/occurrences")).data
            on_sale = next(o for o in occs if o["fromPrice"] is not None)
            items = await api.inventory(event_id, on_sale["id"])
            prices = [o["sellPrice"] for i in items for o in i["priceOptions"]]
            assert {p["currency"] for p in prices} == {currency}
            assert all(p["amount"] % step == 0 for p in prices)


async def test_same_seed_same_catalog_other_seed_differs() -> None:
    async def snapshot(seed: int) -> Any:
        sb = Sandbox(seed=seed, start_date=START)
        async with sb.serve() as url, aiohttp.ClientSession() as http:
            api = Api(http, url)
            events = (await api.get("/events", params={"locationId": "2"})).data
            occ = sb.find_occurrence()
            return events, await api.inventory(*occ)

    assert await snapshot(7) == await snapshot(7)
    assert await snapshot(7) != await snapshot(8)


async def test_retailer_prices_and_events() -> None:
    retailers = {
        "base": RetailerConfig(),
        "pricey": RetailerConfig(markup_percent=10),
        "narrow": RetailerConfig(event_ids=frozenset({"1001", "1007"})),
    }
    sb = Sandbox(retailers=retailers, locations=3, start_date=START)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        event_id, occ_id = sb.find_occurrence()

        async def sell(retailer: str) -> int:
            reply = await api.get(
                f"/events/{event_id}/occurrences/{occ_id}/inventory-items",
                headers={"X-TT-Retailer": retailer},
            )
            amount: int = first(reply.data, "GeneralAdmission")["priceOptions"][0]["sellPrice"][
                "amount"
            ]
            return amount

        assert await sell("pricey") > await sell("base")
        narrow = {"X-TT-Retailer": "narrow"}
        listed = await api.get("/events", params={"locationId": "1"}, headers=narrow)
        assert [e["id"] for e in listed.data] == ["1001", "1007"]
        assert listed.body["pagination"]["total"] == 2
        hidden = await api.get("/events/1004", headers=narrow)
        assert hidden.status == 404
        assert hidden.error["details"]["resourceType"] == "event"


async def test_default_catalog_spans_usd_gbp_jpy_and_kwd() -> None:
    sb = Sandbox(start_date=START)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        locations = (await api.get("/locations")).data
        currencies = set()
        for location in locations:
            events = (await api.get("/events", params={"locationId": location["id"]})).data
            occurrences = (await api.get(f"/events/{events[0]['id']}/occurrences")).data
            currencies |= {o["fromPrice"]["currency"] for o in occurrences if o["fromPrice"]}
    assert {"USD", "GBP", "JPY", "KWD"} <= currencies
