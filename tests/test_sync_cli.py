"""``ttg sync`` through the entry point, against a sandbox served on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ttg_async._cli import main
from ttg_async.sandbox import Sandbox

KEY = "sk_test_synccli0000000000000000"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    sandbox = Sandbox(seed=9, events=24)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        state["stop"] = asyncio.Event()
        async with sandbox.serve() as url:
            state["url"] = url
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    monkeypatch.setenv("TTG_API_KEY", KEY)
    monkeypatch.setenv("TTG_RETAILER", "cli-tests")
    monkeypatch.setenv("TTG_BASE_URL", state["url"])
    monkeypatch.setenv("COLUMNS", "200")  # no line wrapping by rich
    try:
        yield sandbox
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_sync_reports_changes_per_level_and_price_moves(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monday, tuesday = tmp_path / "mon.jsonl", tmp_path / "tue.jsonl"
    codes = ("--rate-code", "campaign-may")
    status, out, err = run(capsys, "sync", "--out", str(monday), *codes, "--json")
    assert status == 0, err
    first = json.loads(out)
    assert first["stats"]["removed"] == first["stats"]["changed"] == 0
    assert first["levels"]["event"]["added"] == 24
    night = sandbox.evolve(1, rate_codes=[None, "campaign-may"], move_prices=6)
    changes = tmp_path / "changes.jsonl"
    status, out, err = run(
        capsys, "sync", "--previous", str(monday), "--out", str(tuesday), *codes,
        "--changes", str(changes),
    )  # fmt: skip
    assert status == 0, err
    assert "Changes since" in out
    assert "Largest price moves" in out
    assert "campaign-may" in out
    written = [json.loads(line) for line in changes.read_bytes().splitlines()]
    assert {(c["kind"], c["level"], tuple(c["key"])) for c in written} == night.keys()
    # The same command again: the sync is finished, nothing more is written.
    status, out, _ = run(
        capsys, "sync", "--previous", str(monday), "--out", str(tuesday), *codes,
        "--changes", str(changes), "--json",
    )  # fmt: skip
    assert status == 0
    summary = json.loads(out)
    assert summary["levels"]["item"]["changed"] == len(night.price_moves)
    moves = summary["priceMoves"]["campaign-may"]
    assert {tuple(m["key"]) for m in moves} <= {m.key for m in night.price_moves}
    assert [json.loads(line) for line in changes.read_bytes().splitlines()] == written


def test_sync_with_failed_units_exits_1_and_removes_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monday, tuesday = tmp_path / "mon.jsonl", tmp_path / "tue.jsonl"
    assert run(capsys, "sync", "--out", str(monday), "--json")[0] == 0
    sandbox.evolve(2, end_events=3, add_events=0, cancel_occurrences=0, sell_out=0)
    sandbox.inject("GET /api/v3/events", "status", status=404, probability=1.0)
    status, out, _ = run(capsys, "sync", "--previous", str(monday), "--out", str(tuesday), "--json")
    assert status == 1
    summary = json.loads(out)
    assert {f["where"].split()[0] for f in summary["errors"]} == {"location"}
    assert summary["stats"]["removed"] == 0
    assert tuesday.read_bytes() == monday.read_bytes()


def test_an_existing_out_without_checkpoint_is_refused(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x.jsonl"
    out.write_text("")
    status, _, err = run(capsys, "sync", "--out", str(out))
    assert status == 2
    assert "--overwrite" in err
