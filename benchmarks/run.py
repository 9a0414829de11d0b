"""Benchmark ttg_async against hand-written clients, on sandboxes running in their own processes.

    python benchmarks/run.py                      # the full run (7 runs each): results + chart
    python benchmarks/run.py --before abf1156     # ... with the SDK of that commit as well
    python benchmarks/run.py --quick              # CI: small workloads, 3 runs, never fails
                                                  # on timing
    python benchmarks/run.py --profile small-seq  # cProfile the SDK on one scenario

The baseline of every ratio is raw aiohttp decoding into hand-written msgspec Structs. Every
run of every approach is a fresh ``python benchmarks/_worker.py`` process; run ``i`` of every
approach (and of every scenario on the same sandbox) is made back to back, in a rotated order,
and each ratio is the median of those per-run pairs, shown with its min and max. Exit status 1
means the approaches disagreed on what they fetched (a benchmark that fetches nothing is a
defect); timing never fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _report
import aiohttp
import msgspec
from _common import (
    API,
    APPROACHES,
    BASELINE,
    BEFORE,
    BENCH_CODES,
    HEADERS,
    UNKNOWN_TYPE,
    Scenario,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_worker.py"


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


#: With two CPUs or more, the sandbox runs on the first and every client on the second, so
#: the two never take turns on one core (which made per-run ratios swing by a third). Every
#: approach gets the same arrangement.
SANDBOX_CPU, CLIENT_CPU = (_cpus()[0], _cpus()[1]) if len(_cpus()) >= 2 else (None, None)


def _pin(cpu: int | None) -> Any:
    """A ``preexec_fn`` that pins the child to ``cpu`` (``None`` when there is nothing to pin)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


#: The sandbox of each group of scenarios: its command-line options beyond the common ones.
SANDBOXES: dict[str, list[str]] = {
    "main": [],
    "unknown": ["--unknown-variant-type", UNKNOWN_TYPE],
    "latency": ["--latency", "0.02", *(f"--rate-code={c}" for c in BENCH_CODES if c)],
    "million": [],
}


class SandboxProcess:
    """``python -m ttg_async.sandbox --port 0 ...`` in a child process, stopped with Ctrl-C."""

    def __init__(self, events: int, locations: int, extra: list[str]) -> None:
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
            *extra,
        ]
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, text=True, cwd=ROOT, preexec_fn=_pin(SANDBOX_CPU)
        )
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


async def explore(base_url: str, wanted: int, events: int) -> tuple[list[str], list[tuple]]:
    """Location IDs, and ``wanted`` on-sale occurrences spread over the catalog (untimed)."""
    async with aiohttp.ClientSession(headers=HEADERS) as session:

        async def get(path: str, params: dict[str, str | int] | None = None) -> Any:
            async with session.get(base_url + API + path, params=params) as response:
                response.raise_for_status()
                return msgspec.json.decode(await response.read())

        locations = [loc["id"] for loc in (await get("/locations", {"limit": 1000}))["data"]]
        found: list[tuple[str, str]] = []
        for index in range(0, events, 7):  # every 7th event: every location and venue kind
            if len(found) >= wanted:
                break
            event_id = str(1001 + index)
            occurrences = (await get(f"/events/{event_id}/occurrences"))["data"]
            ids = [o["id"] for o in occurrences if o["fromPrice"] is not None]
            found.extend((event_id, o) for o in ids[:4])
        if len(found) < wanted:
            raise SystemExit(f"only {len(found)} on-sale occurrences; use more --events")
    return locations, found[:wanted]


def plan(
    args: argparse.Namespace, locations: list[str], targets: list[tuple[str, str]]
) -> list[Scenario]:
    q = args.quick
    n_seq, n_c32, n_inv, n_lat, n_codes = (200, 400, 60, 64, 5) if q else (1000, 2000, 300, 256, 20)
    ids = [str(1001 + (i * 7919) % args.events) for i in range(n_c32)]
    per_location = -(-(args.events // len(locations)) // 1000)  # pages of 1000, rounded up
    million = f"{args.million:,}"
    # json.loads and pydantic would hold gigabytes of a million items: not a contest.
    memory = ("raw_structs", "sdk", BEFORE)
    inventory = {"targets": targets[:n_inv], "concurrency": 1}
    rates = {"targets": targets[:n_codes], "concurrency": 1}
    walk = {"location_id": "1", "limit": 1000}
    return [
        Scenario(
            "small-seq",
            "main",
            "get_events",
            {"event_ids": ids[:n_seq], "concurrency": 1},
            n_seq,
            f"{n_seq} events.get, one at a time (small bodies: the cost of a call)",
        ),
        Scenario(
            "small-c32",
            "main",
            "get_events",
            {"event_ids": ids, "concurrency": 32},
            n_c32,
            f"{n_c32} events.get from 32 concurrent tasks",
        ),
        Scenario(
            "inventory-seq",
            "main",
            "fetch_inventories",
            inventory,
            n_inv,
            f"{n_inv} inventory.list, one at a time, every _type known",
        ),
        Scenario(
            "inventory-unknown-seq",
            "unknown",
            "fetch_inventories",
            inventory,
            n_inv,
            f"the same {n_inv} calls, each body with one unknown _type ({UNKNOWN_TYPE!r})",
        ),
        Scenario(
            "page-1000",
            "main",
            "crawl_catalog",
            {"limit": 1000},
            1 + len(locations) * max(1, per_location),
            f"every event of the {args.events:,}-event catalog, in pages of 1,000",
            rounds=2 if q else 5,
        ),
        Scenario(
            "latency20-c32",
            "latency",
            "fetch_inventories",
            {"targets": targets[:n_lat], "concurrency": 32},
            n_lat,
            f"{n_lat} inventory.list from 32 tasks, every answer 20 ms late",
        ),
        Scenario(
            "rate-codes-1",
            "latency",
            "fetch_rate_codes",
            {**rates, "codes": BENCH_CODES[:1]},
            n_codes,
            f"by_rate_codes with 1 code, {n_codes} occurrences one after another, 20 ms late",
        ),
        Scenario(
            "rate-codes-10",
            "latency",
            "fetch_rate_codes",
            {**rates, "codes": BENCH_CODES},
            10 * n_codes,
            f"by_rate_codes with 10 codes, the same {n_codes} occurrences, 20 ms late",
        ),
        Scenario(
            "stream-1m",
            "million",
            "stream_events",
            walk,
            args.million // 1000,
            f"async for over {million} events of one location (pages of 1,000)",
            approaches=memory,
        ),
        Scenario(
            "collect-1m",
            "million",
            "collect_events",
            walk,
            args.million // 1000,
            f"collect() of the same {million} events into one list",
            approaches=memory,
        ),
    ]


@contextmanager
def snapshot(rev: str) -> Iterator[Path]:
    """The ``ttg_async`` package of commit ``rev``, unpacked into a temporary directory."""
    done = subprocess.run(["git", "archive", rev, "ttg_async"], cwd=ROOT, capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"--before {rev}: git archive failed: {done.stderr.decode().strip()}")
    archive = done.stdout
    with tempfile.TemporaryDirectory(prefix="ttg-before-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def run_worker(
    approach: str,
    scenario: Scenario,
    sandbox: SandboxProcess,
    before: Path | None,
    *,
    rounds: int | None = None,
    profile: bool = False,
    profile_out: Path | None = None,
) -> _report.Sample:
    spec = {
        "module": "sdk" if approach == BEFORE else approach,
        "function": scenario.function,
        "kwargs": scenario.kwargs,
        "base_url": sandbox.base_url,
        "sandbox_pid": sandbox.pid,
        "rounds": scenario.rounds if rounds is None else rounds,
        "profile": profile,
        "profile_out": None if profile_out is None else str(profile_out.resolve()),
    }
    env = dict(os.environ)
    if approach == BEFORE:
        assert before is not None
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(before), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(WORKER)],
        input=json.dumps(spec),
        stdout=subprocess.PIPE,
        stderr=None if profile else subprocess.PIPE,
        text=True,
        check=False,
        cwd=HERE,
        env=env,
        preexec_fn=_pin(CLIENT_CPU),
    )
    if done.returncode != 0:
        raise SystemExit(f"{approach} on {scenario.name} failed:\n{done.stderr}")
    return _report.Sample(**json.loads(done.stdout.strip().splitlines()[-1]))


def machine() -> str:
    import httpx
    import pydantic

    pinned = (
        f"sandbox pinned to CPU {SANDBOX_CPU}, clients to CPU {CLIENT_CPU}"
        if CLIENT_CPU is not None
        else "nothing pinned"
    )
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}; {pinned}), "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, msgspec {msgspec.__version__}, "
        f"httpx {httpx.__version__}, pydantic {pydantic.VERSION}, "
        f"{platform.system()} {platform.release()}"
    )


def commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (
        " (with uncommitted changes)" if git("status", "--porcelain", "ttg_async") else ""
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small workloads, 3 runs (CI)")
    parser.add_argument("--runs", type=int, default=None, help="runs per approach (default 7)")
    parser.add_argument("--events", type=int, default=8000, help="catalog size (default 8000)")
    parser.add_argument("--locations", type=int, default=4, help="locations (default 4)")
    parser.add_argument(
        "--million", type=int, default=None, help="events to stream and collect (1,000,000)"
    )
    parser.add_argument("--only", action="append", metavar="PREFIX", help="scenarios to run")
    parser.add_argument("--approach", action="append", choices=[*APPROACHES, BEFORE])
    parser.add_argument("--before", metavar="REV", help="also run the SDK of this git commit")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile one scenario, then stop")
    parser.add_argument("--profile-out", type=Path, help="also save the raw pstats there")
    parser.add_argument("--out", type=Path, default=None, help="where results and chart go")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    args.million = args.million or (50_000 if args.quick else 1_000_000)
    out: Path = args.out or HERE / "results" / ("quick" if args.quick else "")
    approaches = list(args.approach or APPROACHES)
    if args.before and BEFORE not in approaches:
        approaches.append(BEFORE)
    if BEFORE in approaches and not args.before:
        parser.error("sdk_before needs --before REV")
    started = time.perf_counter()
    sdk_commit = commit()  # now: other commits may land while the run goes on
    with (
        snapshot(args.before) if args.before else _no_snapshot() as before,
        SandboxProcess(args.events, args.locations, SANDBOXES["main"]) as main_sandbox,
    ):
        locations, targets = asyncio.run(explore(main_sandbox.base_url, 300, args.events))
        scenarios = plan(args, locations, targets)
        if args.profile or args.only:
            wanted = [args.profile] if args.profile else args.only
            scenarios = [s for s in scenarios if any(s.name.startswith(p) for p in wanted)]
        if not scenarios:
            raise SystemExit("no scenario matches")
        if args.profile:
            chosen = scenarios[0]
            approach = approaches[0] if args.approach else "sdk"
            with _sandbox_for(chosen.group, args, main_sandbox) as sandbox:
                print(f"# cProfile of {approach} on {chosen.name}: {chosen.description}")
                sample = run_worker(
                    approach, chosen, sandbox, before, profile=True, profile_out=args.profile_out
                )
            print(f"# {1000 * sample.seconds:.0f} ms under the profiler, count {sample.count}")
            return 0
        print(f"# {machine()}\n# SDK at {commit()}; {runs} runs per approach", flush=True)
        results: _report.Results = {}
        for group in SANDBOXES:
            in_group = [s for s in scenarios if s.group == group]
            if not in_group:
                continue
            with _sandbox_for(group, args, main_sandbox) as sandbox:
                for s in in_group:
                    print(f"# {s.name}: {s.description}", flush=True)
                    mine = [a for a in approaches if not s.approaches or a in s.approaches]
                    results[s.name] = {a: [] for a in mine}
                    # One untimed round warms the sandbox's caches, so no approach pays them.
                    run_worker(BASELINE, s, sandbox, before, rounds=1)
                for index in range(runs):
                    for s in in_group:
                        mine = list(results[s.name])
                        k = index % len(mine)
                        for approach in mine[k:] + mine[:k]:
                            sample = run_worker(approach, s, sandbox, before)
                            results[s.name][approach].append(sample)
    elapsed = time.perf_counter() - started
    return _write(args, out, scenarios, results, runs, elapsed, sdk_commit)


@contextmanager
def _no_snapshot() -> Iterator[None]:
    yield None


@contextmanager
def _sandbox_for(
    group: str, args: argparse.Namespace, main_sandbox: SandboxProcess
) -> Iterator[SandboxProcess]:
    if group == "main":
        yield main_sandbox
        return
    events, locations = (args.million, 1) if group == "million" else (args.events, args.locations)
    with SandboxProcess(events, locations, SANDBOXES[group]) as sandbox:
        yield sandbox


def _write(
    args: argparse.Namespace,
    out: Path,
    scenarios: list[Scenario],
    results: _report.Results,
    runs: int,
    elapsed: float,
    sdk_commit: str,
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    meta = {
        "machine": machine(),
        "sdk_commit": sdk_commit,
        "before": args.before,
        "command": command.strip(),
        "runs": runs,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(elapsed),
    }
    table = _report.table(scenarios, results)
    found = _report.targets(results)
    text = "\n\n".join(
        [
            f"Machine: {meta['machine']}. SDK at {meta['sdk_commit']}"
            + (f", before = {args.before}" if args.before else "")
            + f". {runs} runs per approach; {meta['date']}; {elapsed:.0f} s. `{meta['command']}`",
            "\n".join(f"- `{s.name}`: {s.description}" for s in scenarios),
            table,
            _report.targets_table(found),
        ]
    )
    (out / "results.md").write_text(text + "\n", encoding="utf-8")
    _report.write_json(out / "results.json", meta, scenarios, results)
    title = f"{meta['command']} | SDK {meta['sdk_commit']} | {meta['date']}"
    charted = _report.write_chart(out / "chart.png", scenarios, results, title)
    if charted and out == HERE / "results":
        # The docs site serves only docs/, so docs/performance.md shows this copy of the chart.
        site_chart = HERE.parent / "docs" / "assets" / "benchmarks" / "chart.png"
        site_chart.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "chart.png", site_chart)
    print("\n" + text)
    print(f"\nWrote {out / 'results.md'}, {out / 'results.json'}", end="")
    print(f" and {out / 'chart.png'}" if charted else " (no matplotlib: no chart)")
    defects = _report.problems(scenarios, results)
    for defect in defects:
        print(f"DEFECT: {defect}", file=sys.stderr)
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
