"""Checkout: idempotency keys, price checks, expiry, receipts, tickets and order lookup."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import Api, first

from ttg_async.sandbox import Sandbox


async def _cart(api: Api, occ: tuple[str, str], qty: int = 2) -> Any:
    ga = first(await api.inventory(*occ), "GeneralAdmission", qty)
    reply = await api.cart(occ[1], (ga, qty))
    assert reply.status == 201
    return reply.data


async def test_checkout_creates_an_order(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    items = await api.inventory(*occ)
    seat, ga = first(items, "AssignedSeat"), first(items, "GeneralAdmission", 2)
    cart = (await api.cart(occ[1], (seat, 1), (ga, 2))).data
    reply = await api.order(cart["id"], cart["total"], key="idem_first1")
    assert reply.status == 201
    order = reply.data
    assert order["status"] == "CONFIRMED"
    assert order["cartId"] == cart["id"]
    assert order["total"] == cart["total"]
    assert order["receiptLines"] == cart["receiptLines"]
    assert order["contact"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+441234",
    }
    assert order["createdAt"].endswith("Z")
    assert [len(i["tickets"]) for i in order["items"]] == [1, 2]
    for item in order["items"]:
        for ticket in item["tickets"]:
            assert ticket["barcode"]["format"] == "QR_CODE"
            assert ticket["barcode"]["value"]
    assert sb.orders_for_cart(cart["id"]) == [order["id"]]
    # The hold became a sale: the stock stays gone after the hold would have expired.
    sb.advance(3600)
    left = {i["id"]: i["quantityAvailable"] for i in await api.inventory(*occ)}
    assert seat["id"] not in left
    assert left[ga["id"]] == ga["quantityAvailable"] - 2
    fetched = await api.get(f"/orders/{order['id']}")
    assert fetched.status == 200
    assert fetched.data == order
    assert (await api.get(f"/orders/{order['id']}", params={"cartId": cart["id"]})).status == 200


async def test_delayed_delivery_tickets_have_null_barcodes(api: Api, sb: Sandbox) -> None:
    # Club venues deliver barcodes later.
    event_id, occ_id = sb.find_occurrence(assigned_seat=False, general_admission=True)
    for index in range(30):
        event = (await api.get(f"/events/{1001 + index}")).data
        if event["venue"]["name"] in ("Blue Note Hall", "Velvet Room", "The Cellar", "Neon Works"):
            event_id = event["id"]
            occs = (await api.get(f"/events/{event_id}/occurrences")).data
            occ_id = next(o["id"] for o in occs if o["fromPrice"] is not None)
            break
    else:
        pytest.fail("no club venue in the catalog")
    cart = await _cart(api, (event_id, occ_id), 1)
    order = (await api.order(cart["id"], cart["total"], key="idem_club")).data
    assert order["items"][0]["tickets"][0]["barcode"] is None


async def test_same_key_same_cart_returns_same_order(
    api: Api, sb: Sandbox, occ: tuple[str, str]
) -> None:
    cart = await _cart(api, occ)
    first_reply = await api.order(cart["id"], cart["total"], key="idem_retry1")
    replay = await api.order(cart["id"], cart["total"], key="idem_retry1")
    assert first_reply.status == 201
    assert replay.status == 200
    assert replay.data == first_reply.data
    assert sb.orders_for_cart(cart["id"]) == [first_reply.data["id"]]


async def test_same_key_other_cart_is_409(api: Api, occ: tuple[str, str]) -> None:
    a, b = await _cart(api, occ, 1), await _cart(api, occ, 1)
    assert (await api.order(a["id"], a["total"], key="idem_shared")).status == 201
    reply = await api.order(b["id"], b["total"], key="idem_shared")
    assert reply.status == 409
    assert reply.error["type"] == "CONFLICT_ERROR"
    assert reply.error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert reply.error["param"] == "Idempotency-Key"


async def test_new_key_for_ordered_cart_is_409(api: Api, occ: tuple[str, str]) -> None:
    cart = await _cart(api, occ)
    order = (await api.order(cart["id"], cart["total"], key="idem_one")).data
    reply = await api.order(cart["id"], cart["total"], key="idem_two")
    assert reply.status == 409
    assert reply.error["code"] == "CART_ALREADY_ORDERED"
    assert reply.error["details"] == {"orderId": order["id"]}


async def test_keys_expire_after_24_hours(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    a, b = await _cart(api, occ, 1), await _cart(api, occ, 1)
    assert (await api.order(a["id"], a["total"], key="idem_day")).status == 201
    sb.advance(24 * 3600 - 5)
    assert (await api.order(b["id"], b["total"], key="idem_day")).status == 409  # still known
    sb.hold_seconds = 600
    c = await _cart(api, occ, 1)
    sb.advance(10)
    # The key is forgotten: it now works for another cart, and a replay is no replay.
    assert (await api.order(c["id"], c["total"], key="idem_day")).status == 201
    assert (await api.order(a["id"], a["total"], key="idem_day2")).status == 409


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, "MISSING_HEADER"), ("abc", "INVALID_HEADER"), ("idem_bad-chars", "INVALID_HEADER")],
)
async def test_idempotency_key_required_and_validated(
    api: Api, occ: tuple[str, str], key: str | None, code: str
) -> None:
    cart = await _cart(api, occ, 1)
    reply = await api.order(cart["id"], cart["total"], key=key)
    assert reply.status == 400
    assert reply.error["type"] == "INVALID_REQUEST_ERROR"
    assert reply.error["code"] == code
    assert reply.error["param"] == "Idempotency-Key"


async def test_total_price_mismatch(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission", 2)
    cart = (await api.cart(occ[1], (ga, 2))).data
    option = ga["priceOptions"][0]
    sb.set_price(option["id"], option["sellPrice"]["amount"] - 500)
    reply = await api.order(cart["id"], cart["total"], key="idem_stale")
    assert reply.status == 409
    assert reply.error["code"] == "TOTAL_PRICE_MISMATCH"
    assert reply.error["param"] == "expectedTotal"
    fresh = (await api.get(f"/carts/{cart['id']}")).data
    assert reply.error["details"]["cartTotal"] == fresh["total"]
    # After confirming the new price, checkout succeeds (a new key: the first attempt failed).
    ok = await api.order(cart["id"], fresh["total"], key="idem_fresh")
    assert ok.status == 201
    assert ok.data["total"] == fresh["total"]


async def test_wrong_currency_is_a_mismatch(api: Api, occ: tuple[str, str]) -> None:
    cart = await _cart(api, occ, 1)
    total = dict(cart["total"], currency="EUR")
    reply = await api.order(cart["id"], total, key="idem_eur")
    assert reply.status == 409
    assert reply.error["code"] == "TOTAL_PRICE_MISMATCH"


async def test_expired_cart_checkout_is_410(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    cart = await _cart(api, occ, 1)
    sb.advance(sb.hold_seconds + 1)
    reply = await api.order(cart["id"], cart["total"], key="idem_late")
    assert reply.status == 410
    assert reply.error["type"] == "RESOURCE_GONE_ERROR"
    assert reply.error["code"] == "CART_EXPIRED"


async def test_unknown_or_deleted_cart_checkout_is_404(api: Api, occ: tuple[str, str]) -> None:
    reply = await api.order("cart_nope", {"amount": 1, "currency": "USD"}, key="idem_nope")
    assert reply.status == 404
    assert reply.error["details"] == {"resourceType": "cart", "resourceId": "cart_nope"}
    cart = await _cart(api, occ, 1)
    await api.call("DELETE", f"/carts/{cart['id']}")
    assert (await api.order(cart["id"], cart["total"], key="idem_gone")).status == 404


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"cartId": 5}, "cartId"),
        ({"expectedTotal": 100}, "expectedTotal"),
        ({"expectedTotal": {"amount": 1.5, "currency": "USD"}}, "expectedTotal.amount"),
        ({"expectedTotal": {"amount": 100, "currency": "US"}}, "expectedTotal.currency"),
        ({"contact": None}, "contact"),
        ({"contact": {"name": "A", "email": "nope"}}, "contact.email"),
        ({"contact": {"email": "a@b.c"}}, "contact.name"),
    ],
)
async def test_bad_order_body_is_400(
    api: Api, occ: tuple[str, str], change: dict[str, Any], param: str
) -> None:
    cart = await _cart(api, occ, 1)
    body = {
        "cartId": cart["id"],
        "expectedTotal": cart["total"],
        "contact": {"name": "A", "email": "a@b.c"},
    }
    body.update(change)
    reply = await api.call("POST", "/orders", json=body, headers={"Idempotency-Key": "idem_x"})
    assert reply.status == 400
    assert reply.error["param"] == param


async def test_unknown_order_is_404(api: Api, occ: tuple[str, str]) -> None:
    reply = await api.get("/orders/ord_999999")
    assert reply.status == 404
    assert reply.error["details"] == {"resourceType": "order", "resourceId": "ord_999999"}
    cart = await _cart(api, occ, 1)
    order = (await api.order(cart["id"], cart["total"], key="idem_lookup")).data
    wrong = await api.get(f"/orders/{order['id']}", params={"cartId": "cart_other"})
    assert wrong.status == 404
    other = await api.get(f"/orders/{order['id']}", headers={"X-TT-Retailer": "retailer-b"})
    assert other.status == 404


async def test_ordered_cart_stays_readable(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    cart = await _cart(api, occ, 1)
    await api.order(cart["id"], cart["total"], key="idem_read")
    sb.advance(sb.hold_seconds + 60)
    reply = await api.get(f"/carts/{cart['id']}")
    assert reply.status == 200
    assert reply.data["total"] == cart["total"]


async def test_receipts_add_up_in_every_market() -> None:
    import aiohttp
    from sandbox_helpers import START

    sb = Sandbox(locations=6, events=12, start_date=START)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        for index in range(6):
            event_id = str(1001 + index)
            occs = (await api.get(f"/events/{event_id}/occurrences")).data
            occ_id = next(o["id"] for o in occs if o["fromPrice"] is not None)
            items = await api.inventory(event_id, occ_id)
            item = max(items, key=lambda i: i["quantityAvailable"])
            qty = min(5, item["quantityAvailable"])
            cart = (await api.cart(occ_id, (item, qty))).data
            signed = sum(ln["sign"] * ln["total"]["amount"] for ln in cart["receiptLines"])
            assert signed == cart["total"]["amount"]
            order = (await api.order(cart["id"], cart["total"], key=f"idem_m{index}")).data
            assert order["total"] == cart["total"]
            taxes = order["totalTaxes"]
            assert taxes is None or taxes["currency"] == cart["total"]["currency"]
