"""Raw aiohttp, decoded with the standard library's ``json.loads`` into dicts (no types)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import _raw
from _raw import (
    RawClient,
    collect_events,
    crawl_catalog,
    fetch_inventories,
    fetch_rate_codes,
    get_events,
    stream_events,
    warm_up,
)

__all__ = [
    "collect_events",
    "connect",
    "crawl_catalog",
    "fetch_inventories",
    "fetch_rate_codes",
    "get_events",
    "stream_events",
    "warm_up",
]


class JsonCodec:
    def event_id(self, body: bytes) -> str:
        event_id: str = json.loads(body)["data"]["id"]
        return event_id

    def inventory(self, body: bytes) -> list[Any]:
        items: list[Any] = json.loads(body)["data"]
        return items

    def location_ids(self, body: bytes) -> tuple[list[str], int]:
        page = json.loads(body)
        return [location["id"] for location in page["data"]], page["pagination"]["total"]

    def events(self, body: bytes) -> tuple[Sequence[Any], int]:
        page = json.loads(body)
        return page["data"], page["pagination"]["total"]


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[RawClient]:
    async with _raw.connect_aiohttp(base_url, JsonCodec()) as client:
        yield client
