"""What the per-call cuts of issue #11 must keep: the headers on the wire, collected pages
that share equal parts, and models the garbage collector never has to track.

A small aiohttp server stands in for the API here, because these checks need to see the raw
request headers and to choose the bodies (an event whose location has a known ID but other
contents); everything else runs against the sandbox in the other test modules.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from ttg_async import Event, Location, TTGClient, Venue
from ttg_async._core.transport import _Slots

KEY = "sk_test_hotpath_0001"
LOCATION = {"id": "1", "name": "New York", "country": "US"}
VENUES = [{"id": f"v{n}", "name": f"Venue {n}", "timezone": "America/New_York"} for n in range(3)]


def _event(index: int) -> dict[str, Any]:
    location = dict(LOCATION)
    if index == 7:
        location["name"] = "New York (renamed)"  # same ID, other contents: must not be merged
    return {
        "id": str(1001 + index),
        "name": f"Show {index}",
        "startDate": "2026-03-02",
        "location": location,
        "venue": VENUES[index % len(VENUES)],
    }


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, list[str]]]]]:
    seen: list[dict[str, list[str]]] = []

    async def event(request: web.Request) -> web.Response:
        headers: dict[str, list[str]] = {}
        for name in request.headers:
            headers.setdefault(name.lower(), request.headers.getall(name))
        seen.append(headers)
        body = {"data": {"id": request.match_info["event_id"], "name": "Echo"}}
        return web.json_response(body)

    async def events(request: web.Request) -> web.Response:
        limit, offset = int(request.query["limit"]), int(request.query["offset"])
        data = [_event(i) for i in range(offset, min(offset + limit, 25))]
        page = {"data": data, "pagination": {"limit": limit, "offset": offset, "total": 25}}
        return web.Response(body=json.dumps(page), content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v3/events/{event_id}", event)
    app.router.add_get("/api/v3/events", events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def test_fixed_headers_go_once_per_request_and_a_call_can_replace_one(
    server: tuple[str, list[dict[str, list[str]]]],
) -> None:
    base_url, seen = server
    async with TTGClient(KEY, "bench", base_url=base_url, accept_language="en-GB") as ttg:
        await ttg.events.get("1001")
        await ttg.events.get("1002", extra_headers={"x-tt-platform": "web", "X-Trace": "t1"})
        await ttg.events.get("1003")
    assert len(seen) == 3
    for headers in seen:
        assert headers["x-tt-api-key"] == [KEY]
        assert headers["x-tt-retailer"] == ["bench"]
        assert headers["accept-language"] == ["en-GB"]
        assert headers["accept"] == ["application/json"]
        assert len(headers["x-request-id"]) == 1
    assert seen[0]["x-tt-platform"] == ["api"]
    assert seen[1]["x-tt-platform"] == ["web"]  # replaced, whatever the case, never doubled
    assert seen[1]["x-trace"] == ["t1"]
    assert seen[2]["x-tt-platform"] == ["api"]  # one call's header stays on that call
    assert "x-trace" not in seen[2]
    request_ids = {headers["x-request-id"][0] for headers in seen}
    assert len(request_ids) == 3
    assert all(rid.startswith("req_") and len(rid) == 28 for rid in request_ids)


async def test_collect_shares_equal_locations_and_venues_and_keeps_every_value(
    server: tuple[str, list[dict[str, list[str]]]],
) -> None:
    base_url, _ = server
    async with TTGClient(KEY, "bench", base_url=base_url) as ttg:
        collected = await ttg.events.list("1", limit=10).collect()
        streamed = [event async for event in ttg.events.list("1", limit=10)]
    assert collected == streamed
    assert len(collected) == 25
    assert [e.id for e in collected] == [str(1001 + i) for i in range(25)]
    for page_start in (0, 10, 20):
        page = collected[page_start : page_start + 10]
        same = [e.location for e in page if e.id != "1008"]
        assert all(location is same[0] for location in same)  # one object per page
        for venue in VENUES:
            kept = [e.venue for e in page if e.venue is not None and e.venue.id == venue["id"]]
            assert all(v is kept[0] for v in kept)
    # Same ID, other contents: that event keeps its own location, unchanged.
    renamed = next(e for e in collected if e.id == "1008")
    assert isinstance(renamed.location, Location)
    assert renamed.location.name == "New York (renamed)"
    assert collected[0].location == Location("1", "New York", "US")
    assert collected[0].venue == Venue(id="v0", name="Venue 0", timezone="America/New_York")
    # What streaming hands out is never rewired: each event has its own objects.
    assert streamed[0].location is not streamed[1].location


async def test_decoded_models_are_not_tracked_by_the_garbage_collector(
    server: tuple[str, list[dict[str, list[str]]]],
) -> None:
    base_url, _ = server
    async with TTGClient(KEY, "bench", base_url=base_url) as ttg:
        events = await ttg.events.list("1", limit=25).collect()
    assert all(isinstance(e, Event) for e in events)
    assert not any(gc.is_tracked(e) for e in events)
    assert not any(gc.is_tracked(e.location) or gc.is_tracked(e.venue) for e in events)


async def test_connection_slots_go_to_waiters_in_order_and_survive_cancellation() -> None:
    """The slot semaphore's free path is not a coroutine; its waiters still queue fairly, and
    a waiter cancelled (or timed out) after it was handed a slot passes that slot on."""
    slots = _Slots(1)
    slots.free -= 1  # one attempt holds the only slot
    got: list[str] = []

    async def take(name: str) -> None:
        await slots.wait()
        got.append(name)

    tasks = {name: asyncio.create_task(take(name)) for name in "abcd"}
    await asyncio.sleep(0)
    assert len(slots.waiting) == 4
    tasks["b"].cancel()  # cancelled while still waiting: skipped
    slots.release()  # handed to "a"
    tasks["a"].cancel()  # ... which is cancelled before it runs: "a" passes it on to "c"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert got == ["c"]
    assert slots.free == 0
    slots.release()  # "c" is done with it: "d" is next
    await asyncio.sleep(0)
    assert got == ["c", "d"]
    slots.release()
    assert slots.free == 1  # nobody left waiting: the slot is free again
    assert not [t for t in tasks.values() if not t.done()]
    assert tasks["a"].cancelled()
    assert tasks["b"].cancelled()
