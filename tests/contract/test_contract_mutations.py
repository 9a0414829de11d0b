"""Mutation tests of leniency: what the docs do not promise never fails a call.

For every model, starting from a full answer (every optional field present), hypothesis
removes one field or replaces it with a value of another JSON type. A field is promised when
it and every field above it are required (see docs/contract.md): breaking a promised field
must raise ``ResponseDecodeError`` naming the place (or, for a committed write, the
placed-order error); breaking any other field must still decode, keep the promised data, and
drop only what did not fit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttg_async import (
    AssignedSeat,
    Barcode,
    Cart,
    CartItem,
    Category,
    CommittedWriteDecodeError,
    Contact,
    Event,
    Extra,
    FeeLine,
    GeneralAdmission,
    InventoryItem,
    Location,
    Money,
    Occurrence,
    Order,
    OrderItem,
    PriceOption,
    ProtectionLine,
    ResponseDecodeError,
    SubtotalLine,
    Ticket,
    Venue,
    VoucherLine,
)
from ttg_async._ttg.models import DataEnvelope, ListEnvelope, Pagination
from ttg_async._ttg.protocol import STRICT, decode_data, decode_list

M = {"amount": 18500, "currency": "USD"}
VENUE = {"id": "31", "name": "Lyric", "timezone": "America/New_York", "address": "214 W 43rd"}
LOCATION = {"id": "1", "name": "New York", "country": "US"}
SEAT = {
    "_type": "AssignedSeat",
    "id": "Orchestra-A-101",
    "name": "Orchestra A 101",
    "attributes": ["aisle"],
    "section": "Orchestra",
    "row": "A",
    "seat": "101",
}
GA = {"_type": "GeneralAdmission", "id": "floor", "name": "Floor", "attributes": [], "section": "F"}
EXTRA = {"_type": "Extra", "id": "parking", "name": "Parking", "attributes": [{"k": "v"}]}
OPTION = {"id": "po_1", "category": {"name": "Adult"}, "listPrice": M, "sellPrice": M}
RECEIPT = [
    {"_type": "SubtotalLine", "sign": 1, "total": M, "label": "Subtotal"},
    {"_type": "FeeLine", "sign": 1, "total": M, "label": "Service fee"},
    {"_type": "VoucherLine", "sign": -1, "total": M, "label": "Voucher"},
    {"_type": "ProtectionLine", "sign": 1, "total": M, "label": "Protection"},
]
CART_ITEM = {
    "id": "ci_1",
    "occurrenceId": "50001",
    "inventoryItemId": "it_1",
    "priceOptionId": "po_1",
    "quantity": 2,
    "inventoryVariant": GA,
    "unitPrice": M,
    "total": M,
}
TICKET = {"id": "tk_1", "barcode": {"value": "123", "format": "QR_CODE", "imageUrl": "https://x"}}
CART = {
    "id": "cart_1",
    "expiresAt": "2026-03-15T19:40:00Z",
    "items": [CART_ITEM],
    "receiptLines": RECEIPT,
    "total": M,
    "totalTaxes": M,
    "protection": {"offered": True},
}
ORDER = {
    "id": "ord_1",
    "status": "CONFIRMED",
    "items": [{**CART_ITEM, "inventoryVariant": SEAT, "tickets": [TICKET]}],
    "receiptLines": RECEIPT,
    "total": M,
    "confirmationNumber": "TT-123",
    "contact": {"name": "Ada", "email": "ada@example.com", "phone": "+442071234567"},
    "totalTaxes": M,
    "createdAt": "2026-03-15T19:41:00Z",
    "cartId": "cart_1",
}
EVENT = {
    "id": "1001",
    "name": "Hamilton",
    "startDate": "2026-03-01",
    "endDate": "2026-09-30",
    "location": LOCATION,
    "venue": VENUE,
}
OCCURRENCE = {
    "id": "50001",
    "startsAt": "2026-03-15T19:30:00-05:00",
    "endsAt": "2026-03-15T22:00:00-05:00",
    "fromPrice": M,
    "maxDiscountAmount": M,
    "maxDiscountPercentage": 29,
    "venue": VENUE,
}
ITEMS = [
    {"id": f"it_{n}", "inventoryVariant": v, "quantityAvailable": 3, "priceOptions": [OPTION]}
    for n, v in enumerate((SEAT, GA, EXTRA))
]
PAGINATION = {"limit": 50, "offset": 0, "total": 1}


@dataclass(frozen=True)
class Case:
    name: str
    envelope: Any  # the msgspec type the body decodes to
    body: dict[str, Any]
    decode: Callable[[bytes], Any]
    committed: str | None = None


def _one(type_: Any, committed: str | None = None) -> Callable[[bytes], Any]:
    return lambda body: decode_data(
        200, {}, body, type_, request_id="req_mutation", committed=committed
    )


def _many(type_: Any) -> Callable[[bytes], Any]:
    return lambda body: decode_list(200, {}, body, type_, request_id="req_mutation")


CASES = [
    Case(
        "locations.list",
        ListEnvelope[Location],
        {"data": [LOCATION], "pagination": PAGINATION},
        _many(Location),
    ),
    Case("events.get", DataEnvelope[Event], {"data": EVENT}, _one(Event)),
    Case(
        "events.list",
        ListEnvelope[Event],
        {"data": [EVENT, {**EVENT, "location": "1"}], "pagination": PAGINATION},
        _many(Event),
    ),
    Case("occurrences.get", DataEnvelope[Occurrence], {"data": OCCURRENCE}, _one(Occurrence)),
    Case(
        "occurrences.list",
        ListEnvelope[Occurrence],
        {"data": [OCCURRENCE], "pagination": PAGINATION},
        _many(Occurrence),
    ),
    Case("inventory.list", ListEnvelope[InventoryItem], {"data": ITEMS}, _many(InventoryItem)),
    Case("carts.get", DataEnvelope[Cart], {"data": CART}, _one(Cart)),
    Case("carts.create", DataEnvelope[Cart], {"data": CART}, _one(Cart, "cart"), "cart"),
    Case("orders.get", DataEnvelope[Order], {"data": ORDER}, _one(Order)),
    Case("orders.create", DataEnvelope[Order], {"data": ORDER}, _one(Order, "order"), "order"),
]


@dataclass(frozen=True)
class FieldPath:
    keys: tuple[str | int, ...]
    promised: bool  # the field and every field above it are required
    owner: type  # the model the field belongs to

    def text(self) -> str:
        return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.keys)


def _unwrap(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def _struct_for(t: mi.Type, value: Any) -> mi.StructType | None:
    t = _unwrap(t)
    members = t.types if isinstance(t, mi.UnionType) else (t,)
    for member in map(_unwrap, members):
        if (
            isinstance(member, mi.StructType)
            and isinstance(value, dict)
            and (member.tag_field is None or value.get(member.tag_field) == member.tag)
        ):
            return member
    return None


def _list_item(t: mi.Type) -> mi.Type | None:
    t = _unwrap(t)
    members = t.types if isinstance(t, mi.UnionType) else (t,)
    for member in map(_unwrap, members):
        if isinstance(member, mi.ListType):
            return member.item_type
    return None


def field_paths(t: mi.Type, value: Any, keys: tuple[str | int, ...] = ()) -> list[FieldPath]:
    """Every model field present in ``value``, walked alongside its type."""
    return _walk(t, value, keys, promised=True)


def _walk(t: mi.Type, value: Any, keys: tuple[str | int, ...], promised: bool) -> list[FieldPath]:
    found: list[FieldPath] = []
    struct = _struct_for(t, value)
    if struct is not None:
        for f in struct.fields:
            if f.encode_name in value:
                here = (*keys, f.encode_name)
                is_promised = promised and f.required
                found.append(FieldPath(here, is_promised, struct.cls))
                found += _walk(f.type, value[f.encode_name], here, is_promised)
        return found
    item = _list_item(t)
    if item is not None and isinstance(value, list):
        for index, entry in enumerate(value):
            found += _walk(item, entry, (*keys, index), promised)
    return found


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _apply(body: dict[str, Any], keys: tuple[str | int, ...], new: Any, delete: bool) -> bytes:
    # A JSON round trip, not deepcopy: the bodies share sub-objects (M), and a mutation of
    # one place must not reach the others.
    mutated = msgspec.json.decode(msgspec.json.encode(body))
    parent: Any = mutated
    for key in keys[:-1]:
        parent = parent[key]
    if delete:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = new
    return msgspec.json.encode(mutated)


def _original(body: dict[str, Any], keys: tuple[str | int, ...]) -> Any:
    value: Any = body
    for key in keys:
        value = value[key]
    return value


def _paths(case: Case) -> list[FieldPath]:
    return field_paths(mi.type_info(case.envelope), case.body)


# Every model the docs describe must be exercised by at least one mutation.
MODELS = {
    Location,
    Venue,
    Event,
    Occurrence,
    AssignedSeat,
    GeneralAdmission,
    Extra,
    Category,
    PriceOption,
    InventoryItem,
    SubtotalLine,
    FeeLine,
    VoucherLine,
    ProtectionLine,
    CartItem,
    Cart,
    Barcode,
    Ticket,
    OrderItem,
    Contact,
    Order,
    Pagination,
    Money,
}


def test_the_mutations_reach_every_model() -> None:
    owners = {path.owner for case in CASES for path in _paths(case)}
    assert owners >= MODELS, f"no mutation reaches {MODELS - owners}"
    # Each case has fields of both kinds, or the properties below would be vacuous.
    for case in CASES:
        kinds = {path.promised for path in _paths(case)}
        assert kinds == {True, False}, case.name


def _top_id(case: Case, result: Any) -> Any:
    data = result[0] if isinstance(result, tuple) else result
    return data[0].id if isinstance(data, list) else data.id


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_breaking_a_field_the_docs_do_not_promise_still_decodes(
    case: Case, data: st.DataObject
) -> None:
    optional = [p for p in _paths(case) if not p.promised]
    path = data.draw(st.sampled_from(optional), label="path")
    original = _original(case.body, path.keys)
    delete = data.draw(st.booleans(), label="delete")
    new = data.draw(JSON.filter(lambda v: _json_kind(v) != _json_kind(original)), label="new")
    body = _apply(case.body, path.keys, new, delete)
    logging.getLogger("ttg_async").disabled = True  # one WARNING per path: not this test's job
    try:
        result = case.decode(body)
    finally:
        logging.getLogger("ttg_async").disabled = False
    # The promised data came through untouched.
    assert _top_id(case, result) == _top_id(case, case.decode(msgspec.json.encode(case.body)))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_breaking_a_promised_field_fails_as_documented(case: Case, data: st.DataObject) -> None:
    promised = [p for p in _paths(case) if p.promised]
    path = data.draw(st.sampled_from(promised), label="path")
    original = _original(case.body, path.keys)
    delete = data.draw(st.booleans(), label="delete")
    new = data.draw(JSON.filter(lambda v: _json_kind(v) != _json_kind(original)), label="new")
    body = _apply(case.body, path.keys, new, delete)
    expected = CommittedWriteDecodeError if case.committed else ResponseDecodeError
    with pytest.raises(expected) as info:
        case.decode(body)
    error = info.value
    where = path.text()
    parent = where.rsplit(".", 1)[0]
    # The error names the broken field, or the object that lacks it.
    assert error.path is not None
    assert error.path in (where, parent) or error.path.startswith(where), (error.path, where)
    assert error.status == 200
    assert error.body == body
    if isinstance(error, CommittedWriteDecodeError):
        assert error.committed is True
        assert error.resource == case.committed
        broke_id = path.keys in (("data",), ("data", "id"))
        assert error.resource_id == (None if broke_id else case.body["data"]["id"])
        assert "do not repeat" in str(error)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_strict_mode_raises_where_lenient_mode_drops(case: Case) -> None:
    """The same non-promised mismatch: dropped by default, raised with strict=True."""
    path = next(p for p in _paths(case) if not p.promised)
    original = _original(case.body, path.keys)
    new: Any = [] if not isinstance(original, list) else {"not": "a list"}
    body = _apply(case.body, path.keys, new, delete=False)
    case.decode(body)  # lenient: fine
    token = STRICT.set(True)
    try:
        with pytest.raises(ResponseDecodeError) as info:
            case.decode(body)
    finally:
        STRICT.reset(token)
    assert info.value.path is not None
    assert info.value.path.startswith(path.text())
