"""compare_tiers(): rate codes side by side per seat and category, against the sandbox."""

from __future__ import annotations

import pytest

from ttg_async import (
    AssignedSeat,
    Category,
    InventoryItem,
    Money,
    PriceOption,
    ProviderCodeNotFoundError,
    TierComparison,
    TTGClient,
    UnknownVariant,
    compare_tiers,
)
from ttg_async.sandbox import Sandbox

KEY = "sk_test_tiers000000000000000000"
CODES = [None, "MEMBERS", "VIP-PLUS", "campaign-may", "no-such-code"]


async def comparison_for_1001() -> TierComparison:
    async with (
        Sandbox(seed=0).serve() as base_url,
        TTGClient(KEY, "r", base_url=base_url) as ttg,
    ):
        tiers = await ttg.inventory.by_rate_codes("1001", "100101", CODES)
    return compare_tiers(tiers)


async def test_rows_line_up_every_code_per_variant_and_category() -> None:
    comparison = await comparison_for_1001()
    assert comparison.codes == tuple(CODES)
    assert list(comparison.unknown_codes) == ["no-such-code"]
    assert isinstance(comparison.unknown_codes["no-such-code"], ProviderCodeNotFoundError)
    keys = [(row.variant_id, row.category) for row in comparison.rows]
    assert len(keys) == len(set(keys))
    seat = next(row for row in comparison.rows if row.variant.id == "LowerTier-A-101")
    assert list(seat.prices) == [None, "MEMBERS", "VIP-PLUS", "campaign-may"]
    default = seat.prices[None].sell_price.amount
    # The sandbox's seeded tiers: MEMBERS 10 % off the first section, VIP-PLUS 15 % above,
    # campaign-may 20 % off everything.
    assert seat.prices["VIP-PLUS"].sell_price.amount > default
    assert seat.prices["MEMBERS"].sell_price.amount < default
    best = seat.cheapest()
    assert best is not None
    assert best.rate_code == "campaign-may"
    assert comparison.cheapest_for("LowerTier-A-101") == best
    assert best.price_option_id == seat.prices["campaign-may"].price_option_id
    assert best.item_id.startswith("MTAw")  # the tier's own item ID, for the cart


async def test_the_cheapest_seat_is_never_an_extra() -> None:
    comparison = await comparison_for_1001()
    kinds = {row.kind for row in comparison.rows}
    assert kinds == {"ticket", "extra"}
    anything = comparison.cheapest("any")
    ticket = comparison.cheapest()
    assert anything is not None
    assert ticket is not None
    # The parking pass is the cheapest thing on sale, and still not the cheapest seat.
    extra_ids = {p.item_id for r in comparison.rows if r.kind == "extra" for p in r.prices.values()}
    assert anything.item_id in extra_ids
    assert ticket.item_id not in extra_ids
    assert ticket.sell_price.amount == min(
        p.sell_price.amount
        for r in comparison.rows
        if r.kind == "ticket"
        for p in r.prices.values()
    )
    extra = comparison.cheapest("extra")
    assert extra is not None
    assert extra.item_id in extra_ids
    with pytest.raises(ValueError, match="kind: must be one of"):
        comparison.cheapest("seat")  # type: ignore[arg-type]


def option(option_id: str, sell: int, listed: int | None = None) -> PriceOption:
    return PriceOption(
        id=option_id,
        category=Category("Adult"),
        sell_price=Money(sell, "GBP"),
        list_price=None if listed is None else Money(listed, "GBP"),
    )


def test_discounts_unknown_variants_and_missing_codes() -> None:
    mystery = UnknownVariant(type="Lounge", id="lounge-1", name="Lounge")
    lounge = InventoryItem(
        id="item-1",
        inventory_variant=mystery,
        quantity_available=3,
        price_options=[option("a", 900)],
    )
    lounge_vip = InventoryItem(
        id="item-2",
        inventory_variant=mystery,
        quantity_available=3,
        price_options=[option("b", 800, listed=1000)],
    )
    comparison = compare_tiers({None: [lounge], "vip": [lounge_vip], "gone": []})
    (row,) = comparison.rows
    assert row.kind == "unknown"
    assert comparison.cheapest() is None  # an unknown variant is not offered as a ticket
    vip = row.prices["vip"]
    assert vip.discount == Money(200, "GBP")
    assert row.prices[None].discount is None
    assert "gone" not in row.prices
    assert comparison.cheapest_for("lounge-1") == vip
    assert comparison.cheapest_for("nothing") is None


def test_bad_input_is_refused_with_the_field_named() -> None:
    with pytest.raises(TypeError, match="tiers: must be a mapping"):
        compare_tiers([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"tiers\['x'\]"):
        compare_tiers({"x": "not items"})  # type: ignore[dict-item]


def _seat(item_id: str, amount: int, currency: str = "GBP") -> InventoryItem:
    return InventoryItem(
        id=item_id,
        inventory_variant=AssignedSeat(
            id="Stalls-A-1", name="Stalls A 1", section="Stalls", row="A", seat="1"
        ),
        quantity_available=1,
        price_options=[
            PriceOption(
                id=f"{item_id}-o", category=Category("Adult"), sell_price=Money(amount, currency)
            )
        ],
    )


def test_prices_in_different_currencies_are_never_compared() -> None:
    """100 JPY is not cheaper than 90 GBP: the comparison refuses instead of guessing."""
    comparison = compare_tiers({None: [_seat("a", 9000, "GBP")], "yen": [_seat("b", 100, "JPY")]})
    for ask in (comparison.cheapest, lambda: comparison.cheapest_for("Stalls-A-1")):
        with pytest.raises(ValueError, match="currency"):
            ask()
    (row,) = comparison.rows
    with pytest.raises(ValueError, match="currency"):
        row.cheapest()


@pytest.mark.parametrize("codes", [(None, "A", "B"), ("B", None, "A"), ("A", "B", None)])
def test_a_tie_goes_to_the_code_given_first(codes: tuple[str | None, ...]) -> None:
    tiers = {code: [_seat(f"item-{code}", 5000)] for code in codes}
    comparison = compare_tiers(tiers)
    for best in (
        comparison.cheapest(),
        comparison.cheapest_for("Stalls-A-1"),
        comparison.rows[0].cheapest(),
    ):
        assert best is not None
        assert best.rate_code == codes[0]
        assert best.item_id == f"item-{codes[0]}"
