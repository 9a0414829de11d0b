"""A stronger baseline: raw aiohttp, decoded with ``msgspec.json.decode`` into dicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import _raw
import msgspec
from _raw import RawClient, crawl_catalog, fetch_inventories, fetch_rate_codes, get_events, warm_up

__all__ = [
    "connect",
    "crawl_catalog",
    "fetch_inventories",
    "fetch_rate_codes",
    "get_events",
    "warm_up",
]

LABEL = "raw aiohttp + msgspec"


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[RawClient]:
    async with _raw.connect(base_url, msgspec.json.decode) as client:
        yield client
