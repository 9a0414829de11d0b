"""Tolerant decoding: msgspec's speed, plus a fallback member for unknown ``_type`` tags.

msgspec has no fallback member for unknown tags, so decoding runs in stages. The strict
Decoder handles every body whose tags are all known, at full speed. When it reports a tag no
member claims, the cheapest sound path wins:

1. **Retag** (`_Retag`, for types with one fallback member): the tag is learned, the
   body's ``"_type": "<tag>"`` pairs are rewritten in the bytes to the fallback member, and
   the strict Decoder runs again. Once a tag is learned, later bodies are retagged before the
   strict Decoder sees them. The rewrite is checked (one fallback member per rewrite, no
   fallback tag in the original body); on any doubt the next stages run.
2. **Split** (`_Split`, for list envelopes): only the odd items of the list take the
   slow path.
3. **Walk**: decode the body to builtins, walk it alongside the target type, and point every
   unknown tag of a union that has a fallback member at that member (keeping the original
   value under the member's ``type`` key); msgspec.convert finishes the job, and its errors
   carry the same ``$.path`` as the decoder's. If nothing was rewritten, the original error
   was a real schema error and is raised as is.

`TolerantDecoder.lenient` adds a second pass for answers that must not fail on their
shape (see ``docs/contract.md``). A field with a default is not promised by the docs: when its
value does not fit, the repair pass drops it from the builtins (so it takes its default) and
converts again, until the body fits or the error lies on a path made only of promised fields,
which is raised. A list is kept or dropped whole, never thinned, so no receipt loses a line
silently. The strict fast path (``__call__``) is untouched by all this.

>>> from ttg_async._ttg.models import ListEnvelope, Location
>>> decode = decoder_for(ListEnvelope[Location])
>>> decode(b'{"data": [{"id": "1", "name": "New York", "country": "US"}]}').data
[Location(id='1', name='New York', country='US')]
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any, Final, Generic, TypeAlias, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = [
    "TolerantDecoder",
    "decoder_for",
    "error_path",
    "register_fallback",
    "too_deep",
    "warn_repaired",
]

T = TypeVar("T")
S = TypeVar("S")

#: Fallback class -> name of its field that receives the original ``_type``. Each API's
#: models register theirs with :func:`register_fallback` when they are defined.
_FALLBACKS: Final[dict[type[Any], str]] = {}


def register_fallback(original_field: str) -> Callable[[type[S]], type[S]]:
    """Class decorator: make a tagged Struct the fallback member of every union it is in.

    A union member so marked receives any object whose tag no other member claims; the tag
    the server sent is kept in ``original_field``. Register before building decoders that
    use the union (models modules do it at import time).

    >>> @register_fallback("type")
    ... class UnknownShape(msgspec.Struct, tag_field="_type", tag=True):
    ...     type: str
    """

    def mark(cls: type[S]) -> type[S]:
        _FALLBACKS[cls] = original_field
        return cls

    return mark


_raw_decoder: Final = msgspec.json.Decoder()


def _unwrap(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def _has_fallback(t: mi.Type, seen: set[int]) -> bool:
    """Whether any union reachable from ``t`` has a fallback member."""
    t = _unwrap(t)
    if id(t) in seen:
        return False
    seen.add(id(t))
    if isinstance(t, mi.StructType):
        return t.cls in _FALLBACKS or any(_has_fallback(f.type, seen) for f in t.fields)
    if isinstance(t, mi.UnionType):
        return any(_has_fallback(m, seen) for m in t.types)
    if isinstance(t, mi.TupleType):
        return any(_has_fallback(m, seen) for m in t.item_types)
    if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return _has_fallback(t.item_type, seen)
    if isinstance(t, mi.DictType):
        return _has_fallback(t.value_type, seen)
    return False


# A walker takes a value decoded to builtins, rewrites unknown tags in place, and returns how
# many it rewrote. Walkers are compiled once per decoder and visit only the parts of the type
# that can hold a fallback union, so the slow path stays proportional to what can change.
_Walker: TypeAlias = Callable[[Any], int]


def _compile(t: mi.Type, memo: dict[int, list[_Walker]]) -> _Walker | None:
    """The walker for ``t``, or ``None`` when no fallback union is reachable from it."""
    t = _unwrap(t)
    if not _has_fallback(t, set()):
        return None
    if isinstance(t, mi.StructType):
        return _compile_union([t], None, memo) if t.cls in _FALLBACKS else _compile_struct(t, memo)
    if isinstance(t, mi.UnionType):
        members = [_unwrap(m) for m in t.types]
        structs = [m for m in members if isinstance(m, mi.StructType)]
        others = [m for m in members if not isinstance(m, mi.StructType)]
        arrays = [w for m in others if isinstance(m, _ARRAYS) and (w := _compile(m, memo))]
        dicts = [w for m in others if isinstance(m, mi.DictType) and (w := _compile(m, memo))]
        if structs:
            return _compile_union(structs, arrays[0] if arrays else None, memo)
        return _either(arrays[0] if arrays else None, dicts[0] if dicts else None)
    if isinstance(t, _ARRAYS):
        item = _compile(t.item_type, memo)
        assert item is not None
        return lambda v: sum(map(item, v)) if type(v) is list else 0
    if isinstance(t, mi.TupleType):
        positions = [_compile(m, memo) for m in t.item_types]

        def walk_tuple(v: Any) -> int:
            if type(v) is not list:
                return 0
            return sum(w(x) for w, x in zip(positions, v, strict=False) if w is not None)

        return walk_tuple
    if isinstance(t, mi.DictType):
        value = _compile(t.value_type, memo)
        assert value is not None
        return lambda v: sum(map(value, v.values())) if type(v) is dict else 0
    return None


_ARRAYS: Final = (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)


def _either(arrays: _Walker | None, dicts: _Walker | None) -> _Walker:
    def walk(v: Any) -> int:
        if type(v) is list and arrays is not None:
            return arrays(v)
        if type(v) is dict and dicts is not None:
            return dicts(v)
        return 0

    return walk


def _compile_struct(t: mi.StructType, memo: dict[int, list[_Walker]]) -> _Walker:
    if id(t) in memo:  # a recursive type: defer to the walker being built
        cell = memo[id(t)]
        return lambda v: cell[0](v)
    cell = memo[id(t)] = []
    fields = [(f.encode_name, w) for f in t.fields if (w := _compile(f.type, memo)) is not None]

    def walk_struct(v: Any) -> int:
        if type(v) is not dict:
            return 0
        return sum(w(v[name]) for name, w in fields if name in v)

    cell.append(walk_struct)
    return walk_struct


def _compile_union(
    structs: list[mi.StructType], arrays: _Walker | None, memo: dict[int, list[_Walker]]
) -> _Walker:
    tag_field = structs[0].tag_field
    if tag_field is None:  # one untagged struct next to non-object types
        struct = _compile_struct(structs[0], memo)
        return _either(arrays, struct)
    walkers = {m.tag: _compile_struct(m, memo) for m in structs}
    fallback = next((m for m in structs if m.cls in _FALLBACKS), None)
    fallback_tag = fallback.tag if fallback is not None else None
    original = (
        next(f.encode_name for f in fallback.fields if f.name == _FALLBACKS[fallback.cls])
        if fallback is not None
        else ""
    )

    def walk_union(v: Any) -> int:
        if type(v) is not dict:
            return arrays(v) if arrays is not None and type(v) is list else 0
        tag = v.get(tag_field)
        walker = walkers.get(tag) if isinstance(tag, str) else None
        if fallback_tag is not None and (
            walker is None or (tag == fallback_tag and original not in v)
        ):
            # The server may even send the fallback's own tag; it is unknown to us all the same.
            # A tag that is not a string is a schema error: leave it for convert to report.
            if tag is not None and not isinstance(tag, str):
                return 0
            v[original] = tag if tag is not None else ""
            v[tag_field] = fallback_tag
            return 1 + walkers[fallback_tag](v)
        return 0 if walker is None else walker(v)

    return walk_union


def too_deep() -> msgspec.ValidationError:
    """The error for a body nested deeper than any decoder here can follow.

    msgspec, and the walks of the slow paths, recurse once per level of nesting, so such a
    body raises ``RecursionError``. It is valid JSON the server sent whole, so it is reported
    like a body off the schema (at ``$``): never read again, and a committed write says it
    was committed.

    >>> error_path(too_deep())
    '$'
    """
    return msgspec.ValidationError("the JSON document is nested too deeply to decode")


class TolerantDecoder(Generic[T]):
    """Decodes JSON bytes into ``T``; an unknown ``_type`` becomes the union's fallback member.

    Obtain one with `decoder_for`. ``fallbacks`` counts the bodies that needed the slow
    path (a test hook, and a hint that the server has grown new types).

    >>> from ttg_async._ttg.models import DataEnvelope, Location
    >>> decode = decoder_for(DataEnvelope[Location])
    >>> decode(b'{"data": {"id": "2", "name": "London", "country": "GB"}}').data.name
    'London'
    """

    __slots__ = ("_info", "_retag", "_split", "_strict", "_type", "_walk", "detour", "fallbacks")

    def __init__(self, type_: Any) -> None:
        self._type: Any = type_
        self._strict: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)
        self._info: mi.Type = mi.type_info(type_)
        self._walk: _Walker | None = _compile(self._info, {})
        self._split: _Split | None = _Split.build(type_, self._info) if self._walk else None
        self._retag: _Retag | None = _Retag.build(self._info) if self._walk else None
        self.fallbacks = 0
        # Set once the server has sent this decoder a tag we do not know: from then on every
        # body goes through __call__, which retags it before the strict decoder sees it
        # rather than after it has failed. Callers that use :attr:`strict` directly check it.
        self.detour = False

    @property
    def strict(self) -> msgspec.json.Decoder[T]:
        """msgspec's own decoder for ``T``: the fast path, with no fallback at all. Use it
        directly only while `detour` is false."""
        return self._strict

    def __call__(self, body: bytes) -> T:
        """Decode ``body``; raise ``msgspec.DecodeError`` / ``msgspec.ValidationError`` on a
        body that is not JSON or does not fit the schema."""
        try:
            if self.detour:
                assert self._retag is not None
                retagged: T | None = self._retag.decode(body, self._strict)
                if retagged is not None:
                    self.fallbacks += 1
                    return retagged
            return self._strict.decode(body)
        except msgspec.ValidationError as exc:
            if self._walk is None:
                raise
            return self.fallback(body, exc)
        except RecursionError:
            raise too_deep() from None

    def fallback(self, body: bytes, error: msgspec.ValidationError | None) -> T:
        """Decode ``body`` with the fallback members, after the strict decoder raised
        ``error`` (``None``: it was not tried). Raises like `__call__`."""
        try:
            return self._fallback(body, error)
        except RecursionError:
            raise too_deep() from None

    def _fallback(self, body: bytes, error: msgspec.ValidationError | None) -> T:
        retag = self._retag
        if error is not None and retag is not None and retag.learn(error):
            self.detour = True
            retagged: T | None = retag.decode(body, self._strict)
            if retagged is not None:
                self.fallbacks += 1
                return retagged
        if self._split is not None:
            split = self._split.decode(body)
            if split is not None:
                result: T = split[0]
                if split[1]:
                    self.fallbacks += 1
                return result
        if error is None:
            try:
                return self._strict.decode(body)
            except msgspec.ValidationError as exc:
                if self._walk is None:
                    raise
                error = exc
        raw = _raw_decoder.decode(body)
        if self._walk is None or self._walk(raw) == 0:
            raise error
        self.fallbacks += 1
        converted: T = msgspec.convert(raw, self._type)
        return converted

    def lenient(
        self, body: bytes, error: msgspec.ValidationError | None = None
    ) -> tuple[T, list[str]]:
        """Decode ``body``, dropping fields the docs do not promise where they do not fit.

        Returns the result and the JSON paths that were dropped (empty when the strict path
        succeeded). ``error``, when given, is what the strict decoder already raised for this
        body, so it is not tried again. Raises ``msgspec.ValidationError`` when a promised
        field (one without a default) is missing or malformed, and ``msgspec.DecodeError``
        when ``body`` is not JSON, exactly as ``__call__`` does.

        >>> from ttg_async._ttg.models import DataEnvelope, Occurrence
        >>> decode = decoder_for(DataEnvelope[Occurrence])
        >>> occ, dropped = decode.lenient(
        ...     b'{"data": {"id": "1", "startsAt": "2026-03-15T19:30:00-05:00", "venue": 7}}')
        >>> occ.data.venue, dropped
        (None, ['$.data.venue'])
        """
        try:
            return self._lenient(body, error)
        except RecursionError:
            raise too_deep() from None

    def _lenient(self, body: bytes, error: msgspec.ValidationError | None) -> tuple[T, list[str]]:
        try:
            return (self(body) if error is None else self.fallback(body, error)), []
        except msgspec.ValidationError as exc:
            error = exc
        raw = _raw_decoder.decode(body)
        if self._walk is not None:
            self._walk(raw)
        dropped: list[str] = []
        # Each round removes one key from ``raw``, so the loop ends; the cap only bounds the
        # work a hostile body can cause.
        for _ in range(_MAX_REPAIRS):
            where = error_path(error)
            holder = _droppable(self._info, raw, where)
            if holder is None:
                raise error
            container, key, field_path, owner = holder
            del container[key]
            dropped.append(field_path)
            if "[" in field_path:
                # The same odd field is often in every item of a page: drop it in all of them
                # now, so a thousand items cost one more conversion, not a thousand.
                dropped += _drop_in_siblings(raw, field_path, owner)
            try:
                result: T = msgspec.convert(raw, self._type)
            except msgspec.ValidationError as exc:
                error = exc
            else:
                return result, dropped
        raise error


# msgspec's words for a tag that no member of a tagged union claims.
_UNKNOWN_TAG: Final = re.compile(r"Invalid value '([A-Za-z0-9_.:-]{1,64})' - at `(\$[^`]*)`")
_MAX_TAGS: Final = 16
_Counter: TypeAlias = Callable[[Any], int]


class _Retag:
    """The fast fallback: rewrite unknown tags in the JSON bytes, then decode strictly.

    For a type with exactly one fallback member (``UnknownVariant`` in an inventory list),
    each unknown tag the strict decoder reports is learned, and every later body has
    ``"_type": "Bundle"`` rewritten to ``"_type": "UnknownVariant", "type": "Bundle"``
    before msgspec decodes it at full speed. The rewrite is a text match, so it is checked:
    the body must not already hold the fallback's own tag, and the decoded value must hold
    exactly one fallback member carrying a learned tag per rewrite. Any doubt (a match inside
    a free-form value, a member that has its own ``type`` field, another unknown tag) returns
    ``None``, and the caller takes the walk over builtins, which is exact.
    """

    __slots__ = (
        "_count",
        "_key",
        "_literal",
        "_needles",
        "_original",
        "_tag",
        "_tag_field",
        "cls",
        "name",
        "tags",
    )

    def __init__(self, cls: type[Any], tag: str, tag_field: str, original: str, name: str):
        self.cls = cls
        self._tag = tag
        self._tag_field = tag_field
        self._original = original
        self.name = name  # the attribute that holds the original tag
        self._literal = f'"{tag}"'.encode()
        self._key = f'"{tag_field}"'.encode()
        self.tags: set[str] = set()
        # Per learned tag: the bytes to find (`"Bundle"`) and what the whole `"_type":...`
        # pair becomes.
        self._needles: list[tuple[bytes, bytes]] = []
        self._count: _Counter = lambda v: 0

    @classmethod
    def build(cls, info: mi.Type) -> _Retag | None:
        found: dict[type[Any], mi.StructType] = {}
        _fallback_members(info, found, set())
        if len(found) != 1:
            return None
        (member,) = found.values()
        tag_field, tag = member.tag_field, member.tag
        if not isinstance(tag_field, str) or not isinstance(tag, str):
            return None
        name = _FALLBACKS[member.cls]
        original = next(f.encode_name for f in member.fields if f.name == name)
        if not all(_PLAIN_NAME.fullmatch(x) for x in (tag_field, tag, original)):
            return None
        retag = cls(member.cls, tag, tag_field, original, name)
        counter = _counter(info, retag, {})
        if counter is None:
            return None
        retag._count = counter
        return retag

    def learn(self, error: msgspec.ValidationError) -> bool:
        """Learn the unknown tag ``error`` reports; ``False`` when it reports no new one."""
        found = _UNKNOWN_TAG.fullmatch(str(error))
        if found is None or not found.group(2).endswith("." + self._tag_field):
            return False
        tag = found.group(1)
        if tag in self.tags or tag == self._tag or len(self.tags) >= _MAX_TAGS:
            return False
        self.tags.add(tag)
        replacement = f'"{self._tag_field}":"{self._tag}","{self._original}":"{tag}"'
        self._needles.append((f'"{tag}"'.encode(), replacement.encode()))
        return True

    def _rewrite(self, body: bytes) -> tuple[bytes, int]:
        """``body`` with every ``"_type": "<learned tag>"`` pair retagged; how many were."""
        key = self._key
        cuts: list[tuple[int, int, bytes]] = []
        for needle, replacement in self._needles:
            end = 0
            while (found := body.find(needle, end)) != -1:
                end = found + len(needle)
                # Backwards from the value: JSON whitespace, a colon, whitespace, the key.
                at = found
                while at > 0 and body[at - 1] in _JSON_SPACE:
                    at -= 1
                if at == 0 or body[at - 1] != _COLON:
                    continue
                at -= 1
                while at > 0 and body[at - 1] in _JSON_SPACE:
                    at -= 1
                start = at - len(key)
                if start >= 0 and body.startswith(key, start):
                    cuts.append((start, end, replacement))
        if not cuts:
            return body, 0
        cuts.sort()
        parts: list[bytes] = []
        done = 0
        for start, end, replacement in cuts:
            parts.append(body[done:start])
            parts.append(replacement)
            done = end
        parts.append(body[done:])
        return b"".join(parts), len(cuts)

    def counts(self, member: Any) -> int:
        return 1 if getattr(member, self.name) in self.tags else 0

    def decode(self, body: bytes, strict: msgspec.json.Decoder[Any]) -> Any | None:
        """``body`` decoded with its learned unknown tags retagged, or ``None``."""
        if not self._needles or self._literal in body:
            return None
        for _ in range(_MAX_TAGS):
            rewritten, rewrites = self._rewrite(body)
            if not rewrites:
                return None
            try:
                result = strict.decode(rewritten)
            except msgspec.ValidationError as exc:
                if self.learn(exc):
                    continue  # one more unknown tag: rewrite the original body again
                return None
            except msgspec.DecodeError:
                return None
            return result if self._count(result) == rewrites else None
        return None


_PLAIN_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JSON_SPACE: Final = frozenset(b" \t\r\n")
_COLON: Final = ord(":")


def _fallback_members(t: mi.Type, found: dict[type[Any], mi.StructType], seen: set[int]) -> None:
    """Collect the fallback members reachable from ``t``."""
    t = _unwrap(t)
    if id(t) in seen:
        return
    seen.add(id(t))
    if isinstance(t, mi.StructType):
        if t.cls in _FALLBACKS:
            found[t.cls] = t
        for f in t.fields:
            _fallback_members(f.type, found, seen)
    elif isinstance(t, mi.UnionType):
        for m in t.types:
            _fallback_members(m, found, seen)
    elif isinstance(t, mi.TupleType):
        for m in t.item_types:
            _fallback_members(m, found, seen)
    elif isinstance(t, _ARRAYS):
        _fallback_members(t.item_type, found, seen)
    elif isinstance(t, mi.DictType):
        _fallback_members(t.value_type, found, seen)


def _direct_path(t: mi.Type, retag: _Retag) -> list[str] | None:
    """The attribute names from a value of type ``t`` down to its one possible fallback
    member, when there is exactly one way down and no step but the last may be ``None``."""
    t = _unwrap(t)
    if isinstance(t, mi.UnionType):
        reaching = [m for m in map(_unwrap, t.types) if _has_fallback(m, set())]
        if len(reaching) == 1 and isinstance(reaching[0], mi.StructType):
            return [] if reaching[0].cls is retag.cls else None
        return None
    if isinstance(t, mi.StructType):
        if t.cls is retag.cls:
            return []
        fields = [f for f in t.fields if _has_fallback(f.type, set())]
        if len(fields) != 1:
            return None
        rest = _direct_path(fields[0].type, retag)
        return None if rest is None else [fields[0].name, *rest]
    return None


def _counter(t: mi.Type, retag: _Retag, memo: dict[int, list[_Counter]]) -> _Counter | None:
    """Counts, in a decoded value of type ``t``, the fallback members holding a learned tag;
    ``None`` when no fallback member is reachable from ``t``."""
    t = _unwrap(t)
    if not _has_fallback(t, set()):
        return None
    if isinstance(t, mi.StructType):
        if t.cls in _FALLBACKS:
            return retag.counts
        if id(t) in memo:  # a recursive type: defer to the counter being built
            cell = memo[id(t)]
            return lambda v: cell[0](v)
        cell = memo[id(t)] = []
        fields = [(f.name, c) for f in t.fields if (c := _counter(f.type, retag, memo))]
        if len(fields) == 1:
            ((name, only),) = fields

            def count_field(v: Any) -> int:
                return only(getattr(v, name))

            cell.append(count_field)
            return count_field

        def count_struct(v: Any) -> int:
            return sum(c(getattr(v, name)) for name, c in fields)

        cell.append(count_struct)
        return count_struct
    if isinstance(t, mi.UnionType):
        by_cls: dict[type[Any], _Counter] = {}
        others: list[_Counter] = []
        for m in map(_unwrap, t.types):
            c = _counter(m, retag, memo)
            if c is None:
                continue
            if isinstance(m, mi.StructType):
                by_cls[m.cls] = c
            else:
                others.append(c)

        def count_union(v: Any) -> int:
            c = by_cls.get(type(v))
            if c is not None:
                return c(v)
            return sum(o(v) for o in others)

        return count_union
    if isinstance(t, _ARRAYS):
        kinds = (list, tuple, set, frozenset)
        path = _direct_path(t.item_type, retag)
        if path is not None:
            # The common shape (a page of items, each with one variant): one comprehension.
            get = operator.attrgetter(".".join(path)) if path else None
            cls, tag_of, tags = retag.cls, operator.attrgetter(retag.name), retag.tags

            def count_items(v: Any) -> int:
                if not isinstance(v, kinds):
                    return 0
                members = v if get is None else map(get, v)
                return sum(1 for m in members if type(m) is cls and tag_of(m) in tags)

            return count_items
        item = _counter(t.item_type, retag, memo)
        assert item is not None
        return lambda v: sum(map(item, v)) if isinstance(v, kinds) else 0
    if isinstance(t, mi.TupleType):
        positions = [_counter(m, retag, memo) for m in t.item_types]

        def count_tuple(v: Any) -> int:
            if not isinstance(v, tuple):
                return 0
            return sum(c(x) for c, x in zip(positions, v, strict=False) if c is not None)

        return count_tuple
    if isinstance(t, mi.DictType):
        value = _counter(t.value_type, retag, memo)
        assert value is not None
        return lambda v: sum(map(value, v.values())) if isinstance(v, dict) else 0
    return None


class _Split:
    """The cheap fallback for a list envelope: only the items that need it take the slow path.

    ``{"data": [...thousands of items...]}`` with one unknown ``_type`` would otherwise be
    decoded twice in full and walked in Python. Here the envelope is decoded with every field
    kept as raw JSON (a fast slice), each item of the list goes through the item's own
    tolerant decoder (strict for all but the odd one), and the other fields through their
    strict decoders. Any failure returns ``None``, and the caller takes the full path, which
    reports errors with their exact ``$.path``.
    """

    __slots__ = ("_cls", "_fields", "_item", "_item_type", "_list_field", "_shell")

    def __init__(
        self,
        cls: Any,
        shell: msgspec.json.Decoder[Any],
        list_field: str,
        item_type: Any,
        fields: dict[str, msgspec.json.Decoder[Any]],
    ) -> None:
        self._cls = cls
        self._shell = shell
        self._list_field = list_field
        # Looked up on first use: a recursive type's item decoder may be the one being built.
        self._item_type = item_type
        self._item: TolerantDecoder[Any] | None = None
        self._fields = fields

    @classmethod
    def build(cls, type_: Any, info: mi.Type) -> _Split | None:
        """A splitter when ``type_`` is a struct with one list field whose items can hold a
        fallback union; ``None`` otherwise."""
        info = _unwrap(info)
        if not isinstance(info, mi.StructType) or info.cls in _FALLBACKS:
            return None
        lists = [
            f
            for f in info.fields
            if isinstance(_unwrap(f.type), mi.ListType)
            and _has_fallback(_unwrap(f.type).item_type, set())  # type: ignore[attr-defined]
        ]
        if len(lists) != 1:
            return None
        try:
            declared = {f.name: f for f in msgspec.structs.fields(type_)}
        except TypeError:
            return None
        list_name = lists[0].name
        shell_fields: list[tuple[str, Any, Any]] = [
            (
                f.name,
                (list[msgspec.Raw] if f.name == list_name else msgspec.Raw) | msgspec.UnsetType,
                msgspec.UNSET,
            )
            for f in info.fields
        ]
        shell = msgspec.defstruct(
            "_Shell",
            shell_fields,
            rename={f.name: f.encode_name for f in info.fields},
        )
        item_type = declared[list_name].type.__args__[0]
        fields = {
            f.name: msgspec.json.Decoder(declared[f.name].type)
            for f in info.fields
            if f.name != list_name
        }
        shell_decoder = msgspec.json.Decoder(shell)
        return cls(type_, shell_decoder, list_name, item_type, fields)

    def decode(self, body: bytes) -> tuple[Any, int] | None:
        """The decoded body and how many items needed their fallback, or ``None``."""
        try:
            shell = self._shell.decode(body)
            values: dict[str, Any] = {}
            for name, decode in self._fields.items():
                raw = getattr(shell, name)
                if raw is not msgspec.UNSET:
                    values[name] = decode.decode(raw)
            entries = getattr(shell, self._list_field)
            odd = 0
            if entries is not msgspec.UNSET:
                item = self._item
                if item is None:
                    item = self._item = decoder_for(self._item_type)
                strict = item.strict.decode
                items: list[Any] = []
                append = items.append
                for entry in entries:
                    try:
                        append(strict(entry))
                    except msgspec.ValidationError:
                        odd += 1
                        append(item(bytes(entry)))
                values[self._list_field] = items
            return self._cls(**values), odd
        except (msgspec.ValidationError, msgspec.DecodeError, TypeError):
            return None


_MAX_REPAIRS: Final = 10_000
# `$.data[3].priceOptions[0]`: a field name after a dot, or an index in brackets. msgspec
# writes a dict key as `[...]`, which we do not follow (no model keeps a dict of structs).
_PATH_TOKEN: Final = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def error_path(error: msgspec.ValidationError) -> str:
    """The ``$.path`` a msgspec validation error names (``$`` when it names none).

    >>> error_path(msgspec.ValidationError("Expected `int`, got `str` - at `$.data.total`"))
    '$.data.total'
    """
    text = str(error)
    if " - at `" not in text:
        return "$"
    return text.rsplit(" - at `", 1)[1].rstrip("`")


def _member_for(t: mi.UnionType, value: Any) -> mi.Type | None:
    """The member of a union that a JSON value of this shape would be decoded as."""
    for member in map(_unwrap, t.types):
        if isinstance(member, mi.StructType) and type(value) is dict:
            tag_field = member.tag_field
            if tag_field is None or value.get(tag_field) == member.tag:
                return member
        elif isinstance(member, mi.ListType | mi.VarTupleType) and type(value) is list:
            return member
    return None


def _droppable(
    info: mi.Type, raw: Any, where: str
) -> tuple[dict[str, Any], str, str, mi.StructType] | None:
    """The deepest optional field on ``where``: its parent object, key, path and the struct
    it belongs to, or ``None``.

    ``None`` means every step of the path is promised (required), so the error stands.
    """
    if not where.startswith("$"):
        return None
    t, value = info, raw
    found: tuple[dict[str, Any], str, str, mi.StructType] | None = None
    position = 1
    while position < len(where):
        token = _PATH_TOKEN.match(where, position)
        if token is None:
            break
        position = token.end()
        t = _unwrap(t)
        if isinstance(t, mi.UnionType):
            member = _member_for(t, value)
            if member is None:
                break
            t = member
        name, index = token.group(1), token.group(2)
        if name is not None and isinstance(t, mi.StructType) and type(value) is dict:
            field = next((f for f in t.fields if f.encode_name == name), None)
            if field is None or name not in value:
                break  # the tag field, or a key the error names but the body lacks
            if not field.required:
                found = (value, name, where[:position], t)
            t, value = field.type, value[name]
        elif index is not None and isinstance(t, mi.ListType | mi.VarTupleType):
            position_in_list = int(index)
            if type(value) is not list or position_in_list >= len(value):
                break
            t, value = t.item_type, value[position_in_list]
        else:
            break
    return found


_FIELD_TYPES: dict[tuple[type[Any], str], Any] = {}


def _field_type(owner: mi.StructType, key: str) -> Any:
    """The Python type of ``owner``'s field encoded as ``key`` (``None``: not resolvable)."""
    cache_key = (owner.cls, key)
    if cache_key not in _FIELD_TYPES:
        found: Any = None
        try:
            for f in msgspec.structs.fields(owner.cls):
                if f.encode_name == key and not isinstance(f.type, TypeVar):
                    found = f.type
        except TypeError:
            found = None
        _FIELD_TYPES[cache_key] = found
    return _FIELD_TYPES[cache_key]


def _drop_in_siblings(raw: Any, field_path: str, owner: mi.StructType) -> list[str]:
    """Drop the field at ``field_path`` (list positions taken as wildcards) wherever it does
    not fit, in objects of the same struct (same tag); return the concrete paths dropped."""
    head, _, key = field_path.rpartition(".")
    ftype = _field_type(owner, key)
    if ftype is None:
        return []
    tokens = [(m.group(1), m.group(2)) for m in _PATH_TOKEN.finditer(head, 1)]
    found: list[str] = []

    def visit(value: Any, depth: int, where: str) -> None:
        if depth == len(tokens):
            if type(value) is not dict or key not in value:
                return
            if owner.tag_field is not None and value.get(owner.tag_field) != owner.tag:
                return
            try:
                msgspec.convert(value[key], ftype)
            except msgspec.ValidationError:
                del value[key]
                found.append(f"{where}.{key}")
            return
        name, index = tokens[depth]
        if name is not None and type(value) is dict and name in value:
            visit(value[name], depth + 1, f"{where}.{name}")
        elif index is not None and type(value) is list:
            for position, entry in enumerate(value):
                visit(entry, depth + 1, f"{where}[{position}]")

    visit(raw, 0, "$")
    return found


log: Final = logging.getLogger("ttg_async")
_WARNED: set[tuple[str, str]] = set()
_INDEX: Final = re.compile(r"\[\d+\]")


_STRICT_HINT: Final = "; pass strict=True to raise instead"


def warn_repaired(
    what: str, paths: Iterable[str], request_id: str | None, *, hint: str = _STRICT_HINT
) -> None:
    """Log one WARNING per (``what``, JSON path) per process for fields a repair dropped.

    List indices are folded (``$.data[*].venue``), so a page of a thousand items with the
    same odd field logs once, naming the first concrete path and the request ID. ``hint``
    ends the line (how to make such an answer fail instead, where the client has a way).
    """
    for where in paths:
        key = (what, _INDEX.sub("[*]", where))
        if key in _WARNED:
            continue
        _WARNED.add(key)
        log.warning(
            "%s: the value at %s does not fit the documented schema and was dropped "
            "(request_id=%s)%s",
            what,
            where,
            request_id,
            hint,
        )


_DECODERS: dict[Any, TolerantDecoder[Any]] = {}


def decoder_for(type_: type[T]) -> TolerantDecoder[T]:
    """The decoder for ``type_`` (built once, then cached): ``bytes -> T``.

    ``type_`` is anything msgspec can decode, typically an envelope such as
    ``ListEnvelope[InventoryItem]``. Known data takes msgspec's strict fast path. An unknown
    ``_type`` anywhere inside decodes to [`UnknownVariant`][ttg_async.UnknownVariant] /
    [`UnknownReceiptLine`][ttg_async.UnknownReceiptLine]. Unknown fields are ignored. A real schema
    error raises ``msgspec.ValidationError`` with its ``$.path``; a body that is not JSON raises
    ``msgspec.DecodeError``.

    >>> from ttg_async._ttg.models import InventoryItem, ListEnvelope
    >>> decode = decoder_for(ListEnvelope[InventoryItem])
    >>> decode is decoder_for(ListEnvelope[InventoryItem])
    True
    """
    try:
        return _DECODERS[type_]
    except KeyError:
        decoder: TolerantDecoder[T] = TolerantDecoder(type_)
        _DECODERS[type_] = decoder
        return decoder
    except TypeError:  # an unhashable type: still works, just not cached
        return TolerantDecoder(type_)
