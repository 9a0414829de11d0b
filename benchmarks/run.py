"""Benchmark ttg_async against raw aiohttp, on a sandbox running in its own process.

    python benchmarks/run.py             # the full run: a few minutes
    python benchmarks/run.py --quick     # one run per approach: under a minute
    python benchmarks/run.py --profile inventory   # cProfile the SDK on one scenario

Every run of every approach is a fresh ``python benchmarks/_worker.py`` process; the runs of
the approaches are interleaved (and their order rotated) so that a noisy neighbour hits all of
them alike. The table gives medians and the ratio of each approach to raw aiohttp + json
measured in the same run. Exit status 1 means the approaches disagreed on what they fetched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from _common import (
    API,
    APPROACHES,
    BASELINE,
    HEADERS,
    RATE_CODES,
    Scenario,
)

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_worker.py"


@dataclass(frozen=True)
class Catalog:
    """What the runner learns from the sandbox before timing anything (untimed)."""

    location_totals: list[int]
    inventory_targets: list[tuple[str, str]]
    rate_code_targets: list[tuple[str, str]]


@dataclass
class Sample:
    seconds: float
    count: int
    cpu: float
    server_cpu: float | None


# --------------------------------------------------------------------------- the sandbox


class SandboxProcess:
    """``python -m ttg_async.sandbox --port 0`` in a child process, stopped with Ctrl-C."""

    def __init__(self, events: int, locations: int) -> None:
        self.args = [
            sys.executable,
            "-m",
            "ttg_async.sandbox",
            "--port",
            "0",
            "--events",
            str(events),
            "--locations",
            str(locations),
            "--retailer",
            "bench",
            "--start-date",
            "2026-03-02",
        ]
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        prefix = "TTG sandbox listening on "
        if not line.startswith(prefix):
            self.__exit__()
            raise SystemExit(f"the sandbox did not start: {line!r}")
        self.base_url = line[len(prefix) :].strip()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


async def explore(base_url: str, n_inventory: int, n_rate_codes: int, events: int) -> Catalog:
    """Location sizes and on-sale occurrences to target, fetched once with plain aiohttp.

    With ``n_inventory == n_rate_codes == 0`` only the location sizes are fetched.
    """
    async with aiohttp.ClientSession(headers=HEADERS) as session:

        async def get(path: str, params: dict[str, str | int] | None = None) -> Any:
            async with session.get(base_url + API + path, params=params) as response:
                response.raise_for_status()
                return msgspec.json.decode(await response.read())

        locations = (await get("/locations", {"limit": 1000}))["data"]
        totals = []
        for location in locations:
            page = await get("/events", {"locationId": location["id"], "limit": 1})
            totals.append(page["pagination"]["total"])

        async def on_sale(step: int, per_event: int, wanted: int) -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            if not wanted:
                return found
            for index in range(0, events, step):
                event_id = str(1001 + index)
                occurrences = (await get(f"/events/{event_id}/occurrences"))["data"]
                ids = [o["id"] for o in occurrences if o["fromPrice"] is not None]
                found.extend((event_id, o) for o in ids[:per_event])
                if len(found) >= wanted:
                    return found[:wanted]
            raise SystemExit(f"only {len(found)} on-sale occurrences; use more --events")

        # Spread over many events (and so over every location and venue kind).
        inventory = await on_sale(7, 4, n_inventory)
        # Events whose 0-based index is a multiple of 30 carry every seeded rate code.
        rate_codes = await on_sale(30, 3, n_rate_codes)
    return Catalog(totals, inventory, rate_codes)


# --------------------------------------------------------------------------- scenarios


def crawl_requests(catalog: Catalog, limit: int) -> int:
    """Requests of one crawl: the location pages, then every location's event pages."""
    pages = math.ceil(len(catalog.location_totals) / limit)
    return pages + sum(max(1, math.ceil(total / limit)) for total in catalog.location_totals)


def scenarios(catalog: Catalog, *, quick: bool, events: int) -> list[Scenario]:
    n_events = sum(catalog.location_totals)
    n_gets = 500 if quick else 2000
    # Short workloads are repeated inside one timed section, to rise above the noise.
    crawl_rounds, request_rounds = (3, 2) if quick else (10, 5)
    event_ids = [str(1001 + (index * 7919) % events) for index in range(n_gets)]
    inventory = catalog.inventory_targets
    rate_codes = catalog.rate_code_targets
    found: list[Scenario] = []
    for limit, concurrency in ((100, 1), (100, 8), (1000, 1)):
        found.append(
            Scenario(
                name=f"crawl-{limit}-c{concurrency}",
                function="crawl_catalog",
                kwargs={"limit": limit, "concurrency": concurrency},
                requests=crawl_requests(catalog, limit),
                rounds=crawl_rounds,
                description=(
                    f"all {n_events} events of {len(catalog.location_totals)} locations, "
                    f"limit={limit}, {concurrency} page(s) in flight per location"
                ),
            )
        )
    found.append(
        Scenario(
            name=f"inventory-{len(inventory)}",
            function="fetch_inventories",
            kwargs={"targets": inventory, "concurrency": 32},
            requests=len(inventory),
            rounds=request_rounds,
            description=f"{len(inventory)} inventory.list calls, semaphore 32",
        )
    )
    found.append(
        Scenario(
            name=f"rate-codes-{len(rate_codes)}x{len(RATE_CODES)}",
            function="fetch_rate_codes",
            kwargs={"targets": rate_codes, "codes": RATE_CODES, "concurrency": 32},
            requests=len(rate_codes) * len(RATE_CODES),
            rounds=request_rounds,
            description=(
                f"by_rate_codes over {len(rate_codes)} occurrences x {len(RATE_CODES)} codes, "
                "semaphore 32 on occurrences"
            ),
        )
    )
    found.append(
        Scenario(
            name=f"small-gets-{n_gets}",
            function="get_events",
            kwargs={"event_ids": event_ids, "concurrency": 32},
            requests=n_gets,
            rounds=request_rounds,
            description=f"{n_gets} events.get calls (small bodies: per-call cost), semaphore 32",
        )
    )
    return found


LARGE = "crawl-large-1000-c1"


def large_scenarios(catalog: Catalog) -> list[Scenario]:
    """One crawl of a catalog far larger than the default one, on its own sandbox."""
    n_events = sum(catalog.location_totals)
    return [
        Scenario(
            name=LARGE,
            function="crawl_catalog",
            kwargs={"limit": 1000, "concurrency": 1},
            requests=crawl_requests(catalog, 1000),
            rounds=1,
            description=(
                f"all {n_events} events of {len(catalog.location_totals)} locations, "
                "limit=1000, 1 page in flight per location, one pass (on its own sandbox)"
            ),
        )
    ]


def run_worker(
    approach: str,
    scenario: Scenario,
    sandbox: SandboxProcess,
    *,
    profile: bool = False,
    rounds: int | None = None,
) -> Sample:
    spec = {
        "approach": approach,
        "function": scenario.function,
        "kwargs": scenario.kwargs,
        "base_url": sandbox.base_url,
        "sandbox_pid": sandbox.pid,
        "rounds": scenario.rounds if rounds is None else rounds,
        "profile": profile,
    }
    done = subprocess.run(
        [sys.executable, str(WORKER)],
        input=json.dumps(spec),
        stdout=subprocess.PIPE,
        stderr=None if profile else subprocess.PIPE,
        text=True,
        check=False,
        cwd=HERE,
    )
    if done.returncode != 0:
        raise SystemExit(f"{approach} on {scenario.name} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(result["seconds"], result["count"], result["cpu"], result["server_cpu"])


# --------------------------------------------------------------------------- report


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, msgspec {msgspec.__version__}, "
        f"{platform.system()} {platform.release()}"
    )


def percent(part: float | None, whole: float) -> str:
    return "n/a" if part is None or whole <= 0 else f"{100 * part / whole:.0f} %"


def table(
    plan: list[Scenario],
    results: dict[str, dict[str, list[Sample]]],
    approaches: list[str],
    warm_ups: dict[str, Sample],
) -> tuple[str, list[str], list[str]]:
    """The figures as a Markdown table, the sandbox's load per scenario, and any defects.

    The sandbox rows also give its CPU per request in the untimed warm-up round: the first
    time the scenario's requests reach the sandbox (its caches may already hold what an
    earlier scenario on the same sandbox fetched).
    """
    rows = [
        "| scenario | approach | median ms | min ms | req/s | count | client CPU "
        "| client us/req | sandbox CPU | time x json | time x msgspec | CPU x json |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    sandbox_rows = [
        "| scenario | sandbox CPU us/req | sandbox capacity, 1 core | busiest sandbox CPU "
        "| first pass, sandbox us/req |",
        "|---|--:|--:|--:|--:|",
    ]
    problems: list[str] = []
    for scenario in plan:
        by_approach = results[scenario.name]
        medians = {a: statistics.median(s.seconds for s in by_approach[a]) for a in approaches}
        cpus = {a: statistics.median(s.cpu for s in by_approach[a]) for a in approaches}
        counts = {s.count for a in approaches for s in by_approach[a]}
        if len(counts) != 1 or 0 in counts or -1 in counts:
            problems.append(f"{scenario.name}: counts differ or are empty: {sorted(counts)}")
        for approach in approaches:
            samples = by_approach[approach]
            median = medians[approach]
            mid = min(samples, key=lambda s: abs(s.seconds - median))
            ratios = [
                f"{median / medians[base]:.2f}" if base in medians else "-"
                for base in (BASELINE, "raw_msgspec")
            ]
            cpu_ratio = f"{cpus[approach] / cpus[BASELINE]:.2f}" if BASELINE in cpus else "-"
            rows.append(
                f"| {scenario.name} | {approach} | {1000 * median:.0f} "
                f"| {1000 * min(s.seconds for s in samples):.0f} "
                f"| {scenario.requests / median:,.0f} | {mid.count:,} "
                f"| {percent(mid.cpu, mid.seconds)} "
                f"| {1e6 * cpus[approach] / scenario.requests:.0f} "
                f"| {percent(mid.server_cpu, mid.seconds)} "
                f"| {ratios[0]} | {ratios[1]} | {cpu_ratio} |"
            )
        server = [s.server_cpu for a in approaches for s in by_approach[a] if s.server_cpu]
        if server:
            per_request = statistics.median(server) / scenario.requests
            busiest = max(
                (s.server_cpu or 0.0) / s.seconds for a in approaches for s in by_approach[a]
            )
            warm_up = warm_ups.get(scenario.name)
            first = "n/a"
            if warm_up is not None and warm_up.server_cpu is not None:
                first = f"{1e6 * warm_up.server_cpu / scenario.requests:.0f}"
            sandbox_rows.append(
                f"| {scenario.name} | {1e6 * per_request:.0f} | {1 / per_request:,.0f} req/s "
                f"| {100 * busiest:.0f} %{' (sandbox-bound)' if busiest >= 0.9 else ''} "
                f"| {first} |"
            )
    return "\n".join(rows), sandbox_rows, problems


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run each, smaller workloads")
    parser.add_argument("--runs", type=int, default=None, help="runs per approach (default 5)")
    parser.add_argument("--events", type=int, default=8000, help="catalog size (default 8000)")
    parser.add_argument("--locations", type=int, default=4, help="locations (default 4)")
    parser.add_argument(
        "--large-events",
        type=int,
        default=100_000,
        help="catalog size of the crawl-large scenario (default 100000; 0 skips it)",
    )
    parser.add_argument(
        "--large-locations", type=int, default=20, help="locations of crawl-large (default 20)"
    )
    parser.add_argument(
        "--only", action="append", default=None, metavar="PREFIX", help="scenarios to run"
    )
    parser.add_argument(
        "--approach", action="append", choices=APPROACHES, default=None, help="approaches to run"
    )
    parser.add_argument(
        "--profile", metavar="PREFIX", default=None, help="cProfile one scenario, then stop"
    )
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    approaches: list[str] = args.approach or list(APPROACHES)
    n_inventory = 200 if args.quick else 500
    n_rate_codes = 50 if args.quick else 125

    def selected(found: list[Scenario]) -> list[Scenario]:
        if args.only:
            return [s for s in found if any(s.name.startswith(p) for p in args.only)]
        return found

    # Each group of scenarios runs on its own sandbox: the default catalog, then a large one.
    groups: list[tuple[int, int, Callable[[str], list[Scenario]]]] = [
        (
            args.events,
            args.locations,
            lambda url: scenarios(
                asyncio.run(explore(url, n_inventory, n_rate_codes, args.events)),
                quick=args.quick,
                events=args.events,
            ),
        )
    ]
    wanted = [args.profile] if args.profile else args.only
    if args.large_events > 0 and (not wanted or any(LARGE.startswith(p) for p in wanted)):
        groups.append(
            (
                args.large_events,
                args.large_locations,
                lambda url: large_scenarios(asyncio.run(explore(url, 0, 0, args.large_events))),
            )
        )
    if not args.profile:
        print(f"# Machine: {machine()}")
        print(
            f"# Sandbox: separate process, {args.events} events, {args.locations} locations "
            f"(large crawl: {args.large_events} events, {args.large_locations} locations); "
            f"{runs} run(s) per approach, each in a fresh process; medians."
        )
    plan: list[Scenario] = []
    results: dict[str, dict[str, list[Sample]]] = {}
    warm_ups: dict[str, Sample] = {}
    for events, locations, make_plan in groups:
        with SandboxProcess(events, locations) as sandbox:
            group = selected(make_plan(sandbox.base_url))
            if args.profile:
                chosen = next((s for s in group if s.name.startswith(args.profile)), None)
                if chosen is None:
                    continue
                approach = args.approach[0] if args.approach else "sdk"
                print(
                    f"# cProfile of {approach} on {chosen.name}: {chosen.description}", flush=True
                )
                sample = run_worker(approach, chosen, sandbox, profile=True)
                print(f"# {1000 * sample.seconds:.0f} ms under the profiler, count {sample.count}")
                return 0
            for scenario in group:
                print(f"# {scenario.name}: {scenario.description}", flush=True)
                # One untimed round warms the sandbox's caches, so that no approach pays for
                # them; its sandbox CPU is reported as the first-pass cost.
                warm_ups[scenario.name] = run_worker(BASELINE, scenario, sandbox, rounds=1)
                results[scenario.name] = {a: [] for a in approaches}
                for index in range(runs):
                    k = index % len(approaches)
                    for approach in approaches[k:] + approaches[:k]:
                        sample = run_worker(approach, scenario, sandbox)
                        results[scenario.name][approach].append(sample)
            plan += group
    if args.profile:
        raise SystemExit(f"no scenario starts with {args.profile!r}")
    text, sandbox_rows, problems = table(plan, results, approaches, warm_ups)
    print()
    print(text)
    print()
    print(
        "CPU columns are shares of one core during the timed section (both processes share "
        "the machine's cores);\nratios below 1 mean faster (or cheaper) than raw aiohttp + json."
    )
    print()
    print("\n".join(sandbox_rows))
    for problem in problems:
        print(f"DEFECT: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
