"""The `ttg` command through its entry point: every command's output, --json, exit codes (an
API error, a network error, bad flags), the demo, the sandboxes, and a crawl killed and resumed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ttg_async
from ttg_async import TTGClient
from ttg_async._cli import main
from ttg_async.sandbox import Sandbox


def test_demo_buys_tickets_and_prints_the_receipt(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no line wrapping by rich
    assert main(["demo", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "Embedded sandbox at http://127.0.0.1:" in out
    assert "the hold expires in" in out
    assert "Receipt" in out
    assert "Total" in out
    assert "CONFIRMED" in out
    assert "QR_CODE" in out or "delayed delivery" in out


def test_help_lists_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out
    assert "sandbox" in out


# -- the commands that talk to TTG, through the entry point, against a real sandbox ----------

KEY = "sk_test_cli00000000000000000000"
Served = tuple[Sandbox, str]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """A sandbox on loopback, served from its own thread: the commands run their own loop."""
    sandbox = Sandbox(seed=0)
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
    try:
        yield sandbox, state["url"]
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()


@pytest.fixture
def env(served: Served, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sandbox, url = served
    sandbox.clear_faults()
    monkeypatch.setenv("TTG_API_KEY", KEY)
    monkeypatch.setenv("TTG_RETAILER", "cli-tests")
    monkeypatch.setenv("TTG_BASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")  # no line wrapping by rich
    return sandbox


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``ttg ARGV`` through the entry point: (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, bad flags
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("ttg: ")
    return lines[0]


@pytest.mark.usefixtures("env")
def test_locations_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "locations")
    assert status == 0
    assert "4 locations" in out
    assert "Kuwait City" in out
    status, out, _ = run(capsys, "locations", "--json")
    assert status == 0
    assert [loc["id"] for loc in json.loads(out)] == ["1", "2", "3", "4"]


@pytest.mark.usefixtures("env")
def test_events_and_occurrences(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "events", "1")
    assert status == 0
    assert "1001" in out
    assert "Last Waltz Tour" in out
    status, out, _ = run(capsys, "events", "1", "--json")
    events = json.loads(out)
    assert {event["id"] for event in events} >= {"1001", "1005"}
    assert all(event["location"]["id"] == "1" for event in events)
    status, out, _ = run(capsys, "occurrences", "1001")
    assert status == 0
    assert "12 occurrences of event 1001" in out
    assert "100101" in out
    assert "$" in out
    status, out, _ = run(capsys, "occurrences", "1001", "--json")
    occurrences = json.loads(out)
    assert len(occurrences) == 12
    assert occurrences[0]["startsAt"].startswith("20")


@pytest.mark.usefixtures("env")
def test_inventory_at_several_codes(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "inventory", "1001", "100101")
    assert status == 0
    assert "rate code default" in out
    assert "Parking pass" in out
    args = ("inventory", "1001", "100101", "--rate-code", "MEMBERS", "--rate-code", "nope")
    status, out, _ = run(capsys, *args, "--json")
    assert status == 0
    members, nope = json.loads(out)
    assert members["rateCode"] == "MEMBERS"
    assert members["items"][0]["priceOptions"][0]["sellPrice"]["currency"] == "USD"
    assert nope == {
        "rateCode": "nope",
        "error": {
            "type": "ProviderCodeNotFoundError",
            "message": nope["error"]["message"],
            "status": 404,
            "code": "RESOURCE_NOT_FOUND",
            "requestId": nope["error"]["requestId"],
        },
    }
    status, out, _ = run(capsys, *args)
    assert "rate code nope: unknown rate code" in out


@pytest.mark.usefixtures("env")
def test_prices_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("prices", "1001", "100101", "--rate-code", "MEMBERS", "--rate-code", "nope")
    status, out, _ = run(capsys, *args)
    assert status == 0
    assert "nope (unknown code)" in out
    assert "not recognised" in out
    seat = next(line for line in out.splitlines() if "Lower Tier, row A, seat 101" in line)
    assert "(was $" in seat  # MEMBERS is a discount: its list price is shown
    assert "* $" in seat  # and it is marked as the cheapest code for that seat
    assert "Cheapest ticket:" in out
    status, out, _ = run(capsys, *args, "--json")
    document = json.loads(out)
    assert document["codes"] == [None, "MEMBERS", "nope"]
    assert [u["rateCode"] for u in document["unknownCodes"]] == ["nope"]
    seat_row = next(r for r in document["rows"] if r["variant"]["id"] == "LowerTier-A-101")
    assert seat_row["cheapest"]["rateCode"] == "MEMBERS"
    assert seat_row["kind"] == "ticket"
    assert {r["kind"] for r in document["rows"]} == {"ticket", "extra"}


def test_prices_in_a_three_decimal_currency(
    env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = next(
        e["id"]
        for e in json.loads(run(capsys, "events", "4", "--json")[1])
        if "campaign-may" in env.rate_codes(e["id"])
    )
    occurrence = next(
        o for o in json.loads(run(capsys, "occurrences", event_id, "--json")[1]) if o["fromPrice"]
    )
    status, out, _ = run(
        capsys, "prices", event_id, occurrence["id"], "--rate-code", "campaign-may"
    )
    assert status == 0
    assert re.search(r"KWD\s?\d+\.\d{3}\b", out), out  # KWD has three decimals


@pytest.mark.usefixtures("env")
def test_an_api_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "occurrences", "404404")
    assert status == 1
    line = one_error_line(err)
    assert line.startswith("ttg: NotFoundError: 404 RESOURCE_NOT_FOUND")
    assert "GET /api/v3/events/404404/occurrences" in line
    assert "request_id=req_" in line
    assert KEY[8:] not in out + err


def test_a_server_error_after_retries_is_exit_1(
    env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    env.inject("GET /api/v3/locations", "status", status=400, times=1)
    status, _, err = run(capsys, "locations")
    assert status == 1
    assert one_error_line(err).startswith("ttg: InvalidRequestError: 400")


@pytest.mark.usefixtures("env")
def test_a_network_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status, _, err = run(capsys, "locations", "--base-url", f"http://127.0.0.1:{port}")
    assert status == 1
    assert one_error_line(err).startswith("ttg: APIConnectionError: could not connect")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["locations", "--bogus"], "unrecognized arguments: --bogus"),
        (["prices", "1001", "100101"], "--rate-code"),
        (["events"], "LOCATION_ID"),
        (["occurrences", "1001", "--locale", "xx_YY"], "ttg: --locale: unknown locale 'xx_YY'"),
        (["events", " 1"], "ttg: LOCATION_ID: must be a non-empty string"),
        (["crawl", "--out", "x.jsonl", "--concurrency", "0"], "ttg: --concurrency: must be"),
        (["inventory", "1", "2", "--rate-code", ""], "ttg: --rate-code: must not be empty"),
        (["locations", "--base-url", "http://example.com"], "ttg: ConfigurationError: --base-url"),
    ],
)
@pytest.mark.usefixtures("env")
def test_bad_usage_is_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert expected in err


def test_a_missing_key_is_one_line_and_exit_2(
    env: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TTG_API_KEY")
    status, _, err = run(capsys, "locations")
    assert status == 2
    assert one_error_line(err).startswith("ttg: ConfigurationError: --api-key: is required")


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert status == 0
    assert out.strip() == f"ttg_async {ttg_async.__version__}"
    for command in ("locations", "events", "occurrences", "inventory", "prices", "crawl"):
        status, out, _ = run(capsys, command, "--help")
        assert status == 0
        assert "JSON" in out, command
    assert "JSON Lines" in run(capsys, "crawl", "--help")[1]
    assert "one JSON document" in run(capsys, "events", "--help")[1]


def test_sandbox_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        status, _, err = run(capsys, "sandbox", "--port", port)
        assert status == 1
        assert "address already in use" in one_error_line(err).lower()
        status, _, err = run(capsys, "buyback", "sandbox", "--port", port)
        assert status == 1
        (line,) = err.strip().splitlines()  # the Buyback sandbox words its own line
        assert "address already in use" in line


async def test_sandbox_banner_for_any_interface_gives_a_url_the_client_accepts() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async",
        "sandbox",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = ""
        while "Press Ctrl-C" not in banner:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, banner
            banner += line.decode()
        url = re.search(r"listening on (\S+)", banner)
        assert url is not None
        assert url.group(1).startswith("http://127.0.0.1:")
        assert '-H "X-TT-API-Key: sk_test_sandbox"' in banner
        assert '-H "X-TT-Platform: api"' in banner
        async with TTGClient(KEY, "r", base_url=url.group(1)) as ttg:
            locations = await ttg.locations.list().collect()
        assert len(locations) == len(await _default_locations())  # Sandbox()'s own catalog
    finally:
        process.terminate()
        await process.wait()


async def _default_locations() -> list[object]:
    async with Sandbox().serve() as url, TTGClient(KEY, "r", base_url=url) as ttg:
        return list(await ttg.locations.list().collect())


# -- ttg crawl -----------------------------------------------------------------------------


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def record_keys(lines: list[str]) -> list[tuple[str, str, str | None]]:
    records = [json.loads(line) for line in lines]
    return [(r["event"]["id"], r["occurrence"]["id"], r["rateCode"]) for r in records]


def test_crawl_writes_json_lines_and_a_summary(
    env: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "catalog.jsonl"
    status, out, err = run(
        capsys, "crawl", "--out", str(out_file), "--rate-code", "MEMBERS", "--location", "2"
    )
    assert status == 0, err
    keys = record_keys(lines_of(out_file))
    assert len(keys) == len(set(keys))
    assert {code for _, _, code in keys} == {None, "MEMBERS"}
    assert re.search(rf"Wrote {len(keys)} records .* 1 locations, \d+ events", out)
    assert "0 errors" in out
    # The file exists now: a second run must say how to go on.
    status, _, err = run(capsys, "crawl", "--out", str(out_file))
    assert status == 2
    assert "--resume" in one_error_line(err)
    # Resuming a finished crawl adds nothing.
    status, out, _ = run(
        capsys, "crawl", "--out", str(out_file), "--rate-code", "MEMBERS", "--location", "2",
        "--resume", "--json",
    )  # fmt: skip
    assert status == 0
    assert json.loads(out)["stats"]["records"] == 0
    assert len(lines_of(out_file)) == len(keys)


def test_crawl_with_failed_units_exits_1_and_says_where(
    env: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env.inject("GET /api/v3/events/{eventId}/occurrences", "status", status=404, times=1)
    out_file = tmp_path / "c.jsonl"
    status, out, _ = run(capsys, "crawl", "--out", str(out_file), "--location", "3", "--json")
    assert status == 1
    summary = json.loads(out)
    (failure,) = summary["errors"]
    assert failure["where"].startswith("event ")
    assert failure["error"]["status"] == 404
    status, out, _ = run(capsys, "crawl", "--out", str(out_file), "--location", "3", "--resume")
    assert status == 0
    assert "0 errors" in out
    keys = record_keys(lines_of(out_file))
    assert len(keys) == len(set(keys))
    assert failure["where"].split()[1] in {event for event, _, _ in keys}


async def test_crawl_killed_at_random_points_resumes_to_each_record_exactly_once(
    tmp_path: Path,
) -> None:
    """Kill -9 and Ctrl-C at random points, then --resume: no line lost, none doubled."""
    rng = random.Random(7)
    sandbox = Sandbox(seed=5, events=8)
    sandbox.set_latency("*", 0.003)  # long enough a crawl to stop it in the middle
    async with sandbox.serve() as url:
        env = {**os.environ, "TTG_API_KEY": KEY, "TTG_RETAILER": "r", "TTG_BASE_URL": url}
        base = [sys.executable, "-m", "ttg_async", "crawl", "--rate-code", "campaign-may"]
        base += ["--concurrency", "4", "--checkpoint-interval", "0.2", "--json"]

        reference = tmp_path / "reference.jsonl"
        done = await asyncio.create_subprocess_exec(
            *base, "--out", str(reference), env=env, stdout=asyncio.subprocess.DEVNULL
        )
        assert await done.wait() == 0
        expected = record_keys(lines_of(reference))

        out_file = tmp_path / "catalog.jsonl"
        stops: list[int] = []
        resume: list[str] = []
        # kill -9 (nothing runs: the last checkpoint is older than the last lines), Ctrl-C
        # (the crawl saves on the way out), kill -9 again; then a run to the end.
        for how in (signal.SIGKILL, signal.SIGINT, signal.SIGKILL, None):
            process = await asyncio.create_subprocess_exec(
                *base, "--out", str(out_file), *resume, env=env,
                stdout=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            resume = ["--resume"]
            goal = rng.randint(len(expected) // 6, len(expected) // 4)
            written = len(lines_of(out_file)) if out_file.exists() else 0
            while how is not None and process.returncode is None:
                if out_file.exists() and len(lines_of(out_file)) >= written + goal:
                    process.send_signal(how)
                    break
                await asyncio.sleep(0.005)
            stops.append(await process.wait())

    assert stops == [-signal.SIGKILL, 130, -signal.SIGKILL, 0]
    got = record_keys(lines_of(out_file))
    assert len(got) == len(set(got))  # no line twice
    assert sorted(got, key=str) == sorted(expected, key=str)  # and none missing
