"""Rate codes side by side: one row per seat (or GA area, or extra) and price category.

``inventory.by_rate_codes`` answers with one inventory list per code; each list stands alone,
as the API documents. [`compare_tiers`][ttg_async.compare_tiers] lines those lists up by
``inventoryVariant.id``, which the API keeps stable, and by price category, so that "which code is
cheapest for this seat" is one call. Pure: no I/O, nothing but the lists it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from ttg_async._ttg.errors import ProviderCodeNotFoundError
from ttg_async._ttg.models import (
    AssignedSeat,
    Extra,
    GeneralAdmission,
    InventoryItem,
    InventoryVariant,
    Money,
)

__all__ = ["TierComparison", "TierPrice", "TierRow", "compare_tiers"]

Kind: TypeAlias = Literal["ticket", "extra", "unknown"]
_KINDS: Final = ("ticket", "extra", "unknown", "any")


@dataclass(frozen=True, slots=True)
class TierPrice:
    """One price option of one item under one rate code (``None`` is the default tier).

    ``item_id`` and ``price_option_id`` are the IDs to put in a cart to buy at this tier.

    >>> price = comparison.cheapest()
    >>> print(price.rate_code, price.sell_price.format(), price.discount)
    """

    rate_code: str | None
    item_id: str
    price_option_id: str
    sell_price: Money
    list_price: Money | None
    quantity_available: int

    @property
    def discount(self) -> Money | None:
        """``list_price - sell_price`` when there is a list price above the sell price."""
        listed = self.list_price
        if listed is None or listed.currency != self.sell_price.currency:
            return None
        if listed.amount <= self.sell_price.amount:
            return None
        return Money(listed.amount - self.sell_price.amount, listed.currency)


def _kind(variant: InventoryVariant) -> Kind:
    if isinstance(variant, AssignedSeat | GeneralAdmission):
        return "ticket"
    if isinstance(variant, Extra):
        return "extra"
    # A variant this version does not know is neither offered as a seat nor as an add-on.
    return "unknown"


def _cheapest(prices: list[TierPrice]) -> TierPrice | None:
    if not prices:
        return None
    currencies = {price.sell_price.currency for price in prices}
    if len(currencies) > 1:
        raise ValueError(f"prices in more than one currency cannot be compared: {currencies}")
    # Ties go to the code given first, so the default tier wins a tie when it came first.
    return min(prices, key=lambda price: price.sell_price.amount)


@dataclass(frozen=True, slots=True)
class TierRow:
    """One variant (a seat, a GA area, an extra) at one price category, under every code.

    ``prices`` maps each code that offers this row to its [`TierPrice`][ttg_async.TierPrice], in the
    order the codes were given; a code missing from it does not offer the row (sold, held, or not in
    that tier). ``kind`` is ``"ticket"`` (an assigned seat or general admission),
    ``"extra"`` (parking, a programme) or ``"unknown"`` (a variant type this version does not
    know).

    >>> row = comparison.rows[0]
    >>> print(row.variant.name, row.category, {c: p.sell_price for c, p in row.prices.items()})
    """

    variant: InventoryVariant
    category: str
    kind: Kind
    prices: dict[str | None, TierPrice] = field(default_factory=dict)

    @property
    def variant_id(self) -> str | None:
        return self.variant.id

    def cheapest(self) -> TierPrice | None:
        """The lowest sell price among the codes that offer this row."""
        return _cheapest(list(self.prices.values()))


class TierComparison:
    """Inventory under several rate codes, lined up per variant and price category.

    Made by [`compare_tiers`][ttg_async.compare_tiers]. ``codes`` are the codes compared, in the
    order given; ``unknown_codes`` maps each code the server did not recognise to its error;
    ``rows`` lists each (variant, category) once, in the order first seen.

    >>> tiers = await ttg.inventory.by_rate_codes("1001", "100101", [None, "MEMBERS"])
    >>> comparison = compare_tiers(tiers)
    >>> best = comparison.cheapest_for("LowerTier-A-101")  # which code is cheapest here
    >>> seat = comparison.cheapest()  # the cheapest ticket of all: never a parking pass
    """

    __slots__ = ("codes", "rows", "unknown_codes")

    def __init__(
        self,
        codes: tuple[str | None, ...],
        rows: list[TierRow],
        unknown_codes: dict[str | None, ProviderCodeNotFoundError],
    ) -> None:
        self.codes = codes
        self.rows = rows
        self.unknown_codes = unknown_codes

    def __repr__(self) -> str:
        return (
            f"<TierComparison codes={list(self.codes)!r} rows={len(self.rows)} "
            f"unknown_codes={list(self.unknown_codes)!r}>"
        )

    def rows_for(self, variant_id: str) -> list[TierRow]:
        """The rows of one variant (one per price category)."""
        return [row for row in self.rows if row.variant.id == variant_id]

    def cheapest_for(self, variant_id: str, *, category: str | None = None) -> TierPrice | None:
        """The code (and price option) that sells this variant cheapest; ``None`` if unsold.

        ``category`` limits it to one price category (such as ``"Adult"``).
        """
        prices = [
            price
            for row in self.rows_for(variant_id)
            if category is None or row.category == category
            for price in row.prices.values()
        ]
        return _cheapest(prices)

    def cheapest(
        self, kind: Literal["ticket", "extra", "unknown", "any"] = "ticket"
    ) -> TierPrice | None:
        """The lowest sell price of any row of ``kind`` under any code.

        The default, ``"ticket"``, looks at assigned seats and general admission only, so a
        parking pass or a programme is never the answer to "the cheapest seat".
        """
        if kind not in _KINDS:
            raise ValueError(f"kind: must be one of {', '.join(_KINDS)}, got {kind!r}")
        prices = [
            price
            for row in self.rows
            if kind == "any" or row.kind == kind
            for price in row.prices.values()
        ]
        return _cheapest(prices)


def compare_tiers(
    tiers: Mapping[str | None, list[InventoryItem] | ProviderCodeNotFoundError],
) -> TierComparison:
    """Line up ``inventory.by_rate_codes`` results by ``inventoryVariant.id`` and category.

    >>> tiers = await ttg.inventory.by_rate_codes("1001", "100101", [None, "VIP-PLUS"])
    >>> comparison = compare_tiers(tiers)
    >>> for row in comparison.rows:
    ...     print(row.variant.name, row.category, row.kind, row.cheapest())

    Items whose variant has no ID (an unknown variant type without one) are keyed by the item
    ID instead, so they still get a row.
    """
    if not isinstance(tiers, Mapping):
        raise TypeError(f"tiers: must be a mapping of code to items, not {type(tiers).__name__}")
    rows: dict[tuple[str, str], TierRow] = {}
    unknown: dict[str | None, ProviderCodeNotFoundError] = {}
    for code, items in tiers.items():
        if isinstance(items, ProviderCodeNotFoundError):
            unknown[code] = items
            continue
        if not isinstance(items, list):
            raise TypeError(
                f"tiers[{code!r}]: must be a list of InventoryItem or a "
                f"ProviderCodeNotFoundError, not {type(items).__name__}"
            )
        for item in items:
            variant = item.inventory_variant
            variant_key = variant.id if variant.id is not None else f"item:{item.id}"
            for option in item.price_options:
                key = (variant_key, option.category.name)
                row = rows.get(key)
                if row is None:
                    row = rows[key] = TierRow(variant, option.category.name, _kind(variant))
                if code in row.prices:
                    continue  # the same variant twice under one code: keep the first
                row.prices[code] = TierPrice(
                    code,
                    item.id,
                    option.id,
                    option.sell_price,
                    option.list_price,
                    item.quantity_available,
                )
    return TierComparison(tuple(tiers), list(rows.values()), unknown)
