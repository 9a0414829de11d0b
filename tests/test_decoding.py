"""The cheap unknown-``_type`` fallback of a list: only the odd items take the slow path."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

import ttg_async._core.decoding as decoding
from ttg_async import AssignedSeat, GeneralAdmission, InventoryItem, UnknownVariant
from ttg_async._core.decoding import TolerantDecoder
from ttg_async._ttg.models import ListEnvelope, Pagination


def _items(n: int, unknown: set[int]) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        kind = "Standing" if i in unknown else ("AssignedSeat" if i % 2 else "GeneralAdmission")
        variant = {"_type": kind, "id": f"v{i}", "name": f"Seat {i}", "section": "Orch"}
        if kind == "AssignedSeat":
            variant |= {"row": "A", "seat": str(i)}
        out.append(
            {
                "id": f"it{i}",
                "inventoryVariant": variant,
                "quantityAvailable": 1,
                "priceOptions": [
                    {
                        "id": "po",
                        "category": {"name": "Adult"},
                        "sellPrice": {"amount": 12500, "currency": "USD"},
                    }
                ],
            }
        )
    return out


def _body(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"data": items, "pagination": {"limit": 50, "offset": 0, "total": len(items)}}
    ).encode()


class _Counting:
    """Wraps the builtins decoder to record the size of every body it is given."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self._inner = msgspec.json.Decoder()

    def decode(self, body: bytes) -> Any:
        self.sizes.append(len(body))
        return self._inner.decode(body)


def test_one_unknown_item_takes_the_slow_path_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    body = _body(_items(200, {7, 150}))
    counting = _Counting()
    monkeypatch.setattr(decoding, "_raw_decoder", counting)
    decode: TolerantDecoder[ListEnvelope[InventoryItem]] = TolerantDecoder(
        ListEnvelope[InventoryItem]
    )
    result = decode(body)
    assert decode.fallbacks == 1
    # Only the two odd items were decoded to builtins, never the whole page.
    assert len(counting.sizes) == 2
    assert max(counting.sizes) < len(body) // 50
    assert result.pagination == Pagination(50, 0, 200)
    assert [item.id for item in result.data] == [f"it{i}" for i in range(200)]
    assert result.data[7].inventory_variant == UnknownVariant(
        type="Standing", id="v7", name="Seat 7"
    )
    assert isinstance(result.data[150].inventory_variant, UnknownVariant)
    assert isinstance(result.data[1].inventory_variant, AssignedSeat)
    assert isinstance(result.data[2].inventory_variant, GeneralAdmission)


def test_the_split_result_equals_the_full_path() -> None:
    body = _body(_items(30, {0, 5, 29}))
    decode: TolerantDecoder[ListEnvelope[InventoryItem]] = TolerantDecoder(
        ListEnvelope[InventoryItem]
    )
    split = decode(body)
    full = decode._split
    decode._split = None  # the slow path over the whole body, for reference
    try:
        assert decode(body) == split
    finally:
        decode._split = full


def test_a_real_error_still_names_its_exact_path() -> None:
    items = _items(10, {2})
    items[6]["priceOptions"][0]["sellPrice"]["amount"] = "125.00"
    decode: TolerantDecoder[ListEnvelope[InventoryItem]] = TolerantDecoder(
        ListEnvelope[InventoryItem]
    )
    with pytest.raises(msgspec.ValidationError, match=r"\$\.data\[6\]\.priceOptions\[0\]"):
        decode(_body(items))


def test_an_odd_field_in_every_item_costs_one_repair_not_one_per_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = _items(500, set())
    for item in items:
        item["inventoryVariant"]["attributes"] = {"not": "a list"}
    body = _body(items)
    decode: TolerantDecoder[ListEnvelope[InventoryItem]] = TolerantDecoder(
        ListEnvelope[InventoryItem]
    )
    whole: list[object] = []
    real_convert = msgspec.convert

    def counting(obj: Any, type: Any, **kwargs: Any) -> Any:
        if type is ListEnvelope[InventoryItem]:
            whole.append(obj)
        return real_convert(obj, type, **kwargs)

    monkeypatch.setattr(msgspec, "convert", counting)
    result, dropped = decode.lenient(body)
    assert len(result.data) == 500
    assert all(item.inventory_variant.attributes == [] for item in result.data)
    assert sorted(dropped) == sorted(f"$.data[{i}].inventoryVariant.attributes" for i in range(500))
    # One conversion of the whole page per variant class that carried the odd field (the
    # page alternates seats and general admission), however many items it had.
    assert len(whole) == 2


def test_siblings_of_another_variant_keep_their_own_fields() -> None:
    # The drop of an optional GeneralAdmission.section never reaches an AssignedSeat.section.
    items = _items(4, set())
    items[0]["inventoryVariant"]["section"] = 7  # GeneralAdmission: optional, dropped
    decode: TolerantDecoder[ListEnvelope[InventoryItem]] = TolerantDecoder(
        ListEnvelope[InventoryItem]
    )
    result, dropped = decode.lenient(_body(items))
    assert dropped == ["$.data[0].inventoryVariant.section"]
    seat = result.data[1].inventory_variant
    assert isinstance(seat, AssignedSeat)
    assert seat.section == "Orch"
