"""Drift guard: the msgspec models and docs/openapi.yaml name the same fields, and require the
same ones. Required means promised by the docs (see docs/contract.md), so a field made
required in one place and not the other is a contract change, and must be made in both.
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
import pytest
from contract_support import schemas

from ttg_async import (
    AssignedSeat,
    Barcode,
    Cart,
    CartItem,
    CartItemInput,
    Category,
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
    SubtotalLine,
    Ticket,
    Venue,
    VoucherLine,
)
from ttg_async._ttg.models import Pagination

#: spec schema name -> the model that decodes (or, for requests, encodes) it.
MODELS: dict[str, type] = {
    "Money": Money,
    "Pagination": Pagination,
    "Location": Location,
    "Venue": Venue,
    "Event": Event,
    "Occurrence": Occurrence,
    "AssignedSeat": AssignedSeat,
    "GeneralAdmission": GeneralAdmission,
    "Extra": Extra,
    "Category": Category,
    "PriceOption": PriceOption,
    "InventoryItem": InventoryItem,
    "SubtotalLine": SubtotalLine,
    "FeeLine": FeeLine,
    "VoucherLine": VoucherLine,
    "ProtectionLine": ProtectionLine,
    "CartItem": CartItem,
    "Cart": Cart,
    "Barcode": Barcode,
    "Ticket": Ticket,
    "OrderItem": OrderItem,
    "Contact": Contact,
    "Order": Order,
}
#: Request bodies: the client always sends every field, so only the names are compared.
REQUESTS: dict[str, type] = {"CartItemRequest": CartItemInput}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = schemas()[ref.rsplit("/", 1)[1]]
    return found


def spec_fields(name: str) -> tuple[set[str], set[str]]:
    """(property names, required names) of a spec schema, ``allOf`` parts merged, tag left out."""
    properties: set[str] = set()
    required: set[str] = set()
    pending = [schemas()[name]]
    while pending:
        part = _resolve(pending.pop())
        properties |= set(part.get("properties", {}))
        required |= set(part.get("required", []))
        pending += part.get("allOf", [])
    return properties - {"_type"}, required - {"_type"}


def model_fields(cls: type) -> tuple[set[str], set[str]]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    names = {f.encode_name for f in info.fields}
    return names, {f.encode_name for f in info.fields if f.required}


def test_every_object_schema_has_a_model() -> None:
    """A new object in the spec needs a model (or a deliberate place in this list)."""
    envelopes = {n for n in schemas() if n.endswith(("Envelope", "Page", "List"))}
    abstract = {"Id", "Timestamp", "PositiveMoney", "VariantBase", "ReceiptLineBase", "Error"}
    unions = {"InventoryVariant", "ReceiptLine"}
    requests = {"CartRequest", "OrderRequest"}
    covered = set(MODELS) | set(REQUESTS) | envelopes | abstract | unions | requests
    assert set(schemas()) - covered == set()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_and_spec_agree_on_fields_and_promises(name: str) -> None:
    spec_names, spec_required = spec_fields(name)
    names, required = model_fields(MODELS[name])
    assert names == spec_names, (
        f"{name}: only in the model {sorted(names - spec_names)}, "
        f"only in the spec {sorted(spec_names - names)}"
    )
    assert required == spec_required, (
        f"{name}: required only in the model {sorted(required - spec_required)}, "
        f"only in the spec {sorted(spec_required - required)}"
    )


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_types_send_the_spec_fields(name: str) -> None:
    spec_names, _ = spec_fields(name)
    names, _ = model_fields(REQUESTS[name])
    assert names == spec_names


def test_tagged_unions_list_the_same_variants() -> None:
    variants = schemas()["InventoryVariant"]["discriminator"]["mapping"]
    assert set(variants) == {"AssignedSeat", "GeneralAdmission", "Extra"}
    lines = schemas()["ReceiptLine"]["discriminator"]["mapping"]
    assert set(lines) == {"SubtotalLine", "FeeLine", "VoucherLine", "ProtectionLine"}
    for tag in (*variants, *lines):
        info = mi.type_info(MODELS[tag])
        assert isinstance(info, mi.StructType)
        assert info.tag == tag
