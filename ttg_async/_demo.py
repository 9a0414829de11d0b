"""``ttg demo``: the whole purchase flow, end to end, printed with rich.

Made to be read by a person at an 80-column terminal: dates in the venue's own time, item
names rather than wire type names, the held item marked in the inventory table, cart lines
with quantity and unit price, and the order's total and confirmation number.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.table import Table

from ttg_async._core.errors import TTGError
from ttg_async._ttg.client import TTGClient
from ttg_async._ttg.models import (
    AssignedSeat,
    Cart,
    CartItemInput,
    Contact,
    Event,
    Extra,
    GeneralAdmission,
    InventoryItem,
    Location,
    Money,
    Occurrence,
    Order,
    PriceOption,
    UnknownVariant,
)

__all__ = ["run_demo"]

_DEMO_KEY = "sk_test_demo0000000000000000"
_DEMO_RETAILER = "demo-retailer"
_INVENTORY_ROWS = 10


@contextlib.asynccontextmanager
async def _server(base_url: str | None, seed: int) -> AsyncIterator[tuple[str | None, bool]]:
    if base_url is not None:
        yield base_url, False
        return
    from ttg_async.sandbox import Sandbox

    async with Sandbox(seed=seed).serve() as url:
        yield url, True


def _money(value: Money | None, locale: str) -> str:
    return "—" if value is None else value.format(locale)


def _item_name(item: InventoryItem) -> str:
    """What a buyer calls it: "Lower Tier, row A, seat 101", "General Admission Floor"."""
    variant = item.inventory_variant
    if isinstance(variant, AssignedSeat) and variant.section and variant.row and variant.seat:
        return f"{variant.section}, row {variant.row}, seat {variant.seat}"
    if isinstance(variant, UnknownVariant):
        return variant.name or f"Other item ({variant.type})"
    return variant.name or "Unnamed item"


def _item_kind(item: InventoryItem) -> str:
    variant = item.inventory_variant
    if isinstance(variant, AssignedSeat):
        return "seat"
    if isinstance(variant, GeneralAdmission):
        return "GA"
    if isinstance(variant, Extra):
        return "extra"
    return "other"


def _venue_zone(event: Event, occurrence: Occurrence) -> tzinfo:
    """The venue's timezone; failing that, the offset the occurrence was sent with."""
    venue = occurrence.venue if occurrence.venue is not None else event.venue
    if venue is not None and venue.timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(venue.timezone)
    return occurrence.starts_at.tzinfo or UTC


def _when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname() or ''}".rstrip()


def _pick(items: list[InventoryItem]) -> tuple[InventoryItem, PriceOption, int] | None:
    """Two GA tickets if possible, else one assigned seat, else anything on sale."""
    stocked = [item for item in items if item.quantity_available > 0 and item.price_options]
    for kind, quantity in ((GeneralAdmission, 2), (AssignedSeat, 1)):
        for item in stocked:
            if isinstance(item.inventory_variant, kind) and item.quantity_available >= quantity:
                return item, item.price_options[0], quantity
    if stocked:
        return stocked[0], stocked[0].price_options[0], 1
    return None


async def _find_show(
    ttg: TTGClient, console: Console, location_id: str | None
) -> tuple[Location, Event, Occurrence, list[InventoryItem]] | None:
    locations = await ttg.locations.list().collect()
    table = Table(title="Locations")
    for column in ("id", "name", "country"):
        table.add_column(column)
    for location in locations:
        table.add_row(location.id, location.name, location.country)
    console.print(table)
    if location_id is not None:
        chosen = [loc for loc in locations if loc.id == location_id]
        if not chosen:
            known = ", ".join(loc.id for loc in locations)
            console.print(f"[red]No location {location_id!r}; try one of: {known}[/red]")
            return None
        locations = chosen
    for location in locations:
        async for event in ttg.events.list(location.id, max_items=25):
            occurrences = await ttg.occurrences.list(event.id, quantity=1)
            for occurrence in occurrences:
                if occurrence.from_price is None:
                    continue  # sold out or not on sale yet
                items = await ttg.inventory.list(event.id, occurrence.id)
                if _pick(items) is not None:
                    return location, event, occurrence, items
    return None


def _inventory_table(items: list[InventoryItem], held: InventoryItem, locale: str) -> Table:
    # The held item is always shown, in its place if it is among the first rows, else last.
    shown = items[:_INVENTORY_ROWS]
    if held not in shown:
        shown = [*shown[: _INVENTORY_ROWS - 1], held]
    table = Table(title=f"On sale ({len(shown)} of {len(items)} items; ▶ is the one we hold)")
    table.add_column("", width=1, no_wrap=True)
    table.add_column("item")
    table.add_column("kind")
    table.add_column("left", justify="right")
    table.add_column("price", justify="right")
    for item in shown:
        marker = "▶" if item is held else ""
        style = "bold" if item is held else None
        option = item.price_options[0] if item.price_options else None
        price = "—"
        if option is not None:
            price = f"{option.category.name} {_money(option.sell_price, locale)}"
            if option.list_price and option.list_price != option.sell_price:
                price += f" (was {_money(option.list_price, locale)})"
        table.add_row(
            marker,
            _item_name(item),
            _item_kind(item),
            str(item.quantity_available),
            price,
            style=style,
        )
    return table


def _lines_table(cart: Cart, names: dict[str, str], locale: str) -> Table:
    table = Table(title=f"Cart {cart.id}")
    table.add_column("item")
    table.add_column("qty", justify="right")
    table.add_column("each", justify="right")
    table.add_column("amount", justify="right")
    for line in cart.items:
        name = names.get(line.inventory_item_id or "", "")
        if not name and line.inventory_variant is not None:
            name = line.inventory_variant.name or ""
        table.add_row(
            name or "Item",
            str(line.quantity if line.quantity is not None else "—"),
            _money(line.unit_price, locale),
            _money(line.total, locale),
        )
    return table


def _receipt(title: str, cart_or_order: Cart | Order, locale: str) -> Table:
    table = Table(title=title)
    table.add_column("line")
    table.add_column("amount", justify="right")
    for line in cart_or_order.receipt_lines:
        label = line.label or "Other charges"
        sign = "-" if line.sign < 0 else ""
        table.add_row(label, f"{sign}{line.total.format(locale)}")
    if cart_or_order.total is not None:  # an order may come without one (docs/versions.md)
        total = cart_or_order.total.format(locale)
        table.add_row("[bold]Total[/bold]", f"[bold]{total}[/bold]")
    return table


async def run_demo(
    *,
    base_url: str | None = None,
    seed: int = 0,
    locale: str = "en_US",
    location: str | None = None,
) -> int:
    """Run the purchase flow and print it. Returns the process exit code.

    ``location`` is a location ID to shop in (the sandbox's ``3`` is Tokyo, in JPY, and ``4``
    is Kuwait City, in KWD); ``None`` takes the first location with something on sale.
    """
    console = Console()
    async with _server(base_url, seed) as (url, embedded):
        if embedded:
            console.print(f"[dim]Embedded sandbox at {url} (seed {seed})[/dim]")
            client = TTGClient(_DEMO_KEY, _DEMO_RETAILER, base_url=url)
        else:
            client = TTGClient(base_url=url)
        try:
            async with client as ttg:
                return await _flow(ttg, console, locale, location)
        except TTGError as exc:
            console.print(f"[red]The demo failed:[/red] {type(exc).__name__}: {exc}")
            return 1


async def _flow(ttg: TTGClient, console: Console, locale: str, location_id: str | None) -> int:
    found = await _find_show(ttg, console, location_id)
    if found is None:
        if location_id is None:
            console.print("[red]Nothing on sale anywhere.[/red]")
        return 1
    location, event, occurrence, items = found
    zone = _venue_zone(event, occurrence)
    venue = occurrence.venue or event.venue
    console.print(
        f"\n[bold]{event.name}[/bold]"
        + (f" at {venue.name}" if venue is not None and venue.name else "")
        + f", {location.name}\n{_when(occurrence.starts_at, zone)} (venue time)"
    )
    picked = _pick(items)
    assert picked is not None
    item, option, quantity = picked
    console.print(_inventory_table(items, item, locale))

    cart = await ttg.carts.create([CartItemInput.for_option(occurrence.id, item, option, quantity)])
    left = cart.expires_at - datetime.now(UTC)
    minutes, seconds = divmod(max(0, int(left.total_seconds())), 60)
    console.print(
        f"\nHeld {quantity} × {_item_name(item)} ({option.category.name}):\n"
        f"the hold expires in [bold]{minutes}:{seconds:02d}[/bold] minutes, "
        f"at {cart.expires_at.astimezone(zone):%H:%M:%S %Z} venue time."
    )
    names = {candidate.id: _item_name(candidate) for candidate in items}
    console.print(_lines_table(cart, names, locale))
    console.print(_receipt("Cart total", cart, locale))

    contact = Contact(name="Ada Lovelace", email="ada@example.com", phone="+442071234567")
    order = await ttg.orders.create(cart.id, expected_total=cart.total, contact=contact)
    confirmation = order.confirmation_number or order.id
    # Some servers send an order without status or total: the order is placed all the same.
    paid = order.total or cart.total
    console.print(
        f"\n[green]Order {order.status or 'placed'}[/green]: confirmation "
        f"[bold]{confirmation}[/bold], total [bold]{paid.format(locale)}[/bold]"
    )
    console.print(_receipt("Receipt", order, locale))
    tickets = Table(title="Tickets")
    tickets.add_column("ticket")
    tickets.add_column("barcode")
    for order_item in order.items:
        for ticket in order_item.tickets:
            barcode = ticket.barcode
            shown = (
                f"{barcode.format} {barcode.value}"
                if barcode
                else "delayed delivery (no barcode yet)"
            )
            tickets.add_row(ticket.id or "—", shown)
    console.print(tickets)
    console.print(f"[dim]Order {order.id}; event {event.id}, occurrence {occurrence.id}[/dim]")
    return 0
