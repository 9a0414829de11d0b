"""``ttg buyback events|sections|rows|quote|order`` through the real entry point."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

from buyback_helpers import START

from ttg_async.buyback.sandbox import BuybackSandbox


async def _ttg(base_url: str, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ)
    env.update(TBB_BASE_URL=base_url, TBB_CLIENT_ID="tbb_test_cli", TBB_CLIENT_SECRET="secret")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async",
        "buyback",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_flow_from_a_shell(base_url: str, sb: BuybackSandbox) -> None:
    code, out, err = await _ttg(base_url, "events", "--performer-name", "owls", "--json")
    assert (code, err) == (0, "")
    events = json.loads(out)
    assert events
    assert all(
        any(p["performer_name"] == "The Midnight Owls" for p in e["performers"]) for e in events
    )
    event_id = events[0]["event_id"]
    section = sb.section_names(event_id)[-1]
    code, out, err = await _ttg(base_url, "quote", event_id, section, "2", "--json")
    assert (code, err) == (0, "")
    quote = json.loads(out)
    assert quote["quantity"] == 2
    deadline = (sb.event_start(event_id) - dt.timedelta(hours=1)).isoformat()
    code, out, err = await _ttg(
        base_url, "order", quote["quote_id"], "--delivery-type", "pdf", "--deadline", deadline
    )
    assert (code, err) == (0, "")
    assert "transfer the tickets to transfer+ord_" in out
    assert len(sb.orders_for_quote(quote["quote_id"])) == 1


async def test_errors_are_one_line_with_an_exit_status(base_url: str) -> None:
    code, out, err = await _ttg(base_url, "rows", "evt_1001", "No Such Section")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("ttg: NotFoundError: 404 NOT_FOUND")
    code, _, err = await _ttg(base_url, "quote", "evt_1001", "Balcony", "0")
    assert code == 2
    assert err.strip() == "ttg: quantity: must be at least 1, got 0"


async def test_a_multipart_order_from_a_shell(tmp_path: Path) -> None:
    sb = BuybackSandbox(seed=0, start_date=START, docs_version="payout")
    ticket = tmp_path / "ticket.pdf"
    ticket.write_bytes(b"%PDF-1.4\n%%EOF\n")
    async with sb.serve() as base_url:
        code, out, err = await _ttg(base_url, "sections", "evt_1001")
        assert (code, err) == (0, "")
        assert out.splitlines()[0].startswith("-\t")  # no section_id in this version
        section = sb.section_names("evt_1001")[0]
        quotes = []
        for _ in range(2):
            code, out, err = await _ttg(base_url, "quote", "evt_1001", section, "1", "--json")
            assert (code, err) == (0, "")
            quotes.append(json.loads(out)["quote_id"])
        args = ["order", quotes[0], "--delivery-type", "pdf", "--ready", "--file", str(ticket)]
        code, out, err = await _ttg(base_url, *args)
        assert (code, err) == (0, ""), err
        in_hand = (sb.event_start("evt_1001") - dt.timedelta(days=3)).date().isoformat()
        args = ["order", quotes[1], "--delivery-type", "mobile_qr", "--not-ready"]
        code, out, err = await _ttg(base_url, *args, "--in-hand-date", in_hand, "--json")
        assert (code, err) == (0, ""), err
        assert json.loads(out)["in_hand_date"] == in_hand
        # A mistake is one line and exit status 2, with nothing sent.
        code, out, err = await _ttg(base_url, "order", quotes[1], "--delivery-type", "pdf")
        assert code == 2
        assert err.startswith("ttg: --deadline: required")
    parts = [{p.name for p in r.parts or []} for r in sb.wire_log("POST /v1/orders")]
    assert parts == [
        {"quote_id", "delivery_type", "is_ready_to_deliver", "file"},
        {"quote_id", "delivery_type", "is_ready_to_deliver", "in_hand_date"},
    ]
