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
import hashlib
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal, TypeAlias

import msgspec

from ttg_async._core.errors import ConfigurationError, TTGError
from ttg_async._ttg.crawl import Crawl, CrawlError, CrawlStats, CrawlStorageError

if TYPE_CHECKING:
    from ttg_async._ttg.client import TTGClient

__all__ = ["Change", "Sync", "SyncStats"]

ChangeKind: TypeAlias = Literal["added", "changed", "removed"]
Level: TypeAlias = Literal["event", "occurrence", "item"]
Key: TypeAlias = tuple[str | None, ...]

_FORMAT: Final = "ttg_async sync checkpoint"
_VERSION: Final = 1
#: Bytes of input (previous snapshot plus staging file) per bucket of the compare phase.
_BUCKET_BYTES: Final = 8 << 20
_MAX_BUCKETS: Final = 256
#: Seconds between checkpoint saves that are flushed to the disk (every take is saved).
_FSYNC_INTERVAL: Final = 1.0


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the previous snapshot and the catalog now.

    ``kind`` is ``"added"``, ``"changed"`` or ``"removed"``; ``level`` is ``"event"``,
    ``"occurrence"`` or ``"item"`` (an inventory item at one rate code); ``key`` is
    ``(event_id,)``, ``(event_id, occurrence_id)`` or ``(event_id, occurrence_id, rate_code,
    item_id)`` (``rate_code`` is ``None`` for the default tier). ``before`` and ``after`` are
    the record's JSON in wire names (``None`` where absent); ``fields`` lists the changed
    JSON paths of a ``"changed"`` record, such as ``priceOptions[0].sellPrice.amount``.

    >>> async for change in ttg.sync(previous="monday.jsonl", out="tuesday.jsonl"):
    ...     print(change.kind, change.level, change.key, change.fields)
    """

    kind: ChangeKind
    level: Level
    key: Key
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "level", "key", "before", "after", "fields"}``: one line of
        `Sync.write_changes` (and of ``ttg sync --changes``).

        >>> json.dumps(change.to_dict())
        """
        return {
            "kind": self.kind,
            "level": self.level,
            "key": list(self.key),
            "before": self.before,
            "after": self.after,
            "fields": list(self.fields),
        }


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


# -- reading snapshot lines -------------------------------------------------------------------


class _Line(msgspec.Struct):
    """A snapshot line with its parts left as bytes: hashing needs no Python objects."""

    locationId: str
    event: msgspec.Raw
    occurrence: msgspec.Raw
    rateCode: str | None = None
    items: list[msgspec.Raw] | None = None
    error: dict[str, Any] | None = None


class _Ided(msgspec.Struct):
    id: str


_read_line: Final = msgspec.json.Decoder(_Line)
_read_id: Final = msgspec.json.Decoder(_Ided)
_encoder: Final = msgspec.json.Encoder()


class _EventOnly(msgspec.Struct):
    event: _Ided


_read_event: Final = msgspec.json.Decoder(_EventOnly)


class _Keys(msgspec.Struct):
    """The IDs of a snapshot line, and its items left undecoded."""

    event: _Ided
    occurrence: _Ided
    rateCode: str | None = None
    items: list[msgspec.Raw] | None = None


_read_keys: Final = msgspec.json.Decoder(_Keys)


def _raw_id(raw: bytes | msgspec.Raw) -> str:
    return _read_id.decode(raw).id


def _event_id(line: bytes) -> str:
    return _read_event.decode(line).event.id


def _code_key(code: str | None) -> str:
    return "" if code is None else "\x00" + code


def _crc(event_id: str) -> int:
    return zlib.crc32(event_id.encode())


def _bucket(event_id: str, buckets: int) -> int:
    """Ranges of the event's CRC, so the order of the output (by CRC, then by IDs) is the same
    whatever the number of buckets."""
    return _crc(event_id) * buckets >> 32


# -- ignored fields and changed paths ---------------------------------------------------------

_Path: TypeAlias = tuple[str, ...]  # "priceOptions", "[]", "sellPrice"; "[3]" for one index


def parse_ignore(paths: Iterable[str]) -> list[_Path]:
    """``"priceOptions[].sellPrice"`` as ``("priceOptions", "[]", "sellPrice")``."""
    if isinstance(paths, str | bytes):
        raise TypeError("ignore_fields: must be an iterable of paths, not a single str")
    out: list[_Path] = []
    for index, text in enumerate(paths):
        if not isinstance(text, str) or not text:
            raise ValueError(f"ignore_fields[{index}]: must be a non-empty path like 'a.b[].c'")
        parts: list[str] = []
        for piece in text.split("."):
            name, bracket, rest = piece.partition("[")
            if not name and not (parts and bracket):
                raise ValueError(f"ignore_fields[{index}]: {text!r} has an empty name")
            if name:
                parts.append(name)
            while bracket:
                inner, _, after = rest.partition("]")
                if inner and not inner.isdigit():
                    raise ValueError(f"ignore_fields[{index}]: {text!r}: [{inner}] is no index")
                parts.append(f"[{inner}]")
                if after and not after.startswith("["):
                    raise ValueError(f"ignore_fields[{index}]: {text!r} is not a path")
                bracket, rest = after[:1], after[1:]
        out.append(tuple(parts))
    return out


def _strip(value: Any, path: _Path) -> None:
    """Remove what ``path`` names from ``value``, in place."""
    head, rest = path[0], path[1:]
    if head.startswith("["):
        if not isinstance(value, list):
            return
        indexes = range(len(value)) if head == "[]" else [int(head[1:-1])]
        if not rest:
            if head == "[]":
                value.clear()
            elif indexes[0] < len(value):
                value[indexes[0]] = None
            return
        for i in indexes:
            if i < len(value):
                _strip(value[i], rest)
    elif isinstance(value, dict) and head in value:
        if rest:
            _strip(value[head], rest)
        else:
            del value[head]


def _diff(before: Any, after: Any, prefix: str, out: list[str]) -> None:
    """The JSON paths where ``before`` and ``after`` differ, leaves first found first."""
    if isinstance(before, dict) and isinstance(after, dict):
        for name in sorted(before.keys() | after.keys()):
            where = f"{prefix}.{name}" if prefix else name
            if name not in before or name not in after:
                out.append(where)
            else:
                _diff(before[name], after[name], where, out)
    elif isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            if i >= len(before) or i >= len(after):
                out.append(f"{prefix}[{i}]")
            else:
                _diff(before[i], after[i], f"{prefix}[{i}]", out)
    elif before != after or type(before) is not type(after):
        out.append(prefix)


class _Canon:
    """Content hashes that ignore key order and the ignored fields."""

    def __init__(self, ignore: list[_Path]) -> None:
        self.ignore = ignore

    def load(self, raw: bytes) -> Any:
        value = msgspec.json.decode(raw)
        for path in self.ignore:
            _strip(value, path)
        return value

    def hash(self, raw: bytes) -> bytes:
        if self.ignore:
            raw = msgspec.json.encode(self.load(raw), order="sorted")
        return hashlib.blake2b(raw, digest_size=8).digest()

    def fields(self, before: bytes, after: bytes) -> list[str]:
        """The changed paths; empty when the records differ only in key order or ignored
        fields (the fast hash is over the bytes as written, so it can differ then)."""
        out: list[str] = []
        _diff(self.load(before), self.load(after), "", out)
        return out


# -- one bucket ---------------------------------------------------------------------------


class _Side:
    """One side of a bucket: lines, and per level ``key -> (hash, line, position)``."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.events: dict[Key, tuple[bytes, int, int]] = {}
        self.occurrences: dict[Key, tuple[bytes, int, int]] = {}
        self.items: dict[Key, tuple[bytes, int, int]] = {}
        self.same_items = 0  # items of lines found alike on both sides

    def add(self, line: bytes, canon: _Canon) -> tuple[str, str, str | None]:
        record = _read_line.decode(line)
        number = len(self.lines)
        self.lines.append(line)
        event_id = _raw_id(record.event)
        occurrence_id = _raw_id(record.occurrence)
        code = record.rateCode
        key: Key = (event_id,)
        if key not in self.events:
            self.events[key] = (canon.hash(record.event), number, -1)
        key = (event_id, occurrence_id)
        if key not in self.occurrences:
            self.occurrences[key] = (canon.hash(record.occurrence), number, -1)
        for position, item in enumerate(record.items or ()):
            key = (event_id, occurrence_id, code, _raw_id(item))
            self.items[key] = (canon.hash(item), number, position)
        return event_id, occurrence_id, code

    def add_same(self, line: bytes) -> tuple[str, str, str | None]:
        """A line found byte for byte on both sides, added to the new side only: its records
        are unchanged, so nothing is hashed (a hash is made later only if a changed line of
        the old side names the same event or occurrence); its items are only counted."""
        keys = _read_keys.decode(line)
        number = len(self.lines)
        self.lines.append(line)
        event_id, occurrence_id = keys.event.id, keys.occurrence.id
        self.events.setdefault((event_id,), (b"", number, -1))
        self.occurrences.setdefault((event_id, occurrence_id), (b"", number, -1))
        self.same_items += len(keys.items or ())
        return event_id, occurrence_id, keys.rateCode

    def digest(self, level: Level, ref: tuple[bytes, int, int], canon: _Canon) -> bytes:
        return ref[0] or canon.hash(self.raw(level, ref))

    def index(self, level: Level) -> dict[Key, tuple[bytes, int, int]]:
        if level == "event":
            return self.events
        return self.occurrences if level == "occurrence" else self.items

    def raw(self, level: Level, ref: tuple[bytes, int, int]) -> bytes:
        record = _read_line.decode(self.lines[ref[1]])
        if level == "event":
            return bytes(record.event)
        if level == "occurrence":
            return bytes(record.occurrence)
        assert record.items is not None
        return bytes(record.items[ref[2]])


_LEVELS: Final[tuple[Level, ...]] = ("event", "occurrence", "item")


def _sort_key(key: Key) -> tuple[int | str, ...]:
    crc = _crc(str(key[0]))
    if len(key) == 4:
        return (crc, str(key[0]), str(key[1]), _code_key(key[2]), str(key[3]))
    return (crc, *(str(part) for part in key))


def _compare_bucket(
    old: _Side, new: _Side, canon: _Canon, counts: dict[str, int]
) -> Iterator[Change]:
    """The changes of one bucket, in key order (each event before what is beneath it)."""
    plan: list[tuple[tuple[int | str, ...], Level, Key, ChangeKind]] = []
    counts["unchanged"] += new.same_items
    for level in _LEVELS:
        before_index, after_index = old.index(level), new.index(level)
        for key, ref in after_index.items():
            was = before_index.get(key)
            if was is None:
                if not ref[0]:  # named by a line that is on both sides
                    counts["unchanged"] += 1
                    continue
                plan.append((_sort_key(key), level, key, "added"))
            elif was[0] != ref[0] and old.digest(level, was, canon) != new.digest(
                level, ref, canon
            ):
                plan.append((_sort_key(key), level, key, "changed"))
            else:
                counts["unchanged"] += 1
        for key in before_index.keys() - after_index.keys():
            plan.append((_sort_key(key), level, key, "removed"))
    plan.sort(key=lambda entry: entry[0])
    for _, level, key, kind in plan:
        before = after = None
        fields: tuple[str, ...] = ()
        if kind != "added":
            before = old.raw(level, old.index(level)[key])
        if kind != "removed":
            after = new.raw(level, new.index(level)[key])
        if before is not None and after is not None:
            fields = tuple(canon.fields(before, after))
            if not fields:
                counts["unchanged"] += 1
                continue
        counts[kind] += 1
        yield Change(
            kind,
            level,
            key,
            None if before is None else msgspec.json.decode(before),
            None if after is None else msgspec.json.decode(after),
            fields,
        )


# -- failures: what cannot be removed --------------------------------------------------------


class _Unsure:
    """What the failed units of a run leave unknown, from ``CrawlError.where``.

    An ID holding a space makes ``where`` ambiguous (``location 3 offset 1000``): both
    readings are kept, which can only keep more, never remove more.
    """

    def __init__(self, errors: Iterable[str]) -> None:
        self.all_locations = False
        self.locations: set[str] = set()
        self.events: set[str] = set()
        self.occurrences: set[str] = set()
        for where in errors:
            kind, _, rest = where.partition(" ")
            if kind == "locations":
                self.all_locations = True
            elif kind == "location":
                self.locations.add(rest)
                self.locations.add(rest.rsplit(" offset ", 1)[0])
            elif kind == "event":
                self.events.add(rest)
            elif kind == "occurrence":
                self.occurrences.add(rest)
                self.occurrences.add(rest.rsplit(" rate_code ", 1)[0])

    def __bool__(self) -> bool:
        return bool(self.all_locations or self.locations or self.events or self.occurrences)


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
        self._canon = _Canon(parse_ignore(ignore_fields if ignore is None else ignore))
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
        self._split_new(staging, state.buckets, _Unsure(e["where"] for e in state.errors))
        tmp = self._work / "snapshot.tmp"
        seq = 0
        with tmp.open("wb") as snapshot:
            for bucket in range(state.buckets):
                self._buckets_done = bucket
                old, new = _Side(), _Side()
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
                        keyed.append(
                            (_crc(event_id), event_id, occurrence_id, _code_key(code), line)
                        )
                for line in after:
                    if line not in same:
                        event_id, occurrence_id, code = new.add(line, self._canon)
                        keyed.append(
                            (_crc(event_id), event_id, occurrence_id, _code_key(code), line)
                        )
                del after, same
                keyed.sort()
                snapshot.writelines(entry[4] for entry in keyed)
                del keyed
                for change in _compare_bucket(old, new, self._canon, self._counts):
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
                files[_bucket(event_id, buckets)].write(line)

    def _previous_lines(
        self, stack: contextlib.ExitStack
    ) -> Iterator[tuple[bytes, str, _Line | None]]:
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
                event_id = _event_id(line)
            except (msgspec.DecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ConfigurationError(
                    f"{self._previous} line {number} is not a snapshot record: {exc}",
                    field="previous",
                ) from exc
            yield line, event_id, None

    def _split_new(self, staging: Path, buckets: int, unsure: _Unsure) -> None:
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
                        record = _read_line.decode(line)
                        event_id = _raw_id(record.event)
                        occurrence_id = _raw_id(record.occurrence)
                        seen_events.add(event_id)
                        seen_locations.add(record.locationId)
                        if event_id in unsure.events or occurrence_id in unsure.occurrences:
                            seen_units.add((event_id, occurrence_id, record.rateCode))
                    else:
                        event_id = _event_id(line)
                    files[_bucket(event_id, buckets)].write(line)
            if self._previous is None or not unsure:
                return
            for line, event_id, _ in self._previous_lines(stack):
                record = _read_line.decode(line)
                if self._carried(record, event_id, unsure, seen_events,
                                 seen_locations, seen_units):  # fmt: skip
                    files[_bucket(event_id, buckets)].write(line)

    @staticmethod
    def _carried(
        record: _Line,
        event_id: str,
        unsure: _Unsure,
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
        occurrence_id = _raw_id(record.occurrence)
        if event_id in unsure.events or occurrence_id in unsure.occurrences:
            return (event_id, occurrence_id, record.rateCode) not in seen_units
        return False
