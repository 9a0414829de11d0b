"""Crawl the whole catalog into a JSON Lines file, resumably, each record exactly once.

    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... \\
        python examples/catalog_crawl.py catalog.jsonl --rate-code MEMBERS

One line per occurrence and rate code (``CatalogRecord.to_dict()``: the location, event and
occurrence, the rate code, and the inventory or the error for a code the event does not
know). ``ttg.crawl`` keeps every level of the catalog in one bounded scheduler
(``--concurrency`` requests in flight at most) and records finished work in a checkpoint
next to the file; ``write_jsonl`` keeps the file in step with it. Stopped at any point (Ctrl-C,
a crash, ``kill -9``), the same command started again carries on: the file ends with every
record exactly once, none missing, none twice. ``--restart`` starts over. Units that failed
are listed at the end; the crawl goes on past them, and a rerun tries them again.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path

from ttg_async import TTGClient


async def crawl(
    out: Path, rate_codes: Sequence[str | None], concurrency: int, *, restart: bool = False
) -> int:
    checkpoint = out.with_suffix(out.suffix + ".ckpt")
    async with TTGClient() as ttg:
        run = ttg.crawl(rate_codes=rate_codes, concurrency=concurrency, checkpoint=checkpoint)
        await run.write_jsonl(out, resume=not restart)
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
    parser.add_argument("out", type=Path, help="the JSON Lines file")
    parser.add_argument("--rate-code", action="append", default=[], help="repeatable")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--restart", action="store_true", help="start over")
    args = parser.parse_args(argv)
    codes: list[str | None] = [None, *args.rate_code]
    return asyncio.run(crawl(args.out, codes, args.concurrency, restart=args.restart))


if __name__ == "__main__":
    raise SystemExit(main())
