"""msgspec Structs for every TTG v3 wire object, and the request types.

Python names are snake_case and wire names camelCase (``rename="camel"``). Unknown fields are
ignored. Fields the docs do not guarantee are optional, so a server that leaves them out still
decodes. Two fields are tagged unions on ``_type``: ``InventoryItem.inventory_variant`` and the
entries of ``receipt_lines``. A ``_type`` this version does not know decodes to
[`UnknownVariant`][ttg_async.UnknownVariant] / [`UnknownReceiptLine`][ttg_async.UnknownReceiptLine],
never to an error (see ``_decoding.py``).

>>> Money(18500, "USD").format("en_US")
'$185.00'
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final, Generic, TypeAlias, TypeVar

import msgspec

from ttg_async._core.decoding import register_fallback
from ttg_async._ttg.money import Money

__all__ = [
    "AssignedSeat",
    "Barcode",
    "Cart",
    "CartItem",
    "CartItemInput",
    "Category",
    "Contact",
    "DataEnvelope",
    "Event",
    "Extra",
    "FeeLine",
    "GeneralAdmission",
    "InventoryItem",
    "InventoryVariant",
    "ListEnvelope",
    "Location",
    "Model",
    "Money",
    "Occurrence",
    "Order",
    "OrderItem",
    "Pagination",
    "PriceOption",
    "ProtectionLine",
    "ReceiptLine",
    "SubtotalLine",
    "Ticket",
    "UnknownReceiptLine",
    "UnknownVariant",
    "Venue",
    "VoucherLine",
    "encode",
]

T = TypeVar("T")

#: A timestamp that must carry an offset: a naive one is a decode error, not a silent guess.
AwareDatetime: TypeAlias = Annotated[datetime, msgspec.Meta(tz=True)]


class Model(msgspec.Struct, kw_only=True, rename="camel", frozen=True, gc=False):
    """The base of every model: keyword-only, camelCase on the wire, frozen.

    ``gc=False``: models are frozen and built from JSON, which cannot form a reference
    cycle, so the garbage collector never needs to track them; a crawl that keeps millions of
    them no longer spends its time in collections (see ``docs/performance.md``). Do not put a
    model inside its own ``attributes`` list.

    ``omit_defaults`` stays off, so ``None`` encodes as ``null`` and defaults are always sent
    (``CartItemInput`` must send ``"quantity": 1``). Subclasses repeat ``kw_only`` and ``frozen``
    because mypy's dataclass_transform does not inherit them (msgspec does).

    >>> class Seat(Model, kw_only=True, frozen=True):
    ...     seat_number: str
    >>> encode(Seat(seat_number="101"))
    b'{"seatNumber":"101"}'
    """


# --------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------


class Location(Model, kw_only=False, frozen=True):
    """A market, such as New York or London.

    Attributes:
        id: The location's ID; pass it to ``ttg.events.list``.
        name: Its display name, e.g. ``"New York"``.
        country: ISO 3166-1 alpha-2 country code, when the server sends one.

    >>> Location("1", "New York", "US").country
    'US'
    """

    id: str
    name: str
    country: str | None = None


class Venue(Model, kw_only=True, frozen=True):
    """Where an event or occurrence takes place. ``timezone`` is an IANA name.

    Attributes:
        id: The venue's ID, when sent.
        name: Its display name, e.g. ``"Lyric Theatre"``.
        timezone: IANA time zone name, e.g. ``"America/New_York"``.
        address: Street address as one string, when sent.

    >>> Venue(id="31", name="Lyric Theatre", timezone="America/New_York").timezone
    'America/New_York'
    """

    id: str | None = None
    name: str | None = None
    timezone: str | None = None
    address: str | None = None


class Event(Model, kw_only=True, frozen=True):
    """A show or attraction. ``location`` is a [`Location`][ttg_async.Location], or its bare id on
    some servers.

    Attributes:
        id: The event's ID; pass it to ``ttg.occurrences.list`` and ``ttg.inventory.list``.
        name: The show's title.
        start_date: First performance date, when the server knows it.
        end_date: Last performance date (``None`` for an open-ended run).
        location: The event's [`Location`][ttg_async.Location], or just its ID (see
            ``location_id``).
        venue: Where it plays, when sent.

    >>> Event(id="1001", name="Hamilton", location="1").location
    '1'
    """

    id: str
    name: str
    start_date: date | None = None
    end_date: date | None = None
    location: Location | str | None = None
    venue: Venue | None = None

    @property
    def location_id(self) -> str | None:
        """The location's id, whichever of the two shapes the server sent."""
        return self.location.id if isinstance(self.location, Location) else self.location


class Occurrence(Model, kw_only=True, frozen=True):
    """One dated performance of an event, with a price summary.

    ``starts_at`` / ``ends_at`` carry the venue's own offset (e.g. ``-05:00``), which is all
    that display needs. ``from_price`` is ``None`` when the occurrence is sold out or not on sale.

    Attributes:
        id: The occurrence's ID; pass it with the event's ID to ``ttg.inventory.list``.
        starts_at: Curtain up, timezone-aware, in the venue's own offset.
        ends_at: Expected end, when sent.
        from_price: The lowest all-in price on sale; ``None`` when sold out or not on sale.
        max_discount_amount: The largest discount on offer, as money, when any.
        max_discount_percentage: The largest discount on offer, in percent, when any.
        venue: Where this performance takes place, when sent.

    >>> from datetime import datetime, timezone
    >>> occ = Occurrence(id="50001", starts_at=datetime(2026, 3, 15, tzinfo=timezone.utc))
    >>> occ.is_available
    False
    """

    id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    from_price: Money | None = None
    max_discount_amount: Money | None = None
    max_discount_percentage: int | None = None
    venue: Venue | None = None

    @property
    def is_available(self) -> bool:
        """``True`` when there is a ``from_price``: not sold out and not off sale."""
        return self.from_price is not None


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


class _Variant(Model, tag_field="_type", tag=True, kw_only=True, frozen=True):
    """Shared base of the inventory variants; the tag is the class name.

    Attributes:
        id: The variant's ID (for a seat, e.g. ``"Orchestra-A-101"``).
        name: Its display name.
        attributes: Extra facts about it (e.g. restricted view), kept as decoded JSON.
    """

    id: str
    name: str
    # The docs do not pin down the shape of an attribute, so they are kept as decoded JSON.
    attributes: list[Any] = []


class AssignedSeat(_Variant, kw_only=True, frozen=True):
    """One specific seat. A cart item for it always has quantity 1.

    Attributes:
        section: The seating section, e.g. ``"Orchestra"``.
        row: The row, e.g. ``"A"``.
        seat: The seat number, e.g. ``"101"``.

    >>> AssignedSeat(id="Orchestra-A-101", name="Orchestra A 101",
    ...              section="Orchestra", row="A", seat="101").seat
    '101'
    """

    section: str
    row: str
    seat: str


class GeneralAdmission(_Variant, kw_only=True, frozen=True):
    """Entry to an unseated area; 1 to ``quantity_available`` per cart item.

    Attributes:
        section: The unseated area, when the server names one.

    >>> GeneralAdmission(id="dance-floor", name="Dance Floor").section is None
    True
    """

    section: str | None = None


class Extra(_Variant, kw_only=True, frozen=True):
    """An add-on such as a drink, merchandise or parking; 1 to ``quantity_available``.

    >>> Extra(id="parking", name="Parking").name
    'Parking'
    """


@register_fallback("type")
class UnknownVariant(Model, tag_field="_type", tag=True, kw_only=True, frozen=True):
    """A variant whose ``_type`` this version does not know. ``type`` holds that wire value.

    Decoding never fails on a new variant type; branch on the class and fall back to this one.

    Attributes:
        type: The ``_type`` value as the server sent it (e.g. ``"Standing"``).
        id: The variant's ID, when sent.
        name: Its display name, when sent.
        attributes: Extra facts about it, kept as decoded JSON.

    >>> UnknownVariant(type="Standing", name="Standing room").type
    'Standing'
    """

    type: str
    id: str | None = None
    name: str | None = None
    attributes: list[Any] = []


#: The value of ``InventoryItem.inventory_variant``; match on the class.
InventoryVariant: TypeAlias = AssignedSeat | GeneralAdmission | Extra | UnknownVariant
"""The value of ``InventoryItem.inventory_variant``: match on the class, with
[`UnknownVariant`][ttg_async.UnknownVariant] for a ``_type`` this version does not know."""


class Category(Model, kw_only=False, frozen=True):
    """A price category, such as Adult or Child.

    Attributes:
        name: The category's display name, e.g. ``"Adult"``.

    >>> Category("Adult").name
    'Adult'
    """

    name: str


class PriceOption(Model, kw_only=True, frozen=True):
    """One way to buy an inventory item. ``sell_price`` is all-in; ``list_price`` is set only
    when there is a discount (show it struck through).

    Attributes:
        id: The option's ID; put it in a ``CartItemInput``.
        category: Who the price is for (e.g. Adult).
        list_price: The price before the discount, set only when there is one.
        sell_price: The all-in price per ticket, fees included.

    >>> opt = PriceOption(id="po_1", category=Category("Adult"), sell_price=Money(12500, "USD"))
    >>> opt.is_discounted
    False
    """

    id: str
    category: Category
    list_price: Money | None = None
    sell_price: Money

    @property
    def is_discounted(self) -> bool:
        """``True`` when the server sent a ``list_price`` to strike through."""
        return self.list_price is not None


class InventoryItem(Model, kw_only=True, frozen=True):
    """A purchasable item for one occurrence, with its variant and price options.

    Attributes:
        id: The item's ID; put it in a ``CartItemInput``.
        inventory_variant: What is sold: an [`AssignedSeat`][ttg_async.AssignedSeat],
            [`GeneralAdmission`][ttg_async.GeneralAdmission], [`Extra`][ttg_async.Extra] or
            [`UnknownVariant`][ttg_async.UnknownVariant].
        quantity_available: How many can still be bought.
        price_options: The ways to buy it, one per price category.

    >>> item = InventoryItem(id="it_1", inventory_variant=Extra(id="x", name="Parking"),
    ...                      quantity_available=4, price_options=[])
    >>> isinstance(item.inventory_variant, Extra)
    True
    """

    id: str
    inventory_variant: InventoryVariant
    quantity_available: int
    price_options: list[PriceOption]

    def price_option(self, option_id: str) -> PriceOption | None:
        """The price option with ``option_id``, or ``None``."""
        return next((o for o in self.price_options if o.id == option_id), None)


# --------------------------------------------------------------------------------------------
# Receipts
# --------------------------------------------------------------------------------------------


class _ReceiptLineBase(Model, tag_field="_type", tag=True, kw_only=True, frozen=True):
    """Shared fields of the receipt lines; the tag is the class name.

    ``total.amount`` is positive and ``sign`` says whether the line is a charge (+1) or a credit
    (-1). Every total comes from the server: render the lines in order and show the cart or
    order ``total`` as sent. Never add lines up yourself for display.

    Attributes:
        sign: +1 for a charge, -1 for a credit or discount.
        total: The line's amount; always positive (apply ``sign``).
        label: The text to show for the line, as the server words it.
    """

    sign: int
    total: Money
    label: str | None = None

    @property
    def is_credit(self) -> bool:
        """``True`` for a credit or discount (``sign`` is negative)."""
        return self.sign < 0

    @property
    def signed_amount(self) -> int:
        """``total.amount`` with the line's sign applied, in minor units (for display only)."""
        return self.sign * self.total.amount


class SubtotalLine(_ReceiptLineBase, kw_only=True, frozen=True):
    """The subtotal line; every receipt has one.

    >>> SubtotalLine(sign=1, total=Money(15000, "USD")).signed_amount
    15000
    """


class FeeLine(_ReceiptLineBase, kw_only=True, frozen=True):
    """A fee, e.g. a service fee.

    >>> FeeLine(sign=1, total=Money(350, "USD"), label="Service fee").label
    'Service fee'
    """


class VoucherLine(_ReceiptLineBase, kw_only=True, frozen=True):
    """A voucher or discount, normally a credit.

    >>> VoucherLine(sign=-1, total=Money(500, "USD")).signed_amount
    -500
    """


class ProtectionLine(_ReceiptLineBase, kw_only=True, frozen=True):
    """Ticket protection (insurance).

    >>> ProtectionLine(sign=1, total=Money(299, "USD")).is_credit
    False
    """


@register_fallback("type")
class UnknownReceiptLine(_ReceiptLineBase, kw_only=True, frozen=True):
    """A receipt line whose ``_type`` this version does not know; ``type`` holds that value.

    It still has ``sign``, ``total`` and ``label``, so a receipt renders without knowing it.

    Attributes:
        type: The ``_type`` value as the server sent it (e.g. ``"TaxLine"``).

    >>> UnknownReceiptLine(type="TaxLine", sign=1, total=Money(120, "USD")).type
    'TaxLine'
    """

    type: str


#: One entry of ``receipt_lines``; match on the class.
ReceiptLine: TypeAlias = SubtotalLine | FeeLine | VoucherLine | ProtectionLine | UnknownReceiptLine
"""One entry of ``receipt_lines``: match on the class, with
[`UnknownReceiptLine`][ttg_async.UnknownReceiptLine] for a ``_type`` this version does not know."""


# --------------------------------------------------------------------------------------------
# Carts and orders
# --------------------------------------------------------------------------------------------


class CartItem(Model, kw_only=True, frozen=True):
    """One line of a cart, as the server echoes it.

    Attributes:
        quantity: How many of the item.
        id: The line's ID, when sent.
        occurrence_id: The occurrence the line is for.
        inventory_item_id: The inventory item bought.
        price_option_id: The price option bought.
        inventory_variant: What was bought (seat, general admission, extra), when echoed.
        unit_price: The all-in price of one.
        total: The line's total.

    >>> CartItem(quantity=2, unit_price=Money(5000, "GBP")).quantity
    2
    """

    quantity: int | None = None
    id: str | None = None
    occurrence_id: str | None = None
    inventory_item_id: str | None = None
    price_option_id: str | None = None
    inventory_variant: InventoryVariant | None = None
    unit_price: Money | None = None
    total: Money | None = None


class Cart(Model, kw_only=True, frozen=True):
    """A held cart. ``total`` is locked at creation: send it back as the order's expected total.

    Attributes:
        id: The cart's ID; pass it to ``ttg.orders.create``.
        expires_at: When the hold lapses; after it, checkout raises
            [`CartExpiredError`][ttg_async.CartExpiredError].
        items: The lines held.
        receipt_lines: The receipt, in display order: subtotal, fees, vouchers, protection.
        total: The all-in total; send it back as ``expected_total``.
        total_taxes: The taxes included in ``total``, when the server breaks them out.
        protection: Ticket-protection offer details, kept as decoded JSON.

    >>> from datetime import datetime, timezone
    >>> cart = Cart(id="cart_001", expires_at=datetime(2026, 3, 15, 19, 40, tzinfo=timezone.utc),
    ...             total=Money(18500, "USD"))
    >>> cart.total.format()
    '$185.00'
    """

    id: str
    expires_at: AwareDatetime
    items: list[CartItem] = []
    receipt_lines: list[ReceiptLine] = []
    total: Money
    total_taxes: Money | None = None
    protection: Any = None


class Barcode(Model, kw_only=False, frozen=True):
    """A ticket barcode. ``format`` is kept as the server's string (e.g. ``"QR_CODE"``).

    Attributes:
        value: The encoded value.
        format: The symbology, as the server's string (e.g. ``"QR_CODE"``).
        image_url: A URL of a rendered image, when the server offers one.

    >>> Barcode("123456789", "QR_CODE").image_url is None
    True
    """

    value: str
    format: str
    image_url: str | None = None


class Ticket(Model, kw_only=True, frozen=True):
    """One admission. ``barcode`` is ``None`` until the venue releases it (delayed delivery).

    Attributes:
        id: The ticket's ID, when sent.
        barcode: The barcode; ``None`` until the venue releases it.

    >>> Ticket(id="tk_1").barcode is None
    True
    """

    id: str | None = None
    barcode: Barcode | None = None


class OrderItem(CartItem, kw_only=True, frozen=True):
    """An order line: the cart item fields plus its ``tickets``.

    Attributes:
        tickets: The admissions bought on this line.

    >>> OrderItem(quantity=1, tickets=[Ticket(id="tk_1")]).tickets[0].id
    'tk_1'
    """

    tickets: list[Ticket] = []


class Contact(Model, kw_only=False, frozen=True):
    """The purchaser's contact details; sent at checkout and echoed on the order.

    Each field must be a string. ``orders.create`` also refuses empty ones, before any
    request. On an order, the echo is read as a whole: one that lacks a field is dropped
    (``order.contact`` is ``None``, with a WARNING), and the order still decodes.

    Attributes:
        name: The purchaser's full name.
        email: Where the confirmation goes.
        phone: A phone number, ideally in E.164 form (``+44...``).

    >>> Contact("John Smith", "john.smith@example.com", "+12125550123").email
    'john.smith@example.com'
    """

    name: str
    email: str
    phone: str

    def __post_init__(self) -> None:
        for field in ("name", "email", "phone"):
            value = getattr(self, field)
            if not isinstance(value, str):
                raise TypeError(f"{field}: must be a str, got {value!r}")


class Order(Model, kw_only=True, frozen=True):
    """A completed (or pending) order.

    The docs promise an order only its ``id``, its items' ``tickets`` and its receipt lines;
    one published version of the order pages has no ``status``. So ``status``, ``total``,
    ``confirmation_number`` and ``created_at`` are ``None`` when the server leaves them out,
    and a placed order always decodes. ``status`` is the server's string: values this version
    has never seen are kept as they are.

    Attributes:
        id: The order's ID; pass it to ``ttg.orders.get``.
        status: The server's status string, e.g. ``"CONFIRMED"`` (unknown values kept as sent).
        items: The lines bought, each with its ``tickets``.
        receipt_lines: The receipt, in display order: render it as sent, never add it up.
        total: The amount charged, all-in.
        confirmation_number: The number to quote to customer service, when sent.
        contact: The purchaser's details as echoed, or ``None`` when the echo is incomplete.
        total_taxes: The taxes included in ``total``, when broken out.
        created_at: When the order was placed, when sent.
        cart_id: The cart the order was made from, when sent.

    >>> order = Order(id="ord_1", status="CONFIRMED", total=Money(18500, "USD"))
    >>> order.status
    'CONFIRMED'
    >>> Order(id="ord_2").total is None
    True
    """

    id: str
    status: str | None = None
    items: list[OrderItem] = []
    receipt_lines: list[ReceiptLine] = []
    total: Money | None = None
    confirmation_number: str | None = None
    contact: Contact | None = None
    total_taxes: Money | None = None
    created_at: AwareDatetime | None = None
    cart_id: str | None = None

    @property
    def tickets(self) -> list[Ticket]:
        """Every ticket of every item, in order."""
        return [ticket for item in self.items for ticket in item.tickets]


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


def _check_id(field: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: must be a non-empty string, got {value!r}")


class CartItemInput(Model, kw_only=False, frozen=True):
    """One item to put in a new cart; encodes to the camelCase wire object.

    The fields are checked locally. Prefer `for_option`, which also checks the quantity
    against the item's variant.

    Attributes:
        occurrence_id: The occurrence to book.
        inventory_item_id: The inventory item to book.
        price_option_id: The price option to book it at.
        quantity: How many; exactly 1 for an assigned seat.

    >>> encode(CartItemInput("123", "eyJzIjoiT1JDSC1BLTEwMSJ9", "eyJjIjoiRlVMTCJ9"))
    b'{"occurrenceId":"123","inventoryItemId":"eyJzIjoiT1JDSC1BLTEwMSJ9","priceOptionId":"eyJjIjoiRlVMTCJ9","quantity":1}'
    """

    occurrence_id: str
    inventory_item_id: str
    price_option_id: str
    quantity: int = 1

    def __post_init__(self) -> None:
        _check_id("occurrence_id", self.occurrence_id)
        _check_id("inventory_item_id", self.inventory_item_id)
        _check_id("price_option_id", self.price_option_id)
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise ValueError(f"quantity: must be an int, got {self.quantity!r}")
        if self.quantity < 1:
            raise ValueError("quantity: must be at least 1")

    @classmethod
    def for_option(
        cls, occurrence_id: str, item: InventoryItem, option: PriceOption, quantity: int = 1
    ) -> CartItemInput:
        """Build a cart item for ``option`` of ``item``, checking the variant's quantity rule.

        An [`AssignedSeat`][ttg_async.AssignedSeat] takes exactly 1. Other variants (including ones
        this version does not know) take 1 to ``item.quantity_available``. Raises `ValueError`
        naming ``option`` or ``quantity``.

        >>> item = InventoryItem(
        ...     id="it_1", inventory_variant=GeneralAdmission(id="ga", name="Stalls"),
        ...     quantity_available=4,
        ...     price_options=[PriceOption(id="po_1", category=Category("Adult"),
        ...                                sell_price=Money(5000, "GBP"))])
        >>> CartItemInput.for_option("456", item, item.price_options[0], quantity=3).quantity
        3
        """
        if not any(o.id == option.id for o in item.price_options):
            raise ValueError(
                f"option: price option {option.id!r} does not belong to inventory item {item.id!r}"
            )
        built = cls(occurrence_id, item.id, option.id, quantity)
        if isinstance(item.inventory_variant, AssignedSeat) and quantity != 1:
            raise ValueError(f"quantity: an assigned seat takes exactly 1, got {quantity}")
        if quantity > item.quantity_available:
            raise ValueError(
                f"quantity: {quantity} exceeds the {item.quantity_available} available"
            )
        return built


# --------------------------------------------------------------------------------------------
# Envelopes
# --------------------------------------------------------------------------------------------


class Pagination(Model, kw_only=False, frozen=True):
    """The ``pagination`` object of a list response."""

    limit: int
    offset: int
    total: int


class DataEnvelope(Model, Generic[T], kw_only=True, frozen=True):
    """``{"data": ...}``: the envelope of a single-object response."""

    data: T


class ListEnvelope(Model, Generic[T], kw_only=True, frozen=True):
    """``{"data": [...], "pagination": ...}``: the envelope of a list response."""

    data: list[T]
    pagination: Pagination | None = None


_encoder: Final = msgspec.json.Encoder()


def encode(obj: object) -> bytes:
    """Encode a model (or builtins holding models) to JSON bytes.

    >>> encode(Money(18500, "USD"))
    b'{"amount":18500,"currency":"USD"}'
    """
    return _encoder.encode(obj)
