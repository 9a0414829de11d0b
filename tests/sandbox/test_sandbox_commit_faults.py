"""Post-commit faults, the unprotected mode and the wire log, over plain aiohttp."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sandbox_helpers import HEADERS, Api, first

from ttg_async.sandbox import Sandbox, WireRecord

CARTS = "POST /api/v3/carts"
ORDERS = "POST /api/v3/orders"
DELETE = "DELETE /api/v3/carts/{cartId}"

# kind -> (what a plain aiohttp client sees: a status, or the exception type)
COMMIT_FAULTS: dict[str, tuple[int | None, type[BaseException] | None]] = {
    "status_after_commit": (500, None),
    "html_502_after_commit": (502, None),
    "reset_after_commit": (None, aiohttp.ClientOSError),
    "truncate": (None, aiohttp.ClientError),
}


async def raw(
    api: Api, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
) -> int:
    """One request; its status, or the aiohttp exception it raised.

    aiohttp silently sends a GET or DELETE again once when the connection breaks; switched
    off here (as aiohttp's own test client does) so each call is exactly one arrival.
    """
    api.http._retry_connection = False
    url = api.base_url + "/api/v3" + path
    async with api.http.request(
        method, url, json=json, headers={**HEADERS, **(headers or {})}
    ) as resp:
        await resp.read()
        return resp.status


async def ga_cart(api: Api, occ: tuple[str, str], qty: int = 1) -> Any:
    ga = first(await api.inventory(*occ), "GeneralAdmission", qty)
    reply = await api.cart(occ[1], (ga, qty))
    assert reply.status == 201, reply.body
    return reply.data


def order_body(cart: Any) -> dict[str, Any]:
    return {
        "cartId": cart["id"],
        "expectedTotal": cart["total"],
        "contact": {"name": "A", "email": "a@b.c", "phone": "+1"},
    }


async def expect(
    call: Any, status: int | None, error: type[BaseException] | None
) -> None:  # the call is a coroutine returning a status
    if error is None:
        assert await call == status
    else:
        with pytest.raises(error):
            await call


@pytest.mark.parametrize("kind", list(COMMIT_FAULTS))
async def test_a_post_commit_fault_on_post_carts_keeps_the_hold(
    api: Api, sb: Sandbox, occ: tuple[str, str], kind: str
) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission", 2)
    sb.reset_counters()
    sb.inject(CARTS, kind, status=500)
    line = {
        "occurrenceId": occ[1],
        "inventoryItemId": ga["id"],
        "priceOptionId": ga["priceOptions"][0]["id"],
        "quantity": 2,
    }
    status, error = COMMIT_FAULTS[kind]
    call = raw(api, "POST", "/carts", json={"items": [line]}, headers={"X-Request-ID": "req_h1"})
    await expect(call, status, error)
    # The hold was made although the answer was lost.
    after = next(i for i in await api.inventory(*occ) if i["id"] == ga["id"])
    assert after["quantityAvailable"] == ga["quantityAvailable"] - 2
    [record] = sb.wire_log(CARTS)
    assert (record.request_id, record.fault, record.handled) == ("req_h1", kind, 201)
    assert record.created
    assert record.cart_id == "cart_000001"
    assert record.answered == status
    assert (await api.get("/carts/cart_000001")).status == 200


@pytest.mark.parametrize("kind", list(COMMIT_FAULTS))
async def test_a_post_commit_fault_on_post_orders_places_the_order(
    api: Api, sb: Sandbox, occ: tuple[str, str], kind: str
) -> None:
    cart = await ga_cart(api, occ)
    sb.inject(ORDERS, kind, status=500)
    status, error = COMMIT_FAULTS[kind]
    headers = {"Idempotency-Key": "idem_pc1", "X-Request-ID": "req_o1"}
    await expect(raw(api, "POST", "/orders", json=order_body(cart), headers=headers), status, error)
    [order_id] = sb.orders_for_cart(cart["id"])
    assert sb.orders_for_key("idem_pc1") == [order_id]
    # The same key gets the same order back; it is not placed again.
    assert await raw(api, "POST", "/orders", json=order_body(cart), headers=headers) == 200
    assert sb.orders_for_cart(cart["id"]) == [order_id]
    placed, replayed = sb.wire_log(ORDERS)
    assert (placed.fault, placed.handled, placed.created, placed.order_id) == (
        kind,
        201,
        True,
        order_id,
    )
    assert (replayed.fault, replayed.handled, replayed.created) == (None, 200, False)
    assert replayed.order_id == order_id
    assert {placed.idempotency_key, replayed.idempotency_key} == {"idem_pc1"}
    assert {placed.cart_id, replayed.cart_id} == {cart["id"]}
    assert sb.attempts("req_o1") == 2


@pytest.mark.parametrize("kind", list(COMMIT_FAULTS))
async def test_a_post_commit_fault_on_delete_releases_the_hold(
    api: Api, sb: Sandbox, occ: tuple[str, str], kind: str
) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission", 1)
    cart = await ga_cart(api, occ)
    sb.inject(DELETE, kind, status=500)
    status, error = COMMIT_FAULTS[kind]
    await expect(raw(api, "DELETE", f"/carts/{cart['id']}"), status, error)
    assert (await api.get(f"/carts/{cart['id']}")).status == 404
    after = next(i for i in await api.inventory(*occ) if i["id"] == ga["id"])
    assert after["quantityAvailable"] == ga["quantityAvailable"]
    [record] = sb.wire_log(DELETE)
    assert (record.cart_id, record.released, record.handled) == (cart["id"], True, 204)
    # Deleting again changes nothing and says so in the log.
    assert await raw(api, "DELETE", f"/carts/{cart['id']}") == 204
    assert not sb.wire_log(DELETE)[1].released


async def test_a_truncated_204_cuts_its_head(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    cart = await ga_cart(api, occ)
    sb.inject(DELETE, "truncate")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw(api, "DELETE", f"/carts/{cart['id']}")


async def test_an_answer_late_after_commit(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    cart = await ga_cart(api, occ)
    sb.inject(ORDERS, "slow_after_commit", delay=0.5)
    headers = {"Idempotency-Key": "idem_late1"}
    call = raw(api, "POST", "/orders", json=order_body(cart), headers=headers)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await call
    # The client gave up, but the order was placed before the answer was delayed.
    assert len(sb.orders_for_cart(cart["id"])) == 1
    [record] = sb.wire_log(ORDERS)
    assert (record.fault, record.handled, record.created) == ("slow_after_commit", 201, True)


async def test_a_slow_request_the_client_gave_up_on_is_never_handled(
    api: Api, sb: Sandbox, occ: tuple[str, str]
) -> None:
    cart = await ga_cart(api, occ)
    sb.inject(ORDERS, "slow", delay=0.3)
    call = raw(api, "POST", "/orders", json=order_body(cart), headers={"Idempotency-Key": "idem_s"})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await call
    # Wait until the server's delay is over and it has decided.
    await asyncio.sleep(0.4)
    [record] = sb.wire_log(ORDERS)
    assert (record.fault, record.handled, record.answered) == ("slow", None, None)
    assert sb.orders_for_cart(cart["id"]) == []


async def test_protected_a_new_key_for_an_ordered_cart_is_refused(
    api: Api, sb: Sandbox, occ: tuple[str, str]
) -> None:
    cart = await ga_cart(api, occ)
    assert (await api.order(cart["id"], cart["total"], key="idem_a")).status == 201
    reply = await api.order(cart["id"], cart["total"], key="idem_b")
    assert reply.error["code"] == "CART_ALREADY_ORDERED"
    assert len(sb.orders_for_cart(cart["id"])) == 1


async def test_unprotected_a_new_key_orders_the_cart_again(
    api: Api, sb: Sandbox, occ: tuple[str, str]
) -> None:
    sb.unprotected = True
    cart = await ga_cart(api, occ)
    first_reply = await api.order(cart["id"], cart["total"], key="idem_a")
    second = await api.order(cart["id"], cart["total"], key="idem_b")
    assert (first_reply.status, second.status) == (201, 201)
    assert first_reply.data["id"] != second.data["id"]
    assert sb.orders_for_cart(cart["id"]) == [first_reply.data["id"], second.data["id"]]
    assert sb.orders_for_key("idem_a") == [first_reply.data["id"]]
    assert sb.orders_for_key("idem_b") == [second.data["id"]]
    # The key replay still holds: it is the only dedupe left.
    again = await api.order(cart["id"], cart["total"], key="idem_a")
    assert (again.status, again.data["id"]) == (200, first_reply.data["id"])
    assert len(sb.orders_for_cart(cart["id"])) == 2
    # The cart itself shows the first order's frozen view.
    assert (await api.get(f"/carts/{cart['id']}")).status == 200


async def test_unprotected_holds_may_oversell(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    seat = first(await api.inventory(*occ), "AssignedSeat")
    assert (await api.cart(occ[1], (seat, 1))).status == 201
    refused = await api.cart(occ[1], (seat, 1))
    assert refused.error["code"] == "INVENTORY_EXHAUSTED"
    sb.unprotected = True
    assert (await api.cart(occ[1], (seat, 1))).status == 201
    # The oversold seat is not offered, and nothing underflows.
    assert seat["id"] not in {i["id"] for i in await api.inventory(*occ)}
    with pytest.raises(TypeError, match="bool"):
        sb.unprotected = 1  # type: ignore[assignment]
    assert Sandbox(unprotected=True).unprotected


async def test_the_wire_log_records_headers_as_sent_and_resets(api: Api, sb: Sandbox) -> None:
    sb.inject("GET /api/v3/locations", "status", status=503)
    await api.get("/locations", headers={"X-Request-ID": "req_w1"})
    await api.get("/locations", headers={"X-Request-ID": "not a req id"})
    await api.get("/events/1001")
    log = sb.wire_log()
    assert [r.route for r in log] == [
        "GET /api/v3/locations",
        "GET /api/v3/locations",
        "GET /api/v3/events/{eventId}",
    ]
    assert [r.request_id for r in log] == ["req_w1", "not a req id", None]
    assert [r.seq for r in log] == sorted(r.seq for r in log)
    assert (log[0].fault, log[0].handled, log[0].answered) == ("status", None, 503)
    assert (log[1].fault, log[1].handled, log[1].answered) == (None, 200, 200)
    assert all(isinstance(r, WireRecord) and r.idempotency_key is None for r in log)
    assert len(sb.wire_log("GET /api/v3/events/{eventId}")) == 1
    with pytest.raises(ValueError, match="route"):
        sb.wire_log("GET /nope")
    sb.reset_counters()
    assert sb.wire_log() == []


def test_post_commit_fault_arguments_are_checked() -> None:
    sb = Sandbox()
    with pytest.raises(ValueError, match="5xx"):
        sb.inject(CARTS, "status_after_commit", status=429)
    with pytest.raises(ValueError, match="delay"):
        sb.inject(CARTS, "slow_after_commit", delay=-1)
    assert sb.inject(CARTS, "html_502_after_commit").remaining == 1
