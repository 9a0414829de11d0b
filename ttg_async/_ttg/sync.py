"""Incremental catalog sync: a crawl compared with yesterday's snapshot, as changes.

A sync runs in two phases, and its checkpoint says which one it is in:

1. **crawl**: `Crawl.write_jsonl` writes the catalog to a staging file in the sync's work
   directory, exactly once per record across interruptions (its own checkpoint is there too).
   Per-unit failures are kept in the sync's checkpoint when the crawl ends.
2. **compare**: a partitioned hash join (Grace). The previous snapshot and the staging file
   are split into ``K`` bucket files by ranges of a CRC-32 of the event ID, so the records of
   one event are in one bucket on both sides, and the output's order (by that CRC, then by
   event, occurrence and rate code) does not depend on ``K``. Each bucket is read alone: its
   lines are sorted and appended to the new snapshot, and an index of keys and content
   hashes (not decoded records) is built for both sides. Only a key whose hash differs is
   decoded again, from the bucket's lines, to give ``before``, ``after`` and ``fields``.
   Memory is one bucket's worth, whatever the catalog's size.

The comparison itself (reading lines, hashing, the changed paths) is I/O-free, in
`ttg_async._ttg.snapshot`; this module moves files.

Everything the compare phase yields is a function of (previous snapshot, staging file,
failures), in a fixed order, so a resumed sync redoes the phase and skips the changes the
checkpoint counts as taken; the new snapshot comes out byte for byte the same.

**Deletes only when sure.** Previous records beneath a unit that failed in this run (a
location's event list, an event's occurrence list, an occurrence's inventory) are carried into
the new snapshot unchanged, so they are neither removed nor, tomorrow, added again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal

import msgspec

from ttg_async._core.errors import ConfigurationError, TTGError
from ttg_async._ttg.crawl import Crawl, CrawlError, CrawlStats, CrawlStorageError
from ttg_async._ttg.snapshot import (
    Canon,
    Change,
    Line,
    Side,
    Unsure,
    bucket_of,
    code_key,
    compare_bucket,
    crc,
    event_id_of,
    parse_ignore,
    raw_id,
    read_line,
)

if TYPE_CHECKING:
    from ttg_async._ttg.client import TTGClient

__all__ = ["Change", "Sync", "SyncStats"]

_encoder: Final = msgspec.json.Encoder()
_FORMAT: Final = "ttg_async sync checkpoint"
_VERSION: Final = 1
#: Bytes of input (previous snapshot plus staging file) per bucket of the compare phase.
_BUCKET_BYTES: Final = 8 << 20
_MAX_BUCKETS: Final = 256
#: Seconds between checkpoint saves that are flushed to the disk (every take is saved).
_FSYNC_INTERVAL: Final = 1.0


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Counts of one sync: changes by kind, records left as they were, and its crawl.

    ``added``, ``changed``, ``removed`` and ``unchanged`` count records of all three levels
    (events, occurrences, items); after a resume they count the whole sync, not this run.
    ``crawl`` is this run's [`CrawlStats`][ttg_async.CrawlStats].

    >>> print(sync.stats.added, sync.stats.changed, sync.stats.removed)
    """

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    crawl: CrawlStats = field(default_factory=CrawlStats)


# -- the checkpoint ---------------------------------------------------------------------------


class _Params(msgspec.Struct, forbid_unknown_fields=True):
    previous: str | None
    out: str
    location_ids: list[str] | None
    rate_codes: list[str | None]
    inventory: bool
    ignore_fields: list[str]


class _State(msgspec.Struct, forbid_unknown_fields=True):
    format: Literal["ttg_async sync checkpoint"]
    version: Literal[1]
    params: _Params
    phase: Literal["crawl", "compare", "done"]
    errors: list[dict[str, Any]] = []
    buckets: int = 0
    taken: int = 0
    counts: dict[str, int] = {}
    note: Any = None


def _write_atomic(path: Path, payload: bytes, *, sync: bool) -> None:
    """Replace ``path`` whole (a temporary file renamed over it); flushed to the disk when
    ``sync``. Without it a crash of the machine may lose the write, a killed process not."""
    directory = path.parent
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
            if sync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(tmp, path)
        tmp = None
        if sync:
            _fsync_directory(directory)
    except OSError as exc:
        raise CrawlStorageError(f"cannot write {path}: {exc}", path=path) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _without_request_id(line: bytes) -> bytes:
    """A line for a rate code the event does not know, without the ID of the request that
    found out: a snapshot depends on the catalog alone, not on when it was read."""
    data = msgspec.json.decode(line)
    error = data.get("error")
    if not isinstance(error, dict) or error.get("requestId") is None:
        return line
    error["requestId"] = None
    return _encoder.encode(data) + b"\n"


def _open_changes(target: Path, size: int) -> BinaryIO:
    """The changes file, cut back to the ``size`` bytes the checkpoint counts as taken."""
    try:
        file = target.open("r+b") if size else target.open("wb")
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"{target} is missing, but its sync's checkpoint counts {size} bytes in it; "
            "delete the checkpoint to start over",
            field="path",
        ) from exc
    except OSError as exc:
        raise CrawlStorageError(f"cannot open {target}: {exc}", path=target) from exc
    with contextlib.ExitStack() as guard:
        guard.callback(file.close)
        if os.fstat(file.fileno()).st_size < size:
            raise ConfigurationError(
                f"{target} is shorter than the {size} bytes its sync's checkpoint counts; "
                "delete the checkpoint to start over",
                field="path",
            )
        file.truncate(size)
        file.seek(size)
        guard.pop_all()
    return file


def _restore_error(data: dict[str, Any]) -> CrawlError:
    error = data.get("error") or {}
    message = f"{error.get('type', 'TTGError')}: {error.get('message', '')} (an earlier run)"
    return CrawlError(str(data.get("where", "")), TTGError(message))


# -- the sync ---------------------------------------------------------------------------------


class Sync:
    """A catalog crawl compared with the previous snapshot; made by
    [`TTGClient.sync`][ttg_async.TTGClient.sync].

    >>> sync = ttg.sync(previous="monday.jsonl", out="tuesday.jsonl", checkpoint="tue.ckpt")
    >>> async for change in sync:
    ...     apply(change)
    >>> print(sync.stats, sync.errors)

    Iterate it once. Changes come in a fixed order (by event, each record before what is
    beneath it) once the crawl has finished; the new snapshot is written when the loop ends.
    A change counts as taken once your loop asks for the next one: with ``checkpoint=``, a sync
    stopped at any point (``kill -9`` included) and run again with the same arguments yields
    the changes not yet taken, and writes the same snapshot byte for byte. `write_changes`
    writes them to a file exactly once.
    """

    def __init__(
        self,
        client: TTGClient,
        previous: str | os.PathLike[str] | None,
        out: str | os.PathLike[str],
        *,
        location_ids: Iterable[str] | None = None,
        rate_codes: Iterable[str | None] = (None,),
        inventory: bool = True,
        concurrency: int = 16,
        checkpoint: str | os.PathLike[str] | None = None,
        ignore_fields: Iterable[str] = (),
    ) -> None:
        if previous is not None and not isinstance(previous, str | os.PathLike):
            raise TypeError(f"previous: must be a path or None, not {type(previous).__name__}")
        if not isinstance(out, str | os.PathLike):
            raise TypeError(f"out: must be a path, not {type(out).__name__}")
        if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
            raise TypeError(f"checkpoint: must be a path or None, not {type(checkpoint).__name__}")
        self._client = client
        self._previous = None if previous is None else Path(previous)
        self._out = Path(out)
        ignore = list(ignore_fields) if not isinstance(ignore_fields, str | bytes) else None
        self._canon = Canon(parse_ignore(ignore_fields if ignore is None else ignore))
        self._crawl_args: dict[str, Any] = {
            "rate_codes": list(rate_codes) if not isinstance(rate_codes, str) else rate_codes,
            "inventory": inventory,
            "concurrency": concurrency,
        }
        ids = None if location_ids is None or isinstance(location_ids, str) else list(location_ids)
        self._location_ids = location_ids if ids is None else ids
        # Checked now, before any request: a crawl that never runs.
        Crawl(client, self._location_ids, **self._crawl_args)
        self._params = _Params(
            previous=None if self._previous is None else str(self._previous),
            out=str(self._out),
            location_ids=ids,
            rate_codes=self._crawl_args["rate_codes"],
            inventory=inventory,
            ignore_fields=ignore or [],
        )
        self._checkpoint = None if checkpoint is None else Path(checkpoint)
        self._state: _State | None = None
        self._crawl: Crawl | None = None
        self._counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
        self._started = False
        self._phase = "not started"
        self._buckets_done = 0
        self._previous_split = False  # the old-K files were written by this run
        self._last_fsync = 0.0
        self.errors: list[CrawlError] = []
        """Per-unit failures of the crawl (see [`CrawlError`][ttg_async.CrawlError])."""

    def __repr__(self) -> str:
        return f"<Sync {self._phase} out={str(self._out)!r} errors={len(self.errors)}>"

    @property
    def stats(self) -> SyncStats:
        """The counts so far (a snapshot; read it again for fresh numbers)."""
        crawl = self._crawl.stats if self._crawl is not None else CrawlStats()
        return SyncStats(crawl=crawl, **self._counts)

    @property
    def progress(self) -> tuple[str, int, int | None]:
        """``(phase, done, total)`` for a progress bar: ``("crawl", records, None)``, then
        ``("compare", buckets done, buckets)``, then ``("done", 1, 1)``.

        >>> phase, done, total = sync.progress
        """
        if self._phase == "crawl":
            records = self._crawl.stats.records if self._crawl is not None else 0
            return "crawl", records, None
        if self._phase == "compare":
            buckets = self._state.buckets if self._state is not None else 0
            return "compare", self._buckets_done, buckets or None
        return self._phase, int(self._phase == "done"), 1

    # -- the checkpoint ---------------------------------------------------------------------

    @property
    def _work(self) -> Path:
        base = self._checkpoint if self._checkpoint is not None else self._out
        return base.with_name(base.name + ".work")

    def _load(self) -> _State | None:
        if self._checkpoint is None:
            return None
        try:
            raw = self._checkpoint.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read {self._checkpoint}: {exc}", field="checkpoint"
            ) from exc
        try:
            state = msgspec.json.decode(raw, type=_State)
        except msgspec.DecodeError as exc:
            raise ConfigurationError(
                f"{self._checkpoint} is not a usable sync checkpoint ({exc}); delete it to "
                "start over",
                field="checkpoint",
            ) from exc
        if state.params != self._params:
            raise ConfigurationError(
                f"{self._checkpoint} was written by a sync with other arguments "
                f"({msgspec.structs.asdict(state.params)}); use another path, or delete it "
                "to start over",
                field="checkpoint",
            )
        return state

    def _save(self, *, sync: bool = True) -> None:
        if self._checkpoint is None or self._state is None:
            return
        now = time.monotonic()
        sync = sync or now - self._last_fsync >= _FSYNC_INTERVAL
        if sync:
            self._last_fsync = now
        _write_atomic(self._checkpoint, _encoder.encode(self._state), sync=sync)

    # -- running ----------------------------------------------------------------------------

    async def __aiter__(self) -> AsyncGenerator[Change, None]:
        async with contextlib.aclosing(self._run(None)) as changes:
            async for change in changes:
                yield change

    async def write_changes(self, path: str | os.PathLike[str]) -> None:
        """Run the sync into a JSON Lines file of changes (`Change.to_dict`), each exactly once
        across interruptions: the file's length is kept in the checkpoint with the count of
        changes taken, and a resumed sync cuts the file back to it.

        >>> sync = ttg.sync(previous="mon.jsonl", out="tue.jsonl", checkpoint="tue.ckpt")
        >>> await sync.write_changes("changes.jsonl")  # killed? run the same two lines again
        """
        target = Path(path)
        state = self._load()
        size = 0
        if state is not None and isinstance(state.note, dict):
            size = int(state.note.get("changes bytes", 0))
        file = _open_changes(target, size)
        with file:

            def note() -> dict[str, int]:
                file.flush()
                return {"changes bytes": file.tell()}

            async with contextlib.aclosing(self._run(note)) as changes:
                async for change in changes:
                    try:
                        file.write(_encoder.encode(change.to_dict()) + b"\n")
                    except OSError as exc:
                        raise CrawlStorageError(
                            f"cannot write {target}: {exc}", path=target
                        ) from exc
            file.flush()
            os.fsync(file.fileno())

    async def _run(self, note: Callable[[], dict[str, int]] | None) -> AsyncGenerator[Change, None]:
        if self._started:
            raise RuntimeError("a sync runs once; call ttg.sync(...) again for a new one")
        self._started = True
        state = self._load()
        if state is None or (state.phase == "crawl" and not self._work.exists()):
            state = _State(_FORMAT, _VERSION, self._params, "crawl", note={"changes bytes": 0})
            shutil.rmtree(self._work, ignore_errors=True)
        if state.phase != "done":
            self._work.mkdir(parents=True, exist_ok=True)
        self._state = state
        self._save()
        try:
            if state.phase == "crawl":
                await self._crawl_phase()
            if state.phase == "compare":
                async for change in self._compare_phase(note):
                    yield change
            elif state.phase == "done":
                shutil.rmtree(self._work, ignore_errors=True)  # if stopped before it went
                self._counts.update(state.counts)
                self.errors = [_restore_error(e) for e in state.errors]
            self._phase = "done"
        finally:
            if self._checkpoint is None:
                shutil.rmtree(self._work, ignore_errors=True)

    async def _crawl_phase(self) -> None:
        state = self._state
        assert state is not None
        self._phase = "crawl"
        if self._previous is not None and not state.buckets:
            # Tonight's file is about as large as last night's: both count.
            size = 2 * self._previous.stat().st_size
            state.buckets = max(1, min(_MAX_BUCKETS, -(-size // _BUCKET_BYTES)))
            self._save()
        crawl = self._crawl = self._client.crawl(
            self._location_ids, checkpoint=self._work / "crawl.checkpoint", **self._crawl_args
        )
        # The previous snapshot is split into buckets meanwhile, in a thread: the crawl waits
        # on the network most of the time, and this needs nothing from tonight.
        splitting = None
        if state.buckets:
            splitting = asyncio.ensure_future(
                asyncio.to_thread(self._split_previous, state.buckets)
            )
        try:
            await crawl.write_jsonl(self._work / "crawl.jsonl", resume=True)
        finally:
            if splitting is not None:
                await asyncio.wait({splitting})  # never leave the thread writing behind us
        assert splitting is None or splitting.done()
        if splitting is not None:
            splitting.result()  # its error, if any
            self._previous_split = True
        self.errors = list(crawl.errors)
        state.errors = [failure.to_dict() for failure in crawl.errors]
        state.phase = "compare"
        self._save()

    async def _compare_phase(
        self, note: Callable[[], dict[str, int]] | None
    ) -> AsyncGenerator[Change, None]:
        state = self._state
        assert state is not None
        self._phase = "compare"
        if not self.errors:
            self.errors = [_restore_error(e) for e in state.errors]
        staging = self._work / "crawl.jsonl"
        if not state.buckets:
            size = staging.stat().st_size
            if self._previous is not None:
                size += self._previous.stat().st_size
            state.buckets = max(1, min(_MAX_BUCKETS, -(-size // _BUCKET_BYTES)))
        if not self._previous_split:
            self._split_previous(state.buckets)
        self._split_new(staging, state.buckets, Unsure(e["where"] for e in state.errors))
        tmp = self._work / "snapshot.tmp"
        seq = 0
        with tmp.open("wb") as snapshot:
            for bucket in range(state.buckets):
                self._buckets_done = bucket
                old, new = Side(), Side()
                before = list(self._bucket_lines("old", bucket))
                after = list(self._bucket_lines("new", bucket))
                # Most lines of a night are as they were: those are not hashed at all.
                # (Their records go on the new side only, first, so every event and
                # occurrence they name counts as present on both sides.)
                same = set(after).intersection(before)
                for line in before:
                    if line not in same:
                        old.add(line, self._canon)
                del before
                keyed = []
                for line in after:
                    if line in same:
                        event_id, occurrence_id, code = new.add_same(line)
                        keyed.append((crc(event_id), event_id, occurrence_id, code_key(code), line))
                for line in after:
                    if line not in same:
                        event_id, occurrence_id, code = new.add(line, self._canon)
                        keyed.append((crc(event_id), event_id, occurrence_id, code_key(code), line))
                del after, same
                keyed.sort()
                snapshot.writelines(entry[4] for entry in keyed)
                del keyed
                for change in compare_bucket(old, new, self._canon, self._counts):
                    seq += 1
                    if seq <= state.taken:
                        continue  # taken before an interruption
                    yield change
                    state.taken = seq
                    if note is not None:
                        state.note = note()
                    self._save(sync=False)
            self._buckets_done = state.buckets
            snapshot.flush()
            os.fsync(snapshot.fileno())
        os.replace(tmp, self._out)
        _fsync_directory(self._out.parent)
        state.phase = "done"
        state.counts = dict(self._counts)
        self._save()
        shutil.rmtree(self._work, ignore_errors=True)

    def _bucket_lines(self, side: str, bucket: int) -> Iterator[bytes]:
        path = self._work / f"{side}-{bucket}.jsonl"
        if not path.exists():
            return
        with path.open("rb") as file:
            yield from file

    def _split_previous(self, buckets: int) -> None:
        """The previous snapshot into ``old-K.jsonl`` bucket files (run in a thread while the
        crawl runs: it needs nothing from tonight)."""
        work = self._work
        for stale in work.glob("old-*.jsonl"):
            stale.unlink()
        if self._previous is None:
            return
        with contextlib.ExitStack() as stack:
            files = [
                stack.enter_context((work / f"old-{k}.jsonl").open("wb")) for k in range(buckets)
            ]
            for line, event_id, _ in self._previous_lines(stack):
                files[bucket_of(event_id, buckets)].write(line)

    def _previous_lines(
        self, stack: contextlib.ExitStack
    ) -> Iterator[tuple[bytes, str, Line | None]]:
        assert self._previous is not None
        try:
            previous = stack.enter_context(self._previous.open("rb"))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read {self._previous}: {exc}", field="previous"
            ) from exc
        for number, line in enumerate(previous, 1):
            if not line.strip():
                continue
            if not line.endswith(b"\n"):
                line += b"\n"
            try:
                event_id = event_id_of(line)
            except (msgspec.DecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ConfigurationError(
                    f"{self._previous} line {number} is not a snapshot record: {exc}",
                    field="previous",
                ) from exc
            yield line, event_id, None

    def _split_new(self, staging: Path, buckets: int, unsure: Unsure) -> None:
        """Tonight's records into ``new-K.jsonl``, with the previous records that a failed unit
        leaves unknown carried forward."""
        work = self._work
        for stale in work.glob("new-*.jsonl"):
            stale.unlink()
        seen_events: set[str] = set()
        seen_locations: set[str] = set()
        seen_units: set[tuple[str, str, str | None]] = set()
        with contextlib.ExitStack() as stack:
            files = [
                stack.enter_context((work / f"new-{k}.jsonl").open("wb")) for k in range(buckets)
            ]
            with staging.open("rb") as file:
                for line in file:
                    if b'"error":' in line:
                        line = _without_request_id(line)
                    if unsure:
                        record = read_line.decode(line)
                        event_id = raw_id(record.event)
                        occurrence_id = raw_id(record.occurrence)
                        seen_events.add(event_id)
                        seen_locations.add(record.locationId)
                        if event_id in unsure.events or occurrence_id in unsure.occurrences:
                            seen_units.add((event_id, occurrence_id, record.rateCode))
                    else:
                        event_id = event_id_of(line)
                    files[bucket_of(event_id, buckets)].write(line)
            if self._previous is None or not unsure:
                return
            for line, event_id, _ in self._previous_lines(stack):
                record = read_line.decode(line)
                if self._carried(record, event_id, unsure, seen_events,
                                 seen_locations, seen_units):  # fmt: skip
                    files[bucket_of(event_id, buckets)].write(line)

    @staticmethod
    def _carried(
        record: Line,
        event_id: str,
        unsure: Unsure,
        seen_events: set[str],
        seen_locations: set[str],
        seen_units: set[tuple[str, str, str | None]],
    ) -> bool:
        """Whether a previous record lies beneath a unit that failed in this run."""
        if event_id not in seen_events:
            location = record.locationId
            if location in unsure.locations or (
                unsure.all_locations and location not in seen_locations
            ):
                return True
        occurrence_id = raw_id(record.occurrence)
        if event_id in unsure.events or occurrence_id in unsure.occurrences:
            return (event_id, occurrence_id, record.rateCode) not in seen_units
        return False
