"""A committed write never raises on its shape; lenient reads warn once; strict reads raise.

The real sandbox does the work (the hold is made, the order placed); a small loopback proxy
in front of it rewrites the 2xx answer into shapes the sandbox never sends, which is the one
condition a faithful server cannot create by itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from ttg_testkit import KEY, NO_WAIT, RETAILER, Show, find_show

import ttg_async._core.decoding as decoding
from ttg_async import (
    Cart,
    CartItemInput,
    CommittedWriteDecodeError,
    Contact,
    GeneralAdmission,
    Order,
    ResponseDecodeError,
    TTGClient,
)
from ttg_async.sandbox import Sandbox

Mangle = Callable[[dict[str, Any]], None]
BUYER = Contact("Ada Lovelace", "ada@example.com", "+442071234567")


@dataclass
class Proxy:
    """Forwards everything to the sandbox; rewrites the 2xx JSON of one route."""

    upstream: str
    route: str = ""
    mangle: Mangle | None = None
    seen: dict[str, int] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        route = f"{request.method} {request.path}"
        self.seen[route] = self.seen.get(route, 0) + 1
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method,
                self.upstream + request.path_qs,
                headers=headers,
                data=await request.read(),
            ) as answer,
        ):
            body = await answer.read()
            status = answer.status
            out_headers = {"X-Request-ID": answer.headers.get("X-Request-ID", "")}
        if route == self.route and self.mangle is not None and 200 <= status < 300:
            document = msgspec.json.decode(body)
            self.mangle(document["data"])
            body = msgspec.json.encode(document)
        return web.Response(
            body=body, status=status, headers=out_headers, content_type="application/json"
        )


@dataclass
class Setup:
    proxy: Proxy
    via_proxy: TTGClient
    direct: TTGClient
    show: Show


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    sandbox = Sandbox(seed=0)
    async with sandbox.serve() as upstream:
        proxy = Proxy(upstream)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", proxy.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with (
                TTGClient(KEY, RETAILER, base_url=f"http://127.0.0.1:{port}", retry=NO_WAIT) as a,
                TTGClient(KEY, RETAILER, base_url=upstream, retry=NO_WAIT) as b,
            ):
                yield Setup(proxy, a, b, await find_show(b))
        finally:
            await runner.cleanup()


def _line(show: Show) -> CartItemInput:
    # General admission: find_show guarantees more than one left, so two carts can hold it.
    item = show.first(GeneralAdmission)
    return CartItemInput.for_option(show.occurrence.id, item, item.price_options[0])


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # One WARNING per path per process: each test starts from a process that has seen none.
    monkeypatch.setattr(decoding, "_WARNED", set())


async def test_an_order_without_a_readable_id_raises_placed_and_is_never_retried(
    setup: Setup,
) -> None:
    cart = await setup.direct.carts.create([_line(setup.show)])
    setup.proxy.route, setup.proxy.mangle = "POST /api/v3/orders", lambda d: d.pop("id")
    with pytest.raises(CommittedWriteDecodeError) as info:
        await setup.via_proxy.orders.create(cart.id, expected_total=cart.total, contact=BUYER)
    error = info.value
    assert setup.proxy.seen["POST /api/v3/orders"] == 1  # never retried
    assert error.attempts == 1
    assert error.committed is True
    assert error.resource == "order"
    assert error.resource_id is None
    assert error.status == 201
    assert error.idempotency_key is not None
    assert error.idempotency_key.startswith("idem_")
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert b'"status"' in error.body
    assert b'"id"' not in error.body.split(b'"items"')[0]
    assert "placed" in str(error)
    # As its docstring says: the same key returns the order already made, and makes no other.
    again = await setup.direct.orders.create(
        cart.id, expected_total=cart.total, contact=BUYER, idempotency_key=error.idempotency_key
    )
    assert isinstance(again, Order)
    assert (await setup.direct.orders.get(again.id)).id == again.id


async def test_an_order_whose_total_is_unreadable_still_comes_back(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """The docs promise an order only its ID, tickets and receipt lines (docs/versions.md).

    An unreadable ``total`` used to fail the placed order; it is now dropped with a WARNING,
    and the order comes back after one POST.
    """
    cart = await setup.direct.carts.create([_line(setup.show)])

    def break_total(data: dict[str, Any]) -> None:
        data["total"] = "185.00"

    setup.proxy.route, setup.proxy.mangle = "POST /api/v3/orders", break_total
    with caplog.at_level(logging.WARNING, logger="ttg_async"):
        order = await setup.via_proxy.orders.create(
            cart.id, expected_total=cart.total, contact=BUYER
        )
    assert setup.proxy.seen["POST /api/v3/orders"] == 1
    assert isinstance(order, Order)
    assert order.total is None
    assert order.tickets
    assert any("$.data.total" in r.getMessage() for r in caplog.records)
    assert (await setup.direct.orders.get(order.id)).total == cart.total


async def test_an_order_with_odd_undocumented_fields_is_returned_with_one_warning(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    def odd(data: dict[str, Any]) -> None:
        data["confirmationNumber"] = {"unexpected": "object"}
        data["createdAt"] = 1700000000
        for item in data["items"]:
            item["quantity"] = "two"

    setup.proxy.route, setup.proxy.mangle = "POST /api/v3/orders", odd
    with caplog.at_level(logging.WARNING, logger="ttg_async"):
        for _ in range(2):
            cart = await setup.direct.carts.create([_line(setup.show)])
            order = await setup.via_proxy.orders.create(
                cart.id, expected_total=cart.total, contact=BUYER
            )
            assert isinstance(order, Order)
            assert order.total == cart.total
            assert order.confirmation_number is None
            assert order.created_at is None
            assert order.items
            assert all(item.quantity is None for item in order.items)
            assert order.items[0].tickets  # the rest of each item is still there
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # One per JSON path per process: the second order logs nothing new.
    assert len(messages) == 3, messages
    for path in ("$.data.confirmationNumber", "$.data.createdAt", "$.data.items[0].quantity"):
        assert sum(path in m for m in messages) == 1, (path, messages)
    assert all("request_id=req_" in m for m in messages)


async def test_a_cart_without_a_readable_id_raises_held_and_is_never_retried(
    setup: Setup,
) -> None:
    setup.proxy.route, setup.proxy.mangle = "POST /api/v3/carts", lambda d: d.pop("id")
    with pytest.raises(CommittedWriteDecodeError) as info:
        await setup.via_proxy.carts.create([_line(setup.show)])
    assert setup.proxy.seen["POST /api/v3/carts"] == 1
    assert info.value.resource == "cart"
    assert info.value.resource_id is None
    assert "held" in str(info.value)


async def test_a_cart_with_an_odd_receipt_is_returned(setup: Setup) -> None:
    def odd(data: dict[str, Any]) -> None:
        data["receiptLines"][0]["sign"] = "+"

    setup.proxy.route, setup.proxy.mangle = "POST /api/v3/carts", odd
    cart = await setup.via_proxy.carts.create([_line(setup.show)])
    assert isinstance(cart, Cart)
    # The receipt is dropped whole, never thinned: no line goes missing silently.
    assert cart.receipt_lines == []
    assert (await setup.direct.carts.get(cart.id)).receipt_lines


async def test_strict_raises_where_lenient_drops(setup: Setup) -> None:
    def odd(data: dict[str, Any]) -> None:
        data["occurrenceId"] = 50001 if "occurrenceId" in data else None
        data["venue"] = ["not", "an", "object"]

    path = f"/api/v3/events/{setup.show.event_id}/occurrences/{setup.show.occurrence.id}"
    setup.proxy.route, setup.proxy.mangle = f"GET {path}", odd
    lenient = await setup.via_proxy.occurrences.get(setup.show.event_id, setup.show.occurrence.id)
    assert lenient.venue is None
    assert lenient.id == setup.show.occurrence.id
    strict = setup.via_proxy.with_options(strict=True)
    with pytest.raises(ResponseDecodeError) as info:
        await strict.occurrences.get(setup.show.event_id, setup.show.occurrence.id)
    assert info.value.path == "$.data.venue"
    assert not isinstance(info.value, CommittedWriteDecodeError)
    async with TTGClient(KEY, RETAILER, base_url=setup.via_proxy.base_url, strict=True) as ttg:
        with pytest.raises(ResponseDecodeError):
            await ttg.occurrences.get(setup.show.event_id, setup.show.occurrence.id)
