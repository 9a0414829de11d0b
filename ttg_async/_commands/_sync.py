"""``ttg sync``: what changed in the catalog since the previous snapshot.

Runs the library's `Sync` (through its public hooks only: ``progress``, ``stats``,
``errors`` and `Sync.write_changes`). With ``--changes``, each change is written to that
file exactly once across interruptions (its length is kept in the sync's checkpoint); the
summary is then read back from the file, so a resumed run reports the whole sync.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ttg_async._commands._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    check_locale,
    connection_options,
    console,
    make_client,
    print_json,
)
from ttg_async._ttg.sync import Sync

#: Price moves shown per rate code in the summary.
_TOP_MOVES = 5


def add_command(commands: Any) -> None:
    sync = commands.add_parser(
        "sync",
        parents=[connection_options()],
        help="crawl the catalog and report what changed since a previous snapshot",
        description=(
            "Crawl the catalog, compare it with PREVIOUS (a file of ttg crawl or ttg sync) "
            "and write the new snapshot to OUT (atomically, at the end), so tonight's OUT is "
            "tomorrow's --previous. Changes (added, changed, removed events, occurrences and "
            "items) go to --changes as JSON Lines, exactly once across interruptions: run the "
            "same command again to resume from --checkpoint (default OUT.checkpoint). Exit "
            "status 1 when some units failed (nothing beneath them is reported removed)."
        ),
    )
    sync.add_argument("--previous", metavar="FILE", help="the previous snapshot (none: all new)")
    sync.add_argument("--out", required=True, metavar="FILE", help="the new snapshot")
    sync.add_argument("--changes", metavar="FILE", help="write the changes here (JSON Lines)")
    sync.add_argument("--checkpoint", metavar="FILE", help="progress file (default OUT.checkpoint)")
    sync.add_argument("--location", action="append", metavar="ID", help="only this location")
    sync.add_argument(
        "--rate-code",
        action="append",
        metavar="CODE",
        help="also price at this rate code (repeatable; the default tier is always included)",
    )
    sync.add_argument("--no-inventory", action="store_true", help="events and occurrences only")
    sync.add_argument(
        "--ignore-field",
        action="append",
        metavar="PATH",
        help="never report changes at this path, e.g. 'priceOptions[].sellPrice' (repeatable)",
    )
    sync.add_argument("--concurrency", type=int, default=16, metavar="N")
    sync.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT even when it exists and no checkpoint belongs to it",
    )
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")
    sync.set_defaults(command_run=run)


def run(args: argparse.Namespace) -> int:
    check_locale(args.locale)
    if not 1 <= args.concurrency <= 256:
        raise UsageError(f"--concurrency: must be between 1 and 256, got {args.concurrency}")
    out = Path(args.out)
    checkpoint = (
        Path(args.checkpoint) if args.checkpoint else out.with_name(out.name + ".checkpoint")
    )
    if out.exists() and not checkpoint.exists() and not args.overwrite:
        raise UsageError(f"--out: {out} exists; pass --overwrite to replace it")
    if args.previous is not None and not Path(args.previous).is_file():
        raise UsageError(f"--previous: {args.previous} is not a file")
    client = make_client(args)
    sync = client.sync(
        args.previous,
        out,
        location_ids=args.location,
        rate_codes=[None, *(args.rate_code or ())],
        inventory=not args.no_inventory,
        concurrency=args.concurrency,
        checkpoint=checkpoint,
        ignore_fields=args.ignore_field or (),
    )
    summary = _Summary()
    try:
        asyncio.run(_sync(client, sync, args, summary))
    except KeyboardInterrupt:
        print(
            "ttg: interrupted; run the same command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.changes:
        summary = _Summary.read(Path(args.changes))
    _report(args, sync, summary, out)
    return EXIT_FAILED if sync.errors else EXIT_OK


async def _sync(client: Any, sync: Sync, args: argparse.Namespace, summary: _Summary) -> None:
    async with client:
        progress = None if args.json else _Progress(sync)
        with progress or contextlib.nullcontext():
            ticker = None if progress is None else asyncio.create_task(progress.tick())
            try:
                if args.changes:
                    await sync.write_changes(args.changes)
                else:
                    async for change in sync:
                        summary.add(change.to_dict())
            finally:
                if ticker is not None:
                    ticker.cancel()
                    await asyncio.gather(ticker, return_exceptions=True)
                if progress is not None:
                    progress.update()


class _Summary:
    """Changes per kind and level, and the largest price moves per rate code."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        # rate code -> heap of (|move| in percent, move)
        self.moves: dict[str, list[tuple[float, int, dict[str, Any]]]] = {}
        self._seq = 0

    @classmethod
    def read(cls, path: Path) -> _Summary:
        summary = cls()
        with path.open("rb") as file:
            for line in file:
                summary.add(json.loads(line))
        return summary

    def add(self, change: dict[str, Any]) -> None:
        self.counts[change["kind"], change["level"]] += 1
        if change["kind"] != "changed" or change["level"] != "item":
            return
        for path in change["fields"]:
            if not (path.startswith("priceOptions[") and path.endswith("].sellPrice.amount")):
                continue
            index = int(path[len("priceOptions[") : -len("].sellPrice.amount")])
            try:
                old = change["before"]["priceOptions"][index]
                new = change["after"]["priceOptions"][index]
                before, after = old["sellPrice"]["amount"], new["sellPrice"]["amount"]
                currency = new["sellPrice"]["currency"]
            except (KeyError, IndexError, TypeError):
                continue
            if not before:
                continue
            code = change["key"][2] or "(default)"
            move = {
                "key": change["key"],
                "category": (new.get("category") or {}).get("name"),
                "currency": currency,
                "before": before,
                "after": after,
                "percent": round((after - before) * 100 / before, 2),
            }
            heap = self.moves.setdefault(code, [])
            self._seq += 1
            entry = (abs(move["percent"]), self._seq, move)
            if len(heap) < _TOP_MOVES:
                heapq.heappush(heap, entry)
            else:
                heapq.heappushpop(heap, entry)

    def top(self) -> dict[str, list[dict[str, Any]]]:
        return {
            code: [m for _, _, m in sorted(heap, key=lambda e: (-e[0], e[1]))]
            for code, heap in sorted(self.moves.items())
        }


class _Progress:
    """A live bar on stderr, drawn from ``sync.progress`` and ``sync.stats``."""

    def __init__(self, sync: Sync) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._sync = sync
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[phase]}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task("sync", total=None, phase="starting", detail="")

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self) -> None:
        phase, done, total = self._sync.progress
        stats = self._sync.stats
        what = "records" if phase == "crawl" else "buckets" if phase == "compare" else ""
        self._bar.update(
            self._task,
            total=total,
            completed=done,
            phase=f"{phase} {what}".strip(),
            detail=(
                f"· +{stats.added} ~{stats.changed} -{stats.removed} · "
                f"requests {stats.crawl.requests} · errors {len(self._sync.errors)}"
            ),
        )

    async def tick(self) -> None:
        while True:
            self.update()
            await asyncio.sleep(0.25)


def _report(args: argparse.Namespace, sync: Sync, summary: _Summary, out: Path) -> None:
    stats = sync.stats
    levels = {
        level: {kind: summary.counts[kind, level] for kind in ("added", "changed", "removed")}
        for level in ("event", "occurrence", "item")
    }
    if args.json:
        print_json(
            {
                "out": str(out),
                "changes": args.changes,
                "stats": {
                    "added": stats.added,
                    "changed": stats.changed,
                    "removed": stats.removed,
                    "unchanged": stats.unchanged,
                    "requests": stats.crawl.requests,
                },
                "levels": levels,
                "priceMoves": summary.top(),
                "errors": [failure.to_dict() for failure in sync.errors],
            }
        )
        return
    from rich.table import Table

    screen = console()
    table = Table(title=f"Changes since {args.previous or 'nothing'}")
    table.add_column("level")
    for kind in ("added", "changed", "removed"):
        table.add_column(kind, justify="right")
    for level, row in levels.items():
        table.add_row(level, *(f"{row[kind]:,}" for kind in ("added", "changed", "removed")))
    screen.print(table)
    top = summary.top()
    if top:
        moves = Table(title="Largest price moves")
        for name in ("rate code", "event", "occurrence", "item", "category", "before", "after"):
            moves.add_column(name)
        moves.add_column("move", justify="right")
        for code, entries in top.items():
            for move in entries:
                _, occurrence, _, item = move["key"]
                moves.add_row(
                    code,
                    move["key"][0],
                    occurrence,
                    item,
                    str(move["category"]),
                    f"{move['before']} {move['currency']}",
                    f"{move['after']} {move['currency']}",
                    f"{move['percent']:+.2f}%",
                )
        screen.print(moves)
    screen.print(f"Wrote {out}; {stats.unchanged:,} records unchanged; {len(sync.errors)} errors.")
    for failure in sync.errors[:20]:
        screen.print(f"  failed: {failure.where}: {type(failure.error).__name__}: {failure.error}")
    if sync.errors:
        screen.print("Nothing beneath a failed unit is reported removed; it is kept in OUT.")
