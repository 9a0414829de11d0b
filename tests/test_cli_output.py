"""What `ttg` prints when things are not fine: JSON errors, flag names, usage, empty results.

- With ``--json`` an error is one JSON object on stderr, and the exit status is unchanged.
- Messages name the command's flags (``--api-key``, ``--overwrite``), not Python arguments.
- A flag a command does not know is reported with that command's usage.
- An empty result says why it is empty (``ttg prices`` on a sold-out occurrence).
- The JSON casing is the one docs/cli.md states for each command: camelCase for the TTG
  commands, snake_case for ``ttg buyback``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from ttg_async._cli import main
from ttg_async.buyback.sandbox import TEST_CLIENT_ID, TEST_SECRET, BuybackSandbox
from ttg_async.sandbox import RetailerConfig, Sandbox

KEY = "sk_test_cli00000000000000000000"
CLI_PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
SOLD_OUT = ("1001", "100107")  # seed 0: an occurrence without a from_price, and no inventory


def serve_in_thread(serve: Callable[[], AbstractAsyncContextManager[str]]) -> Iterator[str]:
    """Serve from a thread of its own: each command runs its own event loop."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def run() -> None:
        state["stop"] = asyncio.Event()
        async with serve() as url:
            state["url"] = url
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield state["url"]
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def ttg_url() -> Iterator[str]:
    # "narrow" sees one event of location 1, so location 2 has none for it.
    retailers = {
        "cli-output-tests": RetailerConfig(),
        "narrow": RetailerConfig(event_ids=frozenset({"1001"})),
    }
    yield from serve_in_thread(Sandbox(seed=0, retailers=retailers).serve)


@pytest.fixture(scope="module")
def tbb_url() -> Iterator[str]:
    yield from serve_in_thread(BuybackSandbox(seed=0).serve)


@pytest.fixture
def ttg_env(ttg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_API_KEY", KEY)
    monkeypatch.setenv("TTG_RETAILER", "cli-output-tests")
    monkeypatch.setenv("TTG_BASE_URL", ttg_url)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def tbb_env(tbb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBB_CLIENT_ID", TEST_CLIENT_ID)
    monkeypatch.setenv("TBB_CLIENT_SECRET", TEST_SECRET)
    monkeypatch.setenv("TBB_BASE_URL", tbb_url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def one_json_error(err: str) -> dict[str, Any]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    document = json.loads(lines[0])
    assert set(document) == {"error"}
    error: dict[str, Any] = document["error"]
    return error


# -- --json errors ---------------------------------------------------------------------------


@pytest.mark.usefixtures("ttg_env")
def test_an_api_error_under_json_is_one_json_object_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "occurrences", "9", "--json")
    assert status == 1  # as without --json
    assert out == ""
    error = one_json_error(err)
    assert error["type"] == "NotFoundError"
    assert error["status"] == 404
    assert error["requestId"].startswith("req_")
    assert run(capsys, "occurrences", "9")[0] == 1


@pytest.mark.usefixtures("ttg_env")
def test_a_usage_error_under_json_is_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "locations", "--json", "--locale", "xx_YY")
    assert status == 2
    error = one_json_error(err)
    assert error == {"type": "UsageError", "message": error["message"]}
    assert "--locale" in error["message"]
    status, _, err = run(capsys, "events", "1", "--json", "--bogus")
    assert status == 2
    error = one_json_error(err)
    assert error["message"] == "unrecognized arguments: --bogus"
    assert error["usage"].startswith("usage: ttg events ")


@pytest.mark.usefixtures("tbb_env")
def test_a_buyback_error_under_json_is_json_with_its_snake_case(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "buyback", "sections", "evt_nope", "--json")
    assert status == 1
    assert out == ""
    error = one_json_error(err)
    assert error["status"] == 404
    assert "request_id" in error


# -- flags in messages -----------------------------------------------------------------------


def test_a_missing_key_names_the_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TTG_API_KEY", "TTG_RETAILER", "TTG_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    status, _, err = run(capsys, "locations", "--retailer", "r1")
    assert status == 2
    assert err.strip() == (
        "ttg: ConfigurationError: --api-key: is required (pass --api-key or set $TTG_API_KEY)"
    )
    assert "api_key" not in err
    status, _, err = run(capsys, "locations", "--json", "--api-key", KEY)
    assert status == 2
    assert one_json_error(err)["message"] == (
        "--retailer: is required (pass --retailer or set $TTG_RETAILER)"
    )


def test_a_missing_buyback_secret_names_the_variable_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TBB_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("TBB_CLIENT_ID", TEST_CLIENT_ID)
    status, _, err = run(capsys, "buyback", "events", "--base-url", "http://127.0.0.1:9")
    assert status == 2
    assert "set $TBB_CLIENT_SECRET" in err
    assert "client_secret=" not in err


@pytest.mark.usefixtures("ttg_env")
def test_a_bad_checkpoint_says_overwrite_not_delete_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "catalog.jsonl"
    out.write_text("")
    (tmp_path / "catalog.jsonl.checkpoint").write_text("not a checkpoint")
    status, _, err = run(capsys, "crawl", "--out", str(out), "--resume", "--location", "1")
    assert status == 2
    assert "delete it" not in err
    assert "--overwrite" in err


# -- the command's own usage -----------------------------------------------------------------


@pytest.mark.usefixtures("ttg_env")
@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["events", "1", "--bogus"], "usage: ttg events "),
        (["prices", "1001", "100101", "--rate-code", "A", "--nope"], "usage: ttg prices "),
        (["buyback", "rows", "e", "s", "--bogus"], "usage: ttg buyback rows "),
    ],
)
def test_an_unknown_flag_shows_the_commands_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith(usage), err
    assert "unrecognized arguments: --" in err


# -- empty results ---------------------------------------------------------------------------


@pytest.mark.usefixtures("ttg_env")
def test_prices_on_a_sold_out_occurrence_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "prices", *SOLD_OUT, "--rate-code", "MEMBERS")
    assert status == 0
    assert f"Occurrence {SOLD_OUT[1]}: nothing to compare" in out
    assert "sold out or not on sale" in out
    assert "Kind" not in out  # no empty table


@pytest.mark.usefixtures("ttg_env")
def test_inventory_on_a_sold_out_occurrence_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "inventory", *SOLD_OUT)
    assert status == 0
    assert "nothing to buy (the occurrence is sold out or not on sale)" in out


@pytest.mark.usefixtures("ttg_env")
def test_an_empty_list_says_what_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "events", "2", "--retailer", "narrow")
    assert status == 0
    assert out.startswith("No events in location 2: the server lists none there")
    status, out, _ = run(capsys, "events", "2", "--retailer", "narrow", "--json")
    assert json.loads(out) == []  # JSON stays a plain list


# -- the casing docs/cli.md states -----------------------------------------------------------


@pytest.mark.usefixtures("ttg_env", "tbb_env")
def test_json_casing_matches_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    page = CLI_PAGE.read_text()
    assert "camelCase field names" in page
    assert "`ttg buyback ...`" in page
    assert "snake_case" in page
    status, out, _ = run(capsys, "occurrences", "1001", "--json")
    assert status == 0
    assert "startsAt" in json.loads(out)[0]
    status, out, _ = run(capsys, "buyback", "events", "--max-items", "1", "--json")
    assert status == 0
    event = json.loads(out)[0]
    assert "event_id" in event
    assert "eventId" not in event
