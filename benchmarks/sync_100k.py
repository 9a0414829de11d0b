"""``ttg.sync()`` over a 100,000-event catalog against ``ttg.crawl()`` on the same sandbox:
throughput (requests per second, the comparison and the snapshot included) and peak RSS.

    python benchmarks/sync_100k.py                       # 100,000 events, concurrency 32
    python benchmarks/sync_100k.py --events 10000        # a quick look

The sandbox runs in its own process (``python -m ttg_async.sandbox``, as in
``crawl_100k.py``). Each run is a fresh worker process, so its peak RSS (``ru_maxrss``) is its
own. In order: an untimed first sync (``previous=None``) writes the snapshot that the timed
syncs compare against; then, alternating, ``ttg.crawl(inventory=False)`` (records counted,
nothing written, as in ``crawl_100k.py``) and ``ttg.sync(previous=..., inventory=False)`` (a
second night of an unchanged catalog: every record hashed and compared, the new snapshot
written and renamed into place). The sandbox process cannot move its catalog, so the
timed nights are unchanged ones; ``tests/test_sync.py`` covers changed nights.

Targets (issue #24): the sync's throughput at least 0.9x the crawl's, its peak RSS under
150 MB. The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl_100k import KEY, RETAILER, peak_rss_mb, start_sandbox

RSS_LIMIT_MB: Final = 150.0
RATIO_TARGET: Final = 0.9
HERE: Final = Path(__file__).resolve()


async def run_crawl(base_url: str, concurrency: int) -> dict[str, Any]:
    from ttg_async import TTGClient

    async with TTGClient(KEY, RETAILER, base_url=base_url, max_connections=concurrency) as ttg:
        await ttg.locations.list(limit=1).collect()  # warm-up: session and first connection
        started = time.perf_counter()
        crawl = ttg.crawl(inventory=False, concurrency=concurrency)
        records = 0
        async for _ in crawl:
            records += 1
        seconds = time.perf_counter() - started
        assert not crawl.errors, crawl.errors[:3]
    return {"records": records, "requests": crawl.stats.requests, "seconds": seconds}


async def run_sync(
    base_url: str, concurrency: int, previous: str | None, out: str
) -> dict[str, Any]:
    from ttg_async import TTGClient

    async with TTGClient(KEY, RETAILER, base_url=base_url, max_connections=concurrency) as ttg:
        await ttg.locations.list(limit=1).collect()
        started = time.perf_counter()
        sync = ttg.sync(previous, out, inventory=False, concurrency=concurrency)
        changes = 0
        async for _ in sync:
            changes += 1
        seconds = time.perf_counter() - started
        assert not sync.errors, sync.errors[:3]
    stats = sync.stats
    return {
        "records": stats.crawl.records,
        "requests": stats.crawl.requests,
        "seconds": seconds,
        "changes": changes,
        "unchanged": stats.unchanged,
        "crawl_phase": stats.crawl.elapsed,  # the crawl into the staging file, then compare
    }


def worker_main(args: argparse.Namespace) -> None:
    if args.worker == "crawl":
        result = asyncio.run(run_crawl(args.base_url, args.concurrency))
    else:
        result = asyncio.run(run_sync(args.base_url, args.concurrency, args.previous, args.out))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def run_worker(args: argparse.Namespace, base_url: str, *extra: str) -> dict[str, Any]:
    command = [
        sys.executable, str(HERE), "--base-url", base_url,
        "--concurrency", str(args.concurrency), *extra,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["rate"] = result["requests"] / result["seconds"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--worker", choices=("crawl", "sync"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--previous", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return 0

    sandbox, base_url = start_sandbox(args.events, args.locations)
    folder = Path(tempfile.mkdtemp(prefix="sync_100k."))
    first = folder / "night-1.jsonl"
    ratios: list[float] = []
    peak = 0.0
    try:
        result = run_worker(args, base_url, "--worker", "sync", "--out", str(first))
        print(
            f"first sync (untimed for the ratio): {result['records']:,} records, "
            f"{result['changes']:,} changes in {result['seconds']:.1f} s, "
            f"{first.stat().st_size / 1e6:,.0f} MB snapshot, "
            f"peak RSS {result['peak_rss_mb']:.1f} MB",
            flush=True,
        )
        for index in range(args.rounds):
            out = folder / f"night-{index + 2}.jsonl"
            names = ("crawl", "sync") if index % 2 == 0 else ("sync", "crawl")
            this_round = {}
            for name in names:
                extra = ["--worker", name]
                if name == "sync":
                    extra += ["--previous", str(first), "--out", str(out)]
                this_round[name] = run_worker(args, base_url, *extra)
                r = this_round[name]
                print(
                    f"round {index + 1} {name:>5}: {r['records']:>9,} records, "
                    f"{r['requests']:>7,} requests in {r['seconds']:7.1f} s = "
                    f"{r['rate']:6,.0f} req/s, peak RSS {r['peak_rss_mb']:6.1f} MB"
                    + (
                        f", {r['changes']} changes; crawl phase {r['crawl_phase']:.1f} s, "
                        f"compare {r['seconds'] - r['crawl_phase']:.1f} s"
                        if name == "sync"
                        else ""
                    ),
                    flush=True,
                )
            # Compared a block at a time: a worker forked from a runner that had read both
            # files whole would inherit that peak RSS (Linux keeps ru_maxrss across exec).
            same = filecmp.cmp(out, first, shallow=False)
            assert same, "an unchanged night changed the file"
            ratios.append(this_round["sync"]["rate"] / this_round["crawl"]["rate"])
            peak = max(peak, this_round["sync"]["peak_rss_mb"])
            out.unlink()
    finally:
        sandbox.terminate()
        sandbox.wait()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    ratio = statistics.median(ratios)
    print(
        f"\n{args.events:,} events, occurrences, concurrency {args.concurrency}, "
        f"{args.rounds} rounds, Python {sys.version.split()[0]}"
    )
    print(f"sync / crawl throughput: median {ratio:.2f} (per round: "
          + ", ".join(f"{r:.2f}" for r in ratios) + f"); target >= {RATIO_TARGET}")  # fmt: skip
    print(f"sync peak RSS: {peak:.1f} MB; target < {RSS_LIMIT_MB:.0f} MB")
    ok = peak < RSS_LIMIT_MB and ratio >= RATIO_TARGET
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
