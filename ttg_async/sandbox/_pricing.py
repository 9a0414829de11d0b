"""Who sees what at which price: retailers, rate codes (tiers) and price overrides."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from ttg_async.sandbox._catalog import Catalog, Currency, Event, ItemTemplate, Occurrence


@dataclass(frozen=True, slots=True)
class RetailerConfig:
    """How one retailer sees the catalog.

    ``markup_percent`` scales every default price this retailer sees (``-10`` is a 10 % lower
    price); ``event_ids``, when given, limits the events it can see (others give 404).

    >>> from ttg_async.sandbox import Sandbox, RetailerConfig
    >>> acme = RetailerConfig(markup_percent=10, event_ids=frozenset({"1001", "1004"}))
    >>> sb = Sandbox(retailers={"acme": acme, "beta": RetailerConfig()})
    """

    markup_percent: int = 0
    event_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.markup_percent <= -100:
            raise ValueError("markup_percent must be greater than -100")
        if self.event_ids is not None and not isinstance(self.event_ids, frozenset):
            object.__setattr__(self, "event_ids", frozenset(self.event_ids))


DEFAULT_RETAILER: Final = RetailerConfig()

#: The event id under which a rate code is configured for every event.
EVERY_EVENT: Final = "*"


@dataclass(frozen=True, slots=True)
class RateRule:
    """One configured tier: a percentage off the default price, maybe limited to sections."""

    code: str
    percent_off: int
    sections: frozenset[str] | None = None

    def covers(self, item: ItemTemplate) -> bool:
        return self.sections is None or (item.section is not None and item.section in self.sections)


# Codes the seeded catalog ships for every retailer, by event index: (code, every, % off, scope).
# A negative percentage is a premium tier. scope "first" means the venue's first section.
SEEDED_CODES: Final = (
    ("campaign-may", 3, 20, None),
    ("MEMBERS", 6, 10, "first"),
    ("VIP-PLUS", 5, -15, None),
)


class Pricing:
    """Rate-code lookup and the price of a price option for a retailer."""

    def __init__(self, catalog: Catalog, retailers: dict[str, RetailerConfig] | None) -> None:
        self.catalog = catalog
        self.retailers = retailers
        # (event id, code) -> {retailer or None: rule or None (None disables the code)}
        self._rules: dict[tuple[str, str], dict[str | None, RateRule | None]] = {}
        # (occurrence id, variant id, category, tier) -> absolute sell price
        self.overrides: dict[tuple[str, str, str, str], int] = {}
        self.overridden: set[str] = set()  # occurrence ids with any override

    def set_override(self, key: tuple[str, str, str, str], amount: int) -> None:
        self.overrides[key] = amount
        self.overridden.add(key[0])

    def retailer(self, name: str) -> RetailerConfig | None:
        """The retailer's config, or ``None`` when retailers are configured and it is unknown."""
        if self.retailers is None:
            return DEFAULT_RETAILER
        return self.retailers.get(name)

    def can_see(self, retailer: RetailerConfig, event: Event) -> bool:
        return retailer.event_ids is None or event.id in retailer.event_ids

    # -- rate codes ----------------------------------------------------------------------
    def add_rule(
        self,
        event_id: str,
        code: str,
        percent_off: int,
        *,
        retailer: str | None,
        sections: Collection[str] | None,
    ) -> None:
        if not code or len(code) > 255:
            raise ValueError("a rate code has 1 to 255 characters")
        if not -100 < percent_off < 100:
            raise ValueError("percent_off must be between -100 and 100 (exclusive)")
        scope = None if sections is None else frozenset(sections)
        self._rules.setdefault((event_id, code), {})[retailer] = RateRule(code, percent_off, scope)

    def remove_rule(self, event_id: str, code: str, *, retailer: str | None) -> None:
        # A tombstone, so a seeded code can be withdrawn too.
        self._rules.setdefault((event_id, code), {})[retailer] = None

    def rule(self, retailer: str, event: Event, code: str) -> RateRule | None:
        """The tier ``code`` means for this retailer on this event, or ``None`` (unknown).

        A code configured for this event wins over one configured for every event (``"*"``),
        which wins over the seeded codes.
        """
        for key in ((event.id, code), (EVERY_EVENT, code)):
            configured = self._rules.get(key)
            if configured is not None:
                if retailer in configured:
                    return configured[retailer]
                if None in configured:
                    return configured[None]
        return self._seeded(event, code)

    def _seeded(self, event: Event, code: str) -> RateRule | None:
        for name, every, off, scope in SEEDED_CODES:
            if name == code and event.index % every == 0:
                sections = None
                if scope == "first":
                    sections = frozenset({self._first_section(event)})
                return RateRule(name, off, sections)
        return None

    def _first_section(self, event: Event) -> str:
        return self.catalog.first_section(event)

    def codes(self, retailer: str, event: Event) -> list[str]:
        """Every code recognised for this retailer on this event (for tests and demos)."""
        names = {name for name, *_ in SEEDED_CODES}
        names.update(code for (eid, code) in self._rules if eid in (event.id, EVERY_EVENT))
        return sorted(c for c in names if self.rule(retailer, event, c) is not None)

    # -- prices --------------------------------------------------------------------------
    def price(
        self,
        retailer: RetailerConfig,
        occ: Occurrence,
        item: ItemTemplate,
        category: str,
        rule: RateRule | None,
    ) -> tuple[int, int | None] | None:
        """``(sell, list or None)`` in minor units, or ``None`` for an unknown category."""
        tmpl = item.price(category)
        if tmpl is None:
            return None
        cur = occ.event.location.currency
        sell = self.overrides.get((occ.id, item.variant_id, category, ""))
        if sell is None:
            sell = _markup(cur, tmpl.sell, retailer.markup_percent)
        lst = None if tmpl.list is None else _markup(cur, tmpl.list, retailer.markup_percent)
        if rule is not None and rule.covers(item):
            reference = lst if lst is not None else sell
            tier = self.overrides.get((occ.id, item.variant_id, category, rule.code))
            if tier is None:
                tier = cur.round(sell * (100 - rule.percent_off) / 100)
            sell, lst = tier, reference
        # The list price is shown only when it is a real discount.
        return sell, (lst if lst is not None and lst > sell else None)


def _markup(cur: Currency, amount: int, percent: int) -> int:
    return amount if percent == 0 else cur.round(amount * (100 + percent) / 100)
