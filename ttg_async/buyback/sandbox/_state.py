"""The Buyback sandbox's mutable state: partners, tokens, quotes, orders, clock and counters.

Every partner sees only its own quotes and orders: a quote or order of another partner is
answered exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from ttg_async.buyback.sandbox._catalog import Catalog, Event, Section, price_per_ticket

TEST_PREFIX: Final = "tbb_test_"
TEST_SECRET: Final = "secret"
#: Test partners whose ID starts so have no payment method, or are suspended.
#: How many requests the wire log keeps (tests read few; a long demo must not fill memory).
WIRE_LOG_SIZE: Final = 10_000
NO_PAYMENT_PREFIX: Final = "tbb_test_nopay"
SUSPENDED_PREFIX: Final = "tbb_test_suspended"
DELIVERY_TYPES: Final = ("mobile_transfer", "mobile_qr", "pdf")
#: The published versions of the docs the sandbox can follow.
DOCS_VERSIONS: Final = ("routable", "payout")


@dataclass
class Partner:
    """A partner account. IDs starting ``tbb_test_`` exist on first use with secret ``secret``."""

    client_id: str
    secret: str = TEST_SECRET
    payment_configured: bool = True
    suspended: bool = False


@dataclass
class IssuedToken:
    value: str
    client_id: str
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class QuoteRecord:
    quote_id: str
    client_id: str
    event: Event
    section: Section
    row: str | None
    quantity: int
    price: Decimal
    created_at: float
    expires_at: float
    order_id: str | None = None
    #: The payout version's optional fields, as sent (wire names, JSON values).
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrderRecord:
    order_id: str
    client_id: str
    quote: QuoteRecord
    delivery_type: str
    created_at: float
    delivery_deadline: str | None = None  # the JSON (seed) form
    is_ready_to_deliver: bool | None = None  # the multipart (payout) form
    in_hand_date: str | None = None
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body as the sandbox received it.

    ``text`` is the part's value decoded as UTF-8 for a part without a file name (``None``
    for a file); ``size`` counts the bytes of its content.
    """

    name: str | None
    content_type: str | None
    filename: str | None
    size: int
    text: str | None


@dataclass(slots=True)
class BodyRecord:
    """What one request carried, as the sandbox read it. See ``BuybackSandbox.wire_log``.

    ``content_type`` and ``length`` are the request's headers as sent; ``json`` the decoded
    JSON body (types as on the wire: a number stays a number, a string a string), ``parts``
    the parts of a multipart body, and ``status`` the status the sandbox answered with.
    """

    seq: int
    route: str
    request_id: str | None
    content_type: str | None
    length: int | None = None
    json: Any = None
    parts: list[Part] | None = None
    status: int | None = None


@dataclass
class Counters:
    """Requests per route template, attempts per X-Request-ID, token requests per client."""

    requests: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    token_requests: dict[str, int] = field(default_factory=dict)
    bodies: deque[BodyRecord] = field(default_factory=lambda: deque(maxlen=WIRE_LOG_SIZE))
    seq: int = 0

    def record(
        self, route: str, request_id: str | None, content_type: str | None, length: int | None
    ) -> BodyRecord:
        self.seq += 1
        record = BodyRecord(self.seq, route, request_id, content_type, length)
        self.bodies.append(record)  # the oldest record drops out once the log is full
        return record

    def seen(self, route: str | None) -> int:
        """Requests for one route template, or for all when ``route`` is ``None``."""
        if route is not None:
            return self.requests.get(route, 0)
        return sum(self.requests.values())

    def clear(self) -> None:
        for counts in (self.requests, self.attempts, self.token_requests):
            counts.clear()
        self.bodies.clear()


def iso(epoch: float) -> str:
    """A UTC timestamp with milliseconds: short-lived tokens need sub-second precision."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class State:
    """Partners, tokens, quotes and orders, on a clock tests can move forward."""

    def __init__(
        self, catalog: Catalog, token_lifetime: float, quote_ttl: float, docs_version: str
    ) -> None:
        self.catalog = catalog
        self.docs_version = docs_version
        self.token_lifetime = token_lifetime
        self.quote_ttl = quote_ttl
        self.clock_offset = 0.0
        # When set, the clock stands still at this instant and moves only by `advance`.
        self.frozen_at: float | None = None
        self.tokens_born_expired = False
        self.partners: dict[str, Partner] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.quotes: dict[str, QuoteRecord] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.counters = Counters()

    def now(self) -> float:
        base = time.time() if self.frozen_at is None else self.frozen_at
        return base + self.clock_offset

    # -- partners and tokens ------------------------------------------------------------
    def partner(self, client_id: str) -> Partner | None:
        partner = self.partners.get(client_id)
        if partner is None and client_id.startswith(TEST_PREFIX) and len(client_id) > 9:
            partner = self.partners[client_id] = Partner(
                client_id,
                payment_configured=not client_id.startswith(NO_PAYMENT_PREFIX),
                suspended=client_id.startswith(SUSPENDED_PREFIX),
            )
        return partner

    def issue_token(self, partner: Partner) -> IssuedToken:
        now = self.now()
        token = IssuedToken(
            value=f"tbbtok_{secrets.token_urlsafe(24)}",
            client_id=partner.client_id,
            issued_at=now,
            expires_at=now if self.tokens_born_expired else now + self.token_lifetime,
        )
        self.tokens[token.value] = token
        return token

    def revoke(self, client_id: str | None) -> int:
        count = 0
        for token in self.tokens.values():
            if not token.revoked and (client_id is None or token.client_id == client_id):
                token.revoked = True
                count += 1
        return count

    # -- quotes and orders ---------------------------------------------------------------
    def create_quote(
        self,
        partner: Partner,
        event: Event,
        section: Section,
        row: str | None,
        quantity: int,
        extras: dict[str, Any],
    ) -> QuoteRecord:
        now = self.now()
        quote = QuoteRecord(
            quote_id=f"qt_{secrets.token_hex(8)}",
            client_id=partner.client_id,
            event=event,
            section=section,
            row=row,
            quantity=quantity,
            price=price_per_ticket(event, section, row),
            created_at=now,
            expires_at=now + self.quote_ttl,
            extras=extras,
        )
        self.quotes[quote.quote_id] = quote
        return quote

    def visible_quote(self, partner: Partner, quote_id: str) -> QuoteRecord | None:
        quote = self.quotes.get(quote_id)
        return quote if quote is not None and quote.client_id == partner.client_id else None

    def has_quote(self, partner: Partner, event: Event, section: Section) -> bool:
        """Whether the partner holds a quote for this section of this event."""
        return any(
            q.client_id == partner.client_id and q.event is event and q.section is section
            for q in self.quotes.values()
        )

    def create_order(
        self, partner: Partner, quote: QuoteRecord, delivery_type: str, **form: Any
    ) -> OrderRecord:
        order = OrderRecord(
            order_id=f"ord_{secrets.token_hex(8)}",
            client_id=partner.client_id,
            quote=quote,
            delivery_type=delivery_type,
            created_at=self.now(),
            **form,
        )
        quote.order_id = order.order_id
        self.orders[order.order_id] = order
        return order


def quote_wire(quote: QuoteRecord, now: float) -> dict[str, Any]:
    event = quote.event
    if quote.order_id is not None:
        status = "consumed"
    elif now >= quote.expires_at:
        status = "expired"
    else:
        status = "active"
    return {
        "quote_id": quote.quote_id,
        "status": status,
        "expires_at": iso(quote.expires_at),
        "event": {
            "event_id": event.event_id,
            "event_name": event.name,
            "event_datetime_utc": event.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "event_datetime_local": event.local_start.strftime("%Y-%m-%dT%H:%M:%S"),
            "event_timezone": event.timezone,
        },
        "section_name": quote.section.name,
        "row_name": quote.row,
        "quantity": quote.quantity,
        "price_per_ticket": quote.price,
        "total_price": quote.price * quote.quantity,
        "currency": "USD",
        "created_at": iso(quote.created_at),
    }


def order_wire(order: OrderRecord) -> dict[str, Any]:
    quote = order.quote
    form: dict[str, Any] = {"delivery_deadline": order.delivery_deadline}
    if order.is_ready_to_deliver is not None:
        form = {
            "is_ready_to_deliver": order.is_ready_to_deliver,
            "in_hand_date": order.in_hand_date,
        }
    return {
        "order_id": order.order_id,
        "status": "confirmed",
        "transfer_email": f"transfer+{order.order_id}@sandbox.ticketbuyback.test",
        "quote_id": quote.quote_id,
        "delivery_type": order.delivery_type,
        **form,
        "quantity": quote.quantity,
        "total_price": quote.price * quote.quantity,
        "currency": "USD",
        "created_at": iso(order.created_at),
    }
