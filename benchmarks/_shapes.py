"""The wire shapes written by hand as msgspec Structs, as a user without the SDK would: the
same fields the SDK's models have (``approach_httpx_pydantic.py`` has the pydantic twins).

The variant is one flat type keyed by its ``_type`` string rather than a tagged union: that is
what a careful hand-written client does to survive the new ``_type`` values the docs announce,
and it decodes a known and an unknown tag at the same speed, so it is the floor the SDK's
tolerant decoder is measured against.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec


class Pagination(msgspec.Struct):
    limit: int
    offset: int
    total: int


class Location(msgspec.Struct):
    id: str
    name: str
    country: str | None = None


class Venue(msgspec.Struct):
    id: str
    name: str
    timezone: str | None = None
    address: str | None = None


class Event(msgspec.Struct, rename="camel"):
    id: str
    name: str
    start_date: date | None = None
    end_date: date | None = None
    location: Location | str | None = None
    venue: Venue | None = None


class Money(msgspec.Struct):
    amount: int
    currency: str


class Category(msgspec.Struct):
    name: str


class PriceOption(msgspec.Struct, rename="camel"):
    id: str
    category: Category
    sell_price: Money
    list_price: Money | None = None


class Variant(msgspec.Struct):
    type: str = msgspec.field(name="_type")
    id: str | None = None
    name: str | None = None
    attributes: list[Any] = []
    section: str | None = None
    row: str | None = None
    seat: str | None = None


class InventoryItem(msgspec.Struct, rename="camel"):
    id: str
    inventory_variant: Variant
    quantity_available: int
    price_options: list[PriceOption] = []


class LocationPage(msgspec.Struct):
    data: list[Location]
    pagination: Pagination


class EventPage(msgspec.Struct):
    data: list[Event]
    pagination: Pagination


class EventBody(msgspec.Struct):
    data: Event


class InventoryBody(msgspec.Struct):
    data: list[InventoryItem]
