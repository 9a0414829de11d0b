"""Crawl the whole catalog into a JSON Lines file, resumably.

    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... \\
        python examples/catalog_crawl.py catalog.jsonl --rate-code MEMBERS

One line per occurrence and rate code, with the cheapest ticket price. ``ttg.crawl`` keeps
every level of the catalog in one bounded scheduler (``--concurrency`` requests in flight at
most), and records finished work in a checkpoint file, so an interrupted crawl started again
with the same arguments skips what it already wrote. Units that failed are listed at the end;
the crawl goes on past them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from ttg_async import CatalogRecord, ProviderCodeNotFoundError, TTGClient


def to_json(record: CatalogRecord) -> dict[str, object]:
    location = record.location if isinstance(record.location, str) else record.location.id
    row: dict[str, object] = {
        "location": location,
        "event": record.event.id,
        "event_name": record.event.name,
        "occurrence": record.occurrence.id,
        "starts_at": record.occurrence.starts_at.isoformat(),
        "rate_code": record.rate_code,
    }
    if isinstance(record.items, ProviderCodeNotFoundError):
        row["offered"] = False
        return row
    prices = [
        option.sell_price
        for item in record.items
        for option in item.price_options
        if item.quantity_available > 0
    ]
    cheapest = min(prices, default=None)  # Money orders within one currency
    row["offered"] = True
    row["items"] = len(record.items)
    row["cheapest"] = None if cheapest is None else str(cheapest)
    return row


async def crawl(out: Path, rate_codes: Sequence[str | None], concurrency: int) -> int:
    checkpoint = out.with_suffix(out.suffix + ".ckpt")
    async with TTGClient() as ttg:
        run = ttg.crawl(rate_codes=rate_codes, concurrency=concurrency, checkpoint=checkpoint)
        with out.open("a", encoding="utf-8") as sink:
            async for record in run:
                sink.write(json.dumps(to_json(record)) + "\n")
        stats = run.stats
        print(
            f"{stats.records} records from {stats.events} events in {stats.elapsed:.1f} s "
            f"({stats.requests} requests, {stats.errors} errors)"
        )
        for failure in run.errors:
            print(f"failed: {failure.where}: {failure.error}")
        return 1 if run.errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the JSON Lines file to append to")
    parser.add_argument("--rate-code", action="append", default=[], help="repeatable")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    codes: list[str | None] = [None, *args.rate_code]
    return asyncio.run(crawl(args.out, codes, args.concurrency))


if __name__ == "__main__":
    raise SystemExit(main())
