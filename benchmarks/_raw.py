"""The hand-written clients users would write instead of the SDK.

Each is an HTTP ``get`` (aiohttp or httpx, with the required headers set once on the session)
plus a codec that turns a body into what the caller needs. They walk ``limit``/``offset``
pages, bound concurrency with a semaphore, and do no retries and no error mapping: a non-2xx
answer is simply raised. The scenario functions below are shared by every raw approach, so
they differ only in their HTTP library and their decoding.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import aiohttp
from _common import API, HEADERS, MAX_CONNECTIONS

Params = dict[str, str | int] | None


class Codec(Protocol):
    """Turns response bodies into values."""

    def event_id(self, body: bytes) -> str: ...

    def inventory(self, body: bytes) -> Sequence[Any]: ...

    def location_ids(self, body: bytes) -> tuple[list[str], int]: ...

    def events(self, body: bytes) -> tuple[Sequence[Any], int]: ...


class RawClient:
    """One HTTP ``get`` returning the body bytes, and one codec."""

    def __init__(self, get: Callable[[str, Params], Awaitable[bytes]], codec: Codec) -> None:
        self.get = get
        self.codec = codec


@asynccontextmanager
async def connect_aiohttp(base_url: str, codec: Codec) -> AsyncIterator[RawClient]:
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS)
    async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:
        prefix = base_url + API

        async def get(path: str, params: Params = None) -> bytes:
            async with session.get(prefix + path, params=params) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path} {params}: HTTP {response.status}: {body!r}")
                return body

        yield RawClient(get, codec)


async def warm_up(client: RawClient) -> None:
    await client.get("/locations", {"limit": 1})


async def _bounded(calls: Sequence[Callable[[], Awaitable[int]]], concurrency: int) -> int:
    if concurrency == 1:  # what anyone writes for one at a time: a plain loop
        total = 0
        for call in calls:
            total += await call()
        return total
    slots = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[int]]) -> int:
        async with slots:
            return await call()

    return sum(await asyncio.gather(*(one(call) for call in calls)))


async def get_events(client: RawClient, event_ids: Sequence[str], *, concurrency: int) -> int:
    async def one(event_id: str) -> int:
        return 1 if client.codec.event_id(await client.get(f"/events/{event_id}", None)) else 0

    return await _bounded([lambda e=e: one(e) for e in event_ids], concurrency)


def _inventory_path(event_id: str, occurrence_id: str) -> str:
    return f"/events/{event_id}/occurrences/{occurrence_id}/inventory-items"


def _inventory_query(code: str | None = None) -> dict[str, str | int]:
    """What the SDK sends too: the API reference makes ``limit`` and ``offset`` required on
    inventory (docs/versions.md), so a lean hand-written client sends them as well."""
    query: dict[str, str | int] = {"limit": 1000, "offset": 0}
    if code is not None:
        query["providerCode"] = code
    return query


async def fetch_inventories(
    client: RawClient, targets: Sequence[tuple[str, str]], *, concurrency: int
) -> int:
    async def one(event_id: str, occurrence_id: str) -> int:
        body = await client.get(_inventory_path(event_id, occurrence_id), _inventory_query())
        return len(client.codec.inventory(body))

    return await _bounded([lambda t=t: one(*t) for t in targets], concurrency)


async def fetch_rate_codes(
    client: RawClient,
    targets: Sequence[tuple[str, str]],
    codes: Sequence[str | None],
    *,
    concurrency: int,
) -> int:
    async def tier(event_id: str, occurrence_id: str, code: str | None) -> int:
        body = await client.get(_inventory_path(event_id, occurrence_id), _inventory_query(code))
        return len(client.codec.inventory(body))

    async def one(event_id: str, occurrence_id: str) -> int:
        # Like by_rate_codes: the codes of one occurrence run concurrently.
        return sum(await asyncio.gather(*(tier(event_id, occurrence_id, c) for c in codes)))

    return await _bounded([lambda t=t: one(*t) for t in targets], concurrency)


async def _walk(client: RawClient, location_id: str, limit: int) -> AsyncIterator[Sequence[Any]]:
    offset = 0
    while True:
        params: Params = {"locationId": location_id, "limit": limit, "offset": offset}
        items, total = client.codec.events(await client.get("/events", params))
        yield items
        offset += limit
        if not items or offset >= total:
            return


async def crawl_catalog(client: RawClient, *, limit: int) -> int:
    ids, _ = client.codec.location_ids(await client.get("/locations", {"limit": limit}))
    count = 0
    for location_id in ids:
        async for items in _walk(client, location_id, limit):
            count += len(items)
    return count


async def stream_events(client: RawClient, location_id: str, *, limit: int) -> int:
    count = 0
    async for items in _walk(client, location_id, limit):
        for _ in items:
            count += 1
    return count


async def collect_events(client: RawClient, location_id: str, *, limit: int) -> int:
    kept: list[Any] = []
    async for items in _walk(client, location_id, limit):
        kept.extend(items)
    return len(kept)
