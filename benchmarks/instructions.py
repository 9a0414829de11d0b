"""User-space instructions per call, counted by valgrind: a measure the scheduler cannot move.

    python benchmarks/instructions.py                    # small calls: baseline and SDK
    python benchmarks/instructions.py --scenario inventory --calls 300

CPU-time ratios swing by a fifth from one run to the next on a shared 2-core machine. The
number of instructions the client process executes does not: this script starts a sandbox
in its own process, then runs one approach under ``valgrind --tool=callgrind`` twice, with
``N`` and with ``N // 5`` calls, and divides the difference by the difference in calls, so
that imports and set-up cancel out. It counts user-space instructions only: the kernel's share
of a call (sending and receiving on the socket) is not in it, which is why these ratios are
higher than the CPU-time ratios of ``run.py``. Needs ``valgrind`` on PATH; it is slow (about
a minute per approach).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import SandboxProcess, explore  # noqa: E402

_COLLECTED = re.compile(r"Collected : (\d+)")
_PYTHON = (sys.executable, "-c")

#: The client side: one approach, one scenario, ``calls`` calls, run in a fresh process.
_CHILD = """
import asyncio, importlib, json, sys
sys.path.insert(0, {here!r})
module = importlib.import_module("approach_" + {approach!r})
targets = [tuple(t) for t in json.loads({targets!r})]

async def main():
    async with module.connect({base_url!r}) as client:
        await module.warm_up(client)
        if {scenario!r} == "small":
            ids = [str(1001 + (i * 7919) % 8000) for i in range({calls})]
            await module.get_events(client, ids, concurrency=1)
        else:
            await module.fetch_inventories(client, (targets * {calls})[:{calls}], concurrency=1)

asyncio.run(main())
"""


def instructions(approach: str, scenario: str, calls: int, base_url: str, targets: str) -> int:
    code = _CHILD.format(
        here=str(HERE),
        approach=approach,
        scenario=scenario,
        calls=calls,
        base_url=base_url,
        targets=targets,
    )
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *_PYTHON, code],
        capture_output=True,
        text=True,
        check=False,
        # Both runs must pay the same fixed costs: no .pyc written by the first for the second.
        env={**os.environ, "PYTHONMALLOC": "malloc", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{approach}: valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["small", "inventory"], default="small")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--approach", action="append", default=None)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    approaches = args.approach or ["raw_structs", "sdk"]
    with SandboxProcess(8000, 4, []) as sandbox:
        _, found = asyncio.run(explore(sandbox.base_url, 20, 8000))
        targets = json.dumps(found)
        per_call: dict[str, float] = {}
        for approach in approaches:
            many = instructions(approach, args.scenario, args.calls, sandbox.base_url, targets)
            few_calls = args.calls // 5
            few = instructions(approach, args.scenario, few_calls, sandbox.base_url, targets)
            per_call[approach] = (many - few) / (args.calls - few_calls)
    base = per_call.get("raw_structs")
    for approach, count in per_call.items():
        ratio = f"  {count / base:.3f}x raw_structs" if base else ""
        print(f"{args.scenario}: {approach:14s} {count:,.0f} instructions per call{ratio}")


if __name__ == "__main__":
    main()
