"""ttg_async itself: one ``TTGClient`` with the default ``RetryPolicy``, typed models.

Only public names are used. ``run.py --before REV`` runs this same module against the SDK of
another commit (``sdk_before``), by putting that commit's package first on ``sys.path``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from _common import API_KEY, MAX_CONNECTIONS, PLATFORM, RETAILER

from ttg_async import TTGClient


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[TTGClient]:
    async with TTGClient(
        API_KEY, RETAILER, platform=PLATFORM, base_url=base_url, max_connections=MAX_CONNECTIONS
    ) as client:
        yield client


async def warm_up(client: TTGClient) -> None:
    await client.locations.list(limit=1, max_items=1).collect()


async def _bounded(calls: Sequence[Callable[[], Awaitable[int]]], concurrency: int) -> int:
    if concurrency == 1:
        total = 0
        for call in calls:
            total += await call()
        return total
    slots = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[int]]) -> int:
        async with slots:
            return await call()

    return sum(await asyncio.gather(*(one(call) for call in calls)))


async def get_events(client: TTGClient, event_ids: Sequence[str], *, concurrency: int) -> int:
    async def one(event_id: str) -> int:
        return 1 if (await client.events.get(event_id)).id == event_id else 0

    return await _bounded([lambda e=e: one(e) for e in event_ids], concurrency)


async def fetch_inventories(
    client: TTGClient, targets: Sequence[tuple[str, str]], *, concurrency: int
) -> int:
    async def one(event_id: str, occurrence_id: str) -> int:
        return len(await client.inventory.list(event_id, occurrence_id))

    return await _bounded([lambda t=t: one(*t) for t in targets], concurrency)


async def fetch_rate_codes(
    client: TTGClient,
    targets: Sequence[tuple[str, str]],
    codes: Sequence[str | None],
    *,
    concurrency: int,
) -> int:
    async def one(event_id: str, occurrence_id: str) -> int:
        tiers = await client.inventory.by_rate_codes(event_id, occurrence_id, codes)
        count = 0
        for code, items in tiers.items():
            if isinstance(items, Exception):
                raise RuntimeError(f"{event_id}/{occurrence_id}: rate code {code!r}: {items}")
            count += len(items)
        return count

    return await _bounded([lambda t=t: one(*t) for t in targets], concurrency)


async def crawl_catalog(client: TTGClient, *, limit: int) -> int:
    count = 0
    async for location in client.locations.list(limit=limit):
        async for page in client.events.list(location.id, limit=limit).pages():
            count += len(page.items)
    return count


async def stream_events(client: TTGClient, location_id: str, *, limit: int) -> int:
    count = 0
    async for _ in client.events.list(location_id, limit=limit):
        count += 1
    return count


async def collect_events(client: TTGClient, location_id: str, *, limit: int) -> int:
    return len(await client.events.list(location_id, limit=limit).collect())
