"""Checkpoints that cannot be written or cannot be trusted (issue 17, items 6-8), and the crawl
exploits of issue 19: a closed crawl leaves nothing running, a rate code given twice is crawled
once, and a failed unit at a rate code says which code.

Faults at the file system come from the OS where it can make them: a checkpoint in a directory
that does not exist, and a temporary file that is really ``/dev/full`` (every write to it fails
with ``ENOSPC``, as on a full disk). We run as root in CI, so a read-only directory would not
stop anything and is not used.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from test_crawl import ONCE, client, client_tasks, key, serve

import ttg_async
from ttg_async import ConfigurationError, TTGClient, TTGError
from ttg_async.sandbox import Sandbox

INVENTORY = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"


def storage_error() -> type[BaseException]:
    """The documented type (looked up by name, so this file imports before the fix too)."""
    found = getattr(ttg_async, "CrawlStorageError", None)
    assert isinstance(found, type), "ttg_async.CrawlStorageError is missing"
    return found


class FullDisk:
    """``tempfile.mkstemp`` as the checkpoint store calls it, but after ``room`` files the
    descriptor handed out is ``/dev/full``: the OS answers every write with ENOSPC."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, room: int) -> None:
        self.room = room
        self.made = 0
        self.full = 0
        real = tempfile.mkstemp

        def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
            self.made += 1
            if self.made <= self.room:
                return real(*args, **kwargs)
            fd, name = real(*args, **kwargs)  # a real name, so unlinking it works as usual
            os.close(fd)
            self.full += 1
            return os.open("/dev/full", os.O_WRONLY), name

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


class LoopErrors:
    """What the event loop reports to its exception handler ("Task exception was never
    retrieved", an error while closing an async generator), collected instead of logged."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __enter__(self) -> LoopErrors:
        loop = asyncio.get_running_loop()
        self._old = loop.get_exception_handler()
        loop.set_exception_handler(lambda _loop, context: self.seen.append(context))
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.get_running_loop().set_exception_handler(self._old)


async def settle() -> None:
    """Let finalizers run: unreferenced tasks and generators are reported on collection."""
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.01)


# -- item 6: a checkpoint that cannot be written ---------------------------------------------


async def test_a_checkpoint_in_a_missing_directory_fails_once_before_any_record(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox(seed=0, events=4)
    path = tmp_path / "no-such-dir" / "c.ckpt"
    async with serve(sandbox) as server:
        ttg = client(server)
        with LoopErrors() as loop_errors:
            crawl = ttg.crawl(checkpoint=path)
            got = []
            with pytest.raises(TTGError) as info:  # noqa: PT012 (the loop is what raises)
                async for record in crawl:
                    got.append(record)
            assert type(info.value) is storage_error()
            assert isinstance(info.value.__cause__, FileNotFoundError)  # the OS error beneath
            assert str(path.parent) in str(info.value)
            assert got == []  # written from the first moment: it fails before any record
            await crawl.aclose()  # closing again is quiet
            await crawl.aclose()
            assert client_tasks() == []
            await ttg.aclose()  # the session closes (a leak would be a ResourceWarning)
            assert ttg.closed
            await settle()
        assert loop_errors.seen == []


async def test_a_full_disk_mid_crawl_fails_once_and_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox(seed=0, events=12)
    path = tmp_path / "c.ckpt"
    async with serve(sandbox) as server:
        ttg = client(server)
        disk = FullDisk(monkeypatch, room=3)  # three checkpoints fit, then the disk is full
        with LoopErrors() as loop_errors:
            crawl = ttg.crawl(checkpoint=path, concurrency=4)
            crawl._checkpoint_interval = 0.0
            got = []
            with pytest.raises(TTGError) as info:  # noqa: PT012 (the loop is what raises)
                async for record in crawl:
                    got.append(key(record))
            error = info.value
            assert type(error) is storage_error()
            assert isinstance(error.__cause__, OSError)
            assert error.__cause__.errno == errno.ENOSPC
            assert 0 < len(got) < crawl.stats.occurrences or not crawl.stats.occurrences
            assert disk.full == 1  # tried once, then no more: the error surfaced once
            await crawl.aclose()
            await crawl.aclose()
            assert disk.full == 1
            assert client_tasks() == []
            await ttg.aclose()
            assert ttg.closed
            await settle()
        assert loop_errors.seen == []
        assert not list(tmp_path.glob("*.tmp"))  # noqa: ASYNC240 (no litter left)
        # The last checkpoint that fitted is intact, and resuming from it works.
        monkeypatch.undo()
        async with client(server) as again:
            rest = [key(r) async for r in again.crawl(checkpoint=path)]
            full = [key(r) async for r in again.crawl()]
        assert set(got) | set(rest) == set(full)


async def test_a_full_disk_on_the_last_save_is_raised_by_aclose_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox(seed=0, events=6)
    path = tmp_path / "c.ckpt"
    async with serve(sandbox) as server:
        ttg = client(server)
        crawl = ttg.crawl(checkpoint=path)
        iterator = aiter(crawl)
        await anext(iterator)
        FullDisk(monkeypatch, room=0)
        with LoopErrors() as loop_errors:
            with pytest.raises(TTGError) as info:
                await crawl.aclose()
            assert type(info.value) is storage_error()
            await crawl.aclose()  # once only
            await iterator.aclose()
            assert client_tasks() == []
            await ttg.aclose()
            assert ttg.closed
            await settle()
        assert loop_errors.seen == []


async def test_closing_the_client_closes_its_session_even_if_a_crawl_cannot_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox(seed=0, events=6)
    async with serve(sandbox) as server:
        ttg = client(server)
        crawl = ttg.crawl(checkpoint=tmp_path / "c.ckpt")
        iterator = aiter(crawl)
        await anext(iterator)
        FullDisk(monkeypatch, room=0)
        with pytest.raises(TTGError) as info:
            await ttg.aclose()
        assert type(info.value) is storage_error()
        assert ttg.closed  # the session was closed all the same
        assert client_tasks() == []
        await ttg.aclose()
        await iterator.aclose()


# -- item 7: a checkpoint from the first moment ----------------------------------------------


async def test_the_checkpoint_is_written_before_the_first_record(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=4)
    path = tmp_path / "c.ckpt"
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(checkpoint=path)
        crawl._checkpoint_interval = 3600.0  # no periodic save for an hour
        iterator = aiter(crawl)
        await anext(iterator)
        assert path.exists()
        assert json.loads(path.read_text())["format"] == "ttg_async crawl checkpoint"
        await iterator.aclose()


async def test_a_save_replaces_the_checkpoint_whole(tmp_path: Path) -> None:
    """Never written in place: a reader of the old file keeps the old file, whole (and a
    crash in the middle of a write leaves the old one, since the new one is another file)."""
    sandbox = Sandbox(seed=0, events=6)
    path = tmp_path / "c.ckpt"
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(checkpoint=path, concurrency=2)
        crawl._checkpoint_interval = 0.0
        taken = 0
        assert not path.exists()  # nothing before the crawl starts
        async for _ in crawl:
            taken += 1
            if taken == 1:
                old = path.open("rb")  # held across the saves that follow
                before = old.read()
            if taken == 8:
                break
        await crawl.aclose()
        old.seek(0)
        assert old.read() == before
        old.close()
        assert json.loads(before)["format"] == "ttg_async crawl checkpoint"
        assert path.read_bytes() != before  # the later saves went to new files
        assert not list(tmp_path.glob("*.tmp"))  # noqa: ASYNC240


# -- item 8: a checkpoint that cannot be trusted ---------------------------------------------


CORRUPTIONS = {
    "locations as a string": ("locations", "12"),
    "an empty location ID": ("locations", [""]),
    "a number for an ID": ("locations", [1]),
    "events not a mapping": ("events", ["1001"]),
    "an event list as a string": ("events", {"1": "1001"}),
    "a unit of three": ("units", {"1001": [["100101", None, "x"]]}),
    "a unit with an unknown code": ("units", {"1001": [["100101", "NOT-A-CODE"]]}),
    "version true": ("version", True),
    "version 2": ("version", 2),
    "inventory as 1": ("params", {"location_ids": None, "rate_codes": [None], "inventory": 1}),
    "a foreign format": ("format", "something else"),
}


@pytest.mark.parametrize("change", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
async def test_a_corrupt_checkpoint_is_refused_and_says_what_to_do(
    tmp_path: Path, change: tuple[str, object]
) -> None:
    sandbox = Sandbox(seed=0, events=4)
    path = tmp_path / "c.ckpt"
    async with serve(sandbox) as server, client(server) as ttg:
        first = ttg.crawl(checkpoint=path)
        async for _ in first:
            break
        await first.aclose()
        data = json.loads(path.read_text())
        field, value = change
        data[field] = value
        path.write_text(json.dumps(data))
        with pytest.raises(ConfigurationError, match=r"checkpoint: .*(delete it|start over)"):
            ttg.crawl(checkpoint=path)
        assert sandbox.request_count() > 0


@pytest.mark.parametrize("body", ["", "[]", "null", '{"format": "ttg_async crawl checkpoint"}'])
async def test_a_file_that_is_no_checkpoint_is_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "c.ckpt"
    path.write_text(body)
    async with TTGClient("sk_test_x000000000000000", "r", base_url="http://127.0.0.1:9") as ttg:
        with pytest.raises(ConfigurationError, match=r"checkpoint: .*not a usable"):
            ttg.crawl(checkpoint=path)


# -- issue 19, the crawl side -----------------------------------------------------------------


def crawl_tasks() -> list[asyncio.Task[object]]:
    """The crawl's own tasks: its runner and its workers (the loop's finalizer of a generator
    left by `break` is not the crawl's, and ends by itself)."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("ttg_async crawl")]


async def test_closing_a_crawl_waits_for_its_runner(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=0, events=30)
    sandbox.set_latency("*", 0.01)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(concurrency=8)
        async for _ in crawl:
            assert len(crawl_tasks()) == 9  # the runner and its 8 workers
            break
        await crawl.aclose()
        assert crawl_tasks() == []  # at once: aclose() returned after the runner ended
        # The same with `async with`: leaving the block waits for every task of the crawl.
        async with ttg.crawl(concurrency=8) as again:
            async for _ in again:
                break
        assert crawl_tasks() == []
        # And with the iterator closed by hand.
        iterator = aiter(ttg.crawl(concurrency=8))
        await anext(iterator)
        await iterator.aclose()
        assert crawl_tasks() == []
        await asyncio.sleep(0.05)
        assert client_tasks() == []


async def test_a_rate_code_given_twice_is_crawled_once() -> None:
    sandbox = Sandbox(seed=0, events=4)
    async with serve(sandbox) as server, client(server) as ttg:
        crawl = ttg.crawl(rate_codes=["MEMBERS", None, "MEMBERS", None])
        records = [key(r) async for r in crawl]
    assert len(records) == len(set(records)) == 2 * crawl.stats.occurrences
    assert sandbox.request_count(INVENTORY) == len(records)


async def test_a_failed_unit_names_its_rate_code() -> None:
    sandbox = Sandbox(seed=0, events=4)
    async with serve(sandbox) as server, client(server, ONCE) as ttg:
        sandbox.inject(INVENTORY, "status", status=500, times=1)
        crawl = ttg.crawl(rate_codes=["MEMBERS"], concurrency=1)
        [_ async for _ in crawl]
    (failure,) = crawl.errors
    words = failure.where.split()
    assert words[0] == "occurrence", failure.where
    assert words[2:] == ["rate_code", "MEMBERS"], failure.where
