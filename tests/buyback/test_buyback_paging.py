"""The shared paginator's has_more rule, with a scripted page source: no server needed."""

from __future__ import annotations

import asyncio

from ttg_async import Page, Paginator


class Pages:
    """Serves ``count`` items, reporting ``has_more`` and ``total`` as told; records offsets."""

    def __init__(self, count: int, *, total: int, stuck_offset: bool = False) -> None:
        self.count = count
        self.total = total
        self.stuck_offset = stuck_offset
        self.asked: list[int] = []

    async def __call__(self, offset: int, limit: int) -> Page[int]:
        self.asked.append(offset)
        await asyncio.sleep(0)  # a real await, so a runaway walk meets the test's timeout
        items = list(range(offset, min(offset + limit, self.count)))
        shown = 0 if self.stuck_offset else offset
        return Page(items, limit, shown, self.total, has_more=offset + limit < self.count)


async def test_has_more_wins_over_a_total_that_understates() -> None:
    source = Pages(23, total=5)
    assert await Paginator(source, limit=10).collect() == list(range(23))
    assert source.asked == [0, 10, 20]


async def test_has_more_false_wins_over_a_total_that_overstates() -> None:
    source = Pages(7, total=1000)
    assert await Paginator(source, limit=5).collect() == list(range(7))
    assert source.asked == [0, 5]


async def test_an_offset_that_does_not_advance_ends_the_walk() -> None:
    source = Pages(50, total=50, stuck_offset=True)  # the server always says offset 0
    async with asyncio.timeout(10):
        items = await Paginator(source, limit=10).collect()
    assert items[:10] == list(range(10))
    assert len(source.asked) <= 3


async def test_concurrency_does_not_prefetch_past_has_more() -> None:
    source = Pages(12, total=1000)
    items = await Paginator(source, limit=5, concurrency=4).collect()
    assert items == list(range(12))
    assert source.asked == [0, 5, 10]
