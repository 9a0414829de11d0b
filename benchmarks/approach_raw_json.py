"""Baseline: raw aiohttp, decoded with the standard library's ``json.loads`` into dicts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import _raw
from _raw import RawClient, crawl_catalog, fetch_inventories, fetch_rate_codes, get_events, warm_up

__all__ = [
    "connect",
    "crawl_catalog",
    "fetch_inventories",
    "fetch_rate_codes",
    "get_events",
    "warm_up",
]

LABEL = "raw aiohttp + json"


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[RawClient]:
    async with _raw.connect(base_url, json.loads) as client:
        yield client
