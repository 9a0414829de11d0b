"""Limit/offset pages as data, and one generic walker for every paginated endpoint.

A page knows its items and where the next one starts; [`Paginator`][ttg_async.Paginator] does the
walking, the optional prefetching and the item cap, the same way for locations, events and anything
added later.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = [
    "MAX_LIMIT",
    "Page",
    "Paginator",
    "check_page_args",
    "next_offset",
    "paginate",
]

T = TypeVar("T")

#: The largest page size the API accepts.
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list endpoint.

    >>> async for page in ttg.locations.list(limit=100).pages():
    ...     print(page.offset, len(page.items), page.total)
    """

    items: list[T]
    limit: int
    offset: int
    total: int
    #: Set by APIs that say whether more pages follow (Ticket Buyback); it then decides the
    #: walk, whatever ``total`` says. ``None`` for APIs that only give ``total`` (TTG).
    has_more: bool | None = None


def next_offset(page: Page[T]) -> int | None:
    """Where the page after ``page`` starts, or ``None`` when the walk is over.

    The documented rule is to add ``limit`` to ``offset`` until ``offset >= total``. An empty
    page also ends the walk, so a server whose ``total`` overstates what it holds cannot keep
    a caller looping forever.

    A page that carries ``has_more`` is followed while ``has_more`` is true, even when
    ``total`` disagrees; the next page starts after the items this one held, so a server that
    sends fewer items than ``limit`` loses none of them.

    >>> next_offset(Page(["a", "b"], limit=2, offset=0, total=1, has_more=True))
    2
    """
    if not page.items or page.limit <= 0:
        return None
    if page.has_more is not None:
        return page.offset + len(page.items) if page.has_more else None
    following = page.offset + page.limit
    return following if following < page.total else None


def check_page_args(limit: object, offset: object, max_items: object, concurrency: object) -> None:
    """Reject bad paging arguments locally, naming the argument."""
    for name, value, low, high in (
        ("limit", limit, 1, MAX_LIMIT),
        ("offset", offset, 0, None),
        ("concurrency", concurrency, 1, 64),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: must be an int, not {type(value).__name__}")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"{name}: must be {bounds}, got {value}")
    if max_items is not None:
        if isinstance(max_items, bool) or not isinstance(max_items, int):
            raise TypeError(f"max_items: must be an int or None, not {type(max_items).__name__}")
        if max_items < 0:
            raise ValueError(f"max_items: must be at least 0, got {max_items}")


FetchPage = Callable[[int, int], Awaitable[Page[T]]]


class Paginator(Generic[T]):
    """Walks a limit/offset list endpoint. Nothing is requested until it is iterated.

    >>> async for location in ttg.locations.list():
    ...     print(location.name)
    >>> events = await ttg.events.list("1", max_items=200).collect()

    With ``concurrency > 1`` the first page is fetched alone (it tells ``total``); after that
    up to ``concurrency`` pages are in flight at once. Items still come out in server order,
    and at most ``concurrency`` pages are held in memory, whatever the size of the catalog.
    Pages that carry ``has_more`` are fetched ahead on the guess that each is full; a page
    that says there is no more ends the walk, and a short one re-aims the pages ahead.
    """

    def __init__(
        self,
        fetch_page: FetchPage[T],
        *,
        limit: int = 50,
        offset: int = 0,
        max_items: int | None = None,
        concurrency: int = 1,
        compact: Callable[[list[T]], object] | None = None,
    ) -> None:
        check_page_args(limit, offset, max_items, concurrency)
        self._fetch_page = fetch_page
        self._limit = limit
        self._offset = offset
        self._max_items = max_items
        self._concurrency = concurrency
        # Called on each page's items by collect() only, which keeps them all: the API may
        # make equal parts of the items share one object (see the TTG events list).
        self._compact = compact

    def __repr__(self) -> str:
        return (
            f"Paginator(limit={self._limit}, offset={self._offset}, "
            f"max_items={self._max_items}, concurrency={self._concurrency})"
        )

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item
                # Not kept alive while the next page loads: a stream holds one page at most.
                del page

    async def collect(self) -> list[T]:
        """Every item of every page, in server order.

        Page by page rather than item by item; equal parts of the items of a page (an
        event's location and venue, for TTG) may be one shared object, since all are kept.
        """
        items: list[T] = []
        compact = self._compact
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                if compact is not None:
                    compact(page.items)
                items.extend(page.items)
        return items

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """The pages themselves, each trimmed so that no more than ``max_items`` come out."""
        remaining = self._max_items
        if remaining == 0:
            return
        async with aclosing(self._raw_pages()) as raw_pages:
            async for page in raw_pages:
                if remaining is not None and len(page.items) >= remaining:
                    yield dataclasses.replace(page, items=page.items[:remaining])
                    return
                if remaining is not None:
                    remaining -= len(page.items)
                yield page
                del page

    def _wanted_end(self) -> int | None:
        return None if self._max_items is None else self._offset + self._max_items

    async def _raw_pages(self) -> AsyncGenerator[Page[T], None]:
        requested = self._offset
        page = await self._fetch_page(requested, self._limit)
        yield page
        if self._concurrency == 1:
            following = next_offset(page)
            wanted_end = self._wanted_end()
            # An offset that does not move forward would fetch the same page forever.
            while (
                following is not None
                and following > requested
                and (wanted_end is None or following < wanted_end)
            ):
                requested = following
                del page  # the caller has it; the next one loads without it
                page = await self._fetch_page(requested, self._limit)
                yield page
                following = next_offset(page)
            return
        ahead = self._ahead_while_more(page) if page.has_more is not None else None
        async with aclosing(ahead or self._prefetched(page)) as later_pages:
            async for later in later_pages:
                yield later

    async def _ahead_while_more(self, first: Page[T]) -> AsyncGenerator[Page[T], None]:
        """Pages that carry ``has_more``, up to ``concurrency`` fetched ahead.

        Only each page says whether another follows, so the pages ahead are a guess that
        every page is full. A short page that still has more ends the guess: the pages
        fetched beyond it are dropped and the walk goes on from where it really stands. A
        page without more (or an empty one) ends the walk; the guesses past it are dropped.
        """
        limit = self._limit
        wanted_end = self._wanted_end()
        planned = next_offset(first)
        window: deque[tuple[int, asyncio.Task[Page[T]]]] = deque()

        def plan_more() -> None:
            nonlocal planned
            while (
                planned is not None
                and len(window) < self._concurrency
                and (wanted_end is None or planned < wanted_end)
            ):
                task = asyncio.ensure_future(self._fetch_page(planned, limit))
                window.append((planned, task))
                planned += limit

        async def drop_window() -> None:
            for _, task in window:
                task.cancel()
            if window:
                await asyncio.gather(*(task for _, task in window), return_exceptions=True)
            window.clear()

        try:
            plan_more()
            while window:
                asked, task = window.popleft()
                page = await task
                yield page
                following = next_offset(page)
                if following is None or following <= asked:
                    return
                if following != asked + limit:
                    await drop_window()  # misaligned guesses: start again from here
                    planned = following
                plan_more()
        finally:
            await drop_window()

    async def _prefetched(self, first: Page[T]) -> AsyncGenerator[Page[T], None]:
        step = first.limit if first.limit > 0 else self._limit
        total = first.total
        wanted_end = self._wanted_end()
        following = next_offset(first)
        window: deque[asyncio.Task[Page[T]]] = deque()

        def plan_more() -> None:
            nonlocal following
            while following is not None and len(window) < self._concurrency:
                if following >= total or (wanted_end is not None and following >= wanted_end):
                    following = None
                    return
                window.append(asyncio.ensure_future(self._fetch_page(following, self._limit)))
                following += step

        try:
            plan_more()
            while window:
                page = await window.popleft()
                if page.offset >= total:
                    return
                yield page
                if not page.items:
                    return
                # A total that shrinks mid-walk ends the walk at the new total.
                total = min(total, page.total)
                plan_more()
        finally:
            for task in window:
                task.cancel()
            if window:
                await asyncio.gather(*window, return_exceptions=True)


A = TypeVar("A")


def paginate(
    request: Callable[[dict[str, object]], Awaitable[A]],
    to_page: Callable[[A, int, int], Page[T]],
    query: Mapping[str, object],
    *,
    limit: int,
    offset: int,
    max_items: int | None = None,
    concurrency: int = 1,
    first_page_plain: bool = False,
    compact: Callable[[list[T]], object] | None = None,
) -> Paginator[T]:
    """A [`Paginator`][ttg_async.Paginator] over a limit/offset list endpoint of any API.

    ``request(query)`` makes one call and returns its decoded answer; ``to_page(answer,
    limit, offset)`` reads that answer as a [`Page`][ttg_async.Page] (each API knows its own
    pagination object). ``limit`` and ``offset`` join ``query`` on every page, except on the first
    page when ``first_page_plain`` is set (for lists the API documents as unpaginated).

    >>> paginator = paginate(call_events, events_page, {"q": "jazz"}, limit=20, offset=0)
    """

    async def fetch(page_offset: int, page_limit: int) -> Page[T]:
        paging: dict[str, object] = {"limit": page_limit, "offset": page_offset}
        if first_page_plain and page_offset == offset:
            paging = {}
        answer = await request({**query, **paging})
        return to_page(answer, page_limit, page_offset)

    return Paginator(
        fetch,
        limit=limit,
        offset=offset,
        max_items=max_items,
        concurrency=concurrency,
        compact=compact,
    )
