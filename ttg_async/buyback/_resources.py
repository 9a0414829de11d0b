"""The Buyback resources: each names a path, a query or body, and a response type.

Arguments are checked before any request and errors name the argument (the bodies of the
two POSTs are built in ``_bodies``). Path segments are percent-encoded whole (section names
hold spaces, ``&`` and ``#``). Every method also takes ``extra_headers=`` and ``timeout=``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar

from ttg_async._core.checks import iso_date
from ttg_async._core.config import NOT_GIVEN, NotGiven
from ttg_async._core.options import CallOptions, call_options
from ttg_async._core.pagination import Page, Paginator, check_page_args, paginate
from ttg_async._core.transport import RawResponse
from ttg_async.buyback._bodies import (
    DELIVERY_TYPES,
    OrderFile,
    json_order_body,
    multipart_order_body,
    quote_body,
    sendable_id,
    sendable_text,
)
from ttg_async.buyback._models import BuybackEvent, BuybackOrder, Quote, Row, Section
from ttg_async.buyback._protocol import PreparedBody, decode_data, decode_list, page_from, path

if TYPE_CHECKING:
    from ttg_async.buyback._models import BuybackPagination

__all__ = ["DELIVERY_TYPES", "Events", "Orders", "Quotes", "Rows", "Sections"]

T = TypeVar("T")

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
        body: Mapping[str, Any] | PreparedBody | None = None,
        options: CallOptions | None = None,
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
_QUOTE: Final = _one(Quote)
_ORDER: Final = _one(BuybackOrder)


def _text_filter(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str or None, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{field}: must not be empty; pass None to leave the filter out")
    return sendable_text(value, field)


def _walk(
    call: _Call,
    request_path: str,
    type_: type[T],
    query: Mapping[str, object],
    options: CallOptions | None,
    **paging: Any,
) -> Paginator[T]:
    """A paginator over a Buyback list: ``call`` makes each page's GET."""
    decode = _many(type_)

    async def request(page_query: dict[str, object]) -> _Listed[T]:
        return await call("GET", request_path, decode, query=page_query, options=options)

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
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
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
            call_options(extra_headers, timeout),
            limit=limit,
            offset=offset,
            max_items=max_items,
            concurrency=concurrency,
        )

    async def get(
        self,
        event_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> BuybackEvent:
        """One event.

        >>> event = await tbb.events.get("evt_1001")
        """
        request_path = path("events", sendable_id(event_id, "event_id"))
        options = call_options(extra_headers, timeout)
        return await self._call("GET", request_path, _EVENT, options=options)


class Sections(_Resource):
    """``tbb.sections``: the sections of an event's venue."""

    __slots__ = ()

    async def list(
        self,
        event_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> list[Section]:
        """Every section of an event: pages are followed while ``has_more`` and joined.

        >>> names = [s.section_name for s in await tbb.sections.list("evt_1001")]
        """
        request_path = path("events", sendable_id(event_id, "event_id"), "sections")
        walk = _walk(
            self._call,
            request_path,
            Section,
            {},
            call_options(extra_headers, timeout),
            limit=MAX_EVENTS_LIMIT,
            offset=0,
            first_page_plain=True,
        )
        return await walk.collect()


class Rows(_Resource):
    """``tbb.rows``: the rows of a section."""

    __slots__ = ()

    async def list(
        self,
        event_id: str,
        section_name: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> list[Row]:
        """Every row of a section. ``section_name`` is sent percent-encoded.

        >>> rows = await tbb.rows.list("evt_1001", "Club & Suites")
        """
        request_path = path(
            "events",
            sendable_id(event_id, "event_id"),
            "sections",
            sendable_id(section_name, "section_name"),
            "rows",
        )
        walk = _walk(
            self._call,
            request_path,
            Row,
            {},
            call_options(extra_headers, timeout),
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
        section_name_display: str | None = None,
        row_name_display: str | None = None,
        face_value: Decimal | int | float | None = None,
        seat_start: str | None = None,
        seat_end: str | None = None,
        general_admission: bool | None = None,
        is_view_restricted: bool | None = None,
        restriction_detail: str | None = None,
        restrictions: Sequence[str] | None = None,
        user_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Quote:
        """A quote, good until ``quote.expires_at``; it makes exactly one order.

        The keyword fields after ``row_name`` are the "payout" version's; each is sent only
        when given. ``face_value`` (US dollars) is sent as a JSON number; ``user_metadata``
        takes ``first_name``, ``last_name``, ``email`` and ``phone_number``.

        Not sent again after a lost answer (the API has no idempotency key): a timeout raises
        with ``outcome_unknown``, and the unknown quote simply expires.

        >>> quote = await tbb.quotes.create(
        ...     "evt_1001", "Floor A", 2, row_name="C", face_value=Decimal("89.50")
        ... )
        """
        body = quote_body(
            event_id,
            section_name,
            quantity,
            row_name=row_name,
            section_name_display=section_name_display,
            row_name_display=row_name_display,
            face_value=face_value,
            seat_start=seat_start,
            seat_end=seat_end,
            general_admission=general_admission,
            is_view_restricted=is_view_restricted,
            restriction_detail=restriction_detail,
            restrictions=restrictions,
            user_metadata=user_metadata,
        )
        options = call_options(extra_headers, timeout)
        return await self._call("POST", path("quotes"), _QUOTE, body=body, options=options)


class Orders(_Resource):
    """``tbb.orders``: turn a quote into a confirmed order."""

    __slots__ = ()

    async def create(
        self,
        quote_id: str,
        *,
        delivery_type: str,
        delivery_deadline: datetime | None = None,
        is_ready_to_deliver: bool | None = None,
        in_hand_date: date | str | None = None,
        file: OrderFile | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> BuybackOrder:
        """Confirm an order; its ``transfer_email`` receives the tickets from your customer.

        Give exactly one of two forms (the two published versions of the API):

        - ``delivery_deadline`` (a timezone-aware ``datetime`` before the event, sent in
          UTC): a JSON order, as the seed docs describe it.
        - ``is_ready_to_deliver`` (bool): a ``multipart/form-data`` order, as the "payout"
          docs describe it, with ``in_hand_date`` (a ``date`` or ``YYYY-MM-DD``; required
          when not ready) and ``file`` (the ticket PDF as bytes or a path, at most 10 MB;
          required for ``pdf`` delivery, refused otherwise).

        ``delivery_type`` is ``"mobile_transfer"``, ``"mobile_qr"`` or ``"pdf"``. Never sent
        twice once it may have been sent: a lost answer raises with
        ``outcome_unknown=True``; see ``docs/buyback.md``.

        >>> order = await tbb.orders.create(
        ...     quote.quote_id,
        ...     delivery_type="mobile_transfer",
        ...     delivery_deadline=datetime(2026, 3, 1, 12, tzinfo=UTC),
        ... )
        >>> order = await tbb.orders.create(
        ...     quote.quote_id, delivery_type="pdf", is_ready_to_deliver=True, file="t.pdf"
        ... )
        """
        multipart = is_ready_to_deliver is not None
        if delivery_deadline is not None and multipart:
            raise ValueError(
                "delivery_deadline: give it (a JSON order) or is_ready_to_deliver "
                "(a multipart order), not both"
            )
        body: Mapping[str, Any] | PreparedBody
        if multipart:
            body = await multipart_order_body(
                quote_id, delivery_type, is_ready_to_deliver, in_hand_date, file
            )
        elif delivery_deadline is None:
            raise ValueError(
                "delivery_deadline: required, unless the order is a multipart one "
                "(is_ready_to_deliver=True or False)"
            )
        else:
            for name, value in (("in_hand_date", in_hand_date), ("file", file)):
                if value is not None:
                    raise ValueError(
                        f"{name}: belongs to a multipart order (is_ready_to_deliver=...), "
                        "not to one with a delivery_deadline"
                    )
            body = json_order_body(quote_id, delivery_type, delivery_deadline)
        options = call_options(extra_headers, timeout)
        return await self._call("POST", path("orders"), _ORDER, body=body, options=options)
