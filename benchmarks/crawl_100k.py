"""``ttg.crawl()`` over a 100,000-event catalog: throughput and peak RSS, against a hand-written
aiohttp fan-out on the same sandbox in the same run.

    python benchmarks/crawl_100k.py                  # 100,000 events, concurrency 32, 2 rounds
    python benchmarks/crawl_100k.py --events 20000 --rounds 1
    python benchmarks/crawl_100k.py --inventory      # also every occurrence's inventory (long)

The sandbox runs in its own process (``python -m ttg_async.sandbox``); each crawl runs in a
fresh worker process, so its peak RSS (``ru_maxrss``) is its own. Both approaches do the same
requests: the location list, every location's event pages (``limit=1000``) and every event's
occurrences (with ``--inventory``, also one inventory call per occurrence). The raw fan-out is
what a careful user writes by hand: one ``aiohttp.ClientSession``, a queue, ``concurrency``
worker tasks, ``await response.json()``. Rounds alternate the order of the two approaches,
and the ratio is taken per round, so machine load hits both alike.

Targets (issue #10): the SDK's peak RSS under 150 MB, and its throughput at least 0.9x the
raw fan-out's. The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

KEY: Final = "sk_test_bench"
RETAILER: Final = "bench"
HEADERS: Final = {"X-TT-API-Key": KEY, "X-TT-Retailer": RETAILER, "X-TT-Platform": "api"}
RSS_LIMIT_MB: Final = 150.0
RATIO_TARGET: Final = 0.9
HERE: Final = Path(__file__).resolve()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the two approaches (each runs in its own worker process) ------------------------------


async def crawl_sdk(
    base_url: str, concurrency: int, inventory: bool, location: str | None
) -> dict[str, Any]:
    from ttg_async import TTGClient

    async with TTGClient(KEY, RETAILER, base_url=base_url, max_connections=concurrency) as ttg:
        await ttg.locations.list(limit=1).collect()  # warm-up: session and first connection
        started = time.perf_counter()
        ids = None if location is None else [location]
        crawl = ttg.crawl(ids, inventory=inventory, concurrency=concurrency)
        records = 0
        async for _ in crawl:
            records += 1
        seconds = time.perf_counter() - started
        stats = crawl.stats
        assert not crawl.errors, crawl.errors[:3]
    return {"records": records, "requests": stats.requests, "seconds": seconds}


async def crawl_raw(
    base_url: str, concurrency: int, inventory: bool, location: str | None
) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, headers=HEADERS, connector=connector) as http:
        requests = 0

        async def get(path: str, **params: Any) -> Any:
            nonlocal requests
            requests += 1
            async with http.get(path, params=params) as response:
                response.raise_for_status()
                return await response.json()

        await get("/api/v3/locations", limit=1)  # warm-up
        requests = 0
        started = time.perf_counter()
        # The queue is bounded, so the lister waits for the workers, as it should.
        queue: asyncio.Queue[tuple[str, ...] | None] = asyncio.Queue(maxsize=4 * concurrency)
        records = 0

        async def lister() -> None:
            if location is None:
                locations = (await get("/api/v3/locations", limit=1000, offset=0))["data"]
            else:
                locations = [{"id": location}]
            for place in locations:
                offset, total = 0, 1
                while offset < total:
                    page = await get(
                        "/api/v3/events", locationId=place["id"], limit=1000, offset=offset
                    )
                    total = page["pagination"]["total"]
                    offset += page["pagination"]["limit"]
                    for event in page["data"]:
                        await queue.put(("event", event["id"]))
            for _ in range(concurrency):
                await queue.put(None)

        async def worker() -> None:
            nonlocal records
            while (job := await queue.get()) is not None:
                event_id = job[1]
                occurrences = (await get(f"/api/v3/events/{event_id}/occurrences"))["data"]
                if not inventory:
                    records += len(occurrences)
                    continue
                for occurrence in occurrences:
                    path = f"/api/v3/events/{event_id}/occurrences/{occurrence['id']}"
                    await get(path + "/inventory-items")
                    records += 1

        async with asyncio.TaskGroup() as group:
            group.create_task(lister())
            for _ in range(concurrency):
                group.create_task(worker())
        seconds = time.perf_counter() - started
    return {"records": records, "requests": requests, "seconds": seconds}


def worker_main(args: argparse.Namespace) -> None:
    crawl = crawl_sdk if args.worker == "sdk" else crawl_raw
    result = asyncio.run(crawl(args.base_url, args.concurrency, args.inventory, args.location))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


# -- the runner ------------------------------------------------------------------------------


def start_sandbox(events: int, locations: int) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, "-m", "ttg_async.sandbox", "--port", "0", "--events", str(events),
        "--locations", str(locations), "--retailer", RETAILER, "--start-date", "2026-03-02",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on (\S+)", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise RuntimeError("the sandbox did not start")


def run_worker(
    approach: str, base_url: str, args: argparse.Namespace, location: str | None = None
) -> dict[str, Any]:
    command = [
        sys.executable, str(HERE), "--worker", approach, "--base-url", base_url,
        "--concurrency", str(args.concurrency),
    ]  # fmt: skip
    if location is not None:
        command += ["--location", location]
    if args.inventory:
        command.append("--inventory")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["rate"] = result["requests"] / result["seconds"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inventory", action="store_true", help="also fetch every inventory")
    parser.add_argument(
        "--start-with",
        choices=("raw", "sdk"),
        default="raw",
        help="the approach of the first round (rounds alternate)",
    )
    parser.add_argument(
        "--paired",
        type=int,
        default=0,
        metavar="N",
        help="instead of whole crawls: crawl locations 1..N one by one, each by both approaches "
        "back to back (alternating which goes first), for ratios under the same load",
    )
    parser.add_argument("--worker", choices=("sdk", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return 0

    sandbox, base_url = start_sandbox(args.events, args.locations)
    if args.paired:
        try:
            return paired(base_url, args)
        finally:
            sandbox.terminate()
            sandbox.wait()
    results: dict[str, list[dict[str, Any]]] = {"raw": [], "sdk": []}
    ratios: list[float] = []
    try:
        if args.events <= 20_000:
            # Untimed: the sandbox fills its caches first (a larger catalog outgrows them).
            run_worker("raw", base_url, args)
        for index in range(args.rounds):
            first, second = ("raw", "sdk") if args.start_with == "raw" else ("sdk", "raw")
            order = (first, second) if index % 2 == 0 else (second, first)
            this_round = {name: run_worker(name, base_url, args) for name in order}
            for name, result in this_round.items():
                results[name].append(result)
                print(
                    f"round {index + 1} {name:>3}: {result['records']:>9,} records, "
                    f"{result['requests']:>9,} requests in {result['seconds']:7.2f} s = "
                    f"{result['rate']:8,.0f} req/s, peak RSS {result['peak_rss_mb']:6.1f} MB",
                    flush=True,
                )
            ratios.append(this_round["sdk"]["rate"] / this_round["raw"]["rate"])
    finally:
        sandbox.terminate()
        sandbox.wait()

    sdk_rss = max(r["peak_rss_mb"] for r in results["sdk"])
    ratio = statistics.median(ratios)
    kind = "occurrences and inventory" if args.inventory else "occurrences"
    print(
        f"\n{args.events:,} events, {kind}, concurrency {args.concurrency}, "
        f"{args.rounds} rounds, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(f"ttg_async / raw aiohttp throughput: median {ratio:.2f} (per round: "
          + ", ".join(f"{r:.2f}" for r in ratios) + f"); target >= {RATIO_TARGET}")  # fmt: skip
    print(f"ttg_async peak RSS: {sdk_rss:.1f} MB; target < {RSS_LIMIT_MB:.0f} MB")
    ok = sdk_rss < RSS_LIMIT_MB and ratio >= RATIO_TARGET
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def paired(base_url: str, args: argparse.Namespace) -> int:
    """One location at a time, both approaches back to back: the load is nearly the same."""
    ratios: list[float] = []
    peak = 0.0
    for index in range(args.paired):
        location = str(index + 1)
        order = ("raw", "sdk") if index % 2 == 0 else ("sdk", "raw")
        pair = {name: run_worker(name, base_url, args, location) for name in order}
        ratios.append(pair["sdk"]["rate"] / pair["raw"]["rate"])
        peak = max(peak, pair["sdk"]["peak_rss_mb"])
        print(
            f"location {location}: {pair['sdk']['requests']:,} requests each; "
            + ", ".join(f"{n} {pair[n]['seconds']:.1f} s, {pair[n]['rate']:,.0f}/s" for n in order)
            + f"; ratio {ratios[-1]:.2f}",
            flush=True,
        )  # fmt: skip
    ratio = statistics.median(ratios)
    print(f"\nttg_async / raw aiohttp, paired by location: median {ratio:.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}); target >= {RATIO_TARGET}")  # fmt: skip
    print(f"ttg_async peak RSS (one location): {peak:.1f} MB")
    return 0 if ratio >= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
