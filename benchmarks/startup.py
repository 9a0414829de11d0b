"""Start-up figures, kept out of the test suite: on a loaded machine they measure the load.

    python benchmarks/startup.py [--rounds 5]

- ``ttg sandbox`` with a 100,000-event catalog: from process start to the "listening" line
  (target: under 1 s).
- ``Sandbox(events=100_000, locations=20)``: building the object (target: under 0.1 s;
  nothing is generated up front).
- ``import ttg_async`` in a fresh interpreter (no target; reported for trend).

Each figure is the median of ``--rounds`` runs, each in its own process. The suite still
checks what these paths do (the CLI prints its settings and serves; the catalog is lazy and
small); only the clocks live here.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

TARGETS = {"cli": 1.0, "construct": 0.1}


def cli_startup() -> float:
    started = time.perf_counter()
    command = ["-m", "ttg_async.sandbox", "--port", "0", "--events", "100000", "--locations", "20"]
    proc = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        elapsed = time.perf_counter() - started
        if not first.startswith("TTG sandbox listening on http://127.0.0.1:"):
            raise SystemExit(f"unexpected first line from the sandbox CLI: {first!r}")
        return elapsed
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def in_child(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return float(out.strip().splitlines()[-1])


CONSTRUCT = (
    "import time\nfrom ttg_async.sandbox import Sandbox\nt = time.perf_counter()\n"
    "Sandbox(events=100_000, locations=20)\nprint(time.perf_counter() - t)\n"
)
IMPORT = "import time\nt = time.perf_counter()\nimport ttg_async\nprint(time.perf_counter() - t)\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    figures = {
        "cli": statistics.median(cli_startup() for _ in range(rounds)),
        "construct": statistics.median(in_child(CONSTRUCT) for _ in range(rounds)),
        "import": statistics.median(in_child(IMPORT) for _ in range(rounds)),
    }
    labels = {
        "cli": "ttg sandbox (100k events) to listening",
        "construct": "Sandbox(events=100_000) built",
        "import": "import ttg_async",
    }
    print(f"start-up, median of {rounds} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    for name, seconds in figures.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else ("  ok" if seconds < target else "  OVER TARGET")
        limit = "" if target is None else f" (target < {target:g} s)"
        print(f"  {labels[name]:40} {seconds * 1000:8.1f} ms{limit}{verdict}")


if __name__ == "__main__":
    main()
