"""The herd: 1,000 concurrent calls for the same event and the same inventory, at 20 ms of
server latency, with coalescing off, on (the default), and with a response cache.

    python benchmarks/herd.py [--callers 1000] [--rounds 5] [--latency 0.02]
    python benchmarks/herd.py --instructions [--calls 400]   # the no-herd cost, by valgrind

The sandbox runs in a process of its own (``--latency``), so the client's CPU time
(``time.process_time()`` of this process) is the client's alone. Each round starts
``callers`` tasks at once, half calling ``events.get(E)`` and half ``inventory.list(E, O)``;
a call's latency runs from the call (the task's first step) to its answer. Upstream
requests are counted by the calls that sent one (``SERVED == "upstream"``), which needs no
tracing. With the cache (TTL 60 s) the first round fills it and the later rounds are
answered from memory. p50 and p99 are the median round's (``all p99``: every round's calls
together), since one round slowed by another process on a shared machine says nothing about
the client.

``--instructions`` measures what coalescing costs a call when there is no herd: sequential
``events.get`` of distinct events, with coalescing on and off, counted in user-space
instructions by ``valgrind --tool=callgrind`` (the difference of a long and a short run,
divided by the difference in calls, as ``benchmarks/instructions.py`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import API_KEY, PLATFORM, RETAILER  # noqa: E402
from run import SandboxProcess, explore  # noqa: E402

from ttg_async import ResponseCache, TTGClient  # noqa: E402
from ttg_async._core.hot import SERVED  # noqa: E402

MODES = ("coalescing off", "coalescing on", "cache")
_COLLECTED = re.compile(r"Collected : (\d+)")


async def one_round(
    ttg: TTGClient, target: tuple[str, str], callers: int
) -> list[tuple[float, bool]]:
    """``callers`` calls at once; each one's latency, and whether it sent a request."""
    event_id, occurrence_id = target
    loop = asyncio.get_running_loop()

    async def one(index: int) -> tuple[float, bool]:
        called = loop.time()  # a handler's call: from its start to its answer
        if index % 2:
            await ttg.inventory.list(event_id, occurrence_id)
        else:
            await ttg.events.get(event_id)
        return loop.time() - called, SERVED.get() == "upstream"

    return await asyncio.gather(*(one(i) for i in range(callers)))


async def herd(base_url: str, target: tuple[str, str], args: argparse.Namespace) -> list[dict]:
    rows = []
    for mode in MODES:
        cache = ResponseCache(ttl=60.0) if mode == "cache" else None
        async with TTGClient(
            API_KEY, RETAILER, platform=PLATFORM, base_url=base_url, cache=cache
        ) as client:
            ttg = client.with_options(coalesce=mode != "coalescing off")
            await ttg.locations.list(limit=1, max_items=1).collect()  # warm: a connection
            # One round unmeasured, around the cache, so that no figure pays for first calls.
            await one_round(ttg.with_options(cache=None), target, args.callers)
            latencies: list[float] = []
            p50s: list[float] = []
            p99s: list[float] = []
            upstream = 0
            cpu = 0.0
            for _ in range(args.rounds):
                cpu_before = time.process_time()
                results = await one_round(ttg, target, args.callers)
                cpu += time.process_time() - cpu_before
                round_latencies = [latency for latency, _ in results]
                latencies += round_latencies
                quantiles = statistics.quantiles(round_latencies, n=100)
                p50s.append(quantiles[49])
                p99s.append(quantiles[98])
                upstream += sum(sent for _, sent in results)
            calls = args.callers * args.rounds
            overall = statistics.quantiles(latencies, n=100)
            rows.append(
                {
                    "mode": mode,
                    "calls": calls,
                    "upstream_per_round": upstream / args.rounds,
                    # The median round's: one round slowed by another process on a shared
                    # machine does not decide the figure (the overall ones are kept too).
                    "p50_ms": statistics.median(p50s) * 1000,
                    "p99_ms": statistics.median(p99s) * 1000,
                    "overall_p50_ms": overall[49] * 1000,
                    "overall_p99_ms": overall[98] * 1000,
                    "cpu_us_per_call": cpu / calls * 1e6,
                    "stats": str(client.cache_stats()),
                }
            )
    return rows


_CHILD = """
import asyncio, sys
from ttg_async import TTGClient
async def main():
    async with TTGClient({key!r}, {retailer!r}, platform={platform!r}, base_url={url!r}) as c:
        ttg = c.with_options(coalesce={coalesce})
        await ttg.events.get("1001")
        for i in range({calls}):
            await ttg.events.get(str(1002 + i % 2000))
asyncio.run(main())
"""


def instructions(base_url: str, coalesce: bool, calls: int) -> int:
    code = _CHILD.format(
        key=API_KEY,
        retailer=RETAILER,
        platform=PLATFORM,
        url=base_url,
        coalesce=coalesce,
        calls=calls,
    )
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONMALLOC": "malloc", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit("valgrind is not installed")
        with SandboxProcess(3000, 4, []) as sandbox:
            per_call = {}
            for coalesce in (False, True):
                many = instructions(sandbox.base_url, coalesce, args.calls)
                few = instructions(sandbox.base_url, coalesce, args.calls // 5)
                per_call[coalesce] = (many - few) / (args.calls - args.calls // 5)
        off, on = per_call[False], per_call[True]
        print(f"no herd, coalescing off: {off:,.0f} instructions per call")
        print(f"no herd, coalescing on:  {on:,.0f} instructions per call ({on / off - 1:+.1%})")
        return
    with SandboxProcess(200, 4, ["--latency", str(args.latency)]) as sandbox:
        _, found = asyncio.run(explore(sandbox.base_url, 1, 200))
        rows = asyncio.run(herd(sandbox.base_url, found[0], args))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{args.callers} concurrent callers a round (half events.get, half inventory.list), "
        f"{args.rounds} rounds, {args.latency * 1000:.0f} ms server latency"
    )
    print(
        f"{'mode':16s} {'upstream/round':>15s} {'p50 ms':>8s} {'p99 ms':>8s} "
        f"{'all p99 ms':>11s} {'CPU µs/call':>12s}"
    )
    for row in rows:
        print(
            f"{row['mode']:16s} {row['upstream_per_round']:15.1f} {row['p50_ms']:8.1f} "
            f"{row['p99_ms']:8.1f} {row['overall_p99_ms']:11.1f} {row['cpu_us_per_call']:12.1f}"
        )
    off, on = rows[0], rows[1]
    print(
        f"coalescing on vs off: {off['upstream_per_round'] / on['upstream_per_round']:.0f}x "
        f"fewer upstream requests, p99 {off['p99_ms'] / on['p99_ms']:.1f}x lower "
        f"(all rounds together: {off['overall_p99_ms'] / on['overall_p99_ms']:.1f}x), "
        f"{off['cpu_us_per_call'] / on['cpu_us_per_call']:.1f}x less client CPU per call"
    )


if __name__ == "__main__":
    main()
