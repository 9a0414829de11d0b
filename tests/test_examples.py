"""Every program in examples/ runs against the sandbox, as a reader would run it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ttg_async import TTGClient
from ttg_async.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
KEY = "sk_test_examples00000000000000"
RETAILER = "examples"

sys.path.insert(0, str(EXAMPLES))
import aiohttp_service  # noqa: E402
import fastapi_service  # noqa: E402


@pytest.fixture
async def served() -> AsyncIterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=0, events=8)
    async with sandbox.serve() as base_url:
        yield sandbox, base_url


async def run_example(base_url: str, name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTG_")}
    env.update(TTG_BASE_URL=base_url, TTG_API_KEY=KEY, TTG_RETAILER=RETAILER)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(EXAMPLES / name),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"{name} failed:\n{out.decode()}\n{err.decode()}"
    assert not err, err.decode()
    return out.decode()


async def test_purchase_flow_buys_one_ticket(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    out = await run_example(base_url, "purchase_flow.py")
    assert "Order TTG-" in out
    assert ": CONFIRMED" in out
    assert "Total" in out
    assert sandbox.request_count("POST /api/v3/orders") == 1


async def test_purchase_flow_survives_a_lost_answer(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    # The order is placed, then the connection drops before the answer: one order in the end.
    sandbox.inject("POST /api/v3/orders", "reset_after_commit", times=1)
    out = await run_example(base_url, "purchase_flow.py")
    assert ": CONFIRMED" in out
    sent = sandbox.wire_log("POST /api/v3/orders")
    assert len(sent) >= 2  # the lost answer was followed by a second attempt...
    assert len({r.idempotency_key for r in sent}) == 1  # ...with the same key
    carts = {r.cart_id for r in sent if r.cart_id}
    assert len(carts) == 1
    assert len(sandbox.orders_for_cart(carts.pop())) == 1


async def test_catalog_crawl_writes_records_and_resumes(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    _, base_url = served
    out_file = tmp_path / "catalog.jsonl"
    out = await run_example(
        base_url, "catalog_crawl.py", str(out_file), "--rate-code", "MEMBERS", "--concurrency", "4"
    )
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert rows
    assert {row["rateCode"] for row in rows} == {None, "MEMBERS"}
    assert any(row.get("items") for row in rows)
    assert f"{len(rows)} records" in out
    assert "0 errors" in out
    # A second run with the same checkpoint has nothing left to do.
    again = await run_example(base_url, "catalog_crawl.py", str(out_file), "--rate-code", "MEMBERS")
    assert again.startswith("0 records")
    assert len(out_file.read_text().splitlines()) == len(rows)


async def test_rate_code_compare_prints_a_table(served: tuple[Sandbox, str]) -> None:
    _, base_url = served
    out = await run_example(
        base_url, "rate_code_compare.py", "1001", "100101", "MEMBERS", "VIP-PLUS", "nope"
    )
    assert "nope: not offered here (RESOURCE_NOT_FOUND)" in out
    header = out.splitlines()[1]
    assert header.split() == ["item", "category", "default", "MEMBERS", "VIP-PLUS", "best"]
    assert "Cheapest ticket: $" in out


async def test_aiohttp_service_shares_one_client(served: tuple[Sandbox, str]) -> None:
    _, base_url = served
    app = aiohttp_service.create_app(api_key=KEY, retailer=RETAILER, base_url=base_url)
    async with TestClient(TestServer(app)) as http:
        client = app[aiohttp_service.TTG]
        answers = await asyncio.gather(*(http.get(f"/events/{1001 + i}") for i in range(8)))
        for answer in answers:
            assert answer.status == 200
            assert (await answer.json())["name"]
        missing = await http.get("/events/404404")
        assert missing.status == 404
        assert await missing.json() == {"error": "not_found", "what": "event"}
        occurrences = await (await http.get("/events/1001/occurrences")).json()
        assert occurrences
        assert all(o["fromPrice"] for o in occurrences)
        assert app[aiohttp_service.TTG] is client  # one client for every request
        assert not client.closed
        # A herd of handlers asking for the same inventory: one request upstream.
        sandbox, _ = served
        sandbox.reset_counters()
        herd = await asyncio.gather(
            *(http.get("/events/1001/occurrences/100101/inventory") for _ in range(50))
        )
        assert all(answer.status == 200 for answer in herd)
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        assert sandbox.request_count(route) == 1
        stats = await (await http.get("/stats")).json()
        assert stats["hits"] + stats["coalesced"] == 49
    assert client.closed  # closed by cleanup_ctx at shutdown


async def test_fastapi_service_shares_one_client(served: tuple[Sandbox, str]) -> None:
    import httpx
    from asgi_lifespan import LifespanManager

    _, base_url = served
    app = fastapi_service.create_app(api_key=KEY, retailer=RETAILER, base_url=base_url)
    seen: list[TTGClient] = []
    # The lifespan runs as a server would run it: startup before the first request, shutdown
    # after the last.
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            answers = await asyncio.gather(
                *(http.get(f"/events/{event_id}") for event_id in ("1001", "1002", "1003"))
            )
            for event_id, answer in zip(("1001", "1002", "1003"), answers, strict=True):
                assert answer.status_code == 200
                assert answer.json()["id"] == event_id
                seen.append(app.state.ttg)
            missing = await http.get("/events/404404")
            assert missing.status_code == 404
            assert missing.json() == {"error": "not_found", "what": "event"}
            assert (await http.get("/locations")).json()[0]["name"] == "New York"
            sandbox, _ = served
            sandbox.reset_counters()
            herd = await asyncio.gather(
                *(http.get("/events/1001/occurrences/100101/inventory") for _ in range(20))
            )
            assert all(answer.status_code == 200 for answer in herd)
            assert sandbox.request_count() == 1
            assert (await http.get("/stats")).json()["misses"] >= 1
            assert not app.state.ttg.closed
    assert len({id(client) for client in seen}) == 1  # one client for every request
    assert seen[0].closed  # closed by the lifespan at shutdown


def test_the_fastapi_module_imports_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    # `uvicorn examples.fastapi_service:app` imports the module before any $TTG_* is checked.
    for name in ("TTG_API_KEY", "TTG_RETAILER", "TTG_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert fastapi_service.create_app().title == "FastAPI"
