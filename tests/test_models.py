"""Tests for ttg_async._ttg.models: bytes in, objects out."""

from __future__ import annotations

import doctest
import re
from datetime import UTC, date, datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import msgspec
import pytest
from seed_payloads import SEED_INVENTORY, SEED_LOCATIONS

import ttg_async._core.decoding as decoding_module
import ttg_async._ttg.models as models_module
from ttg_async._core.decoding import decoder_for
from ttg_async._ttg.models import (
    AssignedSeat,
    Barcode,
    Cart,
    CartItemInput,
    Category,
    Contact,
    DataEnvelope,
    Event,
    Extra,
    FeeLine,
    GeneralAdmission,
    InventoryItem,
    InventoryVariant,
    ListEnvelope,
    Location,
    Money,
    Occurrence,
    Order,
    OrderItem,
    Pagination,
    PriceOption,
    ProtectionLine,
    ReceiptLine,
    SubtotalLine,
    Ticket,
    UnknownReceiptLine,
    UnknownVariant,
    Venue,
    VoucherLine,
    encode,
)

# ---------------------------------------------------------------------------------------------
# Seed-doc payloads, copied verbatim
# ---------------------------------------------------------------------------------------------

SEED_CART_CREATE = b"""{
 "items": [
 {
 "occurrenceId": "123",
 "inventoryItemId": "eyJzIjoiT1JDSC1BLTEwMSJ9",
 "priceOptionId": "eyJjIjoiRlVMTCJ9",
 "quantity": 1
 }
 ]
}"""

SEED_CHECKOUT = b"""{
 "cartId": "cart_001",
 "expectedTotal": { "amount": 18500, "currency": "USD" },
 "contact": {
 "name": "John Smith",
 "email": "john.smith@example.com",
 "phone": "+12125550123"
 }
}"""

SEED_PAGINATION = b"""{
 "pagination": {
 "limit": 50,
 "offset": 0,
 "total": 142
 }
}"""

SEED_MONEY = b"""{
 "amount": 18500,
 "currency": "USD"
}"""

# ---------------------------------------------------------------------------------------------
# Shapes from docs/internal/wire-shapes.md
# ---------------------------------------------------------------------------------------------

CART = b"""{"data": {
  "id": "cart_001",
  "expiresAt": "2026-03-15T19:40:00Z",
  "items": [{
    "id": "ci_1", "occurrenceId": "50001", "inventoryItemId": "eyJzIjoiR0EifQ",
    "priceOptionId": "eyJjIjoiRlVMTCJ9", "quantity": 2,
    "inventoryVariant": {"_type": "GeneralAdmission", "id": "dance-floor",
                         "name": "Dance Floor", "section": "Floor", "attributes": []},
    "unitPrice": {"amount": 8000, "currency": "USD"},
    "total": {"amount": 16000, "currency": "USD"}
  }],
  "receiptLines": [
    {"_type": "SubtotalLine", "label": "Subtotal", "sign": 1,
     "total": {"amount": 16000, "currency": "USD"}},
    {"_type": "FeeLine", "label": "Service fee", "sign": 1,
     "total": {"amount": 3000, "currency": "USD"}},
    {"_type": "VoucherLine", "label": "Spring offer", "sign": -1,
     "total": {"amount": 500, "currency": "USD"}},
    {"_type": "ProtectionLine", "label": "Ticket protection", "sign": 1,
     "total": {"amount": 0, "currency": "USD"}}
  ],
  "total": {"amount": 18500, "currency": "USD"},
  "totalTaxes": null,
  "protection": null
}}"""

ORDER = b"""{"data": {
  "id": "ord_1", "confirmationNumber": "TTG-ABC123", "status": "CONFIRMED", "cartId": "cart_001",
  "contact": {"name": "John Smith", "email": "john.smith@example.com", "phone": "+12125550123"},
  "items": [{
    "id": "ci_1", "occurrenceId": "50001", "inventoryItemId": "eyJzIjoiT1JDSC1BLTEwMSJ9",
    "priceOptionId": "eyJjIjoiRlVMTCJ9", "quantity": 1,
    "inventoryVariant": {"_type": "AssignedSeat", "id": "Orchestra-A-101",
                         "name": "Orchestra A 101", "section": "Orchestra", "row": "A",
                         "seat": "101", "attributes": []},
    "unitPrice": {"amount": 12500, "currency": "USD"},
    "total": {"amount": 12500, "currency": "USD"},
    "tickets": [
      {"id": "tk_1", "barcode": {"value": "1234567890", "format": "QR_CODE",
                                 "imageUrl": "https://example.com/b.png"}},
      {"id": "tk_2", "barcode": null}
    ]
  }],
  "receiptLines": [{"_type": "SubtotalLine", "label": "Subtotal", "sign": 1,
                    "total": {"amount": 12500, "currency": "USD"}}],
  "total": {"amount": 12500, "currency": "USD"},
  "totalTaxes": {"amount": 1000, "currency": "USD"},
  "createdAt": "2026-03-15T19:40:00Z"
}}"""

OCCURRENCES = b"""{"data": [
  {"id": "50001", "startsAt": "2026-03-15T19:30:00-05:00", "endsAt": "2026-03-15T22:00:00-05:00",
   "fromPrice": {"amount": 8900, "currency": "USD"},
   "maxDiscountAmount": {"amount": 2500, "currency": "USD"}, "maxDiscountPercentage": 29,
   "venue": {"id": "31", "name": "Lyric Theatre", "timezone": "America/New_York"}},
  {"id": "50002", "startsAt": "2026-03-16T19:30:00-05:00", "endsAt": null, "fromPrice": null,
   "venue": {"id": "31", "name": "Lyric Theatre", "timezone": "America/New_York"}}
]}"""

EVENTS = b"""{"data": [
  {"id": "1001", "name": "Hamilton", "startDate": "2026-03-01", "endDate": "2026-09-30",
   "location": {"id": "1", "name": "New York", "country": "US"},
   "venue": {"id": "31", "name": "Lyric Theatre", "timezone": "America/New_York",
             "address": "214 W 43rd St"}},
  {"id": "1002", "name": "Cabaret", "startDate": "2026-04-01", "endDate": null, "location": "2"},
  {"id": "1003", "name": "Minimal"}
], "pagination": {"limit": 50, "offset": 0, "total": 3}}"""


# ---------------------------------------------------------------------------------------------
# Seed examples
# ---------------------------------------------------------------------------------------------


def test_seed_locations_list() -> None:
    env = decoder_for(ListEnvelope[Location])(SEED_LOCATIONS)
    assert env.data == [Location("2", "London", "GB"), Location("1", "New York", "US")]
    assert env.data[0].country == "GB"
    assert env.pagination == Pagination(limit=50, offset=0, total=2)


def test_seed_inventory_items() -> None:
    env = decoder_for(ListEnvelope[InventoryItem])(SEED_INVENTORY)
    assert env.pagination is None
    [item] = env.data
    assert item.id == "eyJzIjoiT1JDSC1BLTEwMSJ9"
    assert item.quantity_available == 1
    assert item.inventory_variant == AssignedSeat(
        id="Orchestra-A-101", name="Orchestra A 101", section="Orchestra", row="A", seat="101"
    )
    assert item.inventory_variant.attributes == []
    [option] = item.price_options
    assert option.id == "eyJjIjoiRlVMTCJ9"
    assert option.category == Category("Adult")
    assert option.list_price == Money(15000, "USD")
    assert option.sell_price == Money(12500, "USD")
    assert option.is_discounted
    assert item.price_option("eyJjIjoiRlVMTCJ9") is option
    assert item.price_option("nope") is None


def test_seed_cart_create_request_encodes_verbatim() -> None:
    env = decoder_for(ListEnvelope[InventoryItem])(SEED_INVENTORY)
    item = env.data[0]
    line = CartItemInput.for_option("123", item, item.price_options[0])
    assert msgspec.json.decode(encode({"items": [line]})) == msgspec.json.decode(SEED_CART_CREATE)


def test_seed_cart_create_request_decodes_to_inputs() -> None:
    class CartCreate(msgspec.Struct):
        items: list[CartItemInput]

    body = decoder_for(CartCreate)(SEED_CART_CREATE)
    assert body.items == [
        CartItemInput("123", "eyJzIjoiT1JDSC1BLTEwMSJ9", "eyJjIjoiRlVMTCJ9", quantity=1)
    ]


def test_seed_checkout_body_money_and_contact() -> None:
    class Checkout(msgspec.Struct, rename="camel"):
        cart_id: str
        expected_total: Money
        contact: Contact

    body = decoder_for(Checkout)(SEED_CHECKOUT)
    assert body.cart_id == "cart_001"
    assert body.expected_total == Money(18500, "USD")
    assert body.contact == Contact("John Smith", "john.smith@example.com", "+12125550123")
    assert msgspec.json.decode(encode(body)) == msgspec.json.decode(SEED_CHECKOUT)


def test_seed_pagination_and_money() -> None:
    class HasPagination(msgspec.Struct):
        pagination: Pagination

    assert decoder_for(HasPagination)(SEED_PAGINATION).pagination == Pagination(50, 0, 142)
    money = decoder_for(Money)(SEED_MONEY)
    assert money == Money(18500, "USD")
    assert money.format() == "$185.00"


# ---------------------------------------------------------------------------------------------
# Wire shapes
# ---------------------------------------------------------------------------------------------


def test_events_accept_location_object_or_id_and_optional_fields() -> None:
    env = decoder_for(ListEnvelope[Event])(EVENTS)
    full, bare, minimal = env.data
    assert full.start_date == date(2026, 3, 1)
    assert full.end_date == date(2026, 9, 30)
    assert full.location == Location("1", "New York", "US")
    assert full.location_id == "1"
    assert full.venue == Venue(
        id="31", name="Lyric Theatre", timezone="America/New_York", address="214 W 43rd St"
    )
    assert bare.location == "2"
    assert bare.location_id == "2"
    assert bare.end_date is None
    assert minimal == Event(id="1003", name="Minimal")
    assert minimal.location_id is None


def test_occurrences_keep_offsets_and_nullable_prices() -> None:
    first, second = decoder_for(ListEnvelope[Occurrence])(OCCURRENCES).data
    minus_five = timezone(timedelta(hours=-5))
    assert first.starts_at == datetime(2026, 3, 15, 19, 30, tzinfo=minus_five)
    assert first.starts_at.utcoffset() == timedelta(hours=-5)
    assert first.starts_at.isoformat() == "2026-03-15T19:30:00-05:00"
    assert first.ends_at is not None
    assert first.ends_at.utcoffset() == timedelta(hours=-5)
    assert first.from_price == Money(8900, "USD")
    assert first.max_discount_amount == Money(2500, "USD")
    assert first.max_discount_percentage == 29
    assert first.venue is not None
    assert first.venue.timezone == "America/New_York"
    assert first.is_available
    assert second.ends_at is None
    assert second.from_price is None
    assert second.max_discount_amount is None
    assert second.max_discount_percentage is None
    assert not second.is_available


def test_cart_decodes_items_and_receipt_lines_in_order() -> None:
    cart = decoder_for(DataEnvelope[Cart])(CART).data
    assert cart.id == "cart_001"
    assert cart.expires_at == datetime(2026, 3, 15, 19, 40, tzinfo=UTC)
    assert cart.expires_at.utcoffset() == timedelta(0)
    assert cart.total == Money(18500, "USD")
    assert cart.total_taxes is None
    assert cart.protection is None
    [item] = cart.items
    assert item.quantity == 2
    assert item.occurrence_id == "50001"
    assert item.inventory_variant == GeneralAdmission(
        id="dance-floor", name="Dance Floor", section="Floor"
    )
    assert item.unit_price == Money(8000, "USD")
    assert item.total == Money(16000, "USD")
    assert [type(line) for line in cart.receipt_lines] == [
        SubtotalLine,
        FeeLine,
        VoucherLine,
        ProtectionLine,
    ]
    assert [line.label for line in cart.receipt_lines] == [
        "Subtotal",
        "Service fee",
        "Spring offer",
        "Ticket protection",
    ]
    assert [line.signed_amount for line in cart.receipt_lines] == [16000, 3000, -500, 0]
    assert [line.is_credit for line in cart.receipt_lines] == [False, False, True, False]


def test_order_decodes_tickets_barcodes_contact() -> None:
    order = decoder_for(DataEnvelope[Order])(ORDER).data
    assert order.id == "ord_1"
    assert order.status == "CONFIRMED"
    assert order.confirmation_number == "TTG-ABC123"
    assert order.cart_id == "cart_001"
    assert order.contact == Contact("John Smith", "john.smith@example.com", "+12125550123")
    assert order.total == Money(12500, "USD")
    assert order.total_taxes == Money(1000, "USD")
    assert order.created_at == datetime(2026, 3, 15, 19, 40, tzinfo=UTC)
    [item] = order.items
    assert isinstance(item, OrderItem)
    assert isinstance(item.inventory_variant, AssignedSeat)
    assert item.inventory_variant.seat == "101"
    first, second = item.tickets
    assert first == Ticket(
        id="tk_1", barcode=Barcode("1234567890", "QR_CODE", "https://example.com/b.png")
    )
    assert second == Ticket(id="tk_2", barcode=None)
    assert order.tickets == [first, second]
    assert [type(line) for line in order.receipt_lines] == [SubtotalLine]


def test_minimal_order_and_cart_decode() -> None:
    order = decoder_for(DataEnvelope[Order])(
        b'{"data": {"id": "o", "status": "PENDING", "total": {"amount": 1, "currency": "GBP"}}}'
    ).data
    assert order == Order(id="o", status="PENDING", total=Money(1, "GBP"))
    assert order.items == []
    assert order.receipt_lines == []
    assert order.created_at is None
    cart = decoder_for(DataEnvelope[Cart])(
        b'{"data": {"id": "c", "expiresAt": "2026-03-15T19:40:00Z",'
        b' "total": {"amount": 1, "currency": "GBP"}}}'
    ).data
    assert cart.items == []
    assert cart.total_taxes is None


# ---------------------------------------------------------------------------------------------
# Forward compatibility
# ---------------------------------------------------------------------------------------------


def _inventory(variant: bytes) -> bytes:
    return (
        b'{"data": [{"id": "it_1", "inventoryVariant": ' + variant + b', "quantityAvailable": 5,'
        b' "priceOptions": [{"id": "po_1", "category": {"name": "Adult"},'
        b' "sellPrice": {"amount": 100, "currency": "USD"}}]}]}'
    )


def test_unknown_variant_type_in_list_response() -> None:
    body = (
        b'{"data": ['
        b'{"id": "a", "inventoryVariant": {"_type": "Standing", "id": "st", "name": "Standing",'
        b' "attributes": [{"code": "RESTRICTED_VIEW"}], "zone": "Z1"}, "quantityAvailable": 9,'
        b' "priceOptions": []},'
        b'{"id": "b", "inventoryVariant": {"_type": "Extra", "id": "pk", "name": "Parking"},'
        b' "quantityAvailable": 2, "priceOptions": []}'
        b"]}"
    )
    decode = decoder_for(ListEnvelope[InventoryItem])
    before = decode.fallbacks
    standing, parking = decode(body).data
    assert decode.fallbacks == before + 1
    assert standing.inventory_variant == UnknownVariant(
        type="Standing", id="st", name="Standing", attributes=[{"code": "RESTRICTED_VIEW"}]
    )
    assert parking.inventory_variant == Extra(id="pk", name="Parking")


def test_unknown_variant_without_id_or_name() -> None:
    item = decoder_for(ListEnvelope[InventoryItem])(_inventory(b'{"_type": "Hologram"}')).data[0]
    assert item.inventory_variant == UnknownVariant(type="Hologram")
    assert item.inventory_variant.id is None


def test_variant_missing_type_or_using_reserved_tag_is_unknown() -> None:
    decode = decoder_for(ListEnvelope[InventoryItem])
    missing = decode(_inventory(b'{"id": "x", "name": "X"}')).data[0]
    assert missing.inventory_variant == UnknownVariant(type="", id="x", name="X")
    reserved = decode(_inventory(b'{"_type": "UnknownVariant", "id": "x", "name": "X"}')).data[0]
    assert reserved.inventory_variant == UnknownVariant(type="UnknownVariant", id="x", name="X")


def test_unknown_types_nested_in_cart_items_and_receipt_lines() -> None:
    body = (
        CART.replace(b'"_type": "GeneralAdmission"', b'"_type": "Box"')
        .replace(b'"_type": "FeeLine"', b'"_type": "TaxLine"')
        .replace(b'"_type": "ProtectionLine"', b'"_type": "DonationLine"')
    )
    cart = decoder_for(DataEnvelope[Cart])(body).data
    variant = cart.items[0].inventory_variant
    assert variant == UnknownVariant(type="Box", id="dance-floor", name="Dance Floor")
    subtotal, tax, voucher, donation = cart.receipt_lines
    assert isinstance(subtotal, SubtotalLine)
    assert tax == UnknownReceiptLine(
        type="TaxLine", label="Service fee", sign=1, total=Money(3000, "USD")
    )
    assert isinstance(voucher, VoucherLine)
    assert isinstance(donation, UnknownReceiptLine)
    assert donation.type == "DonationLine"
    assert tax.signed_amount == 3000
    assert cart.total == Money(18500, "USD")


def test_unknown_types_nested_in_order_items() -> None:
    body = ORDER.replace(b'"_type": "AssignedSeat"', b'"_type": "Lounge"').replace(
        b'"_type": "SubtotalLine"', b'"_type": "GrandLine"'
    )
    order = decoder_for(DataEnvelope[Order])(body).data
    variant = order.items[0].inventory_variant
    assert isinstance(variant, UnknownVariant)
    assert variant.type == "Lounge"
    assert variant.name == "Orchestra A 101"
    assert order.items[0].tickets[0].barcode is not None
    [line] = order.receipt_lines
    assert isinstance(line, UnknownReceiptLine)
    assert line.type == "GrandLine"
    assert line.total == Money(12500, "USD")


def test_unknown_receipt_line_at_the_root_of_a_list() -> None:
    lines = decoder_for(list[ReceiptLine])(
        b'[{"_type": "NewLine", "sign": -1, "total": {"amount": 5, "currency": "EUR"}},'
        b' {"_type": "FeeLine", "sign": 1, "total": {"amount": 7, "currency": "EUR"}}]'
    )
    assert lines == [
        UnknownReceiptLine(type="NewLine", sign=-1, total=Money(5, "EUR")),
        FeeLine(sign=1, total=Money(7, "EUR")),
    ]


def test_unknown_order_status_kept_as_string() -> None:
    order = decoder_for(DataEnvelope[Order])(
        ORDER.replace(b'"CONFIRMED"', b'"PARTIALLY_FULFILLED"')
    ).data
    assert order.status == "PARTIALLY_FULFILLED"


def test_unknown_fields_ignored_at_every_level() -> None:
    extra = b'"zzNew": {"nested": [1, 2, 3]}, '
    body = (
        ORDER.replace(b'{"data": {', b'{"meta": {"requestId": "req_1"}, "data": {' + extra)
        .replace(b'"id": "ci_1",', extra + b'"id": "ci_1",')
        .replace(b'"_type": "AssignedSeat",', b'"_type": "AssignedSeat", ' + extra)
        .replace(b'"amount": 12500,', b'"amount": 12500, "precision": 2,')
        .replace(b'"_type": "SubtotalLine",', b'"_type": "SubtotalLine", ' + extra)
        .replace(b'{"id": "tk_1",', b"{" + extra + b'"id": "tk_1",')
        .replace(b'"format": "QR_CODE",', b'"format": "QR_CODE", ' + extra)
        .replace(b'"name": "John Smith",', b'"name": "John Smith", ' + extra)
    )
    assert body.count(b"zzNew") == 7
    order = decoder_for(DataEnvelope[Order])(body).data
    assert order == decoder_for(DataEnvelope[Order])(ORDER).data

    inventory = SEED_INVENTORY.replace(
        b'"id": "eyJjIjoiRlVMTCJ9",', b'"id": "eyJjIjoiRlVMTCJ9", ' + extra
    )
    inventory = inventory.replace(b'{ "name": "Adult" }', b'{ "name": "Adult", "code": "A" }')
    assert inventory.count(b"zzNew") == 1
    env = decoder_for(ListEnvelope[InventoryItem])(inventory)
    assert env.data == decoder_for(ListEnvelope[InventoryItem])(SEED_INVENTORY).data


def test_unknown_fields_and_unknown_type_together() -> None:
    body = _inventory(b'{"_type": "Standing", "name": "S", "capacity": {"max": 10}}')
    body = body.replace(b'"quantityAvailable": 5,', b'"quantityAvailable": 5, "flags": ["x"],')
    item = decoder_for(ListEnvelope[InventoryItem])(body).data[0]
    assert item.inventory_variant == UnknownVariant(type="Standing", name="S")
    assert item.quantity_available == 5


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (
            SEED_INVENTORY.replace(b'"amount": 12500', b'"amount": "12500"'),
            "$.data[0].priceOptions[0].sellPrice.amount",
        ),
        (
            SEED_INVENTORY.replace(b'"amount": 12500', b'"amount": 125.0'),
            "$.data[0].priceOptions[0].sellPrice.amount",
        ),
        (
            SEED_INVENTORY.replace(b'"quantityAvailable": 1,', b""),
            "$.data[0]",
        ),
    ],
)
def test_real_schema_error_raises_with_path(body: bytes, path: str) -> None:
    decode = decoder_for(ListEnvelope[InventoryItem])
    before = decode.fallbacks
    with pytest.raises(
        msgspec.ValidationError,
        match="at `" + re.escape(path),
    ):
        decode(body)
    assert decode.fallbacks == before


def test_schema_error_next_to_unknown_type_still_raises_with_path() -> None:
    body = SEED_INVENTORY.replace(b'"_type": "AssignedSeat"', b'"_type": "Standing"').replace(
        b'"amount": 12500', b'"amount": "12500"'
    )
    with pytest.raises(msgspec.ValidationError) as info:
        decoder_for(ListEnvelope[InventoryItem])(body)
    assert "$.data[0].priceOptions[0].sellPrice.amount" in str(info.value)


def test_non_string_tag_is_a_schema_error() -> None:
    with pytest.raises(msgspec.ValidationError, match="inventoryVariant"):
        decoder_for(ListEnvelope[InventoryItem])(_inventory(b'{"_type": 7, "name": "X"}'))


def test_not_json_raises_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        decoder_for(ListEnvelope[InventoryItem])(b"<html>502</html>")


def test_decoder_is_cached_per_type() -> None:
    assert decoder_for(DataEnvelope[Cart]) is decoder_for(DataEnvelope[Cart])
    locations: object = decoder_for(ListEnvelope[Location])
    assert locations is not decoder_for(ListEnvelope[Event])


def test_large_inventory_takes_the_strict_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    original = decoding_module._raw_decoder

    class CountingDecoder:
        def decode(self, body: bytes) -> object:
            nonlocal calls
            calls += 1
            return original.decode(body)

    # The slow path starts by decoding the body to builtins; the fast path never does.
    monkeypatch.setattr(decoding_module, "_raw_decoder", CountingDecoder())
    variants = [
        b'{"_type": "AssignedSeat", "id": "s%d", "name": "Seat", "section": "S", "row": "A",'
        b' "seat": "%d", "attributes": []}',
        b'{"_type": "GeneralAdmission", "id": "ga%d", "name": "GA %d", "attributes": []}',
        b'{"_type": "Extra", "id": "ex%d", "name": "Extra %d"}',
    ]
    items = [
        b'{"id": "it_%d", "inventoryVariant": %s, "quantityAvailable": 3, "priceOptions": ['
        b'{"id": "po", "category": {"name": "Adult"},'
        b' "sellPrice": {"amount": 12500, "currency": "USD"}}]}' % (i, variants[i % 3] % (i, i))
        for i in range(1000)
    ]
    body = b'{"data": [' + b",".join(items) + b'], "pagination": null}'
    decode = decoder_for(ListEnvelope[InventoryItem])
    before = decode.fallbacks
    env = decode(body)
    assert len(env.data) == 1000
    assert decode.fallbacks == before
    assert calls == 0
    assert isinstance(env.data[999].inventory_variant, AssignedSeat)
    # One unknown type is retagged in the bytes: still no decoding to builtins.
    odd = body.replace(b'"Extra"', b'"Lounge"', 1)
    env = decode(odd)
    assert calls == 0
    assert decode.fallbacks == before + 1
    assert isinstance(env.data[2].inventory_variant, UnknownVariant)
    assert env.data[2].inventory_variant.type == "Lounge"
    # The counter is live: without the retag and the split, the body takes the full walk.
    monkeypatch.setattr(decode, "_retag", None)
    monkeypatch.setattr(decode, "_split", None)
    monkeypatch.setattr(decode, "detour", False)
    assert decode(odd) == env
    assert calls == 1


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "body"),
    [
        (DataEnvelope[Occurrence], b'{"data": {"id": "1", "startsAt": "2026-03-15T19:30:00"}}'),
        (
            DataEnvelope[Cart],
            b'{"data": {"id": "c", "expiresAt": "2026-03-15T19:40:00",'
            b' "total": {"amount": 1, "currency": "USD"}}}',
        ),
    ],
)
def test_naive_timestamp_rejected(type_: Any, body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        decoder_for(type_)(body)


def test_naive_timestamp_rejected_on_the_fallback_path_too() -> None:
    body = ORDER.replace(b'"_type": "AssignedSeat"', b'"_type": "Lounge"').replace(
        b'"2026-03-15T19:40:00Z"', b'"2026-03-15T19:40:00"'
    )
    with pytest.raises(msgspec.ValidationError, match=r"timezone.*\$\.data\.createdAt"):
        decoder_for(DataEnvelope[Order])(body)


# ---------------------------------------------------------------------------------------------
# Request types
# ---------------------------------------------------------------------------------------------


def test_cart_item_input_encodes_camel_case_with_quantity() -> None:
    line = CartItemInput("123", "item", "opt")
    assert encode(line) == (
        b'{"occurrenceId":"123","inventoryItemId":"item","priceOptionId":"opt","quantity":1}'
    )
    keyword = CartItemInput(
        occurrence_id="123", inventory_item_id="item", price_option_id="opt", quantity=3
    )
    assert msgspec.json.decode(encode(keyword))["quantity"] == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"occurrence_id": ""}, "occurrence_id"),
        ({"occurrence_id": 123}, "occurrence_id"),
        ({"inventory_item_id": ""}, "inventory_item_id"),
        ({"price_option_id": None}, "price_option_id"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -2}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 1.0}, "quantity"),
        ({"quantity": "2"}, "quantity"),
    ],
)
def test_cart_item_input_validation(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "occurrence_id": "1",
        "inventory_item_id": "i",
        "price_option_id": "p",
        "quantity": 1,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{field}: "):
        CartItemInput(**args)


def test_cart_item_input_quantity_message() -> None:
    with pytest.raises(ValueError, match=r"^quantity: must be at least 1$"):
        CartItemInput("1", "i", "p", 0)


def _item(variant: Any, available: int = 4) -> InventoryItem:
    return InventoryItem(
        id="it_1",
        inventory_variant=variant,
        quantity_available=available,
        price_options=[
            PriceOption(id="po_1", category=Category("Adult"), sell_price=Money(100, "USD")),
            PriceOption(id="po_2", category=Category("Child"), sell_price=Money(50, "USD")),
        ],
    )


SEAT = AssignedSeat(id="s", name="Seat", section="Stalls", row="B", seat="7")
GA = GeneralAdmission(id="ga", name="Floor")
EXTRA = Extra(id="ex", name="Drink")
UNKNOWN = UnknownVariant(type="Standing", id="st", name="Standing")


def test_for_option_builds_from_item_and_option() -> None:
    item = _item(GA)
    line = CartItemInput.for_option("occ", item, item.price_options[1], quantity=4)
    assert line == CartItemInput("occ", "it_1", "po_2", 4)


def test_for_option_rejects_a_foreign_option() -> None:
    foreign = PriceOption(id="po_9", category=Category("Adult"), sell_price=Money(100, "USD"))
    with pytest.raises(ValueError, match=r"^option: "):
        CartItemInput.for_option("occ", _item(GA), foreign)


@pytest.mark.parametrize("quantity", [0, 2, 3])
def test_for_option_assigned_seat_takes_exactly_one(quantity: int) -> None:
    item = _item(SEAT, available=4)
    with pytest.raises(ValueError, match=r"^quantity: "):
        CartItemInput.for_option("occ", item, item.price_options[0], quantity=quantity)
    assert CartItemInput.for_option("occ", item, item.price_options[0]).quantity == 1


@pytest.mark.parametrize("variant", [GA, EXTRA, UNKNOWN])
def test_for_option_other_variants_take_one_to_available(variant: Any) -> None:
    item = _item(variant, available=3)
    option = item.price_options[0]
    for quantity in (1, 2, 3):
        assert CartItemInput.for_option("occ", item, option, quantity).quantity == quantity
    for quantity in (0, 4):
        with pytest.raises(ValueError, match=r"^quantity: "):
            CartItemInput.for_option("occ", item, option, quantity)


def test_for_option_rejects_empty_occurrence_id() -> None:
    item = _item(GA)
    with pytest.raises(ValueError, match=r"^occurrence_id: "):
        CartItemInput.for_option("", item, item.price_options[0])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((None, "a@b.c", "+1"), "name"),
        (("A", 5, "+1"), "email"),
        (("A", "a@b.c", None), "phone"),
    ],
)
def test_contact_validation(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(TypeError, match=rf"^{field}: "):
        Contact(*args)


def test_contact_encodes_and_decodes_leniently() -> None:
    contact = Contact(name="A B", email="a@b.c", phone="+44")
    assert encode(contact) == b'{"name":"A B","email":"a@b.c","phone":"+44"}'
    # An order placed through another channel may lack a phone: decoding must not fail.
    echoed = decoder_for(Contact)(b'{"name": "A B", "email": "a@b.c", "phone": ""}')
    assert echoed.phone == ""


def test_models_are_frozen() -> None:
    money = Money(1, "USD")
    with pytest.raises(AttributeError):
        money.amount = 2  # type: ignore[misc]
    line = CartItemInput("1", "i", "p")
    with pytest.raises(AttributeError):
        line.quantity = 5  # type: ignore[misc]


def test_encode_roundtrips_known_models() -> None:
    cart = decoder_for(DataEnvelope[Cart])(CART).data
    again = decoder_for(DataEnvelope[Cart])(encode(DataEnvelope(data=cart))).data
    assert again == cart


@pytest.mark.parametrize("module", [models_module, decoding_module])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


class _Node(msgspec.Struct):
    variant: InventoryVariant
    children: list[_Node] = []


def test_fallback_works_inside_arbitrary_enclosing_types() -> None:
    unknown = b'{"_type": "Standing", "name": "S"}'
    fee = b'{"_type": "FeeLine", "sign": 1, "total": {"amount": 1, "currency": "USD"}}'
    by_key = decoder_for(dict[str, list[ReceiptLine]])(
        b'{"a": [' + fee + b'], "b": [{"_type": "X", "sign": -1,'
        b' "total": {"amount": 2, "currency": "USD"}}]}'
    )
    assert by_key["a"] == [FeeLine(sign=1, total=Money(1, "USD"))]
    assert by_key["b"] == [UnknownReceiptLine(type="X", sign=-1, total=Money(2, "USD"))]

    pair = decoder_for(tuple[InventoryVariant, int])(b"[" + unknown + b", 3]")
    assert pair == (UnknownVariant(type="Standing", name="S"), 3)

    root: object = decoder_for(InventoryVariant)(unknown)  # type: ignore[arg-type]
    assert root == UnknownVariant(type="Standing", name="S")

    tree = decoder_for(_Node)(
        b'{"variant": {"_type": "Extra", "id": "e", "name": "E"}, "children": ['
        b'{"variant": {"_type": "Extra", "id": "f", "name": "F"}, "children": ['
        b'{"variant": ' + unknown + b"}]}]}"
    )
    assert tree.children[0].children[0].variant == UnknownVariant(type="Standing", name="S")


def test_types_without_fallback_unions_reraise_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        def decode(self, body: bytes) -> object:
            raise AssertionError("the slow path must not run")

    monkeypatch.setattr(decoding_module, "_raw_decoder", Failing())
    with pytest.raises(msgspec.ValidationError, match=r"\$\.data\[0\]\.id"):
        decoder_for(ListEnvelope[Location])(b'{"data": [{"id": 1, "name": "X"}]}')
