"""Carts: validation, holds that reserve stock, release on DELETE or expiry, re-pricing."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import Api, first

from ttg_async.sandbox import Sandbox


def _available(items: list[Any], item_id: str) -> int:
    for item in items:
        if item["id"] == item_id:
            quantity: int = item["quantityAvailable"]
            return quantity
    return 0  # no longer listed: nothing left


async def test_create_and_get_cart(api: Api, occ: tuple[str, str]) -> None:
    items = await api.inventory(*occ)
    seat, ga = first(items, "AssignedSeat"), first(items, "GeneralAdmission", 2)
    reply = await api.cart(occ[1], (seat, 1), (ga, 2))
    assert reply.status == 201
    cart = reply.data
    assert cart["id"].startswith("cart_")
    assert cart["expiresAt"].endswith("Z")
    assert cart["protection"] is None
    assert [i["quantity"] for i in cart["items"]] == [1, 2]
    assert cart["items"][0]["inventoryVariant"] == seat["inventoryVariant"]
    assert cart["items"][1]["unitPrice"] == ga["priceOptions"][0]["sellPrice"]
    signed = sum(line["sign"] * line["total"]["amount"] for line in cart["receiptLines"])
    assert signed == cart["total"]["amount"]
    assert all(line["total"]["amount"] > 0 for line in cart["receiptLines"])
    assert cart["receiptLines"][0]["_type"] == "SubtotalLine"
    again = await api.get(f"/carts/{cart['id']}")
    assert again.status == 200
    assert again.data == cart


async def test_group_saving_is_a_negative_receipt_line(api: Api, occ: tuple[str, str]) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission", 4)
    cart = (await api.cart(occ[1], (ga, 4))).data
    types = [(line["_type"], line["sign"]) for line in cart["receiptLines"]]
    assert ("VoucherLine", -1) in types
    signed = sum(line["sign"] * line["total"]["amount"] for line in cart["receiptLines"])
    assert signed == cart["total"]["amount"]


async def test_items_from_two_occurrences_are_400(api: Api, sb: Sandbox) -> None:
    a = first(await api.inventory("1001", "100101"), "GeneralAdmission")
    b = first(await api.inventory("1001", "100102"), "GeneralAdmission")
    body = {
        "items": [
            {
                "occurrenceId": "100101",
                "inventoryItemId": a["id"],
                "priceOptionId": a["priceOptions"][0]["id"],
                "quantity": 1,
            },
            {
                "occurrenceId": "100102",
                "inventoryItemId": b["id"],
                "priceOptionId": b["priceOptions"][0]["id"],
                "quantity": 1,
            },
        ]
    }
    reply = await api.call("POST", "/carts", json=body)
    assert reply.status == 400
    assert reply.error["type"] == "INVALID_REQUEST_ERROR"
    assert reply.error["code"] == "MULTIPLE_OCCURRENCES"
    assert reply.error["param"] == "items[1].occurrenceId"


async def test_assigned_seat_quantity_must_be_one(api: Api, occ: tuple[str, str]) -> None:
    seat = first(await api.inventory(*occ), "AssignedSeat")
    reply = await api.cart(occ[1], (seat, 2))
    assert reply.status == 400
    assert reply.error["code"] == "INVALID_QUANTITY"
    assert reply.error["param"] == "items[0].quantity"


async def test_inventory_exhausted_names_quantities(api: Api, occ: tuple[str, str]) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission")
    have = ga["quantityAvailable"]
    reply = await api.cart(occ[1], (ga, have + 1))
    assert reply.status == 409
    assert reply.error["type"] == "CONFLICT_ERROR"
    assert reply.error["code"] == "INVENTORY_EXHAUSTED"
    assert reply.error["param"] == "items[0].quantity"
    assert reply.error["details"] == {"availableQuantity": have, "requestedQuantity": have + 1}


async def test_same_seat_twice_is_exhausted(api: Api, occ: tuple[str, str]) -> None:
    seat = first(await api.inventory(*occ), "AssignedSeat")
    assert (await api.cart(occ[1], (seat, 1))).status == 201
    reply = await api.cart(occ[1], (seat, 1))
    assert reply.status == 409
    assert reply.error["details"] == {"availableQuantity": 0, "requestedQuantity": 1}


@pytest.mark.parametrize(
    ("mutate", "status", "param"),
    [
        (lambda i: i.update(quantity=0), 400, "items[0].quantity"),
        (lambda i: i.update(quantity="1"), 400, "items[0].quantity"),
        (lambda i: i.pop("priceOptionId"), 400, "items[0].priceOptionId"),
        (lambda i: i.update(priceOptionId="bm9wZQ"), 400, "items[0].priceOptionId"),
        (lambda i: i.update(inventoryItemId="bm9wZQ"), 404, "items[0].inventoryItemId"),
        (lambda i: i.update(occurrenceId="424242"), 404, "items[0].occurrenceId"),
    ],
)
async def test_bad_cart_items(
    api: Api, occ: tuple[str, str], mutate: Any, status: int, param: str
) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission")
    item = {
        "occurrenceId": occ[1],
        "inventoryItemId": ga["id"],
        "priceOptionId": ga["priceOptions"][0]["id"],
        "quantity": 1,
    }
    mutate(item)
    reply = await api.call("POST", "/carts", json={"items": [item]})
    assert reply.status == status
    assert reply.error["param"] == param
    if status == 404:
        assert reply.error["details"]["resourceId"] == item[param.split(".")[1]]


async def test_price_option_of_another_item_is_invalid(api: Api, occ: tuple[str, str]) -> None:
    items = await api.inventory(*occ)
    seat, ga = first(items, "AssignedSeat"), first(items, "GeneralAdmission")
    body = {
        "items": [
            {
                "occurrenceId": occ[1],
                "inventoryItemId": seat["id"],
                "priceOptionId": ga["priceOptions"][0]["id"],
                "quantity": 1,
            }
        ]
    }
    reply = await api.call("POST", "/carts", json=body)
    assert reply.status == 400
    assert reply.error["code"] == "INVALID_PRICE_OPTION"


async def test_empty_items_is_400(api: Api) -> None:
    reply = await api.call("POST", "/carts", json={"items": []})
    assert reply.status == 400
    assert reply.error["param"] == "items"


async def test_hold_reserves_stock_and_delete_releases_it(api: Api, occ: tuple[str, str]) -> None:
    items = await api.inventory(*occ)
    seat, ga = first(items, "AssignedSeat"), first(items, "GeneralAdmission", 3)
    cart = (await api.cart(occ[1], (seat, 1), (ga, 3))).data
    held = await api.inventory(*occ)
    assert _available(held, seat["id"]) == 0  # a held seat is not offered
    assert _available(held, ga["id"]) == ga["quantityAvailable"] - 3
    for _ in range(2):  # DELETE is idempotent
        reply = await api.call("DELETE", f"/carts/{cart['id']}")
        assert reply.status == 204
        assert reply.text == ""
    released = await api.inventory(*occ)
    assert _available(released, seat["id"]) == 1
    assert _available(released, ga["id"]) == ga["quantityAvailable"]
    assert (await api.get(f"/carts/{cart['id']}")).status == 404


async def test_delete_unknown_cart_is_204(api: Api) -> None:
    assert (await api.call("DELETE", "/carts/cart_nope")).status == 204


async def test_hold_expires_on_the_sandbox_clock(
    api: Api, sb: Sandbox, occ: tuple[str, str]
) -> None:
    sb.hold_seconds = 30
    ga = first(await api.inventory(*occ), "GeneralAdmission", 2)
    cart = (await api.cart(occ[1], (ga, 2))).data
    sb.advance(29)
    assert (await api.get(f"/carts/{cart['id']}")).status == 200
    sb.advance(2)
    reply = await api.get(f"/carts/{cart['id']}")
    assert reply.status == 404
    assert reply.error["details"] == {"resourceType": "cart", "resourceId": cart["id"]}
    assert _available(await api.inventory(*occ), ga["id"]) == ga["quantityAvailable"]
    assert (await api.call("DELETE", f"/carts/{cart['id']}")).status == 204


async def test_expire_cart_now(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    seat = first(await api.inventory(*occ), "AssignedSeat")
    cart = (await api.cart(occ[1], (seat, 1))).data
    sb.expire_cart(cart["id"])
    assert (await api.get(f"/carts/{cart['id']}")).status == 404
    assert _available(await api.inventory(*occ), seat["id"]) == 1
    with pytest.raises(KeyError):
        sb.expire_cart("cart_unknown")


async def test_hold_length_shows_in_expires_at(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    import datetime as dt

    sb.hold_seconds = 120
    ga = first(await api.inventory(*occ), "GeneralAdmission")
    cart = (await api.cart(occ[1], (ga, 1))).data
    expires = dt.datetime.fromisoformat(cart["expiresAt"].replace("Z", "+00:00"))
    delta = (expires - sb.now()).total_seconds()
    assert 115 <= delta <= 120


async def test_price_change_reprices_cart(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission", 2)
    option = ga["priceOptions"][0]
    cart = (await api.cart(occ[1], (ga, 2))).data
    sb.set_price(option["id"], option["sellPrice"]["amount"] + 1000)
    fresh = (await api.get(f"/carts/{cart['id']}")).data
    assert fresh["items"][0]["unitPrice"]["amount"] == option["sellPrice"]["amount"] + 1000
    assert fresh["total"]["amount"] == cart["total"]["amount"] + 2000
    listed = first(await api.inventory(*occ), "GeneralAdmission")
    assert listed["priceOptions"][0]["sellPrice"]["amount"] == option["sellPrice"]["amount"] + 1000
    with pytest.raises(ValueError, match="price option"):
        sb.set_price("garbage", 100)


async def test_carts_are_private_to_their_retailer(api: Api, occ: tuple[str, str]) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission")
    cart = (await api.cart(occ[1], (ga, 1))).data
    other = await api.get(f"/carts/{cart['id']}", headers={"X-TT-Retailer": "retailer-b"})
    assert other.status == 404
