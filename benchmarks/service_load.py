"""Service load: the aiohttp example in front of the sandbox, against the same service written
with raw aiohttp calls, in the same run.

    python benchmarks/service_load.py [--requests 2000] [--clients 100] [--max-connections 16]

Each variant is an aiohttp web service with one upstream client made in ``cleanup_ctx``:

- ``sdk``: ``examples/aiohttp_service.py`` as it is (``TTGClient``, msgspec models);
- ``raw``: the same route written with a bare ``aiohttp.ClientSession`` (headers by hand,
  ``json`` to decode and encode, no retries, no typed errors).

``clients`` workers share one load-generator session and send ``requests`` requests in all to
``GET /events/{id}`` (30 events, round robin). Service, sandbox and load generator share one
process and one event loop, so the figures compare the two variants with each other, not with
a production deployment. Latency is per request, from the load generator's side.

The load test in ``tests/test_service_load.py`` runs :func:`measure` for its checks (zero
errors, one session, connections bounded, clean shutdown); this script only reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import aiohttp_service

from ttg_async.sandbox import Sandbox

API_KEY = "sk_test_serviceload0000000000"
RETAILER = "service-load"
EVENT_IDS = [str(1001 + i) for i in range(30)]


@dataclass
class Result:
    variant: str
    requests: int
    clients: int
    max_connections: int
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    #: Most connections the sandbox had open at once, and how many it accepted in all.
    peak_connections: int = 0
    opened_connections: int = 0
    #: Distinct upstream ``ClientSession`` objects seen during the run (sdk variant).
    sessions: int = 0
    #: Anything the event loop reported (unclosed sessions, unretrieved exceptions).
    loop_errors: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@contextlib.asynccontextmanager
async def counted_sandbox(sandbox: Sandbox, result: Result) -> AsyncIterator[str]:
    """Serve the sandbox, counting the connections it accepts and holds open at once."""
    runner = web.AppRunner(sandbox.make_app(), access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    server = runner.server
    assert server is not None
    made = server.connection_made

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        made(handler, transport)
        result.opened_connections += 1
        result.peak_connections = max(result.peak_connections, len(server.connections))

    server.connection_made = connection_made  # type: ignore[method-assign]
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# -- the raw-aiohttp twin of examples/aiohttp_service.py ---------------------------------

RAW_SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("raw_session", aiohttp.ClientSession)
RAW_BASE: web.AppKey[str] = web.AppKey("raw_base", str)


def raw_app(base_url: str, max_connections: int) -> web.Application:
    headers = {
        "X-TT-API-Key": API_KEY,
        "X-TT-Retailer": RETAILER,
        "X-TT-Platform": "api",
        "Accept": "application/json",
    }

    async def upstream(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=max_connections)
        async with aiohttp.ClientSession(
            connector=connector, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as session:
            app[RAW_SESSION] = session
            app[RAW_BASE] = base_url
            yield

    async def get_event(request: web.Request) -> web.Response:
        app = request.app
        url = f"{app[RAW_BASE]}/api/v3/events/{request.match_info['event_id']}"
        async with app[RAW_SESSION].get(url) as answer:
            body = await answer.read()
        if answer.status != 200:
            return web.json_response({"error": "upstream_error"}, status=502)
        return web.json_response(json.loads(body)["data"])

    app = web.Application()
    app.cleanup_ctx.append(upstream)
    app.router.add_get("/events/{event_id}", get_event)
    return app


def sdk_app(base_url: str, max_connections: int) -> web.Application:
    return aiohttp_service.create_app(
        api_key=API_KEY, retailer=RETAILER, base_url=base_url, max_connections=max_connections
    )


VARIANTS: dict[str, Callable[[str, int], web.Application]] = {"sdk": sdk_app, "raw": raw_app}


def _upstream_session(app: web.Application) -> object | None:
    if aiohttp_service.TTG in app:
        return app[aiohttp_service.TTG]._shared.pipeline.transport._session
    return app.get(RAW_SESSION)


async def measure(
    variant: str, *, requests: int, clients: int, max_connections: int, seed: int = 0
) -> Result:
    """Serve the sandbox and one service variant, load it, shut everything down; report."""
    result = Result(variant, requests, clients, max_connections)
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: result.loop_errors.append(context["message"]))
    sessions: set[int] = set()
    try:
        async with counted_sandbox(Sandbox(seed=seed), result) as sandbox_url:
            app = VARIANTS[variant](sandbox_url, max_connections)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                service = f"http://127.0.0.1:{runner.addresses[0][1]}"
                await _load(service, app, result, sessions)
            finally:
                await runner.cleanup()
        gc.collect()  # an unclosed session would be reported now, through the handler
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    result.sessions = len(sessions)
    return result


async def _load(service: str, app: web.Application, result: Result, sessions: set[int]) -> None:
    counter = iter(range(result.requests))
    connector = aiohttp.TCPConnector(limit=result.clients)
    async with aiohttp.ClientSession(connector=connector) as load:
        # One untimed request per variant: the lazy upstream session and first connection.
        async with load.get(f"{service}/events/{EVENT_IDS[0]}") as warm:
            await warm.read()

        async def client() -> None:
            for index in counter:
                started = time.perf_counter()
                async with load.get(f"{service}/events/{EVENT_IDS[index % 30]}") as answer:
                    body = await answer.read()
                result.latencies.append(time.perf_counter() - started)
                if answer.status != 200 or b'"name"' not in body:
                    result.errors += 1
                session = _upstream_session(app)
                if session is not None:
                    sessions.add(id(session))

        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(result.clients):
                group.create_task(client())
        result.elapsed = time.perf_counter() - started


def _row(result: Result) -> str:
    return (
        f"| {result.variant} | {result.requests} | {result.clients} | "
        f"{result.throughput:,.0f} | {result.percentile(0.5) * 1000:.1f} | "
        f"{result.percentile(0.99) * 1000:.1f} | {result.errors} | "
        f"{result.peak_connections} / {result.max_connections} |"
    )


async def _main(args: argparse.Namespace) -> int:
    print(
        "| service | requests | clients | req/s | p50 ms | p99 ms | errors | "
        "peak upstream connections |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    runs: dict[str, list[Result]] = {"sdk": [], "raw": []}
    for _ in range(args.rounds):  # alternate, so drift in the machine hits both alike
        for variant in ("sdk", "raw"):
            result = await measure(
                variant,
                requests=args.requests,
                clients=args.clients,
                max_connections=args.max_connections,
            )
            runs[variant].append(result)
            print(_row(result))
    for variant, results in runs.items():
        best = max(results, key=lambda r: r.throughput)
        print(
            f"{variant}: best of {len(results)}: {best.throughput:,.0f} req/s, "
            f"median throughput {statistics.median(r.throughput for r in results):,.0f}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--max-connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
