"""Hot reads: identical GETs in flight share one request, and an optional response cache.

Names neither API. A client computes a key for each GET (`request_key`: everything that
reaches the wire, with the credentials behind it hashed) and hands the call to its
`HotReads`, which either serves it from a `ResponseCache`, joins a request already in
flight for the same key, or starts one.

The first caller (the leader) sends the request in its own task, so that a call nobody joins
costs a dict entry and nothing more. Every other caller (a follower) waits on a future of its
own, with its own deadline and its own cancellation: a follower that leaves changes nothing
for the others. A leader that leaves (cancelled) takes its request with it, as any cancelled
call does, and wakes its followers: the first of them sends the request again and the others
join it, so they still get their answer (one request more). When nobody waits, nothing is in
flight. Models are frozen, so callers share them;
every list handed out (an answer that is a list, the items of a page) is each caller's own
copy, so no caller can change what another holds. (Nested lists inside a frozen model are
shared: models are read-only values.) An error reaches each caller as its own copy, of the
same class, and is never kept.

The cache (off unless a client is given one) keeps decoded answers for ``ttl`` seconds in an
LRU bounded by ``max_entries``, refreshes an entry early with the probability of XFetch (Vattani,
Chierichetti, Lowenstein, VLDB 2015), by at most one caller at a time, and forgets entries by
tag when a write makes them stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from ttg_async._core.config import NotGiven
from ttg_async._core.errors import APITimeoutError, ConfigurationError
from ttg_async._core.transport import RawResponse, RequestSpec

__all__ = [
    "SERVED",
    "CacheStats",
    "HotReads",
    "ResponseCache",
    "headers_digest",
    "identity_digest",
    "request_key",
    "wire_key",
]

T = TypeVar("T")

log: Final = logging.getLogger("ttg_async")

#: How the current task's last call was served: ``"upstream"`` (it sent the request),
#: ``"coalesced"`` (it joined another caller's request) or ``"cache"``. Set in the caller's
#: own context as each hot read returns, for hooks and telemetry to read.
SERVED: Final[ContextVar[str]] = ContextVar("ttg_async_served", default="upstream")

_REQUEST_ID: Final = "x-request-id"
_REQUEST_ID_HEADER: Final = "X-Request-ID"
#: XFetch's beta: 1.0 is the paper's choice (larger refreshes earlier).
_BETA: Final = 1.0
#: The least "time to recompute" an entry is given, as a share of the TTL: a fetch measured
#: as instant (a coarse clock, a fast loopback) is still refreshed a little early.
_MIN_DELTA: Final = 0.01

Decode = Callable[[RawResponse, str], T]
#: Called by the caller that sends the request, with its decode: the request ID it sends,
#: and the call to await (the pipeline's, retries included).
Start = Callable[[Decode[Any]], tuple[str, Awaitable[Any]]]
Key = tuple[Hashable, ...]


def identity_digest(*parts: str) -> bytes:
    """A digest of a client's identity (base URL, credentials): keys never hold a secret.

    >>> len(identity_digest("https://api.example.com", "sk_test_x", "retailer"))
    16
    """
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.digest()


def headers_digest(headers: Mapping[str, str]) -> bytes:
    # Header names are case-insensitive; the request ID differs on every call by design.
    items = sorted((k.lower(), v) for k, v in headers.items() if k.lower() != _REQUEST_ID)
    return identity_digest(*(f"{k}:{v}" for k, v in items))


def request_key(identity: bytes, spec: RequestSpec, *flavor: Hashable) -> Key:
    """The coalescing and cache key of a request: never the URL alone.

    ``identity`` covers the client's base URL and fixed headers (credentials, retailer,
    language), hashed. ``spec.own_headers``, when the protocol set them, are the headers beyond
    those; otherwise every header is hashed in. ``flavor`` is what else changes the answer a
    caller gets (how strictly it is decoded).
    """
    own = spec.own_headers
    if own is not None:
        if len(own) == 1 and _REQUEST_ID_HEADER in own:
            headers: Hashable = ()
        else:
            headers = headers_digest(own)
    else:
        headers = headers_digest(spec.headers)
    return wire_key(identity, spec.method, spec.path, spec.query, headers, *flavor)


def wire_key(
    identity: bytes,
    method: str,
    path: str,
    query: tuple[tuple[str, str], ...],
    headers: Hashable,
    *flavor: Hashable,
) -> Key:
    """The key itself: the credentials (``identity``, hashed), method, path, query, a digest
    of the headers beyond the client's fixed ones (``()``: none), and ``flavor``."""
    return (identity, method, path, query, headers, *flavor)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What a client's hot reads have done so far (see ``client.cache_stats()``).

    Attributes:
        hits: Calls answered from the cache.
        misses: Calls that looked in the cache and found nothing fresh.
        coalesced: Calls that joined an identical request already in flight.
        refreshes: Early refreshes of an entry still fresh (at most one at a time per key).
        evictions: Entries dropped to keep the cache within ``max_entries``.

    >>> CacheStats(hits=3, misses=1, coalesced=0, refreshes=0, evictions=0).hits
    3
    """

    hits: int
    misses: int
    coalesced: int
    refreshes: int
    evictions: int


class _Entry:
    __slots__ = ("delta", "expires", "refreshing", "request_id", "tags", "value")

    def __init__(
        self,
        value: Any,
        request_id: str,
        expires: float,
        delta: float,
        tags: tuple[Hashable, ...],
    ) -> None:
        self.value = value  # never handed out itself: each caller gets its own copy
        self.request_id = request_id
        self.expires = expires
        self.delta = delta  # how long the fetch took: XFetch refreshes earlier for slow ones
        self.tags = tags
        self.refreshing = False


class ResponseCache:
    """A cache of successful GET answers for ``ttl`` seconds, at most ``max_entries`` of them.

    >>> ttg = TTGClient(..., cache=ResponseCache(ttl=5.0, max_entries=10_000))  # doctest: +SKIP

    Keyed like coalescing (method, path, query, headers, and a hash of the credentials), so
    one cache may serve several clients. Errors are never kept. An entry near the end of its
    life is refreshed early by one caller (XFetch), while the others are still served the
    entry. ``clock`` is the monotonic clock the cache's own decisions use (expiry, early
    refresh); tests pass their own.
    """

    __slots__ = (
        "_by_tag",
        "_entries",
        "_epoch",
        "clock",
        "evictions",
        "hits",
        "max_entries",
        "misses",
        "refreshes",
        "ttl",
    )

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
            raise ConfigurationError(
                f"must be a number of seconds above 0, got {ttl!r}", field="ttl"
            )
        if not math.isfinite(ttl):
            raise ConfigurationError(f"must be finite, got {ttl!r}", field="ttl")
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError(
                f"must be an int of 1 or more, got {max_entries!r}", field="max_entries"
            )
        if not callable(clock):
            raise ConfigurationError("must be callable (a monotonic clock)", field="clock")
        self.ttl = float(ttl)
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._by_tag: dict[Hashable, set[Key]] = {}
        # Bumped by every invalidation: a fetch that began before one is not stored.
        self._epoch = 0
        self.hits = 0
        self.misses = 0
        self.refreshes = 0
        self.evictions = 0

    def __repr__(self) -> str:
        return f"ResponseCache(ttl={self.ttl}, max_entries={self.max_entries})"

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self._by_tag.clear()
        self._epoch += 1

    def invalidate(self, tags: Iterable[Hashable]) -> None:
        """Forget every entry carrying one of ``tags`` (a client knows what a write touches)."""
        self._epoch += 1
        for tag in tags:
            for key in self._by_tag.pop(tag, ()):
                entry = self._entries.pop(key, None)
                if entry is not None:
                    self._untag(key, entry)

    # -- used by HotReads -------------------------------------------------------------------
    def _untag(self, key: Key, entry: _Entry) -> None:
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def _lookup(self, key: Key) -> tuple[_Entry | None, bool]:
        """The fresh entry for ``key`` (or ``None``), and whether this caller should refresh it."""
        entry = self._entries.get(key)
        if entry is None:
            return None, False
        now = self.clock()
        if now >= entry.expires:
            del self._entries[key]
            self._untag(key, entry)
            return None, False
        self._entries.move_to_end(key)
        if entry.refreshing:
            return entry, False
        # XFetch: refresh when now - delta * beta * ln(U) >= expiry, U uniform in (0, 1].
        early = -entry.delta * _BETA * math.log(1.0 - random.random())
        return entry, now + early >= entry.expires

    def _store(
        self, key: Key, value: Any, request_id: str, delta: float, tags: tuple[Hashable, ...]
    ) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._untag(key, old)
        delta = max(delta, self.ttl * _MIN_DELTA)
        self._entries[key] = _Entry(value, request_id, self.clock() + self.ttl, delta, tags)
        for tag in tags:
            self._by_tag.setdefault(tag, set()).add(key)
        while len(self._entries) > self.max_entries:
            old_key, old_entry = self._entries.popitem(last=False)
            self._untag(old_key, old_entry)
            self.evictions += 1


class _Flight:
    """One request in flight, sent by its leader, and the callers waiting for it.

    The leader sends the request in its own task, so that a call nobody joins costs a dict
    entry and nothing more. Each follower waits on a future of its own, so that cancelling it
    cancels nothing else. A leader that leaves (cancelled) while followers wait wakes them
    with `_TAKE_OVER`: the first to run sends the request again, and the others join it.
    """

    __slots__ = ("ends_at", "followers", "key", "request_id")

    def __init__(self, key: Key, request_id: str, ends_at: float | None) -> None:
        self.key = key
        self.request_id = request_id
        self.ends_at = ends_at  # the leader's deadline (loop time), if any
        self.followers: dict[asyncio.Future[Any], None] = {}  # an ordered set

    def resolve(self, outcome: Any) -> None:
        """Every follower still waiting gets ``outcome`` (a value, an error, or `_TAKE_OVER`)."""
        for follower in self.followers:
            if not follower.done():
                follower.set_result(outcome)


#: What a follower is woken with when its leader left: send the request, or join who does.
_TAKE_OVER: Final = object()


def own(value: T) -> T:
    """What one caller gets of a shared answer: models are frozen and shared, and every list
    (the answer itself, or the items of a page) is a copy of its own.

    >>> shared = ([1, 2], None)
    >>> mine = own(shared)
    >>> mine[0].clear(); shared
    ([1, 2], None)
    """
    kind = type(value)
    if kind is list:
        return value.copy()  # type: ignore[attr-defined, no-any-return]
    if kind is tuple:
        return tuple(v.copy() if type(v) is list else v for v in value)  # type: ignore[attr-defined, return-value]
    return value


def own_copy(exc: BaseException) -> BaseException:
    """A copy of ``exc`` for one more caller: same class, same attributes, its own traceback."""
    try:
        copy = type(exc).__new__(type(exc))
        copy.__dict__.update(exc.__dict__)
        copy.args = exc.args
        copy.__cause__ = exc.__cause__
        copy.__suppress_context__ = exc.__suppress_context__
        for note in getattr(exc, "__notes__", ()):
            copy.add_note(note)
    except Exception:  # pragma: no cover - an exception type that cannot be copied
        return exc
    return copy


class ServedObserver(Protocol):
    """What hot reads report to: a call served from the cache, or by a request in flight."""

    def cache_hit(self, method: str, path: str) -> None: ...

    def coalesced(self, method: str, path: str) -> None: ...


class HotReads:
    """One client's flights in progress, its optional cache, and its coalesced count.

    Shared by a client and its views; a view chooses per call whether to coalesce and which
    cache (if any) to use.
    """

    __slots__ = ("cache", "coalesced", "flights", "observer")

    def __init__(self, cache: ResponseCache | None, observer: ServedObserver | None = None) -> None:
        self.cache = cache
        self.flights: dict[Key, _Flight] = {}
        self.coalesced = 0
        #: Told of each call served from the cache or by joining another's request (the
        #: client's OpenTelemetry metrics); ``None`` when nothing watches.
        self.observer = observer

    def stats(self) -> CacheStats:
        cache = self.cache
        if cache is None:
            return CacheStats(0, 0, self.coalesced, 0, 0)
        return CacheStats(
            cache.hits, cache.misses, self.coalesced, cache.refreshes, cache.evictions
        )

    def detach(self) -> None:
        """New callers no longer join the requests in flight (a write may have made them stale).

        Those requests go on for the callers already waiting.
        """
        self.flights.clear()

    async def read(
        self,
        key: Key,
        start: Start,
        decode: Decode[T],
        *,
        target: str,
        coalesce: bool,
        cache: ResponseCache | None,
        tags: tuple[Hashable, ...] = (),
        wait: float | None = None,
    ) -> T:
        """Serve one GET: from ``cache``, by joining a request in flight, or by sending one.

        ``start(decode)`` is called only when this caller sends the request, in its own task
        (so that a mistake in its arguments raises here): it returns the request ID it will
        send and the call to await, which sends it (retries included) and returns what
        ``decode`` returned. ``target`` is the path for log lines; ``wait`` this caller's
        own deadline in seconds (``None``: as long as the request takes).
        """
        refresh_entry: _Entry | None = None
        if cache is not None:
            entry, refresh = cache._lookup(key)
            if entry is not None and not refresh:
                cache.hits += 1
                SERVED.set("cache")
                if self.observer is not None:
                    self.observer.cache_hit("GET", target)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "GET %s: served from the cache (request %s)",
                        target,
                        entry.request_id,
                        extra={"request_id": entry.request_id, "served": "cache"},
                    )
                return own(entry.value)  # type: ignore[no-any-return]
            if entry is not None:
                # This caller refreshes it; the others keep being served the entry meanwhile.
                entry.refreshing = True
                cache.refreshes += 1
                refresh_entry = entry
            else:
                cache.misses += 1
        try:
            ends_at = None if wait is None else asyncio.get_running_loop().time() + wait
            flights = self.flights
            joined = False
            while coalesce:
                flight = flights.get(key)
                if flight is None:
                    break
                if not joined:
                    joined = True
                    self.coalesced += 1
                    if self.observer is not None:
                        self.observer.coalesced("GET", target)
                SERVED.set("coalesced")
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "GET %s: joined request %s",
                        target,
                        flight.request_id,
                        extra={"request_id": flight.request_id, "served": "coalesced"},
                    )
                outcome = await self._follow(flight, ends_at)
                if outcome is _TAKE_OVER:
                    continue  # its leader left: send it again, or join who does
                if isinstance(outcome, BaseException):
                    raise own_copy(outcome)
                # Models are frozen; the lists around them are each caller's own.
                return own(outcome)  # type: ignore[no-any-return]
            # This caller sends the request, in its own task; others may join it meanwhile.
            request_id, pending = start(decode)
            SERVED.set("upstream")
            flight = None
            if coalesce:
                flight = flights[key] = _Flight(key, request_id, ends_at)
            epoch = 0 if cache is None else cache._epoch
            started = 0.0 if cache is None else cache.clock()
            try:
                value = await pending
            except Exception as exc:
                if flight is not None:
                    if flights.get(key) is flight:
                        del flights[key]
                    flight.resolve(exc)  # each follower raises a copy; the error is not kept
                raise
            except BaseException:
                # This caller left (cancelled): whoever waits sends the request again.
                if flight is not None:
                    if flights.get(key) is flight:
                        del flights[key]
                    flight.resolve(_TAKE_OVER)
                raise
            if flight is not None:
                if flights.get(key) is flight:
                    del flights[key]
                if flight.followers:
                    flight.resolve(value)
            if cache is not None:
                if cache._epoch == epoch:
                    cache._store(key, value, request_id, cache.clock() - started, tags)
                value = own(value)  # the entry's own copy stays in the cache
            result: T = value
            return result
        finally:
            if refresh_entry is not None:
                refresh_entry.refreshing = False

    async def _follow(self, flight: _Flight, ends_at: float | None) -> Any:
        """Wait for ``flight`` on a future of this caller's own, until its own deadline."""
        if ends_at is not None and flight.ends_at is not None and ends_at >= flight.ends_at:
            # The leader's request ends by this caller's deadline, with the pipeline's own
            # error: no deadline of its own to keep.
            ends_at = None
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        followers = flight.followers
        followers[waiter] = None
        try:
            if ends_at is None:
                return await waiter
            try:
                async with asyncio.timeout_at(ends_at):
                    return await waiter
            except TimeoutError:
                raise APITimeoutError(
                    f"no answer within this call's deadline from the request it joined, "
                    f"{flight.request_id}",
                    request_id=flight.request_id,
                ) from None
        finally:
            del followers[waiter]


def check_cache(value: object, field: str = "cache") -> ResponseCache | None:
    """A constructor's ``cache=``: a `ResponseCache` or ``None``."""
    if value is not None and not isinstance(value, ResponseCache):
        raise ConfigurationError(
            f"must be a ResponseCache or None, not {type(value).__name__}", field=field
        )
    return value


def check_coalesce(value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"must be a bool, not {type(value).__name__}", field="coalesce")
    return value


def view_hot_options(
    coalesce: bool,
    cache: ResponseCache | None,
    *,
    new_coalesce: object,
    new_cache: object,
    client: str,
) -> tuple[bool, ResponseCache | None]:
    """A ``with_options`` view's coalescing and cache, for either client: each stays as the
    client has it unless given; ``cache`` can only be turned off (``None``) in a view."""
    if not isinstance(new_coalesce, NotGiven):
        coalesce = check_coalesce(new_coalesce)
    if not isinstance(new_cache, NotGiven):
        if new_cache is not None:
            raise ConfigurationError(
                "with_options takes cache=None (bypass the cache); give a client its cache "
                f"with {client}(..., cache=ResponseCache(...))",
                field="cache",
            )
        cache = None
    return coalesce, cache
