"""``ttg locations``, ``events``, ``occurrences``, ``inventory`` and ``prices``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ttg_async._commands._common import (
    check_locale,
    connection_options,
    console,
    error_json,
    json_option,
    make_client,
    money,
    print_json,
    to_builtins,
)
from ttg_async._core.pagination import MAX_LIMIT
from ttg_async._ttg.client import TTGClient
from ttg_async._ttg.errors import ProviderCodeNotFoundError
from ttg_async._ttg.models import (
    AssignedSeat,
    Extra,
    GeneralAdmission,
    InventoryItem,
    InventoryVariant,
    Money,
    Occurrence,
)
from ttg_async._ttg.tiers import TierPrice, compare_tiers

_Tiers = dict[str | None, list[InventoryItem] | ProviderCodeNotFoundError]


def add_commands(commands: Any) -> None:
    """Add the browsing commands to ``commands`` (an argparse sub-parsers object)."""
    parent = connection_options()

    locations = commands.add_parser(
        "locations",
        parents=[parent],
        help="list the locations (markets) your retailer sells in",
        description="List every location: ID, name, country.",
    )
    json_option(locations, "the list")
    locations.set_defaults(command_run=_locations)

    events = commands.add_parser(
        "events",
        parents=[parent],
        help="list the events of a location",
        description="List every event of a location: ID, name, dates, venue.",
    )
    events.add_argument("location_id", metavar="LOCATION_ID")
    json_option(events, "the list")
    events.set_defaults(command_run=_events)

    occurrences = commands.add_parser(
        "occurrences",
        parents=[parent],
        help="list the dated performances of an event",
        description=(
            "List every occurrence of an event: start and end in the venue's time, the lowest "
            "price, and the largest discount. A sold-out or off-sale date has no price."
        ),
    )
    occurrences.add_argument("event_id", metavar="EVENT_ID")
    json_option(occurrences, "the list")
    occurrences.set_defaults(command_run=_occurrences)

    inventory = commands.add_parser(
        "inventory",
        parents=[parent],
        help="list what can be bought for an occurrence, at one or more rate codes",
        description=(
            "List the purchasable items of an occurrence: seats, general admission and "
            "extras, with every price option. Without --rate-code: the default tier."
        ),
    )
    inventory.add_argument("event_id", metavar="EVENT_ID")
    inventory.add_argument("occurrence_id", metavar="OCCURRENCE_ID")
    inventory.add_argument(
        "--rate-code",
        action="append",
        metavar="CODE",
        help="a rate code (providerCode) to price at; repeat for several (case-sensitive)",
    )
    json_option(inventory, "[{rateCode, items} or {rateCode, error}, ...]")
    inventory.set_defaults(command_run=_inventory)

    prices = commands.add_parser(
        "prices",
        parents=[parent],
        help="compare rate codes side by side for an occurrence",
        description=(
            "One row per seat (or GA area, or extra) and price category, one column per rate "
            "code, the default tier first. Discounts show the list price; the cheapest code "
            "of each row is marked with *. Codes the server does not know are reported."
        ),
    )
    prices.add_argument("event_id", metavar="EVENT_ID")
    prices.add_argument("occurrence_id", metavar="OCCURRENCE_ID")
    prices.add_argument(
        "--rate-code",
        action="append",
        required=True,
        metavar="CODE",
        help="a rate code to compare with the default tier; repeat for several",
    )
    json_option(prices, "{codes, unknownCodes, rows}")
    prices.set_defaults(command_run=_prices)


def _with_client(args: argparse.Namespace, body: Callable[[TTGClient], Awaitable[int]]) -> int:
    check_locale(args.locale)
    client = make_client(args)

    async def main() -> int:
        async with client as ttg:
            return await body(ttg)

    return asyncio.run(main())


def _table(title: str, *columns: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def _locations(args: argparse.Namespace) -> int:
    async def body(ttg: TTGClient) -> int:
        found = await ttg.locations.list(limit=MAX_LIMIT).collect()
        if args.json:
            print_json(found)
            return 0
        if not found:
            console().print("No locations: the server lists none for this retailer (--retailer).")
            return 0
        table = _table(f"{len(found)} locations", "ID", "Name", "Country")
        for location in found:
            table.add_row(location.id, location.name, location.country or "")
        console().print(table)
        return 0

    return _with_client(args, body)


def _events(args: argparse.Namespace) -> int:
    async def body(ttg: TTGClient) -> int:
        found = await ttg.events.list(args.location_id, limit=MAX_LIMIT).collect()
        if args.json:
            print_json(found)
            return 0
        if not found:
            console().print(
                f"No events in location {args.location_id}: the server lists none there "
                "(`ttg locations` lists the location IDs)."
            )
            return 0
        table = _table(
            f"{len(found)} events in location {args.location_id}",
            "ID",
            "Name",
            "From",
            "To",
            "Venue",
        )
        for event in found:
            table.add_row(
                event.id,
                event.name,
                str(event.start_date or ""),
                str(event.end_date or "open"),
                event.venue.name if event.venue else "",
            )
        console().print(table)
        return 0

    return _with_client(args, body)


def _discount(occurrence: Occurrence, locale: str) -> str:
    parts = []
    if occurrence.max_discount_percentage is not None:
        parts.append(f"up to {occurrence.max_discount_percentage}%")
    if occurrence.max_discount_amount is not None:
        parts.append(f"up to {money(occurrence.max_discount_amount, locale)}")
    return ", ".join(parts)


def _occurrences(args: argparse.Namespace) -> int:
    async def body(ttg: TTGClient) -> int:
        found = await ttg.occurrences.list(args.event_id)
        if args.json:
            print_json(found)
            return 0
        if not found:
            console().print(
                f"No occurrences of event {args.event_id}: the server lists no dated "
                "performance for it (none scheduled, or all past)."
            )
            return 0
        table = _table(
            f"{len(found)} occurrences of event {args.event_id}",
            "ID",
            "Starts (venue time)",
            "Ends",
            "From",
            "Discount",
        )
        for occurrence in found:
            ends = occurrence.ends_at
            table.add_row(
                occurrence.id,
                occurrence.starts_at.strftime("%a %Y-%m-%d %H:%M %z"),
                "" if ends is None else ends.strftime("%H:%M"),
                "sold out"
                if occurrence.from_price is None
                else money(occurrence.from_price, args.locale),
                _discount(occurrence, args.locale),
            )
        console().print(table)
        return 0

    return _with_client(args, body)


def _variant_text(variant: InventoryVariant) -> tuple[str, str]:
    """(kind, where) for display: ("Seat", "Lower Tier A 101"), ("Extra", "Parking pass")."""
    if isinstance(variant, AssignedSeat):
        return "Seat", f"{variant.section}, row {variant.row}, seat {variant.seat}"
    if isinstance(variant, GeneralAdmission):
        return "GA", variant.name
    if isinstance(variant, Extra):
        return "Extra", variant.name
    return f"{variant.type} (unknown)", variant.name or variant.id or ""


def _price(sell: Money, listed: Money | None, locale: str) -> str:
    text = money(sell, locale)
    if listed is not None and listed.currency == sell.currency and listed.amount > sell.amount:
        off = round(100 * (listed.amount - sell.amount) / listed.amount)
        text += f" (was {money(listed, locale)}, -{off}%)"
    return text


def _code_name(code: str | None) -> str:
    return "default" if code is None else code


async def _tiers(ttg: TTGClient, args: argparse.Namespace, codes: list[str | None]) -> _Tiers:
    return await ttg.inventory.by_rate_codes(args.event_id, args.occurrence_id, codes)


def _inventory(args: argparse.Namespace) -> int:
    codes: list[str | None] = list(args.rate_code) if args.rate_code else [None]

    async def body(ttg: TTGClient) -> int:
        tiers = await _tiers(ttg, args, codes)
        if args.json:
            print_json(
                [
                    {"rateCode": code, "error": error_json(items)}
                    if isinstance(items, ProviderCodeNotFoundError)
                    else {"rateCode": code, "items": to_builtins(items)}
                    for code, items in tiers.items()
                ]
            )
            return 0
        out = console()
        for code, items in tiers.items():
            title = f"Occurrence {args.occurrence_id}, rate code {_code_name(code)}"
            if isinstance(items, ProviderCodeNotFoundError):
                out.print(f"{title}: unknown rate code ({items.code}, {items.message})")
                continue
            if not items:
                out.print(f"{title}: nothing to buy ({await _why_empty(ttg, args)}).")
                continue
            table = _table(
                f"{title}: {len(items)} items", "Kind", "Item", "Left", "Category", "Price"
            )
            for item in items:
                kind, where = _variant_text(item.inventory_variant)
                for index, option in enumerate(item.price_options):
                    table.add_row(
                        kind if not index else "",
                        where if not index else "",
                        str(item.quantity_available) if not index else "",
                        option.category.name,
                        _price(option.sell_price, option.list_price, args.locale),
                    )
            out.print(table)
        return 0

    return _with_client(args, body)


def _prices(args: argparse.Namespace) -> int:
    codes: list[str | None] = [None, *args.rate_code]

    async def body(ttg: TTGClient) -> int:
        comparison = compare_tiers(await _tiers(ttg, args, codes))
        if args.json:
            print_json(
                {
                    "codes": list(comparison.codes),
                    "unknownCodes": [
                        {"rateCode": code, "error": error_json(error)}
                        for code, error in comparison.unknown_codes.items()
                    ],
                    "rows": [
                        {
                            "variant": to_builtins(row.variant),
                            "kind": row.kind,
                            "category": row.category,
                            "cheapest": None
                            if row.cheapest() is None
                            else _price_json(row.cheapest()),
                            "prices": [_price_json(price) for price in row.prices.values()],
                        }
                        for row in comparison.rows
                    ],
                }
            )
            return 0
        known = [code for code in comparison.codes if code not in comparison.unknown_codes]
        if not comparison.rows:
            for code, error in comparison.unknown_codes.items():
                console().print(
                    f"Rate code {code!r} is not recognised for this event "
                    f"({error.code}, request {error.request_id})."
                )
            console().print(
                f"Occurrence {args.occurrence_id}: nothing to compare, no rate code has "
                f"anything to buy ({await _why_empty(ttg, args)})."
            )
            return 0
        headers = [_code_name(code) for code in known]
        headers += [f"{code} (unknown code)" for code in comparison.unknown_codes if code]
        table = _table(
            f"Occurrence {args.occurrence_id}: prices by rate code (* cheapest)",
            "Kind",
            "Item",
            "Category",
            *headers,
        )
        for row in comparison.rows:
            kind, where = _variant_text(row.variant)
            best = row.cheapest()
            cells = []
            for code in known:
                price = row.prices.get(code)
                if price is None:
                    cells.append("not offered")
                    continue
                text = _price(price.sell_price, price.list_price, args.locale)
                if best is not None and price.sell_price.amount == best.sell_price.amount:
                    text = f"* {text}"
                cells.append(text)
            cells += ["unknown code" for code in comparison.unknown_codes if code]
            table.add_row(kind, where, row.category, *cells)
        out = console()
        out.print(table)
        for code, error in comparison.unknown_codes.items():
            out.print(
                f"Rate code {code!r} is not recognised for this event "
                f"({error.code}, request {error.request_id})."
            )
        ticket = comparison.cheapest()
        if ticket is not None:
            out.print(
                f"Cheapest ticket: {money(ticket.sell_price, args.locale)} at rate code "
                f"{_code_name(ticket.rate_code)}."
            )
        return 0

    return _with_client(args, body)


async def _why_empty(ttg: TTGClient, args: argparse.Namespace) -> str:
    """Why an occurrence has no inventory, as far as its price summary tells."""
    occurrence = await ttg.occurrences.get(args.event_id, args.occurrence_id)
    if occurrence.from_price is None:
        return "the occurrence is sold out or not on sale"
    return "the occurrence is on sale, but not at this rate code"


def _price_json(price: TierPrice | None) -> dict[str, Any] | None:
    if price is None:
        return None
    return {
        "rateCode": price.rate_code,
        "itemId": price.item_id,
        "priceOptionId": price.price_option_id,
        "sellPrice": to_builtins(price.sell_price),
        "listPrice": None if price.list_price is None else to_builtins(price.list_price),
        "quantityAvailable": price.quantity_available,
    }
