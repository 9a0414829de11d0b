"""Comparing two snapshots, without I/O: lines in, changes out.

A snapshot line (one occurrence at one rate code, `CatalogRecord.to_dict`) is read with its
event, occurrence and items left as bytes (`Line`), so hashing needs no Python objects.
`Side` indexes one side of a bucket (per level, key -> content hash and where the record
is); `compare_bucket` turns two sides into `Change` objects in key order. Content hashes
ignore key order and the ignored fields (`Canon`); `diff_paths` names what changed.
`Unsure` reads what a run's failed units leave unknown. `ttg_async._ttg.sync` does the I/O.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import msgspec

__all__ = [
    "LEVELS", "Canon", "Change", "ChangeKind", "Key", "Level", "Line", "Side", "Unsure",
    "bucket_of", "code_key", "compare_bucket", "crc", "diff_paths", "event_id_of",
    "parse_ignore", "raw_id", "read_line", "sort_key",
]  # fmt: skip

ChangeKind: TypeAlias = Literal["added", "changed", "removed"]
Level: TypeAlias = Literal["event", "occurrence", "item"]
Key: TypeAlias = tuple[str | None, ...]


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


# -- reading snapshot lines -------------------------------------------------------------------


class Line(msgspec.Struct):
    """A snapshot line with its parts left as bytes: hashing needs no Python objects."""

    locationId: str
    event: msgspec.Raw
    occurrence: msgspec.Raw
    rateCode: str | None = None
    items: list[msgspec.Raw] | None = None
    error: dict[str, Any] | None = None


class Ided(msgspec.Struct):
    id: str


read_line: Final = msgspec.json.Decoder(Line)
read_id: Final = msgspec.json.Decoder(Ided)


class EventOnly(msgspec.Struct):
    event: Ided


read_event: Final = msgspec.json.Decoder(EventOnly)


class Keys(msgspec.Struct):
    """The IDs of a snapshot line, and its items left undecoded."""

    event: Ided
    occurrence: Ided
    rateCode: str | None = None
    items: list[msgspec.Raw] | None = None


read_keys: Final = msgspec.json.Decoder(Keys)


def raw_id(raw: bytes | msgspec.Raw) -> str:
    return read_id.decode(raw).id


def event_id_of(line: bytes) -> str:
    return read_event.decode(line).event.id


def code_key(code: str | None) -> str:
    return "" if code is None else "\x00" + code


def crc(event_id: str) -> int:
    return zlib.crc32(event_id.encode())


def bucket_of(event_id: str, buckets: int) -> int:
    """Ranges of the event's CRC, so the order of the output (by CRC, then by IDs) is the same
    whatever the number of buckets."""
    return crc(event_id) * buckets >> 32


# -- ignored fields and changed paths ---------------------------------------------------------

PathParts: TypeAlias = tuple[str, ...]  # "priceOptions", "[]", "sellPrice"; "[3]" for one index


def parse_ignore(paths: Iterable[str]) -> list[PathParts]:
    """``"priceOptions[].sellPrice"`` as ``("priceOptions", "[]", "sellPrice")``."""
    if isinstance(paths, str | bytes):
        raise TypeError("ignore_fields: must be an iterable of paths, not a single str")
    out: list[PathParts] = []
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


def strip_path(value: Any, path: PathParts) -> None:
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
                strip_path(value[i], rest)
    elif isinstance(value, dict) and head in value:
        if rest:
            strip_path(value[head], rest)
        else:
            del value[head]


def diff_paths(before: Any, after: Any, prefix: str, out: list[str]) -> None:
    """The JSON paths where ``before`` and ``after`` differ, leaves first found first."""
    if isinstance(before, dict) and isinstance(after, dict):
        for name in sorted(before.keys() | after.keys()):
            where = f"{prefix}.{name}" if prefix else name
            if name not in before or name not in after:
                out.append(where)
            else:
                diff_paths(before[name], after[name], where, out)
    elif isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            if i >= len(before) or i >= len(after):
                out.append(f"{prefix}[{i}]")
            else:
                diff_paths(before[i], after[i], f"{prefix}[{i}]", out)
    elif before != after or type(before) is not type(after):
        out.append(prefix)


class Canon:
    """Content hashes that ignore key order and the ignored fields."""

    def __init__(self, ignore: list[PathParts]) -> None:
        self.ignore = ignore

    def load(self, raw: bytes) -> Any:
        value = msgspec.json.decode(raw)
        for path in self.ignore:
            strip_path(value, path)
        return value

    def hash(self, raw: bytes) -> bytes:
        if self.ignore:
            raw = msgspec.json.encode(self.load(raw), order="sorted")
        return hashlib.blake2b(raw, digest_size=8).digest()

    def fields(self, before: bytes, after: bytes) -> list[str]:
        """The changed paths; empty when the records differ only in key order or ignored
        fields (the fast hash is over the bytes as written, so it can differ then)."""
        out: list[str] = []
        diff_paths(self.load(before), self.load(after), "", out)
        return out


# -- one bucket ---------------------------------------------------------------------------


class Side:
    """One side of a bucket: lines, and per level ``key -> (hash, line, position)``."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.events: dict[Key, tuple[bytes, int, int]] = {}
        self.occurrences: dict[Key, tuple[bytes, int, int]] = {}
        self.items: dict[Key, tuple[bytes, int, int]] = {}
        self.same_items = 0  # items of lines found alike on both sides

    def add(self, line: bytes, canon: Canon) -> tuple[str, str, str | None]:
        record = read_line.decode(line)
        number = len(self.lines)
        self.lines.append(line)
        event_id = raw_id(record.event)
        occurrence_id = raw_id(record.occurrence)
        code = record.rateCode
        key: Key = (event_id,)
        if key not in self.events:
            self.events[key] = (canon.hash(record.event), number, -1)
        key = (event_id, occurrence_id)
        if key not in self.occurrences:
            self.occurrences[key] = (canon.hash(record.occurrence), number, -1)
        for position, item in enumerate(record.items or ()):
            key = (event_id, occurrence_id, code, raw_id(item))
            self.items[key] = (canon.hash(item), number, position)
        return event_id, occurrence_id, code

    def add_same(self, line: bytes) -> tuple[str, str, str | None]:
        """A line found byte for byte on both sides, added to the new side only: its records
        are unchanged, so nothing is hashed (a hash is made later only if a changed line of
        the old side names the same event or occurrence); its items are only counted."""
        keys = read_keys.decode(line)
        number = len(self.lines)
        self.lines.append(line)
        event_id, occurrence_id = keys.event.id, keys.occurrence.id
        self.events.setdefault((event_id,), (b"", number, -1))
        self.occurrences.setdefault((event_id, occurrence_id), (b"", number, -1))
        self.same_items += len(keys.items or ())
        return event_id, occurrence_id, keys.rateCode

    def digest(self, level: Level, ref: tuple[bytes, int, int], canon: Canon) -> bytes:
        return ref[0] or canon.hash(self.raw(level, ref))

    def index(self, level: Level) -> dict[Key, tuple[bytes, int, int]]:
        if level == "event":
            return self.events
        return self.occurrences if level == "occurrence" else self.items

    def raw(self, level: Level, ref: tuple[bytes, int, int]) -> bytes:
        record = read_line.decode(self.lines[ref[1]])
        if level == "event":
            return bytes(record.event)
        if level == "occurrence":
            return bytes(record.occurrence)
        assert record.items is not None
        return bytes(record.items[ref[2]])


LEVELS: Final[tuple[Level, ...]] = ("event", "occurrence", "item")


def sort_key(key: Key) -> tuple[int | str, ...]:
    first = crc(str(key[0]))
    if len(key) == 4:
        return (first, str(key[0]), str(key[1]), code_key(key[2]), str(key[3]))
    return (first, *(str(part) for part in key))


def compare_bucket(old: Side, new: Side, canon: Canon, counts: dict[str, int]) -> Iterator[Change]:
    """The changes of one bucket, in key order (each event before what is beneath it)."""
    plan: list[tuple[tuple[int | str, ...], Level, Key, ChangeKind]] = []
    counts["unchanged"] += new.same_items
    for level in LEVELS:
        before_index, after_index = old.index(level), new.index(level)
        for key, ref in after_index.items():
            was = before_index.get(key)
            if was is None:
                if not ref[0]:  # named by a line that is on both sides
                    counts["unchanged"] += 1
                    continue
                plan.append((sort_key(key), level, key, "added"))
            elif was[0] != ref[0] and old.digest(level, was, canon) != new.digest(
                level, ref, canon
            ):
                plan.append((sort_key(key), level, key, "changed"))
            else:
                counts["unchanged"] += 1
        for key in before_index.keys() - after_index.keys():
            plan.append((sort_key(key), level, key, "removed"))
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


class Unsure:
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
