"""``ttg buyback events|sections|rows|quote|order``: the Buyback flow from a shell.

The same conventions as the other ``ttg`` commands: ``--json`` prints one JSON document with
the API's own (snake_case) field names; exit status 0 OK, 1 an API or network error, 2 a
command line that cannot work as given; every error is one line on stderr. The client ID and
server come from ``--client-id``/``--base-url`` or ``$TBB_CLIENT_ID``/``$TBB_BASE_URL``; the
secret only from ``$TBB_CLIENT_SECRET`` (a flag would show it in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from ttg_async._commands._common import guarded, print_json, to_builtins
from ttg_async.buyback._client import BuybackClient
from ttg_async.buyback._resources import DELIVERY_TYPES

__all__ = ["add_commands", "run"]

_FILTERS = (
    "q",
    "event_id",
    "venue_id",
    "venue_name",
    "performer_id",
    "performer_name",
    "date_from",
    "date_to",
)

Command = Callable[[BuybackClient, argparse.Namespace], Awaitable[Any]]


def _connection() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (the secret comes from $TBB_CLIENT_SECRET)")
    group.add_argument("--client-id", metavar="ID", help="client ID (default: $TBB_CLIENT_ID)")
    group.add_argument(
        "--base-url", metavar="URL", help="server (default: $TBB_BASE_URL, else production)"
    )
    parent.add_argument(
        "--json",
        action="store_true",
        help="print the answer as one JSON document (snake_case fields, as the Buyback API "
        "sends them); an error is then one JSON object on stderr",
    )
    return parent


def _deadline(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {text!r}") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2030-01-05T18:00:00Z")
    return when


def add_commands(commands: Any) -> None:
    """Add the Buyback flow commands to ``ttg buyback``'s subparsers."""
    parent = _connection()
    events = commands.add_parser("events", parents=[parent], help="list events (filters)")
    for name in _FILTERS[:-2]:
        events.add_argument(f"--{name.replace('_', '-')}", metavar="TEXT", help=f"filter: {name}")
    events.add_argument("--date-from", metavar="YYYY-MM-DD", help="first day (inclusive)")
    events.add_argument("--date-to", metavar="YYYY-MM-DD", help="last day (inclusive)")
    events.add_argument("--max-items", type=int, default=None, help="stop after N events")
    events.set_defaults(buyback_run=_events)

    sections = commands.add_parser("sections", parents=[parent], help="an event's sections")
    sections.add_argument("event_id")
    sections.set_defaults(buyback_run=_sections)

    rows = commands.add_parser("rows", parents=[parent], help="a section's rows")
    rows.add_argument("event_id")
    rows.add_argument("section_name", help="as listed by sections (quote it in the shell)")
    rows.set_defaults(buyback_run=_rows)

    quote = commands.add_parser("quote", parents=[parent], help="take a quote")
    quote.add_argument("event_id")
    quote.add_argument("section_name")
    quote.add_argument("quantity", type=int)
    quote.add_argument("--row", dest="row_name", metavar="ROW", help="quote one row")
    quote.set_defaults(buyback_run=_quote)

    order = commands.add_parser("order", parents=[parent], help="turn a quote into an order")
    order.add_argument("quote_id")
    order.add_argument("--delivery-type", required=True, choices=DELIVERY_TYPES)
    order.add_argument(
        "--deadline",
        type=_deadline,
        metavar="ISO",
        help="a JSON order (the seed docs): delivery deadline with an offset, "
        "e.g. 2030-01-05T18:00:00Z",
    )
    form = order.add_argument_group(
        "a multipart order (the payout docs): give --ready or --not-ready instead of --deadline"
    )
    ready = form.add_mutually_exclusive_group()
    ready.add_argument(
        "--ready",
        "--is-ready-to-deliver",
        dest="is_ready_to_deliver",
        action="store_const",
        const=True,
        default=None,
        help="the tickets can be delivered now",
    )
    ready.add_argument(
        "--not-ready",
        dest="is_ready_to_deliver",
        action="store_const",
        const=False,
        help="the tickets come later (give --in-hand-date)",
    )
    form.add_argument(
        "--in-hand-date", metavar="YYYY-MM-DD", help="when the tickets will be in hand"
    )
    form.add_argument(
        "--file", metavar="PDF", help="the ticket PDF (at most 10 MB; pdf delivery only)"
    )
    order.set_defaults(buyback_run=_order)


async def _events(tbb: BuybackClient, args: argparse.Namespace) -> Any:
    filters = {name: getattr(args, name) for name in _FILTERS}
    paginator = tbb.events.list(**filters, max_items=args.max_items)
    found = await paginator.collect()
    if not args.json:
        for event in found:
            venue = event.venue.venue_name if event.venue else ""
            when = f"{event.event_datetime_utc:%Y-%m-%d %H:%MZ}"
            print(f"{event.event_id}\t{when}\t{event.event_name}\t{venue}")
    return found


async def _sections(tbb: BuybackClient, args: argparse.Namespace) -> Any:
    found = await tbb.sections.list(args.event_id)
    if not args.json:
        for section in found:
            # The payout version of the API sends no section_id.
            print(f"{section.section_id or '-'}\t{section.section_name}")
    return found


async def _rows(tbb: BuybackClient, args: argparse.Namespace) -> Any:
    found = await tbb.rows.list(args.event_id, args.section_name)
    if not args.json:
        for row in found:
            print(f"{row.row_name}\t{row.row_name_display or ''}")
    return found


async def _quote(tbb: BuybackClient, args: argparse.Namespace) -> Any:
    quote = await tbb.quotes.create(
        args.event_id, args.section_name, args.quantity, row_name=args.row_name
    )
    if not args.json:
        until = f"{quote.expires_at:%Y-%m-%d %H:%M:%SZ}"
        total = f"{quote.total_price} {quote.currency or ''}".strip()
        print(f"quote {quote.quote_id}: {quote.quantity} x {quote.price_per_ticket} = {total}")
        print(f"valid until {until}")
    return quote


async def _order(tbb: BuybackClient, args: argparse.Namespace) -> Any:
    order = await tbb.orders.create(
        args.quote_id,
        delivery_type=args.delivery_type,
        delivery_deadline=args.deadline,
        is_ready_to_deliver=args.is_ready_to_deliver,
        in_hand_date=args.in_hand_date,
        file=args.file,
    )
    if not args.json:
        print(
            f"order {order.order_id} {order.status}: transfer the tickets to {order.transfer_email}"
        )
    return order


def run(args: argparse.Namespace) -> int:
    """Run the ``ttg buyback`` command ``args`` names; returns the exit status."""
    command: Command = args.buyback_run

    async def go() -> int:
        async with BuybackClient(args.client_id, base_url=args.base_url) as tbb:
            result = await command(tbb, args)
        if args.json:
            print_json(to_builtins(result))
        return 0

    return guarded(lambda: asyncio.run(go()), json=args.json, snake_case=True)
