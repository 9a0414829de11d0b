"""The hand-written client users would write instead of the SDK: aiohttp plus a JSON decoder.

It sends the required headers, walks ``limit``/``offset`` pages, bounds concurrency with a
semaphore, and decodes into plain dicts. It does no retries, no typing and no error mapping:
a non-2xx answer is simply raised. ``approach_raw_json`` and ``approach_raw_msgspec`` differ
only in the ``loads`` they pass in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from _common import API, HEADERS, MAX_CONNECTIONS

Loads = Callable[[bytes], Any]


class RawClient:
    """One aiohttp session and one decoder."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, loads: Loads) -> None:
        self.base_url = base_url
        self.session = session
        self.loads = loads

    async def get(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        async with self.session.get(self.base_url + API + path, params=params) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} {params}: HTTP {response.status}: {body[:200]!r}")
        return self.loads(body)

    async def get_all(
        self, path: str, params: dict[str, str | int], *, limit: int, concurrency: int
    ) -> list[Any]:
        """Every item of a paginated list: the first page gives ``total``, then the rest."""
        first = await self.get(path, {**params, "limit": limit, "offset": 0})
        items: list[Any] = first["data"]
        total: int = first["pagination"]["total"]
        offsets = range(limit, total, limit)
        if concurrency == 1:
            for offset in offsets:
                page = await self.get(path, {**params, "limit": limit, "offset": offset})
                items.extend(page["data"])
            return items
        window = asyncio.Semaphore(concurrency)

        async def one(offset: int) -> list[Any]:
            async with window:
                page = await self.get(path, {**params, "limit": limit, "offset": offset})
                data: list[Any] = page["data"]
                return data

        for page_items in await asyncio.gather(*(one(offset) for offset in offsets)):
            items.extend(page_items)
        return items


@asynccontextmanager
async def connect(base_url: str, loads: Loads) -> AsyncIterator[RawClient]:
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS)
    async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:
        yield RawClient(base_url, session, loads)


async def warm_up(client: RawClient) -> None:
    await client.get("/locations", {"limit": 1})


async def crawl_catalog(client: RawClient, *, limit: int, concurrency: int) -> int:
    locations = await client.get_all("/locations", {}, limit=limit, concurrency=1)
    count = 0
    for location in locations:
        events = await client.get_all(
            "/events", {"locationId": location["id"]}, limit=limit, concurrency=concurrency
        )
        count += len(events)
    return count


async def fetch_inventories(
    client: RawClient, targets: Sequence[tuple[str, str]], *, concurrency: int
) -> int:
    slots = asyncio.Semaphore(concurrency)

    async def one(event_id: str, occurrence_id: str) -> int:
        async with slots:
            body = await client.get(
                f"/events/{event_id}/occurrences/{occurrence_id}/inventory-items"
            )
            return len(body["data"])

    return sum(await asyncio.gather(*(one(e, o) for e, o in targets)))


async def fetch_rate_codes(
    client: RawClient,
    targets: Sequence[tuple[str, str]],
    codes: Sequence[str | None],
    *,
    concurrency: int,
) -> int:
    slots = asyncio.Semaphore(concurrency)

    async def tier(event_id: str, occurrence_id: str, code: str | None) -> int:
        params: dict[str, str | int] | None = None if code is None else {"providerCode": code}
        body = await client.get(
            f"/events/{event_id}/occurrences/{occurrence_id}/inventory-items", params
        )
        return len(body["data"])

    async def one(event_id: str, occurrence_id: str) -> int:
        # Like by_rate_codes: the slot covers one occurrence, its codes run concurrently.
        async with slots:
            counts = await asyncio.gather(*(tier(event_id, occurrence_id, c) for c in codes))
            return sum(counts)

    return sum(await asyncio.gather(*(one(e, o) for e, o in targets)))


async def get_events(client: RawClient, event_ids: Sequence[str], *, concurrency: int) -> int:
    slots = asyncio.Semaphore(concurrency)

    async def one(event_id: str) -> int:
        async with slots:
            body = await client.get(f"/events/{event_id}")
            return 1 if body["data"]["id"] == event_id else 0

    return sum(await asyncio.gather(*(one(e) for e in event_ids)))
