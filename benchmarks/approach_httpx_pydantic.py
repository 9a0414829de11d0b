"""A popular alternative stack: httpx for HTTP, pydantic v2 models (the same shapes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
from _common import API, HEADERS, MAX_CONNECTIONS
from _raw import (
    Params,
    RawClient,
    collect_events,
    crawl_catalog,
    fetch_inventories,
    fetch_rate_codes,
    get_events,
    stream_events,
    warm_up,
)
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

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


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Pagination(_Model):
    limit: int
    offset: int
    total: int


class Location(_Model):
    id: str
    name: str
    country: str | None = None


class Venue(_Model):
    id: str
    name: str
    timezone: str | None = None
    address: str | None = None


class Event(_Model):
    id: str
    name: str
    start_date: date | None = None
    end_date: date | None = None
    location: Location | str | None = None
    venue: Venue | None = None


class Money(_Model):
    amount: int
    currency: str


class Category(_Model):
    name: str


class PriceOption(_Model):
    id: str
    category: Category
    sell_price: Money
    list_price: Money | None = None


class Variant(_Model):
    # One flat model keyed by the tag, like the baseline's: survives unknown types.
    type: str = Field(alias="_type")
    id: str | None = None
    name: str | None = None
    attributes: list[Any] = []
    section: str | None = None
    row: str | None = None
    seat: str | None = None


class InventoryItem(_Model):
    id: str
    inventory_variant: Variant
    quantity_available: int
    price_options: list[PriceOption] = []


class LocationPage(_Model):
    data: list[Location]
    pagination: Pagination


class EventPage(_Model):
    data: list[Event]
    pagination: Pagination


class EventBody(_Model):
    data: Event


class InventoryBody(_Model):
    data: list[InventoryItem]


class PydanticCodec:
    def event_id(self, body: bytes) -> str:
        return EventBody.model_validate_json(body).data.id

    def inventory(self, body: bytes) -> list[InventoryItem]:
        return InventoryBody.model_validate_json(body).data

    def location_ids(self, body: bytes) -> tuple[list[str], int]:
        page = LocationPage.model_validate_json(body)
        return [location.id for location in page.data], page.pagination.total

    def events(self, body: bytes) -> tuple[Sequence[Event], int]:
        page = EventPage.model_validate_json(body)
        return page.data, page.pagination.total


@asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[RawClient]:
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    async with httpx.AsyncClient(
        base_url=base_url + API, headers=HEADERS, limits=limits, timeout=30.0
    ) as http:

        async def get(path: str, params: Params = None) -> bytes:
            response = await http.get(path, params=params)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} {params}: HTTP {response.status_code}")
            return response.content

        yield RawClient(get, PydanticCodec())
