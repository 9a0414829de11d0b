"""Fault injection, latency and counters."""

from __future__ import annotations

import time

import aiohttp
import pytest
from sandbox_helpers import HEADERS, Api, first

from ttg_async.sandbox import ROUTES, Sandbox

LOCATIONS = "GET /api/v3/locations"
ORDERS = "POST /api/v3/orders"
CARTS = "POST /api/v3/carts"


async def test_status_fault_uses_the_envelope_and_retry_after(api: Api, sb: Sandbox) -> None:
    sb.inject(LOCATIONS, "status", status=429, retry_after=2, times=1)
    reply = await api.get("/locations", headers={"X-Request-ID": "req_rl1"})
    assert reply.status == 429
    assert reply.error["type"] == "RATE_LIMIT_ERROR"
    assert reply.headers["Retry-After"] == "2"
    assert reply.headers["X-Request-ID"] == "req_rl1"
    assert (await api.get("/locations")).status == 200  # only the next one


@pytest.mark.parametrize(
    ("status", "type_"), [(503, "API_ERROR"), (500, "API_ERROR"), (409, "CONFLICT_ERROR")]
)
async def test_status_fault_type_follows_status(
    api: Api, sb: Sandbox, status: int, type_: str
) -> None:
    sb.inject(LOCATIONS, "status", status=status)
    reply = await api.get("/locations")
    assert reply.status == status
    assert reply.error["type"] == type_
    assert "Retry-After" not in reply.headers


async def test_next_n_requests(api: Api, sb: Sandbox) -> None:
    fault = sb.inject(LOCATIONS, "status", status=503, times=3)
    statuses = [(await api.get("/locations")).status for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    assert fault.hits == 3
    assert fault.remaining == 0


async def test_probability_is_seeded_and_repeatable(api: Api, sb: Sandbox) -> None:
    async def run() -> list[int]:
        sb.clear_faults()
        sb.inject(LOCATIONS, "status", probability=0.5, seed=42)
        return [(await api.get("/locations")).status for _ in range(30)]

    first_run, second_run = await run(), await run()
    assert first_run == second_run
    assert 5 < first_run.count(503) < 25


async def test_wildcard_route_and_clear(api: Api, sb: Sandbox) -> None:
    sb.inject("*", "status", status=503, times=10)
    assert (await api.get("/events/1001")).status == 503
    assert (await api.get("/locations")).status == 503
    sb.clear_faults()
    assert (await api.get("/locations")).status == 200


async def test_route_fault_does_not_touch_other_routes(api: Api, sb: Sandbox) -> None:
    sb.inject(ORDERS, "status", status=503)
    assert (await api.get("/locations")).status == 200


async def test_html_502_from_a_proxy(api: Api, sb: Sandbox) -> None:
    sb.inject(LOCATIONS, "html_502")
    async with api.http.get(api.base_url + "/api/v3/locations", headers=HEADERS) as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert "502 Bad Gateway" in await resp.text()
        assert "X-Request-ID" not in resp.headers


async def test_reset_before_changes_nothing(api: Api, sb: Sandbox, occ: tuple[str, str]) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission", 2)
    sb.inject(CARTS, "reset_before")
    with pytest.raises(aiohttp.ClientError):
        await api.cart(occ[1], (ga, 2))
    assert sb.request_count(CARTS) == 1
    after = first(await api.inventory(*occ), "GeneralAdmission", 2)
    assert after["quantityAvailable"] == ga["quantityAvailable"]  # no hold was made
    assert (await api.cart(occ[1], (ga, 2))).data["id"] == "cart_000001"


async def test_reset_after_commit_then_retry_with_same_key(
    api: Api, sb: Sandbox, occ: tuple[str, str]
) -> None:
    ga = first(await api.inventory(*occ), "GeneralAdmission")
    cart = (await api.cart(occ[1], (ga, 1))).data
    sb.inject(ORDERS, "reset_after_commit")
    rid = {"X-Request-ID": "req_commit1"}
    body = {
        "cartId": cart["id"],
        "expectedTotal": cart["total"],
        "contact": {"name": "A", "email": "a@b.c", "phone": "+1"},
    }
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", "/orders", json=body, headers={"Idempotency-Key": "idem_c1", **rid})
    orders = sb.orders_for_cart(cart["id"])
    assert len(orders) == 1  # the order exists although the answer was lost
    retry = await api.call(
        "POST", "/orders", json=body, headers={"Idempotency-Key": "idem_c1", **rid}
    )
    assert retry.status == 200
    assert retry.data["id"] == orders[0]
    assert sb.orders_for_cart(cart["id"]) == orders
    assert sb.attempts("req_commit1") == 2


async def test_truncated_body(api: Api, sb: Sandbox) -> None:
    sb.inject(LOCATIONS, "truncate")
    async with api.http.get(api.base_url + "/api/v3/locations", headers=HEADERS) as resp:
        assert resp.status == 200
        assert resp.content_length is not None
        assert resp.content_length > 0
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    assert (await api.get("/locations")).status == 200


async def test_slow_response(api: Api, sb: Sandbox) -> None:
    sb.inject(LOCATIONS, "slow", delay=0.3)
    started = time.perf_counter()
    assert (await api.get("/locations")).status == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    await api.get("/locations")
    assert time.perf_counter() - started < 0.3


async def test_slow_response_trips_a_client_timeout(api: Api, sb: Sandbox) -> None:
    sb.inject(LOCATIONS, "slow", delay=0.5)
    timeout = aiohttp.ClientTimeout(total=0.1)
    with pytest.raises(TimeoutError):
        async with api.http.get(
            api.base_url + "/api/v3/locations", headers=HEADERS, timeout=timeout
        ) as resp:
            await resp.read()


async def test_latency_per_route_and_wildcard(api: Api, sb: Sandbox) -> None:
    sb.set_latency("GET /api/v3/events/{eventId}", 0.2)
    started = time.perf_counter()
    await api.get("/events/1001")
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    await api.get("/locations")
    assert time.perf_counter() - started < 0.2
    sb.set_latency("*", 0.15)
    started = time.perf_counter()
    await api.get("/locations")
    assert time.perf_counter() - started >= 0.15
    sb.set_latency("*", 0)
    sb.set_latency("GET /api/v3/events/{eventId}", 0)
    started = time.perf_counter()
    await api.get("/events/1001")
    assert time.perf_counter() - started < 0.15


async def test_counters(api: Api, sb: Sandbox) -> None:
    sb.inject(LOCATIONS, "status", status=503, times=1)
    for _ in range(3):
        await api.get("/locations", headers={"X-Request-ID": "req_same"})
    await api.get("/events/1001")
    await api.get("/events/1002")
    await api.get("/locations", headers={"X-TT-API-Key": None})  # rejected, still counted
    assert sb.request_count(LOCATIONS) == 4
    assert sb.request_count("GET /api/v3/events/{eventId}") == 2
    assert sb.request_count() == 6
    assert sb.attempts("req_same") == 3
    assert sb.attempts("req_other") == 0
    sb.reset_counters()
    assert sb.request_count() == 0


def test_bad_control_arguments_are_refused() -> None:
    sb = Sandbox()
    with pytest.raises(ValueError, match="route"):
        sb.inject("GET /api/v3/nope", "status")
    with pytest.raises(ValueError, match="kind"):
        sb.inject(LOCATIONS, "explode")
    with pytest.raises(ValueError, match="not both"):
        sb.inject(LOCATIONS, "status", times=1, probability=0.5)
    with pytest.raises(ValueError, match="route"):
        sb.set_latency("/api/v3/locations", 1.0)
    with pytest.raises(ValueError, match="route"):
        sb.request_count("GET /locations")
    assert len(ROUTES) == 11


async def test_serve_twice_and_shut_down_cleanly() -> None:
    sb = Sandbox()
    for _ in range(2):
        async with sb.serve() as url, aiohttp.ClientSession() as http:
            assert sb.base_url == url
            async with http.get(url + "/api/v3/locations", headers=HEADERS) as resp:
                assert resp.status == 200
        assert sb.base_url is None


async def test_shutdown_with_a_slow_request_in_flight() -> None:
    import asyncio

    sb = Sandbox()
    sb.inject(LOCATIONS, "slow", delay=5.0)
    async with aiohttp.ClientSession() as http:
        async with sb.serve() as url:
            task = asyncio.ensure_future(http.get(url + "/api/v3/locations", headers=HEADERS))
            await asyncio.sleep(0.05)
        with pytest.raises(aiohttp.ClientError):
            await task
