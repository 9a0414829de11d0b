"""Shared helpers for the client tests: a real sandbox on loopback, and a client pointed at it.

Imported by tests/conftest.py (fixtures) and by test modules (constants, helpers); its name is
unique so that it never collides with tests/sandbox/conftest.py on sys.path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from ttg_async import (
    AssignedSeat,
    GeneralAdmission,
    InventoryItem,
    Occurrence,
    RetryPolicy,
    TTGClient,
)
from ttg_async.sandbox import Sandbox

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
RETAILER = "retailer-1"

# Waits switched off through configuration: tests never sleep on backoff.
NO_WAIT = RetryPolicy(backoff_base=0.0, backoff_max=0.0)


@dataclass
class Running:
    sandbox: Sandbox
    base_url: str


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    sandbox = Sandbox(seed=0)
    async with sandbox.serve() as base_url:
        yield Running(sandbox, base_url)


@pytest.fixture
async def ttg(running: Running) -> AsyncIterator[TTGClient]:
    async with TTGClient(KEY, RETAILER, base_url=running.base_url, retry=NO_WAIT) as client:
        yield client


@dataclass
class Show:
    event_id: str
    occurrence: Occurrence
    items: list[InventoryItem]

    def first(self, kind: type) -> InventoryItem:
        return next(
            item
            for item in self.items
            if isinstance(item.inventory_variant, kind) and item.quantity_available > 0
        )


async def find_show(ttg: TTGClient) -> Show:
    """An on-sale occurrence with both assigned seats and general admission in stock."""
    async for location in ttg.locations.list():
        async for event in ttg.events.list(location.id):
            for occurrence in await ttg.occurrences.list(event.id):
                if occurrence.from_price is None:
                    continue
                items = await ttg.inventory.list(event.id, occurrence.id)
                has_ga = any(
                    isinstance(i.inventory_variant, GeneralAdmission) and i.quantity_available > 1
                    for i in items
                )
                has_seat = any(
                    isinstance(i.inventory_variant, AssignedSeat) and i.quantity_available == 1
                    for i in items
                )
                if has_ga and has_seat:
                    return Show(event.id, occurrence, items)
    raise AssertionError("the sandbox catalog has no show with seats and GA on sale")


@pytest.fixture
async def show(ttg: TTGClient) -> Show:
    return await find_show(ttg)


def assert_pool_idle(ttg: TTGClient, max_connections: int) -> None:
    """Nothing is checked out: no acquired connection, every slot of our semaphore free."""
    transport = ttg._shared.pipeline.transport
    session = transport._session
    assert session is not None
    connector = session.connector
    assert isinstance(connector, aiohttp.BaseConnector)
    assert not connector._acquired, f"{len(connector._acquired)} connections still checked out"
    slots = transport._slots
    assert slots is not None
    assert slots.free == max_connections
    assert not slots.waiting
