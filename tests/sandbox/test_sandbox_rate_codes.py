"""Rate codes (``providerCode``): tiers, scope, case, retailers and unknown codes."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sandbox_helpers import START, Api, first

from ttg_async.sandbox import RetailerConfig, Sandbox


def _prices(items: list[Any]) -> dict[str, int]:
    return {i["inventoryVariant"]["id"]: i["priceOptions"][0]["sellPrice"]["amount"] for i in items}


async def test_seeded_code_discounts_every_item(api: Api, sb: Sandbox) -> None:
    event_id, occ_id = sb.find_occurrence(rate_code="campaign-may")
    assert "campaign-may" in sb.rate_codes(event_id)
    default = _prices(await api.inventory(event_id, occ_id))
    tier = _prices(await api.inventory(event_id, occ_id, "campaign-may"))
    assert default.keys() == tier.keys()
    assert all(tier[k] < default[k] for k in default)


async def test_tier_shows_default_price_as_list_price(api: Api, sb: Sandbox) -> None:
    event_id, occ_id = sb.find_occurrence(rate_code="campaign-may")
    default = {i["id"]: i for i in await api.inventory(event_id, occ_id)}
    for item in await api.inventory(event_id, occ_id, "campaign-may"):
        option = item["priceOptions"][0]
        base = default[item["id"]]["priceOptions"][0]
        reference = base.get("listPrice", base["sellPrice"])
        assert option["listPrice"] == reference


async def test_section_scoped_code_leaves_other_sections_at_default(api: Api, sb: Sandbox) -> None:
    event_id, occ_id = sb.find_occurrence(rate_code="MEMBERS")
    default = _prices(await api.inventory(event_id, occ_id))
    items = await api.inventory(event_id, occ_id, "MEMBERS")
    tier = _prices(items)
    sections = {i["inventoryVariant"]["id"]: i["inventoryVariant"].get("section") for i in items}
    in_scope = {k for k, s in sections.items() if s == "Lower Tier"}
    assert in_scope
    assert all(tier[k] < default[k] for k in in_scope)
    assert all(tier[k] == default[k] for k in tier.keys() - in_scope)  # still listed


async def test_premium_tier_costs_more(api: Api, sb: Sandbox) -> None:
    event_id, occ_id = sb.find_occurrence(rate_code="VIP-PLUS")
    default = _prices(await api.inventory(event_id, occ_id))
    tier = _prices(await api.inventory(event_id, occ_id, "VIP-PLUS"))
    assert all(tier[k] > default[k] for k in default)


@pytest.mark.parametrize("code", ["CAMPAIGN-MAY", "campaign-may ", "no-such-code", "members"])
async def test_unknown_or_miscased_code_is_404(api: Api, sb: Sandbox, code: str) -> None:
    event_id, occ_id = sb.find_occurrence(rate_code="campaign-may")
    reply = await api.get(
        f"/events/{event_id}/occurrences/{occ_id}/inventory-items", params={"providerCode": code}
    )
    assert reply.status == 404
    assert reply.error["type"] == "NOT_FOUND_ERROR"
    assert reply.error["code"] == "RESOURCE_NOT_FOUND"
    assert reply.error["details"] == {"resourceType": "providerCode", "resourceId": code}


async def test_code_from_another_event_is_404(api: Api, sb: Sandbox) -> None:
    assert "campaign-may" not in sb.rate_codes("1002")
    occs = (await api.get("/events/1002/occurrences")).data
    reply = await api.get(
        f"/events/1002/occurrences/{occs[0]['id']}/inventory-items",
        params={"providerCode": "campaign-may"},
    )
    assert reply.status == 404
    assert reply.error["details"]["resourceType"] == "providerCode"


async def test_overlong_code_is_400(api: Api) -> None:
    reply = await api.get(
        "/events/1001/occurrences/100101/inventory-items", params={"providerCode": "x" * 256}
    )
    assert reply.status == 400
    assert reply.error["param"] == "providerCode"


async def test_codes_configured_per_retailer_and_removable() -> None:
    sb = Sandbox(retailers={"a": RetailerConfig(), "b": RetailerConfig()}, start_date=START)
    sb.add_rate_code("1002", "only-a", retailer="a", percent_off=30)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        occ_id = (await api.get("/events/1002/occurrences", headers={"X-TT-Retailer": "a"})).data[
            0
        ]["id"]
        path = f"/events/1002/occurrences/{occ_id}/inventory-items"
        params = {"providerCode": "only-a"}
        assert (await api.get(path, params=params, headers={"X-TT-Retailer": "a"})).status == 200
        other = await api.get(path, params=params, headers={"X-TT-Retailer": "b"})
        assert other.status == 404
        assert other.error["details"] == {"resourceType": "providerCode", "resourceId": "only-a"}
        sb.remove_rate_code("1002", "only-a", retailer="a")
        assert (await api.get(path, params=params, headers={"X-TT-Retailer": "a"})).status == 404


async def test_cart_at_a_tier_holds_the_tier_price(api: Api, sb: Sandbox) -> None:
    event_id, occ_id = sb.find_occurrence(rate_code="campaign-may")
    item = first(await api.inventory(event_id, occ_id, "campaign-may"), "GeneralAdmission")
    reply = await api.cart(occ_id, (item, 2))
    assert reply.status == 201
    line = reply.data["items"][0]
    assert line["unitPrice"] == item["priceOptions"][0]["sellPrice"]
    assert line["total"]["amount"] == 2 * line["unitPrice"]["amount"]


async def test_tier_price_option_is_refused_for_a_retailer_without_the_code() -> None:
    sb = Sandbox(retailers=["a", "b"], start_date=START)
    sb.add_rate_code("1002", "only-a", retailer="a", percent_off=30)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        occs = (await api.get("/events/1002/occurrences", headers={"X-TT-Retailer": "a"})).data
        occ_id = next(o["id"] for o in occs if o["fromPrice"] is not None)
        reply = await api.get(
            f"/events/1002/occurrences/{occ_id}/inventory-items",
            params={"providerCode": "only-a"},
            headers={"X-TT-Retailer": "a"},
        )
        item = reply.data[0]
        body = {
            "items": [
                {
                    "occurrenceId": occ_id,
                    "inventoryItemId": item["id"],
                    "priceOptionId": item["priceOptions"][0]["id"],
                    "quantity": 1,
                }
            ]
        }
        refused = await api.call("POST", "/carts", json=body, headers={"X-TT-Retailer": "b"})
        assert refused.status == 400
        assert refused.error["code"] == "INVALID_PRICE_OPTION"
        assert refused.error["param"] == "items[0].priceOptionId"
        accepted = await api.call("POST", "/carts", json=body, headers={"X-TT-Retailer": "a"})
        assert accepted.status == 201
