"""The catalog moves on: a seeded night of changes, and the list of what changed.

`evolve` picks, with its own ``random.Random(seed)``, events to end, events to add,
occurrences to cancel, dates to add, extras to sell out and prices to move at rate codes,
applies them to the catalog, pricing and stock, and returns a `CatalogChanges` that lists
every record it added, removed or changed at the levels a sync reports (event, occurrence,
item at a rate code), so a test can hold a sync's changes against the sandbox's own list.

The changes are chosen so that each touches only the records it names: extras are not
tickets, so selling one out leaves the occurrence's price summary alone; a price moves at a
rate code by one currency step and stays under its reference price, so only that item's
``sellPrice.amount`` changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from ttg_async.sandbox._catalog import Catalog, Event, ItemTemplate, Occurrence
from ttg_async.sandbox._pricing import Pricing, RateRule, RetailerConfig
from ttg_async.sandbox._state import State

__all__ = ["CatalogChanges", "ExpectedChange", "evolve"]

Key = tuple[str | None, ...]

#: The most dates an event gets: the catalog's dates (and their encoded days) end there.
_MAX_DATES = 24


@dataclass(frozen=True, slots=True)
class ExpectedChange:
    """One record the sandbox changed, as a sync should report it: ``kind``, ``level`` and
    ``key`` as in [`Change`][ttg_async.Change]; ``fields`` only for a moved price.

    >>> for expected in sandbox.evolve(3).changes:
    ...     print(expected.kind, expected.level, expected.key, expected.fields)
    """

    kind: Literal["added", "changed", "removed"]
    level: Literal["event", "occurrence", "item"]
    key: Key
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PriceMove:
    """A sell price moved at a rate code: the item's ``key`` (as a sync's), the price
    ``category``, and ``before`` and ``after`` in minor units of ``currency``.

    >>> for move in sandbox.evolve(3, rate_codes=[None, "MEMBERS"]).price_moves:
    ...     print(move.key[2], move.category, move.before, "->", move.after, move.currency)
    """

    key: Key
    category: str
    currency: str
    before: int
    after: int


@dataclass(slots=True)
class CatalogChanges:
    """What `Sandbox.evolve` did: the IDs it touched (``ended_events``, ``added_events``,
    ``cancelled_occurrences``, ``added_occurrences``, ``sold_out`` as ``(event, occurrence,
    item)``), the ``price_moves``, and ``changes``: every record it added, removed or
    changed.

    >>> night = sandbox.evolve(3, rate_codes=[None, "MEMBERS"])
    >>> changes = [change async for change in ttg.sync(previous="mon.jsonl", out="tue.jsonl",
    ...                                                rate_codes=[None, "MEMBERS"])]
    >>> assert {(c.kind, c.level, c.key) for c in changes} == night.keys()
    """

    ended_events: list[str] = field(default_factory=list)
    added_events: list[str] = field(default_factory=list)
    cancelled_occurrences: list[str] = field(default_factory=list)
    added_occurrences: list[str] = field(default_factory=list)
    sold_out: list[Key] = field(default_factory=list)
    price_moves: list[PriceMove] = field(default_factory=list)
    changes: list[ExpectedChange] = field(default_factory=list)

    def keys(self) -> set[tuple[str, str, Key]]:
        """``{(kind, level, key)}`` of every change, to compare with a sync's."""
        return {(c.kind, c.level, c.key) for c in self.changes}


def _live_occurrences(catalog: Catalog, event: Event) -> list[Occurrence]:
    return [o for o in catalog.occurrences(event) if o.id not in catalog.cancelled]


def _records(
    catalog: Catalog,
    pricing: Pricing,
    state: State,
    retailer: str,
    event: Event,
    codes: list[str | None],
    occurrences: list[Occurrence] | None = None,
) -> list[tuple[Literal["event", "occurrence", "item"], Key]]:
    """Every record a sync sees under ``event`` (or under the given occurrences only)."""
    out: list[tuple[Literal["event", "occurrence", "item"], Key]] = []
    if occurrences is None:
        out.append(("event", (event.id,)))
        occurrences = _live_occurrences(catalog, event)
    for occ in occurrences:
        out.append(("occurrence", (event.id, occ.id)))
        for code in codes:
            if code is not None and pricing.rule(retailer, event, code) is None:
                continue  # the crawl gets a 404 for this code: no items
            for item in catalog.inventory(occ).items:
                if state.available(occ.id, item) > 0:
                    out.append(("item", (event.id, occ.id, code, item.token(occ.id))))
    return out


def evolve(
    catalog: Catalog,
    pricing: Pricing,
    state: State,
    *,
    seed: int,
    retailer: str,
    rate_codes: list[str | None],
    end_events: int,
    add_events: int,
    cancel_occurrences: int,
    add_dates: int,
    sell_out: int,
    move_prices: int,
) -> CatalogChanges:
    rng = random.Random(seed)
    report = CatalogChanges()
    live = [i for i in range(catalog.event_count) if i not in catalog.ended]
    rng.shuffle(live)
    ended, rest = live[:end_events], live[end_events:]
    touched_occurrences: set[str] = set()
    # Events end: everything beneath them goes.
    for index in sorted(ended):
        event = catalog.event(index)
        for level, key in _records(catalog, pricing, state, retailer, event, rate_codes):
            report.changes.append(ExpectedChange("removed", level, key))
        report.ended_events.append(event.id)
        catalog.ended.add(index)
    # Occurrences are cancelled (never an event's last one: that would be an ended event).
    pool = list(rest)
    for index in pool[:cancel_occurrences]:
        event = catalog.event(index)
        occurrences = _live_occurrences(catalog, event)
        if len(occurrences) < 2:
            continue
        occ = rng.choice(occurrences)
        for level, key in _records(catalog, pricing, state, retailer, event, rate_codes, [occ]):
            report.changes.append(ExpectedChange("removed", level, key))
        report.cancelled_occurrences.append(occ.id)
        touched_occurrences.add(occ.id)
        catalog.cancelled.add(occ.id)
    rest = pool[cancel_occurrences:]
    # Extras sell out.
    for index in rest[:sell_out]:
        event = catalog.event(index)
        occ = rng.choice(_live_occurrences(catalog, event))
        extras = [
            it
            for it in catalog.inventory(occ).items
            if it.kind == "Extra" and state.available(occ.id, it) > 0
        ]
        if not extras:
            continue
        item = extras[0]
        for code in rate_codes:
            if code is None or pricing.rule(retailer, event, code) is not None:
                key = (event.id, occ.id, code, item.token(occ.id))
                report.changes.append(ExpectedChange("removed", "item", key))
        report.sold_out.append((event.id, occ.id, item.token(occ.id)))
        state.sold[(occ.id, item.variant_id)] = state.sold.get(
            (occ.id, item.variant_id), 0
        ) + state.available(occ.id, item)
        state.touched.add(occ.id)
        touched_occurrences.add(occ.id)
    # Prices move up or down by one step at a rate code.
    codes = [c for c in rate_codes if c is not None]
    moved = 0
    for index in rest[sell_out:]:
        if moved >= move_prices or not codes:
            break
        event = catalog.event(index)
        code = rng.choice(codes)
        rule = pricing.rule(retailer, event, code)
        config = pricing.retailer(retailer)
        if rule is None or config is None:
            continue
        occ = rng.choice(_live_occurrences(catalog, event))
        if occ.id in touched_occurrences:
            continue
        candidates = [
            it
            for it in catalog.inventory(occ).items
            if rule.covers(it) and state.available(occ.id, it) > 0
        ]
        rng.shuffle(candidates)
        for item in candidates:
            if _move(pricing, config, occ, item, rule, rng, report):
                moved += 1
                touched_occurrences.add(occ.id)
                break
    # Dates are added at the end of events (never past the catalog's last day).
    spare = [i for i in rest if catalog.event(i).count < _MAX_DATES]
    for index in sorted(rng.sample(spare, min(add_dates, len(spare)))):
        before = catalog.event_json(index)
        catalog.add_date(index)
        event = catalog.event(index)
        occ = catalog.occurrences(event)[-1]
        if catalog.event_json(index) != before:
            report.changes.append(ExpectedChange("changed", "event", (event.id,), ("endDate",)))
        for level, key in _records(catalog, pricing, state, retailer, event, rate_codes, [occ]):
            report.changes.append(ExpectedChange("added", level, key))
        report.added_occurrences.append(occ.id)
    # Events are added at the end of the catalog (each location gets its share).
    first = catalog.event_count
    catalog.event_count += add_events
    for index in range(first, catalog.event_count):
        event = catalog.event(index)
        report.added_events.append(event.id)
        for level, key in _records(catalog, pricing, state, retailer, event, rate_codes):
            report.changes.append(ExpectedChange("added", level, key))
    return report


def _move(
    pricing: Pricing,
    config: RetailerConfig,
    occ: Occurrence,
    item: ItemTemplate,
    rule: RateRule,
    rng: random.Random,
    report: CatalogChanges,
) -> bool:
    """Move one of the item's prices at ``rule``'s code by a step; ``False`` if none can."""
    cur = occ.event.location.currency
    for position, price in enumerate(item.prices):
        priced = pricing.price(config, occ, item, price.category, rule)
        if priced is None:
            continue
        sell, reference = priced
        # Stay under the reference price, so the list price stays as it is.
        if reference is None or reference - sell < 3 * cur.step or sell <= 2 * cur.step:
            continue
        after = sell + cur.step if rng.random() < 0.5 else sell - cur.step
        pricing.set_override((occ.id, item.variant_id, price.category, rule.code), after)
        key = (occ.event.id, occ.id, rule.code, item.token(occ.id))
        path = f"priceOptions[{position}].sellPrice.amount"
        report.changes.append(ExpectedChange("changed", "item", key, (path,)))
        report.price_moves.append(PriceMove(key, price.category, cur.code, sell, after))
        return True
    return False
