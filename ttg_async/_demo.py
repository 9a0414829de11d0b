"""``ttg demo``: the whole purchase flow, end to end, printed with rich."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

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
    GeneralAdmission,
    InventoryItem,
    Money,
    Occurrence,
    Order,
    PriceOption,
    UnknownVariant,
)

__all__ = ["run_demo"]

_DEMO_KEY = "sk_test_demo0000000000000000"
_DEMO_RETAILER = "demo-retailer"


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


def _variant_label(item: InventoryItem) -> str:
    variant = item.inventory_variant
    if isinstance(variant, UnknownVariant):
        return f"{variant.type} (unknown type)"
    return f"{type(variant).__name__}: {variant.name}"


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
    ttg: TTGClient, console: Console
) -> tuple[Event, Occurrence, list[InventoryItem]] | None:
    locations = await ttg.locations.list().collect()
    table = Table(title="Locations")
    for column in ("id", "name", "country"):
        table.add_column(column)
    for location in locations:
        table.add_row(location.id, location.name, location.country)
    console.print(table)
    for location in locations:
        async for event in ttg.events.list(location.id, max_items=25):
            occurrences = await ttg.occurrences.list(event.id, quantity=1)
            for occurrence in occurrences:
                if occurrence.from_price is None:
                    continue  # sold out or not on sale yet
                items = await ttg.inventory.list(event.id, occurrence.id)
                if _pick(items) is not None:
                    console.print(
                        f"\n[bold]{event.name}[/bold] in {location.name}: "
                        f"{len(occurrences)} occurrences, taking {occurrence.starts_at.isoformat()}"
                    )
                    return event, occurrence, items
    return None


def _inventory_table(items: list[InventoryItem], locale: str) -> Table:
    table = Table(title="Inventory (first 12 items)")
    for column in ("item", "available", "category", "price", "was"):
        table.add_column(column)
    for item in items[:12]:
        for option in item.price_options:
            table.add_row(
                _variant_label(item),
                str(item.quantity_available),
                option.category.name,
                _money(option.sell_price, locale),
                _money(option.list_price, locale) if option.list_price else "",
            )
    return table


def _receipt(title: str, cart_or_order: Cart | Order, locale: str) -> Table:
    table = Table(title=title)
    table.add_column("line")
    table.add_column("amount", justify="right")
    for line in cart_or_order.receipt_lines:
        label = line.label or type(line).__name__
        sign = "-" if line.sign < 0 else ""
        table.add_row(label, f"{sign}{line.total.format(locale)}")
    table.add_row("[bold]Total[/bold]", f"[bold]{cart_or_order.total.format(locale)}[/bold]")
    return table


async def run_demo(*, base_url: str | None = None, seed: int = 0, locale: str = "en_US") -> int:
    """Run the purchase flow and print it. Returns the process exit code."""
    console = Console()
    async with _server(base_url, seed) as (url, embedded):
        if embedded:
            console.print(f"[dim]Embedded sandbox at {url} (seed {seed})[/dim]")
            client = TTGClient(_DEMO_KEY, _DEMO_RETAILER, base_url=url)
        else:
            client = TTGClient(base_url=url)
        try:
            async with client as ttg:
                return await _flow(ttg, console, locale)
        except TTGError as exc:
            console.print(f"[red]The demo failed:[/red] {type(exc).__name__}: {exc}")
            return 1


async def _flow(ttg: TTGClient, console: Console, locale: str) -> int:
    found = await _find_show(ttg, console)
    if found is None:
        console.print("[red]Nothing on sale anywhere.[/red]")
        return 1
    event, occurrence, items = found
    console.print(_inventory_table(items, locale))
    picked = _pick(items)
    assert picked is not None
    item, option, quantity = picked
    cart = await ttg.carts.create([CartItemInput.for_option(occurrence.id, item, option, quantity)])
    left = cart.expires_at - datetime.now(UTC)
    minutes, seconds = divmod(max(0, int(left.total_seconds())), 60)
    console.print(
        f"\nHeld {quantity} × {_variant_label(item)} in cart {cart.id}: "
        f"the hold expires in [bold]{minutes}:{seconds:02d}[/bold] "
        f"(at {cart.expires_at.isoformat()})"
    )
    console.print(_receipt("Cart", cart, locale))
    contact = Contact(name="Ada Lovelace", email="ada@example.com", phone="+442071234567")
    order = await ttg.orders.create(cart.id, expected_total=cart.total, contact=contact)
    console.print(
        f"\n[green]Order {order.id} {order.status}[/green]"
        + (f", confirmation {order.confirmation_number}" if order.confirmation_number else "")
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
    console.print(f"[dim]Event {event.id}, occurrence {occurrence.id}[/dim]")
    return 0
