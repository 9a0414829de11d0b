"""``ttg crawl``: the whole catalog into a JSON Lines file, with live progress and resume.

The file is written by the library's :meth:`Crawl.write_jsonl`, exactly once across any
number of interruptions: with each save of its checkpoint (``OUT.checkpoint``) it stores how
many bytes of ``OUT`` the finished units account for, after flushing them to disk, and
``--resume`` cuts ``OUT`` back to that length, so lines written after the last save (whose
units the crawl fetches again) are dropped, never doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
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
from ttg_async._core.errors import ConfigurationError
from ttg_async._ttg.crawl import Crawl


def add_command(commands: Any) -> None:
    crawl = commands.add_parser(
        "crawl",
        parents=[connection_options()],
        help="crawl the catalog into a JSON Lines file (resumable)",
        description=(
            "Walk locations, events, occurrences and inventory into OUT, one JSON object per "
            "line (JSON Lines): {locationId, location, event, occurrence, rateCode, items} "
            "or, for a rate code the event does not know, {..., rateCode, error}. Progress "
            "goes to stderr. Finished work is recorded in OUT.checkpoint; after an "
            "interruption, run the same command with --resume: every record ends up in OUT "
            "exactly once. Exit status 1 when some units failed (--resume retries them)."
        ),
    )
    crawl.add_argument("--out", required=True, metavar="FILE", help="the JSON Lines file")
    crawl.add_argument(
        "--location",
        action="append",
        metavar="ID",
        help="crawl only this location (repeatable; default: every location)",
    )
    crawl.add_argument(
        "--rate-code",
        action="append",
        metavar="CODE",
        help="also price at this rate code (repeatable; the default tier is always included)",
    )
    crawl.add_argument(
        "--no-inventory",
        action="store_true",
        help="occurrences only: one record per occurrence, no inventory calls",
    )
    crawl.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="requests in flight at once, all levels together (default 16)",
    )
    crawl.add_argument(
        "--resume",
        action="store_true",
        help="continue the crawl recorded in OUT.checkpoint (the same options are needed)",
    )
    crawl.add_argument(
        "--overwrite",
        action="store_true",
        help="start over even if OUT exists (its content and checkpoint are replaced)",
    )
    crawl.add_argument(
        "--checkpoint-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often finished work is recorded (default 1)",
    )
    crawl.add_argument(
        "--json",
        action="store_true",
        help="print the final summary as one JSON document instead of text",
    )
    crawl.set_defaults(command_run=run)


def _checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint")


def run(args: argparse.Namespace) -> int:
    check_locale(args.locale)
    if not 1 <= args.concurrency <= 256:
        raise UsageError(f"--concurrency: must be between 1 and 256, got {args.concurrency}")
    if not 0 <= args.checkpoint_interval <= 3600:
        raise UsageError("--checkpoint-interval: must be between 0 and 3600 seconds")
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite: choose one")
    out = Path(args.out)
    checkpoint = _checkpoint_path(out)
    if not args.resume:
        if out.exists() and not args.overwrite:
            raise UsageError(
                f"--out: {out} exists; pass --resume to continue that crawl, "
                "or --overwrite to start over"
            )
        # Another crawl's checkpoint would be refused; write_jsonl(resume=False) writes a new
        # one before it empties the file.
        checkpoint.unlink(missing_ok=True)
    client = make_client(args)
    codes: list[str | None] = [None, *(args.rate_code or ())]
    crawl = client.crawl(
        args.location,
        rate_codes=codes,
        inventory=not args.no_inventory,
        concurrency=args.concurrency,
        checkpoint=checkpoint,
    )
    crawl._checkpoint_interval = args.checkpoint_interval
    started = time.monotonic()
    try:
        asyncio.run(_crawl(client, crawl, out, resume=args.resume, quiet=args.json))
    except KeyboardInterrupt:
        print(
            f"ttg: interrupted; {crawl.stats.records} records written. "
            f"Run the same command with --resume to continue.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    _summary(args, crawl, out, time.monotonic() - started)
    return EXIT_FAILED if crawl.errors else EXIT_OK


async def _crawl(client: Any, crawl: Crawl, out: Path, *, resume: bool, quiet: bool) -> None:
    async with client:
        progress = None if quiet else _Progress(crawl)
        with progress or contextlib.nullcontext():
            ticker = None if progress is None else asyncio.create_task(progress.tick())
            try:
                await crawl.write_jsonl(out, resume=resume)
            except ConfigurationError as exc:
                if resume and exc.field == "path":  # OUT does not match OUT.checkpoint
                    what = str(exc).removeprefix("path: ").split("; pass resume=False")[0]
                    raise UsageError(f"--resume: {what}; use --overwrite to start over") from exc
                raise
            finally:
                if ticker is not None:
                    ticker.cancel()
                    await asyncio.gather(ticker, return_exceptions=True)
                if progress is not None:
                    progress.update()


class _Progress:
    """A live bar on stderr: events done of those announced, and what the crawl counts."""

    def __init__(self, crawl: Crawl) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._crawl = crawl
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("events"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task("crawl", total=None, detail="starting")

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self) -> None:
        stats = self._crawl.stats
        rate = stats.requests / stats.elapsed if stats.elapsed > 0 else 0.0
        total = self._crawl._events_seen or None
        self._bar.update(
            self._task,
            total=total,
            completed=self._crawl._events_settled,
            detail=(
                f"· locations {stats.locations} · occurrences {stats.occurrences} · "
                f"records {stats.records} · {rate:,.0f} req/s · errors {stats.errors}"
            ),
        )

    async def tick(self) -> None:
        while True:
            self.update()
            await asyncio.sleep(0.25)


def _summary(args: argparse.Namespace, crawl: Crawl, out: Path, seconds: float) -> None:
    stats = crawl.stats
    if args.json:
        print_json(
            {
                "out": str(out),
                "stats": {
                    "locations": stats.locations,
                    "events": stats.events,
                    "occurrences": stats.occurrences,
                    "records": stats.records,
                    "items": stats.items,
                    "requests": stats.requests,
                    "errors": stats.errors,
                    "elapsed": round(stats.elapsed, 3),
                },
                "errors": [failure.to_dict() for failure in crawl.errors],
            }
        )
        return
    rate = stats.requests / stats.elapsed if stats.elapsed > 0 else 0.0
    screen = console()
    screen.print(
        f"Wrote {stats.records:,} records ({stats.items:,} items) to {out}: "
        f"{stats.locations:,} locations, {stats.events:,} events, "
        f"{stats.occurrences:,} occurrences; {stats.requests:,} requests in {seconds:.1f} s "
        f"({rate:,.0f}/s); {stats.errors} errors."
    )
    for failure in crawl.errors[:20]:
        screen.print(f"  failed: {failure.where}: {type(failure.error).__name__}: {failure.error}")
    if len(crawl.errors) > 20:
        screen.print(f"  ... and {len(crawl.errors) - 20} more")
    if crawl.errors:
        screen.print("Run the same command with --resume to retry the failed units.")
