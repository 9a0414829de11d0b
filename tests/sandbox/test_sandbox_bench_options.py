"""The options the benchmarks use: latency, an unknown variant ``_type``, codes on every event.

Each is checked in-process (the ``Sandbox`` argument or method) and through the shell command
(``python -m ttg_async.sandbox``), which is how ``benchmarks/run.py`` starts the sandbox.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from sandbox_helpers import HEADERS, START, Api

from ttg_async.sandbox import Sandbox


async def test_unknown_variant_type_replaces_the_tag_of_every_extra_only() -> None:
    plain, renamed = (
        Sandbox(seed=0, locations=3, start_date=START, unknown_variant_type=kind)
        for kind in (None, "Bundle")
    )
    event_id, occ_id = plain.find_occurrence(extra=True)
    async with plain.serve() as url_a, renamed.serve() as url_b, aiohttp.ClientSession() as http:
        before = await Api(http, url_a).inventory(event_id, occ_id)
        after = await Api(http, url_b).inventory(event_id, occ_id)
    assert len(before) == len(after) > 1
    changed = 0
    for old, new in zip(before, after, strict=True):
        old_type, new_type = old["inventoryVariant"]["_type"], new["inventoryVariant"]["_type"]
        if old_type == "Extra":
            assert new_type == "Bundle"
            changed += 1
        else:
            assert new_type == old_type
        # Everything but the tag is the same body.
        old["inventoryVariant"].pop("_type")
        new["inventoryVariant"].pop("_type")
        assert old == new
    assert changed == 1  # one unknown tag per inventory body


async def test_an_unknown_extra_can_still_be_bought_in_quantity() -> None:
    sb = Sandbox(seed=0, locations=3, start_date=START, unknown_variant_type="Bundle")
    event_id, occ_id = sb.find_occurrence(extra=True)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        item = next(
            i
            for i in await api.inventory(event_id, occ_id)
            if i["inventoryVariant"]["_type"] == "Bundle"
        )
        line = {
            "occurrenceId": occ_id,
            "inventoryItemId": item["id"],
            "priceOptionId": item["priceOptions"][0]["id"],
            "quantity": 2,
        }
        reply = await api.call("POST", "/carts", json={"items": [line]})
    assert reply.status == 201, reply.body
    assert reply.data["items"][0]["inventoryVariant"]["_type"] == "Bundle"


@pytest.mark.parametrize("bad", ["", "Extra", "AssignedSeat", "GeneralAdmission"])
def test_unknown_variant_type_must_be_unknown(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown_variant_type"):
        Sandbox(unknown_variant_type=bad)


async def test_a_code_configured_on_every_event_prices_any_event() -> None:
    sb = Sandbox(seed=0, locations=3, start_date=START)
    sb.add_rate_code("*", "bench-1", percent_off=50)
    sb.add_rate_code("1002", "bench-1", percent_off=10)  # an event's own rule wins there
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        for event_id, off in (("1001", 50), ("1002", 10)):
            occ_id = next(
                o["id"]
                for o in (await api.get(f"/events/{event_id}/occurrences")).data
                if o["fromPrice"] is not None
            )
            base = await api.inventory(event_id, occ_id)
            tier = await api.inventory(event_id, occ_id, "bench-1")
            old = base[0]["priceOptions"][0]["sellPrice"]["amount"]
            new = tier[0]["priceOptions"][0]["sellPrice"]["amount"]
            # Tier prices are rounded the currency's way, so only about the percentage.
            assert new == pytest.approx(old * (100 - off) / 100, rel=0.05)
    assert "bench-1" in sb.rate_codes("1003")
    sb.remove_rate_code("1003", "bench-1")
    assert "bench-1" not in sb.rate_codes("1003")
    assert "bench-1" in sb.rate_codes("1004")


@asynccontextmanager
async def _cli_sandbox(*args: str) -> AsyncIterator[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.sandbox",
        "--port",
        "0",
        "--start-date",
        START.isoformat(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert first.startswith("TTG sandbox listening on "), first
        yield first.rsplit(" ", 1)[1].strip()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await proc.communicate()


async def test_cli_latency_unknown_type_and_rate_codes() -> None:
    options = ("--latency", "0.3", "--unknown-variant-type", "Bundle")
    async with (
        _cli_sandbox(*options, "--rate-code", "bench-1", "--rate-code", "bench-2") as url,
        aiohttp.ClientSession(headers=HEADERS) as http,
    ):
        api = Api(http, url)
        started = time.perf_counter()
        occurrences = (await api.get("/events/1001/occurrences")).data
        # A lower bound only: the latency must be there; how much more is the machine's.
        assert time.perf_counter() - started >= 0.25
        occ_id = next(o["id"] for o in occurrences if o["fromPrice"] is not None)
        for code in (None, "bench-1", "bench-2"):
            items = await api.inventory("1001", occ_id, code)
            kinds = {i["inventoryVariant"]["_type"] for i in items}
            assert "Bundle" in kinds
            assert "Extra" not in kinds
        reply = await api.get(
            f"/events/1001/occurrences/{occ_id}/inventory-items",
            params={"providerCode": "bench-3"},
        )
        assert reply.status == 404


async def test_cli_without_the_options_serves_known_types_only() -> None:
    async with _cli_sandbox() as url, aiohttp.ClientSession(headers=HEADERS) as http:
        api = Api(http, url)
        occurrences = (await api.get("/events/1001/occurrences")).data
        occ_id = next(o["id"] for o in occurrences if o["fromPrice"] is not None)
        kinds = {i["inventoryVariant"]["_type"] for i in await api.inventory("1001", occ_id)}
        assert kinds <= {"AssignedSeat", "GeneralAdmission", "Extra"}
        reply = await api.get(
            f"/events/1001/occurrences/{occ_id}/inventory-items",
            params={"providerCode": "bench-1"},
        )
        assert reply.status == 404


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
async def test_cli_refuses_a_bad_latency(value: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.sandbox",
        "--port",
        "0",
        "--latency",
        value,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert b"--latency" in err
