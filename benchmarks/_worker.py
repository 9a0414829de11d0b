"""Times one approach on one scenario, in a fresh process; the runner starts one per run.

Reads a JSON spec on stdin and prints one JSON line on stdout::

    {"approach": "sdk", "function": "fetch_inventories", "kwargs": {...},
     "base_url": "http://127.0.0.1:...", "sandbox_pid": 1234, "rounds": 3, "profile": false}

Only the scenario calls are timed (``rounds`` of them, back to back, reported per round): the
import, the client's set-up and one warm-up request are not. The peak RSS growth is measured
over the same section. With ``"profile": true`` the calls run under cProfile (timed in CPU
time) and the top costs go to stderr.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import importlib
import io
import json
import pstats
import sys
import time
from typing import Any

from _common import memory_kib, process_cpu_seconds, reset_peak_memory


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    # sdk_before runs the same module as sdk, against another commit's package.
    module = importlib.import_module(f"approach_{spec['module']}")
    function = getattr(module, spec["function"])
    kwargs = dict(spec["kwargs"])
    if "targets" in kwargs:
        kwargs["targets"] = [tuple(pair) for pair in kwargs["targets"]]
    sandbox_pid: int = spec["sandbox_pid"]
    rounds: int = spec.get("rounds", 1)
    # CPU time, not wall time: on a busy machine a wall-clock profile mostly shows the
    # moments this process waited for a core (a loopback send() alone looked like 1 ms).
    profiler = cProfile.Profile(time.process_time) if spec.get("profile") else None
    async with module.connect(spec["base_url"]) as client:
        await module.warm_up(client)
        gc.collect()
        peak_reset = reset_peak_memory()
        rss0 = memory_kib("VmRSS") if peak_reset else memory_kib("VmHWM")
        server_cpu0 = process_cpu_seconds(sandbox_pid)
        cpu0 = time.process_time()
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        counts = [await function(client, **kwargs) for _ in range(rounds)]
        if profiler is not None:
            profiler.disable()
        # Per round: the workload is repeated only to lift it above the timer's noise.
        seconds = (time.perf_counter() - start) / rounds
        cpu = (time.process_time() - cpu0) / rounds
        server_cpu1 = process_cpu_seconds(sandbox_pid)
        peak = memory_kib("VmHWM")
    if profiler is not None:
        if spec.get("profile_out"):
            profiler.dump_stats(spec["profile_out"])
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(int(spec.get("profile_top", 30)))
        stats.sort_stats("cumulative").print_stats(int(spec.get("profile_top", 30)))
        print(out.getvalue(), file=sys.stderr)
    server_cpu = (
        None if server_cpu0 is None or server_cpu1 is None else (server_cpu1 - server_cpu0) / rounds
    )
    # A round that fetched something else than the others would make the count a lie.
    count = counts[0] if len(set(counts)) == 1 else -1
    growth = None if rss0 is None or peak is None else max(0, peak - rss0) / 1024
    return {
        "seconds": seconds,
        "count": count,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "peak_mb": growth,
    }


def main() -> None:
    spec = json.load(sys.stdin)
    print(json.dumps(asyncio.run(measure(spec))), flush=True)


if __name__ == "__main__":
    main()
