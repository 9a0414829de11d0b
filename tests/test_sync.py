"""``ttg.sync()`` against the real sandbox over loopback: no change, the sandbox's own list of
changes, failed units that remove nothing, ignored fields, resuming, and the pure helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ttg_async import Change, ConfigurationError, RetryPolicy, SyncStats, TTGClient
from ttg_async._ttg.snapshot import diff_paths, parse_ignore
from ttg_async.sandbox import Sandbox

KEY = "sk_test_sync00000000000000000000"
CODES: tuple[str | None, ...] = (None, "campaign-may")
NO_WAIT = RetryPolicy(backoff_base=0.0, backoff_max=0.0)


def client(url: str, retry: RetryPolicy = NO_WAIT) -> TTGClient:
    return TTGClient(KEY, "r", base_url=url, retry=retry)


async def sync(
    url: str, previous: Path | None, out: Path, **kwargs: Any
) -> tuple[list[Change], Any]:
    async with client(url, kwargs.pop("retry", NO_WAIT)) as ttg:
        run = ttg.sync(previous, out, rate_codes=CODES, **kwargs)
        changes = [change async for change in run]
    return changes, run


def triples(changes: list[Change]) -> set[tuple[str, str, tuple[str | None, ...]]]:
    return {(c.kind, c.level, c.key) for c in changes}


def lines(path: Path) -> set[bytes]:
    content = path.read_bytes().splitlines()
    assert len(content) == len(set(content))
    return set(content)


async def test_an_unchanged_catalog_yields_no_change(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=2, events=24)
    async with sandbox.serve() as url:
        first, run = await sync(url, None, tmp_path / "mon.jsonl")
        assert first
        assert {c.kind for c in first} == {"added"}
        assert {c.level for c in first} == {"event", "occurrence", "item"}
        assert run.stats.added == len(first)
        assert run.errors == []
        second, run = await sync(url, tmp_path / "mon.jsonl", tmp_path / "tue.jsonl")
    assert second == []
    assert run.stats == SyncStats(unchanged=len(first), crawl=run.stats.crawl)
    # The same catalog gives the same snapshot, byte for byte (a canonical order).
    assert (tmp_path / "mon.jsonl").read_bytes() == (tmp_path / "tue.jsonl").read_bytes()
    assert not (tmp_path / "tue.jsonl.work").exists()


async def test_a_crawl_file_is_a_previous_snapshot(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=2, events=12)
    async with sandbox.serve() as url:
        async with client(url) as ttg:
            crawl = ttg.crawl(rate_codes=CODES, checkpoint=tmp_path / "c.ckpt")
            await crawl.write_jsonl(tmp_path / "crawl.jsonl")
        changes, _ = await sync(url, tmp_path / "crawl.jsonl", tmp_path / "new.jsonl")
    assert changes == []
    # The same records; a sync's snapshot leaves out the request ID of an unknown code's error.
    crawled = [json.loads(line) for line in lines(tmp_path / "crawl.jsonl")]
    for record in crawled:
        if "error" in record:
            assert record["error"]["requestId"]
            record["error"]["requestId"] = None
    snapshot = [json.loads(line) for line in lines(tmp_path / "new.jsonl")]
    assert any("error" in record for record in snapshot)
    assert sorted(map(json.dumps, crawled)) == sorted(map(json.dumps, snapshot))


async def test_the_sync_finds_exactly_what_the_sandbox_changed(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=3, events=40)
    async with sandbox.serve() as url:
        await sync(url, None, tmp_path / "mon.jsonl")
        night = sandbox.evolve(11, rate_codes=CODES)
        changes, run = await sync(url, tmp_path / "mon.jsonl", tmp_path / "tue.jsonl")
    assert night.ended_events
    assert night.added_events
    assert night.cancelled_occurrences
    assert night.sold_out
    assert night.added_occurrences
    # A date added at the end moves the event's endDate: a changed event.
    assert any(c.level == "event" and c.kind == "changed" for c in night.changes)
    assert night.price_moves
    assert triples(changes) == night.keys()
    assert len(changes) == len(night.changes)
    expected_fields = {c.key: c.fields for c in night.changes if c.kind == "changed"}
    assert {c.key: c.fields for c in changes if c.kind == "changed"} == expected_fields
    moves = {move.key: move for move in night.price_moves}
    for change in changes:
        if change.kind == "changed" and change.level == "event":
            assert change.before is not None
            assert change.after is not None
            assert change.after["endDate"] > change.before["endDate"]
        elif change.kind == "changed":
            move = moves[change.key]
            assert change.before is not None
            assert change.after is not None
            (path,) = change.fields
            index = int(path.split("[")[1].split("]")[0])
            assert change.before["priceOptions"][index]["sellPrice"]["amount"] == move.before
            assert change.after["priceOptions"][index]["sellPrice"]["amount"] == move.after
        elif change.kind == "added":
            assert change.before is None
            assert change.after is not None
            assert change.after["id"] == change.key[-1]
        else:
            assert change.after is None
            assert change.before is not None
    assert (run.stats.added, run.stats.changed, run.stats.removed) == (
        sum(c.kind == "added" for c in changes),
        sum(c.kind == "changed" for c in changes),
        sum(c.kind == "removed" for c in changes),
    )
    # Each event comes before its occurrences, and each occurrence before its items.
    order = {change.key: number for number, change in enumerate(changes)}
    for change in changes:
        for parent in (change.key[:1], change.key[:2]):
            if parent != change.key and parent in order:
                assert order[parent] < order[change.key]


async def test_ignored_fields_are_never_reported(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=3, events=30)
    async with sandbox.serve() as url:
        await sync(url, None, tmp_path / "mon.jsonl")
        night = sandbox.evolve(4, rate_codes=CODES, end_events=0, add_events=0, add_dates=0,
                               cancel_occurrences=0, sell_out=0, move_prices=5)  # fmt: skip
        assert len(night.price_moves) == 5
        ignored, run = await sync(
            url, tmp_path / "mon.jsonl", tmp_path / "a.jsonl",
            ignore_fields=["priceOptions[].sellPrice"],
        )  # fmt: skip
        assert ignored == []
        assert run.stats.changed == 0
        # A path beside the moved one is not enough; one above it is.
        other, _ = await sync(
            url, tmp_path / "mon.jsonl", tmp_path / "b.jsonl",
            ignore_fields=["priceOptions[].listPrice"],
        )  # fmt: skip
        assert {c.key for c in other} == {m.key for m in night.price_moves}
        above, _ = await sync(
            url, tmp_path / "mon.jsonl", tmp_path / "c.jsonl", ignore_fields=["priceOptions"]
        )
        assert above == []
    # Ignoring is about reporting: the snapshot keeps the new prices.
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def where_parts(where: str) -> tuple[str, str]:
    kind, _, rest = where.partition(" ")
    return kind, rest.split(" ")[0]


async def test_failed_units_remove_nothing_beneath_them(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=4, locations=3, events=36)
    async with sandbox.serve() as url:
        await sync(url, None, tmp_path / "mon.jsonl")
        night = sandbox.evolve(5, rate_codes=CODES, end_events=6, add_events=0, add_dates=0,
                               cancel_occurrences=6, sell_out=6, move_prices=0)  # fmt: skip
        removed = {c.key for c in night.changes}
        assert {c.kind for c in night.changes} == {"removed"}
        # One location's event list, two events' occurrences and two inventories fail.
        sandbox.inject("GET /api/v3/events", "status", status=500, times=1)
        sandbox.inject("GET /api/v3/events/{eventId}/occurrences", "status", status=500, times=2)
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        sandbox.inject(route, "status", status=500, times=2)
        changes, run = await sync(
            url, tmp_path / "mon.jsonl", tmp_path / "tue.jsonl",
            retry=RetryPolicy.disabled(), concurrency=1,
        )  # fmt: skip
        failed = [where_parts(failure.where) for failure in run.errors]
        assert sorted(kind for kind, _ in failed) == [
            "event", "event", "location", "occurrence", "occurrence",
        ]  # fmt: skip
        assert all(type(f.error).__name__ == "ServerError" for f in run.errors)
        mon = [json.loads(line) for line in (tmp_path / "mon.jsonl").read_bytes().splitlines()]
        location_of = {r["event"]["id"]: r["locationId"] for r in mon}
        for change in changes:
            assert change.kind == "removed"
            assert change.key in removed
            event_id = str(change.key[0])
            assert ("location", location_of[event_id]) not in failed
            assert ("event", event_id) not in failed
            if len(change.key) > 1:
                assert ("occurrence", change.key[1]) not in failed
        assert triples(changes) < night.keys()  # some removals wait for a sure answer
        # The next night, with nothing failing, reports the rest: none lost, none twice.
        rest, run = await sync(url, tmp_path / "tue.jsonl", tmp_path / "wed.jsonl")
    assert run.errors == []
    assert triples(changes) | triples(rest) == night.keys()
    assert not triples(changes) & triples(rest)


async def test_a_failed_location_list_is_no_mass_removal(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=4, locations=3, events=24)
    async with sandbox.serve() as url:
        await sync(url, None, tmp_path / "mon.jsonl")
        sandbox.inject("GET /api/v3/locations", "status", status=500, times=1)
        changes, run = await sync(
            url, tmp_path / "mon.jsonl", tmp_path / "tue.jsonl", retry=RetryPolicy.disabled()
        )
    assert [failure.where for failure in run.errors] == ["locations"]
    assert changes == []
    assert lines(tmp_path / "mon.jsonl") == lines(tmp_path / "tue.jsonl")


async def test_write_changes_resumes_after_a_stop_exactly_once(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=6, events=30)
    async with sandbox.serve() as url:
        await sync(url, None, tmp_path / "mon.jsonl")
        sandbox.evolve(2, rate_codes=CODES)
        whole, _ = await sync(url, tmp_path / "mon.jsonl", tmp_path / "whole.jsonl")
        assert len(whole) > 20
        # Stopped (as by an error in the loop body) twice in the middle.
        out, checkpoint = tmp_path / "tue.jsonl", tmp_path / "tue.ckpt"
        taken: list[Change] = []
        for stop in (7, 13):
            async with client(url) as ttg:
                run = ttg.sync(tmp_path / "mon.jsonl", out, rate_codes=CODES, checkpoint=checkpoint)
                async for change in run:
                    taken.append(change)
                    if len(taken) % 20 == stop:
                        taken.pop()  # held when the loop stopped, so not taken: it comes again
                        break
        async with client(url) as ttg:
            run = ttg.sync(tmp_path / "mon.jsonl", out, rate_codes=CODES, checkpoint=checkpoint)
            taken += [change async for change in run]
            assert run.stats.added == sum(c.kind == "added" for c in whole)
        assert taken == whole
        assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
        # A finished sync run again yields nothing more.
        async with client(url) as ttg:
            run = ttg.sync(tmp_path / "mon.jsonl", out, rate_codes=CODES, checkpoint=checkpoint)
            assert [change async for change in run] == []
        # write_changes: a file of changes, cut back to what the checkpoint counts.
        changes, checkpoint = tmp_path / "changes.jsonl", tmp_path / "w.ckpt"
        async with client(url) as ttg:
            run = ttg.sync(
                tmp_path / "mon.jsonl", tmp_path / "w.jsonl", rate_codes=CODES,
                checkpoint=checkpoint,
            )  # fmt: skip
            await run.write_changes(changes)
    assert [json.loads(line) for line in changes.read_bytes().splitlines()] == [
        json.loads(json.dumps(c.to_dict())) for c in whole
    ]


async def test_a_checkpoint_of_other_arguments_is_refused(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=6, events=6)
    async with sandbox.serve() as url:
        await sync(url, None, tmp_path / "a.jsonl", checkpoint=tmp_path / "ck")
        with pytest.raises(ConfigurationError, match="other arguments"):
            await sync(url, None, tmp_path / "a.jsonl", checkpoint=tmp_path / "ck",
                       ignore_fields=["name"])  # fmt: skip


def test_ignore_paths_parse() -> None:
    assert parse_ignore(["priceOptions[].sellPrice", "a.b[2][]", "name"]) == [
        ("priceOptions", "[]", "sellPrice"),
        ("a", "b", "[2]", "[]"),
        ("name",),
    ]
    for bad in ("", "a..b", "a[x]", "a[]b"):
        with pytest.raises(ValueError, match="ignore_fields"):
            parse_ignore([bad])
    with pytest.raises(TypeError):
        parse_ignore("name")


def test_changed_paths_use_wire_names_and_indexes() -> None:
    out: list[str] = []
    before = {"id": "1", "priceOptions": [{"sellPrice": {"amount": 1}}], "x": 1}
    after = {"id": "1", "priceOptions": [{"sellPrice": {"amount": 2}}, {}], "y": 1}
    diff_paths(before, after, "", out)
    assert out == ["priceOptions[0].sellPrice.amount", "priceOptions[1]", "x", "y"]
    out = []
    diff_paths({"a": 1}, {"a": 1.0}, "", out)
    assert out == ["a"]  # 1 and 1.0 are other JSON


def test_change_to_dict() -> None:
    change = Change("changed", "item", ("1", "2", None, "3"), {"a": 1}, {"a": 2}, ("a",))
    assert change.to_dict() == {
        "kind": "changed",
        "level": "item",
        "key": ["1", "2", None, "3"],
        "before": {"a": 1},
        "after": {"a": 2},
        "fields": ["a"],
    }
