"""msgspec Structs for the Ticket Buyback wire objects, and their envelopes.

Wire names are snake_case, exactly as the API sends them, so no renaming happens. Unknown
fields are ignored, enum-like fields (``status``, ``delivery_type``) are plain ``str`` so a new
value never breaks decoding, and every field the docs do not promise is optional.

>>> import msgspec
>>> msgspec.json.decode(b'{"section_id": "s1", "section_name": "Club & Suites"}', type=Section)
Section(section_id='s1', section_name='Club & Suites', section_name_display=None, \
section_desc=None, is_ga=None, has_quote=None)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeAlias, TypeVar

import msgspec

__all__ = [
    "BuybackDataEnvelope",
    "BuybackEvent",
    "BuybackListEnvelope",
    "BuybackModel",
    "BuybackOrder",
    "BuybackPagination",
    "BuybackPerformer",
    "BuybackVenue",
    "Meta",
    "Quote",
    "QuoteEvent",
    "Row",
    "Section",
    "Token",
]

T = TypeVar("T")

#: A timestamp that must carry an offset: a naive one is a decode error, not a silent guess.
AwareDatetime: TypeAlias = Annotated[datetime, msgspec.Meta(tz=True)]


class BuybackModel(msgspec.Struct, kw_only=True, frozen=True):
    """The base of every Buyback model: keyword-only, frozen, snake_case on the wire.

    >>> class Thing(BuybackModel, kw_only=True, frozen=True):
    ...     thing_id: str
    >>> msgspec.json.encode(Thing(thing_id="t1"))
    b'{"thing_id":"t1"}'
    """


class BuybackVenue(BuybackModel, kw_only=True, frozen=True):
    """Where an event takes place.

    Attributes:
        venue_id: The venue's ID; filter events with ``venue_id=``.
        venue_name: Its display name.
        city: The city, when sent.
        state: The state or region, when sent.
        country: The country, when sent.
        timezone: IANA time zone name of the venue, when sent.

    >>> BuybackVenue(venue_id="v1", venue_name="Arena").city is None
    True
    """

    venue_id: str
    # The payout version of the docs does not promise a name.
    venue_name: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    timezone: str | None = None


class BuybackPerformer(BuybackModel, kw_only=True, frozen=True):
    """A performer (artist, team) of an event.

    Attributes:
        performer_id: The performer's ID; filter events with ``performer_id=``.
        performer_name: Its display name.

    >>> BuybackPerformer(performer_id="p1", performer_name="The Band").performer_name
    'The Band'
    """

    performer_id: str
    performer_name: str


class BuybackEvent(BuybackModel, kw_only=True, frozen=True):
    """An event partners can buy tickets back for.

    ``event_datetime_utc`` is timezone-aware; ``event_datetime_local`` is the wall-clock time
    at the venue (in ``event_timezone``), naive unless the server adds an offset.

    Attributes:
        event_id: The event's ID; pass it to ``sections.list``, ``rows.list`` and ``quotes.create``.
        event_name: The event's title.
        event_datetime_utc: When it starts, timezone-aware (UTC).
        event_datetime_local: When it starts, in the venue's local wall-clock time (naive).
        event_timezone: IANA time zone name of ``event_datetime_local``.
        venue: Where it takes place.
        performers: Who performs, in the server's order.
        category: The server's category string, kept as sent.
        status: The server's status string, kept as sent.

    >>> async for event in tbb.events.list(q="jazz"):
    ...     print(event.event_id, event.event_name, event.event_datetime_utc)
    """

    event_id: str
    event_name: str
    event_datetime_utc: AwareDatetime
    event_datetime_local: datetime | None = None
    event_timezone: str | None = None
    venue: BuybackVenue | None = None
    performers: list[BuybackPerformer] = []
    category: str | None = None
    status: str | None = None


class Section(BuybackModel, kw_only=True, frozen=True):
    """A section of an event's venue. Pass ``section_name`` to rows and quotes.

    The seed ("Routable") version of the docs sends ``section_id``; the "payout" version
    leaves it out and adds ``section_desc``, ``is_ga`` (general admission) and ``has_quote``.
    Each is ``None`` when the server does not send it.

    Attributes:
        section_id: The section's ID, when sent (the payout version sends none).
        section_name: The name to pass to ``rows.list`` and ``quotes.create``.
        section_name_display: The name to show, when it differs.
        section_desc: A description of the section (payout version), or ``None``.
        is_ga: Whether the section is general admission (payout version), or ``None``.
        has_quote: Whether the section can be quoted now (payout version), or ``None``.

    >>> for section in await tbb.sections.list("evt_1001"):
    ...     print(section.section_name_display or section.section_name)
    """

    section_id: str | None = None
    section_name: str
    section_name_display: str | None = None
    section_desc: str | None = None
    is_ga: bool | None = None
    has_quote: bool | None = None


class Row(BuybackModel, kw_only=True, frozen=True):
    """A row of a section. Pass ``row_name`` to ``quotes.create`` to quote one row.

    Attributes:
        row_name: The name to pass to ``quotes.create`` as ``row_name``.
        row_name_display: The name to show, when it differs.
        available_quantity: The quantity the server reports for this row, when sent.

    >>> rows = await tbb.rows.list("evt_1001", "Club & Suites")
    >>> rows[0].row_name
    'A'
    """

    row_name: str
    row_name_display: str | None = None
    available_quantity: int | None = None


class QuoteEvent(BuybackModel, kw_only=True, frozen=True):
    """The event a quote is for, as the quote repeats it (fields may be partial).

    Attributes:
        event_id: The event's ID, when sent.
        event_name: The event's title, when sent.
        event_datetime_utc: When it starts (UTC), when sent.

    >>> quote.event.event_id  # doctest: +SKIP
    'evt_1001'
    """

    event_id: str | None = None
    event_name: str | None = None
    event_datetime_utc: AwareDatetime | None = None
    # Wall-clock time at the venue, in ``event_timezone`` (naive unless an offset is sent).
    event_datetime_local: datetime | None = None
    event_timezone: str | None = None


class Quote(BuybackModel, kw_only=True, frozen=True):
    """A price for a seat and quantity, good until ``expires_at``. One quote makes one order.

    Prices are ``Decimal`` amounts in ``currency``'s major units.

    Attributes:
        quote_id: The quote's ID; pass it to ``orders.create``.
        status: The server's status string (e.g. ``"active"``), kept as sent.
        expires_at: When the quote lapses; after it, ordering raises
            [`QuoteExpiredError`][ttg_async.buyback.QuoteExpiredError].
        event: The event quoted, as the quote repeats it.
        section_name: The section quoted.
        row_name: The row quoted, when one was named.
        quantity: How many tickets.
        price_per_ticket: What the partner pays per ticket, in ``currency``.
        total_price: What the partner pays in all, in ``currency``.
        currency: The ISO 4217 code of the prices.
        created_at: When the quote was made.

    >>> quote = await tbb.quotes.create("evt_1001", "Floor A", 2, row_name="C")
    >>> quote.quote_id, quote.total_price, quote.expires_at
    """

    quote_id: str
    status: str
    expires_at: AwareDatetime
    event: QuoteEvent | None = None
    section_name: str | None = None
    row_name: str | None = None
    quantity: int | None = None
    price_per_ticket: Decimal | None = None
    total_price: Decimal | None = None
    currency: str | None = None
    created_at: AwareDatetime | None = None


class BuybackOrder(BuybackModel, kw_only=True, frozen=True):
    """A confirmed order. Your customer transfers the tickets to ``transfer_email``.

    Attributes:
        order_id: The order's ID.
        status: The server's status string (e.g. ``"confirmed"``), kept as sent; ``None``
            when the server sends none (the docs promise an order only its ID and its
            transfer email, and a placed order must always come back).
        transfer_email: Where your customer transfers the tickets.
        quote_id: The quote the order was made from.
        delivery_type: ``"mobile_transfer"``, ``"mobile_qr"`` or ``"pdf"``, as sent.
        delivery_deadline: When the tickets must arrive, when sent.
        quantity: How many tickets.
        total_price: What the partner pays, in ``currency``.
        currency: The ISO 4217 code of the price.
        created_at: When the order was placed.

    >>> order = await tbb.orders.create(
    ...     quote.quote_id, delivery_type="mobile_transfer", delivery_deadline=deadline
    ... )
    >>> order.transfer_email
    """

    order_id: str
    status: str | None = None
    transfer_email: str
    quote_id: str | None = None
    delivery_type: str | None = None
    delivery_deadline: AwareDatetime | None = None
    # The payout version's multipart order echoes these instead of a deadline.
    is_ready_to_deliver: bool | None = None
    in_hand_date: date | None = None
    quantity: int | None = None
    total_price: Decimal | None = None
    currency: str | None = None
    created_at: AwareDatetime | None = None


class Token(BuybackModel, kw_only=True, frozen=True):
    """The answer of ``POST /v1/auth/token`` (private: the client manages tokens itself)."""

    access_token: str
    token_type: str = "Bearer"
    expires_at: AwareDatetime | None = None
    expires_in: float | None = None
    scope: str | None = None

    def __repr__(self) -> str:
        # The token is a credential: never show it.
        return f"Token(token_type={self.token_type!r}, expires_at={self.expires_at!r})"


class Meta(BuybackModel, kw_only=True, frozen=True):
    """The ``meta`` object of every answer."""

    request_id: str | None = None
    timestamp: AwareDatetime | None = None


class BuybackPagination(BuybackModel, kw_only=True, frozen=True):
    """The ``pagination`` object of a list answer. ``has_more`` decides whether to go on."""

    total: int | None = None
    limit: int | None = None
    offset: int | None = None
    has_more: bool | None = None


class BuybackDataEnvelope(BuybackModel, Generic[T], kw_only=True, frozen=True):
    """``{success, data, meta}``."""

    data: T
    success: bool = True
    meta: Meta | None = None


class BuybackListEnvelope(BuybackModel, Generic[T], kw_only=True, frozen=True):
    """``{success, data: [...], pagination, meta}``."""

    data: list[T]
    success: bool = True
    pagination: BuybackPagination | None = None
    meta: Meta | None = None


class BuybackErrorBody(msgspec.Struct, kw_only=True):
    """The ``error`` object of a failed answer (private)."""

    code: str | None = None
    message: str | None = None
    # Loose on purpose: an odd details shape must not cost the caller the code.
    details: Any = None


class BuybackErrorEnvelope(msgspec.Struct, kw_only=True):
    """``{success: false, error, meta}`` (private)."""

    error: BuybackErrorBody
    meta: Any = None
