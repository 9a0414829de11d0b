"""ttg_async itself: one ``TTGClient`` with the default ``RetryPolicy``, typed models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from _common import API_KEY, MAX_CONNECTIONS, PLATFORM, RETAILER

from ttg_async import TTGClient

LABEL = "ttg_async"


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[TTGClient]:
    async with TTGClient(
        API_KEY, RETAILER, platform=PLATFORM, base_url=base_url, max_connections=MAX_CONNECTIONS
    ) as client:
        yield client


async def warm_up(client: TTGClient) -> None:
    await client.locations.list(limit=1, max_items=1).collect()


async def crawl_catalog(client: TTGClient, *, limit: int, concurrency: int) -> int:
    locations = await client.locations.list(limit=limit).collect()
    count = 0
    for location in locations:
        events = await client.events.list(
            location.id, limit=limit, concurrency=concurrency
        ).collect()
        count += len(events)
    return count


async def fetch_inventories(
    client: TTGClient, targets: Sequence[tuple[str, str]], *, concurrency: int
) -> int:
    slots = asyncio.Semaphore(concurrency)

    async def one(event_id: str, occurrence_id: str) -> int:
        async with slots:
            return len(await client.inventory.list(event_id, occurrence_id))

    return sum(await asyncio.gather(*(one(e, o) for e, o in targets)))


async def fetch_rate_codes(
    client: TTGClient,
    targets: Sequence[tuple[str, str]],
    codes: Sequence[str | None],
    *,
    concurrency: int,
) -> int:
    slots = asyncio.Semaphore(concurrency)

    async def one(event_id: str, occurrence_id: str) -> int:
        async with slots:
            tiers = await client.inventory.by_rate_codes(event_id, occurrence_id, codes)
        count = 0
        for code, items in tiers.items():
            if isinstance(items, Exception):
                raise RuntimeError(f"{event_id}/{occurrence_id}: rate code {code!r}: {items}")
            count += len(items)
        return count

    return sum(await asyncio.gather(*(one(e, o) for e, o in targets)))


async def get_events(client: TTGClient, event_ids: Sequence[str], *, concurrency: int) -> int:
    slots = asyncio.Semaphore(concurrency)

    async def one(event_id: str) -> int:
        async with slots:
            event = await client.events.get(event_id)
            return 1 if event.id == event_id else 0

    return sum(await asyncio.gather(*(one(e) for e in event_ids)))
