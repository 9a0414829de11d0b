"""The baseline: raw aiohttp, decoded by msgspec into hand-written typed Structs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

import _raw
import msgspec
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
from _shapes import Event, EventBody, EventPage, InventoryBody, InventoryItem, LocationPage

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

_EVENT: Final = msgspec.json.Decoder(EventBody)
_EVENTS: Final = msgspec.json.Decoder(EventPage)
_LOCATIONS: Final = msgspec.json.Decoder(LocationPage)
_INVENTORY: Final = msgspec.json.Decoder(InventoryBody)


class StructCodec:
    def event_id(self, body: bytes) -> str:
        return _EVENT.decode(body).data.id

    def inventory(self, body: bytes) -> list[InventoryItem]:
        return _INVENTORY.decode(body).data

    def location_ids(self, body: bytes) -> tuple[list[str], int]:
        page = _LOCATIONS.decode(body)
        return [location.id for location in page.data], page.pagination.total

    def events(self, body: bytes) -> tuple[Sequence[Event], int]:
        page = _EVENTS.decode(body)
        return page.data, page.pagination.total


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[RawClient]:
    async with _raw.connect_aiohttp(base_url, StructCodec()) as client:
        yield client
