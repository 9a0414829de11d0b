"""The Buyback resources: each names a path, a query or body, and a response type.

Arguments are checked before any request and errors name the argument. Path segments are
percent-encoded whole (section names hold spaces, ``&`` and ``#``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar

from ttg_async._core.checks import check_id, check_quantity, check_sendable, iso_date
from ttg_async._core.pagination import Page, Paginator, check_page_args, paginate
from ttg_async._core.transport import RawResponse
from ttg_async.buyback._models import BuybackEvent, BuybackOrder, Quote, Row, Section
from ttg_async.buyback._protocol import decode_data, decode_list, page_from, path

if TYPE_CHECKING:
    from ttg_async.buyback._models import BuybackPagination

__all__ = ["DELIVERY_TYPES", "Events", "Orders", "Quotes", "Rows", "Sections"]

T = TypeVar("T")

#: The documented delivery types of an order.
DELIVERY_TYPES: Final = ("mobile_transfer", "mobile_qr", "pdf")
#: The largest page the events list accepts.
MAX_EVENTS_LIMIT: Final = 100


class _Call(Protocol):
    """The narrow interface resources get from the client: one call through the pipeline."""

    def __call__(
        self,
        method: str,
        request_path: str,
        decode: Callable[[RawResponse, str], T],
        *,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Awaitable[T]: ...


def _one(type_: type[T]) -> Callable[[RawResponse, str], T]:
    def decode(raw: RawResponse, request_id: str) -> T:
        return decode_data(raw, type_, request_id=request_id)

    return decode


def _many(
    type_: type[T],
) -> Callable[[RawResponse, str], tuple[list[T], BuybackPagination | None]]:
    def decode(raw: RawResponse, request_id: str) -> tuple[list[T], BuybackPagination | None]:
        return decode_list(raw, type_, request_id=request_id)

    return decode


_Listed: TypeAlias = tuple[list[T], "BuybackPagination | None"]


def _page_of(answer: _Listed[T], limit: int, offset: int) -> Page[T]:
    # The offset asked for, not the one echoed: a wrong echo cannot stall the walk.
    return page_from(answer[0], answer[1], limit=limit, offset=offset)


_EVENT: Final = _one(BuybackEvent)
_EVENTS: Final = _many(BuybackEvent)
_SECTIONS: Final = _many(Section)
_ROWS: Final = _many(Row)
_QUOTE: Final = _one(Quote)
_ORDER: Final = _one(BuybackOrder)


def _text_filter(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str or None, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{field}: must not be empty; pass None to leave the filter out")
    return check_sendable(value, field)


def utc_deadline(value: object, field: str = "delivery_deadline") -> str:
    """A timezone-aware ``datetime`` as an ISO 8601 UTC timestamp (``...Z``).

    >>> from datetime import timedelta, timezone
    >>> utc_deadline(datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=1))))
    '2026-03-01T19:00:00Z'
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{field}: must be a timezone-aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: must be timezone-aware (a naive datetime's zone is a guess)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{field}: {value.isoformat()} in UTC is outside years 1-9999") from None
    return utc.isoformat().replace("+00:00", "Z")


def _walk(
    call: _Call, request_path: str, type_: type[T], query: Mapping[str, object], **paging: Any
) -> Paginator[T]:
    """A paginator over a Buyback list: ``call`` makes each page's GET."""
    decode = _many(type_)

    async def request(page_query: dict[str, object]) -> _Listed[T]:
        return await call("GET", request_path, decode, query=page_query)

    return paginate(request, _page_of, query, **paging)


@dataclass(frozen=True, slots=True)
class _Resource:
    """A resource holds only the narrow ``call`` interface it got from the client."""

    _call: _Call


class Events(_Resource):
    """``tbb.events``: discover events.

    >>> async for event in tbb.events.list(performer_name="Owls", date_from="2026-03-01"):
    ...     print(event.event_id, event.event_name)
    """

    __slots__ = ()

    def list(
        self,
        *,
        q: str | None = None,
        event_id: str | None = None,
        venue_id: str | None = None,
        venue_name: str | None = None,
        performer_id: str | None = None,
        performer_name: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        limit: int = 20,
        offset: int = 0,
        max_items: int | None = None,
        concurrency: int = 1,
    ) -> Paginator[BuybackEvent]:
        """Events matching every filter given, walked page by page while ``has_more``.

        ``date_from``/``date_to`` take a ``date`` or ``YYYY-MM-DD`` and are inclusive.
        ``limit`` is the page size (1-100). Pages are fetched one at a time.

        >>> events = await tbb.events.list(q="arena", max_items=50).collect()
        """
        check_page_args(limit, offset, max_items, concurrency)
        if limit > MAX_EVENTS_LIMIT:
            raise ValueError(f"limit: must be between 1 and {MAX_EVENTS_LIMIT}, got {limit}")
        start = iso_date(date_from, "date_from")
        end = iso_date(date_to, "date_to")
        if start and end and start > end:
            raise ValueError(f"date_to: {end} is before date_from {start}")
        query: dict[str, object] = {
            "q": _text_filter(q, "q"),
            "event_id": _text_filter(event_id, "event_id"),
            "venue_id": _text_filter(venue_id, "venue_id"),
            "venue_name": _text_filter(venue_name, "venue_name"),
            "performer_id": _text_filter(performer_id, "performer_id"),
            "performer_name": _text_filter(performer_name, "performer_name"),
            "date_from": start,
            "date_to": end,
        }
        return _walk(
            self._call,
            path("events"),
            BuybackEvent,
            query,
            limit=limit,
            offset=offset,
            max_items=max_items,
            concurrency=concurrency,
        )

    async def get(self, event_id: str) -> BuybackEvent:
        """One event.

        >>> event = await tbb.events.get("evt_1001")
        """
        request_path = path("events", check_id(event_id, "event_id"))
        return await self._call("GET", request_path, _EVENT)


class Sections(_Resource):
    """``tbb.sections``: the sections of an event's venue."""

    __slots__ = ()

    async def list(self, event_id: str) -> list[Section]:
        """Every section of an event (pages, should the server send any, are joined).

        >>> names = [s.section_name for s in await tbb.sections.list("evt_1001")]
        """
        request_path = path("events", check_id(event_id, "event_id"), "sections")
        walk = _walk(
            self._call,
            request_path,
            Section,
            {},
            limit=MAX_EVENTS_LIMIT,
            offset=0,
            first_page_plain=True,
        )
        return await walk.collect()


class Rows(_Resource):
    """``tbb.rows``: the rows of a section."""

    __slots__ = ()

    async def list(self, event_id: str, section_name: str) -> list[Row]:
        """Every row of a section. ``section_name`` is sent percent-encoded.

        >>> rows = await tbb.rows.list("evt_1001", "Club & Suites")
        """
        request_path = path(
            "events",
            check_id(event_id, "event_id"),
            "sections",
            check_id(section_name, "section_name"),
            "rows",
        )
        walk = _walk(
            self._call,
            request_path,
            Row,
            {},
            limit=MAX_EVENTS_LIMIT,
            offset=0,
            first_page_plain=True,
        )
        return await walk.collect()


class Quotes(_Resource):
    """``tbb.quotes``: lock in a price for a seat and quantity."""

    __slots__ = ()

    async def create(
        self,
        event_id: str,
        section_name: str,
        quantity: int,
        *,
        row_name: str | None = None,
    ) -> Quote:
        """A quote, good until ``quote.expires_at``; it makes exactly one order.

        Not sent again after a lost answer (the API has no idempotency key): a timeout raises
        with ``outcome_unknown``, and the unknown quote simply expires.

        >>> quote = await tbb.quotes.create("evt_1001", "Floor A", 2, row_name="C")
        """
        body: dict[str, object] = {
            "event_id": check_id(event_id, "event_id"),
            "section_name": check_id(section_name, "section_name"),
            "quantity": check_quantity(quantity),
        }
        if row_name is not None:
            body["row_name"] = check_id(row_name, "row_name")
        return await self._call("POST", path("quotes"), _QUOTE, body=body)


class Orders(_Resource):
    """``tbb.orders``: turn a quote into a confirmed order."""

    __slots__ = ()

    async def create(
        self, quote_id: str, *, delivery_type: str, delivery_deadline: datetime
    ) -> BuybackOrder:
        """Confirm an order; its ``transfer_email`` receives the tickets from your customer.

        ``delivery_type`` is ``"mobile_transfer"``, ``"mobile_qr"`` or ``"pdf"``;
        ``delivery_deadline`` a timezone-aware ``datetime`` (sent in UTC) before the event.
        A lost answer raises with ``outcome_unknown=True``; see ``docs/buyback.md``.

        >>> order = await tbb.orders.create(
        ...     quote.quote_id,
        ...     delivery_type="mobile_transfer",
        ...     delivery_deadline=datetime(2026, 3, 1, 12, tzinfo=UTC),
        ... )
        >>> order.transfer_email
        """
        qid = check_id(quote_id, "quote_id")
        if not isinstance(delivery_type, str):
            raise TypeError(f"delivery_type: must be a str, not {type(delivery_type).__name__}")
        if delivery_type not in DELIVERY_TYPES:
            raise ValueError(
                f"delivery_type: must be one of {', '.join(DELIVERY_TYPES)}, got {delivery_type!r}"
            )
        body = {
            "quote_id": qid,
            "delivery_type": delivery_type,
            "delivery_deadline": utc_deadline(delivery_deadline),
        }
        return await self._call("POST", path("orders"), _ORDER, body=body)
