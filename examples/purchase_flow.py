"""Buy a ticket, end to end: browse, hold, check out, print the receipt.

Run it against the sandbox (``python -m ttg_async sandbox --port 8765`` in another terminal):

    TTG_BASE_URL=http://127.0.0.1:8765 TTG_API_KEY=sk_test_sandbox TTG_RETAILER=sandbox \\
        python examples/purchase_flow.py

It handles what a real checkout meets: a price that moved since the buyer saw it, a hold that
ran out, and an answer lost on the way back (the same idempotency key is sent again).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ttg_async import (
    CartExpiredError,
    CartItemInput,
    Contact,
    InventoryItem,
    Order,
    PriceOption,
    TotalPriceMismatchError,
    TTGClient,
    TTGError,
)

BUYER = Contact("Ada Lovelace", "ada@example.com", "+442071234567")


async def find_something_on_sale(
    ttg: TTGClient,
) -> tuple[str, str, InventoryItem, PriceOption] | None:
    """The first item on sale, walking locations, events and their dates in order."""
    async for location in ttg.locations.list():
        async for event in ttg.events.list(location.id, max_items=10):
            for show in await ttg.occurrences.list(event.id, quantity=1):
                if show.from_price is None:
                    continue
                for item in await ttg.inventory.list(event.id, show.id):
                    if item.quantity_available > 0 and item.price_options:
                        print(f"{event.name}, {show.starts_at:%a %d %b %Y %H:%M}")
                        return event.id, show.id, item, item.price_options[0]
    return None


async def checkout(
    ttg: TTGClient, occurrence_id: str, item: InventoryItem, option: PriceOption
) -> Order:
    cart = await ttg.carts.create([CartItemInput.for_option(occurrence_id, item, option)])
    left = cart.expires_at - datetime.now(UTC)
    print(f"Held {item.inventory_variant.name} for {int(left.total_seconds()) // 60} minutes")
    total = cart.total
    for _ in range(2):
        try:
            return await ttg.orders.create(cart.id, expected_total=total, contact=BUYER)
        except TotalPriceMismatchError:
            # The price moved: show the buyer the new total (here: accept it) and try again.
            total = (await ttg.carts.get(cart.id)).total
            print(f"The total is now {total}")
        except TTGError as exc:
            if not exc.outcome_unknown or exc.idempotency_key is None:
                raise
            # No answer, but the order may exist: the same key gets it, or makes it once.
            return await ttg.orders.create(
                cart.id, expected_total=total, contact=BUYER, idempotency_key=exc.idempotency_key
            )
    raise RuntimeError("the price kept moving; giving up")


async def main() -> int:
    async with TTGClient() as ttg:  # $TTG_API_KEY, $TTG_RETAILER, $TTG_BASE_URL
        found = await find_something_on_sale(ttg)
        if found is None:
            print("Nothing is on sale.")
            return 1
        _, occurrence_id, item, option = found
        try:
            order = await checkout(ttg, occurrence_id, item, option)
        except CartExpiredError:
            print("The hold ran out before checkout; start again.")
            return 1
        print(f"Order {order.confirmation_number or order.id}: {order.status or 'placed'}")
        for line in order.receipt_lines:
            print(f"  {line.label or 'Other':<20}{'-' if line.sign < 0 else ' '}{line.total}")
        if order.total is not None:  # some servers leave it out (docs/versions.md)
            print(f"  {'Total':<20} {order.total}")
        return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
