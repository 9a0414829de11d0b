"""The generic paginator, driven by an in-memory page source (ttg_async/_pagination.py).

Client-level pagination against the sandbox lives in test_client.py.
"""

from __future__ import annotations

import asyncio

import pytest

from ttg_async._core.pagination import Page, Paginator, next_offset


class Source:
    """A list endpoint over ``data``: records every request, optionally misbehaving."""

    def __init__(
        self,
        data: list[int],
        *,
        claimed_total: int | None = None,
        max_limit: int = 1000,
        delay: float = 0.0,
        slow_from: int | None = None,
    ) -> None:
        self.data = data
        self.claimed_total = claimed_total
        self.max_limit = max_limit
        self.delay = delay
        self.slow_from = slow_from
        self.requests: list[tuple[int, int]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.cancelled = 0

    async def __call__(self, offset: int, limit: int) -> Page[int]:
        self.requests.append((offset, limit))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            # Later pages answer faster, so out-of-order completion is exercised; with
            # slow_from, pages before it answer at once and the others take the whole delay.
            if self.slow_from is None:
                pause = self.delay / (1 + offset)
            else:
                pause = self.delay if offset >= self.slow_from else 0.0
            try:
                await asyncio.sleep(pause)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            limit = min(limit, self.max_limit)
            total = len(self.data) if self.claimed_total is None else self.claimed_total
            return Page(self.data[offset : offset + limit], limit, offset, total)
        finally:
            self.in_flight -= 1


def test_next_offset_follows_the_documented_rule() -> None:
    assert next_offset(Page([1] * 50, 50, 0, 142)) == 50
    assert next_offset(Page([1] * 50, 50, 50, 142)) == 100
    assert next_offset(Page([1] * 42, 50, 100, 142)) is None
    assert next_offset(Page([1] * 50, 50, 50, 100)) is None
    assert next_offset(Page([], 50, 0, 142)) is None
    # A server that claims a page size of 0 would keep the walk at one offset forever.
    assert next_offset(Page([1], 0, 0, 142)) is None


async def test_walks_every_page_in_order() -> None:
    source = Source(list(range(142)))
    assert await Paginator(source, limit=50).collect() == list(range(142))
    assert source.requests == [(0, 50), (50, 50), (100, 50)]


async def test_async_for_and_pages_see_the_same_items() -> None:
    source = Source(list(range(7)))
    seen = [item async for item in Paginator(source, limit=3)]
    pages = [page async for page in Paginator(source, limit=3).pages()]
    assert seen == list(range(7))
    assert [(p.offset, p.limit, p.total, p.items) for p in pages] == [
        (0, 3, 7, [0, 1, 2]),
        (3, 3, 7, [3, 4, 5]),
        (6, 3, 7, [6]),
    ]


async def test_starts_at_the_given_offset() -> None:
    source = Source(list(range(10)))
    assert await Paginator(source, limit=4, offset=5).collect() == [5, 6, 7, 8, 9]


async def test_max_items_stops_early_and_trims_the_last_page() -> None:
    source = Source(list(range(1000)))
    assert await Paginator(source, limit=30, max_items=65).collect() == list(range(65))
    assert len(source.requests) == 3


async def test_max_items_zero_requests_nothing() -> None:
    source = Source(list(range(10)))
    assert await Paginator(source, max_items=0).collect() == []
    assert source.requests == []


async def test_an_overstated_total_with_an_empty_page_ends_the_walk() -> None:
    source = Source(list(range(5)), claimed_total=1_000_000)
    assert await Paginator(source, limit=5).collect() == list(range(5))
    assert source.requests == [(0, 5), (5, 5)]


async def test_a_server_side_limit_cap_loses_nothing() -> None:
    source = Source(list(range(25)), max_limit=10)
    assert await Paginator(source, limit=50).collect() == list(range(25))


async def test_a_shrinking_total_ends_the_walk() -> None:
    source = Source(list(range(100)))
    paginator = Paginator(source, limit=10)
    seen = []
    async for item in paginator:
        seen.append(item)
        if item == 15:
            source.data = source.data[:30]  # the catalog shrank mid-walk
    assert seen == list(range(30))


@pytest.mark.parametrize("concurrency", [2, 4, 16])
async def test_concurrent_prefetch_keeps_server_order_and_bounds_the_window(
    concurrency: int,
) -> None:
    source = Source(list(range(503)), delay=0.01)
    items = await Paginator(source, limit=20, concurrency=concurrency).collect()
    assert items == list(range(503))
    assert sorted(source.requests) == [(offset, 20) for offset in range(0, 503, 20)]
    assert source.peak_in_flight <= concurrency
    assert source.peak_in_flight > 1


async def test_concurrent_prefetch_stops_at_an_empty_page_of_an_overstated_total() -> None:
    source = Source(list(range(25)), claimed_total=1_000_000)
    items = await Paginator(source, limit=10, concurrency=4).collect()
    assert items == list(range(25))
    # The window never runs on towards the million the server claimed.
    assert max(offset for offset, _ in source.requests) <= 10 * 8


async def test_concurrent_prefetch_stops_where_a_shrunk_total_says() -> None:
    """Pages already in flight past a total that shrank mid-walk are not handed out."""

    class Shrinking(Source):
        async def __call__(self, offset: int, limit: int) -> Page[int]:
            page = await super().__call__(offset, limit)
            self.data = self.data[:30]  # after the first page, the catalog shrank to 30
            return page

    source = Shrinking(list(range(100)))
    items = await Paginator(source, limit=10, concurrency=4).collect()
    assert items == list(range(30))


async def test_concurrent_prefetch_respects_max_items() -> None:
    source = Source(list(range(1000)), delay=0.001)
    items = await Paginator(source, limit=10, concurrency=4, max_items=35).collect()
    assert items == list(range(35))
    assert max(offset for offset, _ in source.requests) < 40


async def test_breaking_out_cancels_prefetched_pages() -> None:
    """Stop after the first prefetched page: the pages still in flight are cancelled.

    (The first page is fetched alone, before any prefetching, so breaking there would prove
    nothing.) The first two pages answer at once and the others would take 30 s, so the rest
    of the window is surely still in flight, and waiting for it would trip the guard.
    """
    source = Source(list(range(1000)), delay=30.0, slow_from=20)
    async with asyncio.timeout(5):
        paginator = Paginator(source, limit=10, concurrency=8)
        pages = paginator.pages()
        offsets = []
        async for page in pages:
            offsets.append(page.offset)
            if len(offsets) == 2:
                break
        in_flight = source.in_flight
        await pages.aclose()  # type: ignore[attr-defined]
    assert offsets == [0, 10]
    assert in_flight == 7  # the window of 8, less the page just handed out
    assert source.cancelled == in_flight  # cancelled, not left to finish (or to leak)
    assert source.in_flight == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"limit": 0}, ValueError, "limit"),
        ({"limit": 1001}, ValueError, "limit"),
        ({"limit": "50"}, TypeError, "limit"),
        ({"offset": -1}, ValueError, "offset"),
        ({"max_items": -5}, ValueError, "max_items"),
        ({"max_items": 2.0}, TypeError, "max_items"),
        ({"concurrency": 0}, ValueError, "concurrency"),
        ({"concurrency": True}, TypeError, "concurrency"),
    ],
)
def test_bad_arguments_name_the_argument(
    kwargs: dict[str, object], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=rf"^{name}: "):
        Paginator(Source([]), **kwargs)  # type: ignore[arg-type]
