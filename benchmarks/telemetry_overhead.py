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

``--floor`` adds two counts without any network: ``raw``, the OpenTelemetry SDK's own work
for one call's records (a call span, an attempt span beneath it, one histogram value, the
same attributes), and ``watch``, the client's `CallWatch` recording the same.

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

#: The floor under ``memory``: what the OpenTelemetry SDK itself costs for one call's worth of
#: records (``raw``: a call span, one attempt span beneath it, one histogram value, with the
#: attributes the client sets), against the client's own `CallWatch` doing the same
#: (``watch``), without any network, ``calls`` times.
_FLOOR = """
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from ttg_async._core.telemetry import Observer
from ttg_async._ttg.protocol import NAMING

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
observer = Observer(None, NAMING, "http://127.0.0.1:8000", telemetry=True,
                    tracer_provider=tracer_provider, meter_provider=meter_provider)
tracer = tracer_provider.get_tracer("floor")
histogram = meter_provider.get_meter("floor").create_histogram("http.client.request.duration")

async def watch(i):
    w = observer.begin("GET", "/api/v3/events/" + str(1001 + i % 8000), "req_1")
    attempt = await w.attempt_started(1)
    await w.attempt_ended(attempt, 200, None)
    w.end(None)

async def raw(i):
    base = {{"http.request.method": "GET", "url.template": "/api/v3/events/{{eventId}}",
             "server.address": "127.0.0.1", "server.port": 8000}}
    call = tracer.start_span("ttg.events.get", attributes={{**base, "ttg.request_id": "r"}})
    attempt = tracer.start_span("GET /api/v3/events/{{eventId}}",
                                context=trace.set_span_in_context(call),
                                kind=trace.SpanKind.CLIENT, attributes=base)
    attempt.set_attribute("http.response.status_code", 200)
    attempt.end()
    histogram.record(0.001, {{**base, "http.response.status_code": 200}})
    call.set_attribute("ttg.attempts", 1)
    call.end()

async def main():
    for i in range({calls}):
        await {setup}(i)

asyncio.run(main())
"""


def instructions(setup: str, calls: int, base_url: str, path: Path) -> int:
    if setup in ("raw", "watch"):
        code = _FLOOR.format(setup=setup, calls=calls)
    else:
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
    parser.add_argument(
        "--floor", action="store_true", help="also count the SDK's own records (raw, watch)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    setups = (args.setup or list(SETUPS)) + (["raw", "watch"] if args.floor else [])
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
        ("watch", "raw"),
    ):
        if setup in per_call and over in per_call:
            ratio = per_call[setup] / per_call[over]
            print(f"{setup} over {over}: {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)")


if __name__ == "__main__":
    main()
