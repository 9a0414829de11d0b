"""The shared paginator's has_more rule, with a scripted page source: no server needed."""

from __future__ import annotations

import asyncio

from ttg_async import Page, Paginator


class Pages:
    """Serves ``count`` items, reporting ``has_more`` and ``total`` as told; records offsets.

    ``page_cap`` makes the server send fewer items than asked for, as a server with a smaller
    page size does; ``in_flight`` and ``most_in_flight`` count concurrent requests.
    """

    def __init__(
        self,
        count: int,
        *,
        total: int,
        stuck_offset: bool = False,
        page_cap: int | None = None,
    ) -> None:
        self.count = count
        self.total = total
        self.stuck_offset = stuck_offset
        self.page_cap = page_cap
        self.asked: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, offset: int, limit: int) -> Page[int]:
        self.asked.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            # A real await, so a runaway walk meets the test's timeout and requests overlap.
            await asyncio.sleep(0.001)
        finally:
            self.in_flight -= 1
        size = limit if self.page_cap is None else min(limit, self.page_cap)
        items = list(range(offset, min(offset + size, self.count)))
        shown = 0 if self.stuck_offset else offset
        return Page(items, limit, shown, self.total, has_more=offset + size < self.count)


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


async def test_concurrency_fetches_ahead_and_stops_where_has_more_ends() -> None:
    source = Pages(52, total=1000)  # total overstates: has_more decides
    items = await Paginator(source, limit=5, concurrency=4).collect()
    assert items == list(range(52))
    assert 1 < source.most_in_flight <= 4
    # The guesses past the last page are bounded by the window.
    assert len(source.asked) <= 11 + 4


async def test_short_pages_re_aim_the_pages_fetched_ahead() -> None:
    source = Pages(40, total=3, page_cap=3)  # the server sends 3 items per page, not 10
    async with asyncio.timeout(10):
        items = await Paginator(source, limit=10, concurrency=4).collect()
    assert items == list(range(40))  # every item once, in order


async def test_max_items_bounds_the_pages_fetched_ahead() -> None:
    source = Pages(10_000, total=10_000)
    items = await Paginator(source, limit=10, concurrency=8, max_items=25).collect()
    assert items == list(range(25))
    assert max(source.asked) < 30
