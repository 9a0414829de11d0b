"""The cheap unknown-``_type`` fallbacks: a learned tag is retagged in the bytes and decoded
strictly; when that cannot be trusted, only the odd items of a list take the slow path."""

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


def _decoder() -> TolerantDecoder[ListEnvelope[InventoryItem]]:
    return TolerantDecoder(ListEnvelope[InventoryItem])


def _reference(body: bytes) -> ListEnvelope[InventoryItem]:
    """The exact slow path: the whole body to builtins, walked, converted."""
    decode = _decoder()
    decode._retag = None
    decode._split = None
    return decode(body)


def _check_items(result: ListEnvelope[InventoryItem]) -> None:
    assert result.pagination == Pagination(50, 0, 200)
    assert [item.id for item in result.data] == [f"it{i}" for i in range(200)]
    assert result.data[7].inventory_variant == UnknownVariant(
        type="Standing", id="v7", name="Seat 7"
    )
    assert isinstance(result.data[150].inventory_variant, UnknownVariant)
    assert isinstance(result.data[1].inventory_variant, AssignedSeat)
    assert isinstance(result.data[2].inventory_variant, GeneralAdmission)


def test_an_unknown_tag_is_retagged_without_decoding_anything_to_builtins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = _body(_items(200, {7, 150}))
    counting = _Counting()
    monkeypatch.setattr(decoding, "_raw_decoder", counting)
    decode = _decoder()
    result = decode(body)
    assert decode.fallbacks == 1
    assert counting.sizes == []
    _check_items(result)
    # Learned: the next body is retagged before the strict decoder sees it.
    assert decode.detour
    assert decode(body) == result
    assert decode.fallbacks == 2
    assert counting.sizes == []


def test_without_the_retag_only_the_odd_items_take_the_slow_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = _body(_items(200, {7, 150}))
    counting = _Counting()
    monkeypatch.setattr(decoding, "_raw_decoder", counting)
    decode = _decoder()
    decode._retag = None
    # The odd items go through the item's own (shared) decoder: no retag there either.
    item_decoder = decoding.decoder_for(InventoryItem)
    monkeypatch.setattr(item_decoder, "_retag", None)
    monkeypatch.setattr(item_decoder, "detour", False)
    result = decode(body)
    assert decode.fallbacks == 1
    # Only the two odd items were decoded to builtins, never the whole page.
    assert len(counting.sizes) == 2
    assert max(counting.sizes) < len(body) // 50
    _check_items(result)


def _variant(items: list[dict[str, Any]], i: int) -> dict[str, Any]:
    variant: dict[str, Any] = items[i]["inventoryVariant"]
    return variant


@pytest.mark.parametrize(
    "case",
    [
        "two unknown tags",
        "spaces around the colon",
        "the tag inside a free-form attribute",
        "a variant with its own type field",
        "the fallback's own tag sent by the server",
        "an unknown tag only inside a free-form attribute",
        "the fallback's own tag with a learned type, and a free-form match",
    ],
)
def test_the_retag_gives_exactly_what_the_slow_path_gives(case: str) -> None:
    items = _items(12, {3, 8})
    if case == "two unknown tags":
        _variant(items, 8)["_type"] = "Lounge"
    elif case == "the tag inside a free-form attribute":
        _variant(items, 1)["attributes"] = [{"_type": "Standing", "kept": True}]
    elif case == "a variant with its own type field":
        _variant(items, 3)["type"] = "its own"
    elif case == "the fallback's own tag sent by the server":
        _variant(items, 5)["_type"] = "UnknownVariant"
        _variant(items, 5)["type"] = "Sent"
    elif case == "the fallback's own tag with a learned type, and a free-form match":
        # One rewrite lands in a free-form value; the member the server sent under the
        # fallback's own tag must not make the count come out right by accident.
        _variant(items, 5)["_type"] = "UnknownVariant"
        _variant(items, 5)["type"] = "Standing"
        _variant(items, 1)["attributes"] = [{"_type": "Standing"}]
    elif case == "an unknown tag only inside a free-form attribute":
        items = _items(12, set())
        _variant(items, 1)["attributes"] = [{"_type": "Standing"}]
    body = _body(items)
    if case == "spaces around the colon":
        body = body.replace(b'"_type": "Standing"', b'"_type" :\n "Standing"')
    decode = _decoder()
    expected = _reference(body)
    # Twice: once learning the tags from the strict decoder's errors, once retagging first.
    assert decode(body) == expected
    assert decode(body) == expected
    assert decode(_body(_items(12, set()))) == _reference(_body(_items(12, set())))


def test_a_learned_tag_does_not_slow_down_or_change_known_bodies() -> None:
    decode = _decoder()
    decode(_body(_items(5, {2})))
    assert decode.detour
    known = _body(_items(5, set()))
    before = decode.fallbacks
    assert decode(known) == _reference(known)
    assert decode.fallbacks == before  # no rewrite happened: nothing to count


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
