"""Which rate code is cheapest for each seat of one performance?

    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... \\
        python examples/rate_code_compare.py 1001 100101 MEMBERS VIP-PLUS campaign-may

Fetches the inventory under the default tier and every code at once, then prints one row per
seat (or GA area, or extra) and price category, with each code's price and the best one.
A code the server does not know is reported, not fatal.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from ttg_async import TTGClient, compare_tiers


def _code(code: str | None) -> str:
    return code or "default"


async def compare(event_id: str, occurrence_id: str, codes: Sequence[str]) -> int:
    async with TTGClient() as ttg:
        tiers = await ttg.inventory.by_rate_codes(event_id, occurrence_id, [None, *codes])
    comparison = compare_tiers(tiers)
    for code, error in comparison.unknown_codes.items():
        print(f"{_code(code)}: not offered here ({error.code})")
    offered = [code for code in comparison.codes if code not in comparison.unknown_codes]
    header = f"{'item':<28}{'category':<10}" + "".join(f"{_code(c):>14}" for c in offered)
    print(header + f"{'best':>14}")
    for row in comparison.rows:
        cells = "".join(
            f"{str(row.prices[c].sell_price) if c in row.prices else '-':>14}" for c in offered
        )
        best = row.cheapest()
        name = (row.variant.name or "?")[:27]
        print(
            f"{name:<28}{row.category[:9]:<10}{cells}{_code(best.rate_code) if best else '-':>14}"
        )
    cheapest = comparison.cheapest()
    if cheapest is not None:
        print(f"Cheapest ticket: {cheapest.sell_price} with {_code(cheapest.rate_code)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: rate_code_compare.py EVENT_ID OCCURRENCE_ID [CODE ...]", file=sys.stderr)
        return 2
    return asyncio.run(compare(args[0], args[1], args[2:]))


if __name__ == "__main__":
    raise SystemExit(main())
