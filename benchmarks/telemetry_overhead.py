"""What hooks and OpenTelemetry cost a small call, in user-space instructions (valgrind).

    python benchmarks/telemetry_overhead.py                  # against the SDK of main
    python benchmarks/telemetry_overhead.py --before cc79619 --calls 500

Counted as ``instructions.py`` counts (``valgrind --tool=callgrind``, ``N`` calls minus
``N // 5`` calls, divided, so that imports and set-up cancel out), ``events.get`` one after
the other against a sandbox in its own process, for these set-ups of the client:

- ``before``: the SDK of ``--before REV`` (no hooks, no telemetry: "today's" small call);
- ``default``: this tree, ``opentelemetry-api`` importable, no provider set and no hook (the
  API's no-op default, what every user without OpenTelemetry set up runs);
- ``off``: this tree with ``telemetry=False``;
- ``memory``: this tree recording every span and metric with the OpenTelemetry SDK's
  ``InMemorySpanExporter`` (a ``SimpleSpanProcessor``) and ``InMemoryMetricReader``, passed
  as ``tracer_provider=`` and ``meter_provider=``;
- ``memory-off``: the same providers built, with ``telemetry=False`` (the same run without
  telemetry);
- ``hooks``: three no-op hooks (request, response, retry), no provider.

Needs ``valgrind`` and ``opentelemetry-sdk``; about a minute per set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import SandboxProcess, explore, snapshot  # noqa: E402

_COLLECTED = re.compile(r"Collected : (\d+)")
_PYTHON = (sys.executable, "-c")

#: One set-up, ``calls`` sequential ``events.get``, in a fresh process.
_CHILD = """
import asyncio, sys
sys.path.insert(0, {here!r})
from _common import API_KEY, MAX_CONNECTIONS, PLATFORM, RETAILER
from ttg_async import TTGClient

setup = {setup!r}
options = {{}}
if setup in ("memory", "memory-off"):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    options = {{
        "tracer_provider": tracer_provider,
        "meter_provider": MeterProvider(metric_readers=[InMemoryMetricReader()]),
        "telemetry": setup == "memory",
    }}
elif setup == "off":
    options = {{"telemetry": False}}
elif setup == "hooks":
    def nothing(event):
        return None
    options = {{"event_hooks": {{"request": [nothing], "response": [nothing], "retry": [nothing]}}}}

async def main():
    async with TTGClient(API_KEY, RETAILER, platform=PLATFORM, base_url={base_url!r},
                         max_connections=MAX_CONNECTIONS, **options) as client:
        await client.locations.list(limit=1, max_items=1).collect()
        for i in range({calls}):
            event_id = str(1001 + (i * 7919) % 8000)
            assert (await client.events.get(event_id)).id == event_id

asyncio.run(main())
"""

SETUPS = ("before", "default", "off", "memory", "memory-off", "hooks")


def instructions(setup: str, calls: int, base_url: str, path: Path) -> int:
    code = _CHILD.format(here=str(HERE), setup=setup, calls=calls, base_url=base_url)
    env = {**os.environ, "PYTHONMALLOC": "malloc", "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *_PYTHON, code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{setup}: valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main", metavar="REV", help="today's SDK")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--setup", action="append", choices=SETUPS, default=None)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    setups = args.setup or list(SETUPS)
    per_call: dict[str, float] = {}
    with SandboxProcess(8000, 4, []) as sandbox, snapshot(args.before) as before:
        asyncio.run(explore(sandbox.base_url, 1, 8000))  # the sandbox is up and answering
        for setup in setups:
            path = before if setup == "before" else ROOT
            few_calls = args.calls // 5
            many = instructions(setup, args.calls, sandbox.base_url, path)
            few = instructions(setup, few_calls, sandbox.base_url, path)
            per_call[setup] = (many - few) / (args.calls - few_calls)
            print(f"{setup:11s} {per_call[setup]:>10,.0f} instructions per call", flush=True)
    print()
    for setup, over in (
        ("default", "before"),
        ("off", "before"),
        ("hooks", "before"),
        ("memory", "memory-off"),
    ):
        if setup in per_call and over in per_call:
            ratio = per_call[setup] / per_call[over]
            print(f"{setup} over {over}: {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)")


if __name__ == "__main__":
    main()
