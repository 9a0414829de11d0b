"""Crawl output exactly once, from the library (issue 18): ``Crawl.write_jsonl``, the JSON form
of records and crawl errors, and ``ttg crawl`` on top of them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from test_crawl import ONCE, client, key, serve
from test_crawl_checkpoint import FullDisk, LoopErrors, settle

from ttg_async import (
    APIError,
    CatalogRecord,
    ConfigurationError,
    CrawlStorageError,
    ProviderCodeNotFoundError,
    TTGClient,
    TTGError,
)
from ttg_async._cli import main
from ttg_async.sandbox import Sandbox

KEY = "sk_test_crawl0000000000000000"
CODES = (None, "MEMBERS", "campaign-may", "NO-SUCH-CODE")
INVENTORY = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
_encoder = msgspec.json.Encoder()


def old_cli_line(record: CatalogRecord) -> bytes:
    """``ttg crawl``'s line before the writer moved into the library (0.x, `_record_line`),
    kept here verbatim so that files written then stay the files written now."""

    def error_json(error: TTGError) -> dict[str, Any]:
        data: dict[str, Any] = {"type": type(error).__name__, "message": error.message}
        if isinstance(error, APIError):
            data.update(status=error.status, code=error.code)
        data["requestId"] = error.request_id
        return data

    location = record.location
    line: dict[str, Any] = {
        "locationId": record.location_id,
        "location": None if isinstance(location, str) else location,
        "event": record.event,
        "occurrence": record.occurrence,
        "rateCode": record.rate_code,
    }
    if isinstance(record.items, list):
        line["items"] = record.items
    else:
        line["error"] = error_json(record.items)
    return _encoder.encode(line) + b"\n"


def same_ids(line: bytes) -> bytes:
    return re.sub(rb'"requestId":"[^"]*"', b'"requestId":"req"', line)


def keys_of(path: Path) -> list[tuple[str, str, str | None]]:
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    return [(r["event"]["id"], r["occurrence"]["id"], r["rateCode"]) for r in rows]


@pytest.mark.parametrize("location_ids", [None, ["2", "3"]])
async def test_lines_are_the_cli_lines_of_before_and_to_dict_is_their_json(
    tmp_path: Path, location_ids: list[str] | None
) -> None:
    sandbox = Sandbox(seed=0, events=6)
    out = tmp_path / "c.jsonl"
    async with serve(sandbox) as server, client(server) as ttg:
        records = [r async for r in ttg.crawl(location_ids, rate_codes=CODES)]
        crawl = ttg.crawl(location_ids, rate_codes=CODES, checkpoint=tmp_path / "c.ckpt")
        await crawl.write_jsonl(out)
    assert any(isinstance(r.items, ProviderCodeNotFoundError) for r in records)
    assert any(isinstance(r.items, list) and r.items for r in records)
    with pytest.raises(TypeError):  # why to_dict() exists: an error is no msgspec type
        msgspec.json.encode(next(r for r in records if not isinstance(r.items, list)))
    # Two crawls: the same lines, except the request IDs in the errors.
    expected = sorted(same_ids(old_cli_line(r)) for r in records)
    assert sorted(map(same_ids, out.read_bytes().splitlines(keepends=True))) == expected
    for record in records:
        as_dict = record.to_dict()
        assert _encoder.encode(as_dict) + b"\n" == old_cli_line(record)
        assert json.loads(json.dumps(as_dict)) == json.loads(old_cli_line(record))  # stdlib too


async def test_crawl_errors_have_a_json_form(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=3)
    async with serve(sandbox) as server, client(server, ONCE) as ttg:
        sandbox.inject(INVENTORY, "status", status=503, times=1)
        crawl = ttg.crawl(rate_codes=["MEMBERS"], concurrency=1)
        [_ async for _ in crawl]
    (failure,) = crawl.errors
    data = json.loads(json.dumps(failure.to_dict()))
    assert data["where"] == failure.where
    assert data["error"]["type"] == "ServerError"
    assert data["error"]["status"] == 503
    assert data["error"]["requestId"] == failure.error.request_id


async def stopped_part_way(ttg: TTGClient, out: Path, checkpoint: Path, lines: int) -> None:
    """Run write_jsonl and cancel it once ``out`` has at least ``lines`` lines."""
    crawl = ttg.crawl(rate_codes=CODES, concurrency=4, checkpoint=checkpoint)
    crawl._checkpoint_interval = 0.05
    task = asyncio.create_task(crawl.write_jsonl(out))
    while not task.done() and crawl.stats.records < lines:  # noqa: ASYNC110 (a poll is simplest)
        await asyncio.sleep(0.002)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_half_written_last_line_is_cut_on_resume(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=1, events=8)
    sandbox.set_latency("*", 0.002)
    out, checkpoint = tmp_path / "c.jsonl", tmp_path / "c.ckpt"
    async with serve(sandbox) as server, client(server) as ttg:
        full = [key(r) async for r in ttg.crawl(rate_codes=CODES)]
        await stopped_part_way(ttg, out, checkpoint, 40)
        saved = json.loads(checkpoint.read_text())["note"]["ttg crawl output bytes"]
        assert 0 < saved == out.stat().st_size  # cancelled: the last save counts every line
        with out.open("ab") as file:  # a kill in the middle of a line, after the last save
            file.write(b'{"locationId":"1","location":{"id":"1","na')
        again = ttg.crawl(rate_codes=CODES, concurrency=4, checkpoint=checkpoint)
        await again.write_jsonl(out)
    got = keys_of(out)  # every line parses: the half line was cut, not kept in the middle
    assert len(got) == len(set(got)) == len(full)
    assert {(e, o, c) for _, e, o, c in full} == set(got)


async def test_lines_after_the_last_save_are_dropped_not_doubled(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=2, events=8)
    out, checkpoint = tmp_path / "c.jsonl", tmp_path / "c.ckpt"
    async with serve(sandbox) as server, client(server) as ttg:
        full = [key(r) async for r in ttg.crawl(rate_codes=CODES)]
        await stopped_part_way(ttg, out, checkpoint, 30)
        kept = out.read_bytes()
        with out.open("ab") as file:  # lines a killed run wrote after its last save
            file.write(kept.splitlines(keepends=True)[0] * 3)
        again = ttg.crawl(rate_codes=CODES, concurrency=4, checkpoint=checkpoint)
        await again.write_jsonl(out)
    assert out.read_bytes().startswith(kept)
    got = keys_of(out)
    assert len(got) == len(set(got)) == len(full)


async def test_resume_false_starts_over(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=4)
    out, checkpoint = tmp_path / "c.jsonl", tmp_path / "c.ckpt"
    async with serve(sandbox) as server, client(server) as ttg:
        await ttg.crawl(checkpoint=checkpoint).write_jsonl(out)
        first = keys_of(out)
        again = ttg.crawl(checkpoint=checkpoint)
        await again.write_jsonl(out)
        assert again.stats.records == 0  # resumed: nothing left
        over = ttg.crawl(checkpoint=checkpoint)
        await over.write_jsonl(out, resume=False)
        assert over.stats.records == len(first)
    assert sorted(keys_of(out), key=str) == sorted(first, key=str)


async def test_what_the_writer_refuses(tmp_path: Path) -> None:
    out, checkpoint = tmp_path / "c.jsonl", tmp_path / "c.ckpt"
    async with TTGClient(KEY, "r", base_url="http://127.0.0.1:9") as ttg:
        with pytest.raises(ConfigurationError, match="checkpoint: write_jsonl needs"):
            await ttg.crawl().write_jsonl(out)
        out.write_bytes(b'{"a": 1}\n')
        with pytest.raises(ConfigurationError, match=r"path: .* has content but"):
            await ttg.crawl(checkpoint=checkpoint).write_jsonl(out)
        assert not checkpoint.exists()
        assert out.read_bytes() == b'{"a": 1}\n'
        with pytest.raises(TypeError, match="resume: must be a bool"):
            await ttg.crawl(checkpoint=checkpoint).write_jsonl(out, resume=1)  # type: ignore[arg-type]


def checkpoint_with_note(checkpoint: Path, note: object) -> None:
    checkpoint.write_text(
        json.dumps(
            {
                "format": "ttg_async crawl checkpoint",
                "version": 1,
                "params": {"location_ids": None, "rate_codes": [None], "inventory": True},
                "locations": [],
                "events": {"1": ["1001"]},
                "units": {},
                "note": note,
            }
        )
    )


@pytest.mark.parametrize(
    "note",
    [
        None,
        {"ttg crawl output bytes": True},
        {"ttg crawl output bytes": -1},
        {"ttg crawl output bytes": "9"},
        {"ttg crawl output bytes": 9.0},
        {"bytes": 9},
        {"ttg crawl output bytes": 9, "more": 1},
    ],
)
async def test_a_corrupt_length_is_refused_and_the_file_left_alone(
    tmp_path: Path, note: object
) -> None:
    out, checkpoint = tmp_path / "c.jsonl", tmp_path / "c.ckpt"
    content = b'{"a": 1}\n{"b": 2}\n'
    out.write_bytes(content)
    checkpoint_with_note(checkpoint, note)
    async with TTGClient(KEY, "r", base_url="http://127.0.0.1:9") as ttg:
        with pytest.raises(ConfigurationError, match=r"checkpoint: .*delete it to start over"):
            await ttg.crawl(checkpoint=checkpoint).write_jsonl(out)
    assert out.read_bytes() == content


@pytest.mark.parametrize(("size", "why"), [(99, "99 in the checkpoint"), (5, "byte 5 does not")])
async def test_a_file_that_does_not_match_its_checkpoint_is_refused(
    tmp_path: Path, size: int, why: str
) -> None:
    out, checkpoint = tmp_path / "c.jsonl", tmp_path / "c.ckpt"
    content = b'{"a": 1}\n{"b": 2}\n'
    out.write_bytes(content)
    checkpoint_with_note(checkpoint, {"ttg crawl output bytes": size})
    async with TTGClient(KEY, "r", base_url="http://127.0.0.1:9") as ttg:
        with pytest.raises(ConfigurationError, match=f"path: .*{why}"):
            await ttg.crawl(checkpoint=checkpoint).write_jsonl(out)
    assert out.read_bytes() == content


async def test_an_output_file_on_a_full_disk_fails_once_and_leaks_nothing(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox(seed=0, events=12)
    checkpoint = tmp_path / "c.ckpt"
    async with serve(sandbox) as server:
        ttg = client(server)
        with LoopErrors() as loop_errors:
            crawl = ttg.crawl(rate_codes=CODES, concurrency=4, checkpoint=checkpoint)
            with pytest.raises(CrawlStorageError) as info:
                await crawl.write_jsonl("/dev/full", resume=False)  # the OS says ENOSPC
            assert info.value.path == Path("/dev/full")
            assert isinstance(info.value.__cause__, OSError)
            await crawl.aclose()
            await ttg.aclose()
            assert ttg.closed
            await settle()
        assert loop_errors.seen == []
    assert json.loads(checkpoint.read_text())["note"] == {"ttg crawl output bytes": 0}


# -- ttg crawl on the writer ---------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A sandbox served from its own thread, and $TTG_* pointing at it, for main()."""
    import threading

    sandbox = Sandbox(seed=0, events=6)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve_it() -> None:
        state["stop"] = asyncio.Event()
        async with sandbox.serve() as url:
            state["url"] = url
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve_it(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    monkeypatch.setenv("TTG_API_KEY", KEY)
    monkeypatch.setenv("TTG_RETAILER", "r")
    monkeypatch.setenv("TTG_BASE_URL", state["url"])
    try:
        yield sandbox
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()


def test_cli_resume_cuts_a_half_written_last_line(
    cli_env: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "c.jsonl"
    args = ["crawl", "--out", str(out), "--location", "2", "--json"]
    assert main(args) == 0
    full = out.read_bytes()
    # As if killed in the middle of a line written after the last save.
    with out.open("ab") as file:
        file.write(full.splitlines(keepends=True)[0][:17])
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["records"] == 0
    assert out.read_bytes() == full  # cut back to the last whole line the checkpoint counts


def test_cli_resume_of_a_file_without_checkpoint_says_what_to_do(
    cli_env: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "c.jsonl"
    out.write_bytes(b'{"a": 1}\n')
    assert main(["crawl", "--out", str(out), "--resume", "--json"]) == 2
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()  # with --json, one JSON object on stderr
    message = json.loads(line)["error"]["message"]
    assert message.startswith("--resume: ")
    assert "use --overwrite to start over" in message


def test_cli_on_a_full_disk_says_so_in_one_line(
    cli_env: Sandbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FullDisk(monkeypatch, room=2)
    out = tmp_path / "c.jsonl"
    status = main(["crawl", "--out", str(out), "--checkpoint-interval", "0", "--json"])
    err = capsys.readouterr().err
    assert status == 1
    (line,) = err.strip().splitlines()  # with --json, one JSON object on stderr
    error = json.loads(line)["error"]
    assert error["type"] == "CrawlStorageError"
    assert error["message"].startswith("cannot write the checkpoint ")
    assert "No space left on device" in error["message"]
    assert "never retrieved" not in err
