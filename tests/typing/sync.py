"""Type-checked in CI (mypy --strict), never run: the sync's signatures must not drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttg_async import Change, CrawlError, CrawlStats, Sync, SyncStats, TTGClient
from ttg_async.sandbox import CatalogChanges, ExpectedChange, PriceMove, Sandbox


async def nightly() -> None:
    async with TTGClient("sk_test_x", "r") as ttg:
        sync: Sync = ttg.sync(
            previous="catalog-monday.jsonl",
            out=Path("catalog-tuesday.jsonl"),
            location_ids=None,
            rate_codes=(None, "MEMBERS"),
            inventory=True,
            concurrency=16,
            checkpoint="tuesday.ckpt",
            ignore_fields=("priceOptions[].sellPrice",),
        )
        async for change in sync:
            typed: Change = change
            kind: str = change.kind
            level: str = change.level
            key: tuple[str | None, ...] = change.key
            before: dict[str, Any] | None = change.before
            after: dict[str, Any] | None = change.after
            fields: tuple[str, ...] = change.fields
            line: dict[str, Any] = change.to_dict()
        stats: SyncStats = sync.stats
        counts: tuple[int, int, int, int] = (
            stats.added,
            stats.changed,
            stats.removed,
            stats.unchanged,
        )
        crawl: CrawlStats = stats.crawl
        errors: list[CrawlError] = sync.errors
        phase, done, total = sync.progress
        progress: tuple[str, int, int | None] = (phase, done, total)
        first: Sync = ttg.sync(None, "catalog.jsonl")
        await first.write_changes("changes.jsonl")


def night(sandbox: Sandbox) -> None:
    report: CatalogChanges = sandbox.evolve(7, rate_codes=[None, "MEMBERS"], move_prices=3)
    keys: set[tuple[str, str, tuple[str | None, ...]]] = report.keys()
    changes: list[ExpectedChange] = report.changes
    moves: list[PriceMove] = report.price_moves
    amounts: tuple[int, int] = (moves[0].before, moves[0].after)
    ended: list[str] = report.ended_events
