"""`TTGClient`: configuration, the session's lifetime, and the one request pipeline.

Every call goes the same way: build the request with the TTG protocol (pure), then hand it to
the shared pipeline (``ttg_async._core.pipeline``): inside the retry loop, wait at the
rate-limit gate, send one attempt through the transport, and decode the answer (pure).
Resources only name a path, a query and a response type.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, ParamSpec, TypeVar

import aiohttp

from ttg_async._core.checks import check_headers
from ttg_async._core.client import ClientBase, check_client_args
from ttg_async._core.config import NOT_GIVEN, NotGiven, check_timeout
from ttg_async._core.errors import ConfigurationError
from ttg_async._core.hooks import Hook
from ttg_async._core.hot import (
    CacheStats,
    HotReads,
    ResponseCache,
    check_cache,
    headers_digest,
    identity_digest,
    view_hot_options,
    wire_key,
)
from ttg_async._core.options import CallOptions
from ttg_async._core.pagination import MAX_LIMIT
from ttg_async._core.pipeline import Decode, Pipeline
from ttg_async._core.response import APIResponse, Capture, current_capture
from ttg_async._core.retry import RetryPolicy
from ttg_async._core.telemetry import Observer, build_observer
from ttg_async._core.wire import query_pairs, quote_path
from ttg_async._ttg.config import ClientConfig, redact_key, resolve_config
from ttg_async._ttg.crawl import Crawl, CrawlStorageError
from ttg_async._ttg.protocol import NAMING, STRICT, RawResponse, RequestSpec, build_request
from ttg_async._ttg.resources import Carts, Events, Inventory, Locations, Occurrences, Orders
from ttg_async._ttg.sync import Sync

if TYPE_CHECKING:
    from collections.abc import Hashable

__all__ = ["TTGClient"]

T = TypeVar("T")
P = ParamSpec("P")

# Headers a caller may not replace through ``extra_headers``: the checkout key has its own
# argument (``idempotency_key=``), which keeps it on the error and in the retry table's view.
_RESERVED_HEADERS = frozenset({"idempotency-key"})


def _max_retries_policy(max_retries: object, field: str = "max_retries") -> RetryPolicy:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise ConfigurationError(f"must be an int, not {type(max_retries).__name__}", field=field)
    if max_retries < 0:
        raise ConfigurationError(f"must be 0 or more, got {max_retries}", field=field)
    return RetryPolicy(max_attempts=max_retries + 1)


def _with_extra_headers(spec: RequestSpec, extra: Mapping[str, str]) -> RequestSpec:
    """The request with the caller's headers replacing any of the same name (any case)."""
    headers = dict(spec.headers)
    request_id = spec.request_id
    for name, value in check_headers(extra, "extra_headers").items():
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS:
            raise ValueError(
                f"extra_headers[{name!r}]: pass the key as orders.create(idempotency_key=...)"
            )
        for existing in [h for h in headers if h.lower() == lowered]:
            del headers[existing]
        headers[name] = value
        if lowered == "x-request-id":
            request_id = value  # the caller's own trace ID: errors and logs carry it too
    return RequestSpec(spec.method, spec.path, spec.query, headers, spec.body, request_id)


class _Strictness(Generic[T]):
    """A decode that runs with ``protocol.STRICT`` set to this client's strictness."""

    __slots__ = ("_decode", "_strict")

    def __init__(self, decode: Decode[T], strict: bool) -> None:
        self._decode = decode
        self._strict = strict

    def __call__(self, raw: RawResponse, request_id: str) -> T:
        token = STRICT.set(self._strict)
        try:
            return self._decode(raw, request_id)
        finally:
            STRICT.reset(token)


def _check_strict(strict: object) -> bool:
    if not isinstance(strict, bool):
        raise ConfigurationError(f"must be a bool, not {type(strict).__name__}", field="strict")
    return strict


# Cache tags: what a write can make stale. IDs in tags are as they appear in paths (quoted).
_EVERY_OCCURRENCE: Final = ("occurrence-level",)  # every inventory list and occurrence
_EVERY_OCCURRENCE_LIST: Final = ("occurrence-lists",)  # every event's occurrence list
#: How many cart -> occurrence and occurrence -> event pairs a client remembers.
_REMEMBERED: Final = 10_000


def _segment(value: str) -> str:
    """An ID as it appears in a request path."""
    return quote_path("", value)[1:]


def _remember(mapping: dict[str, str], key: str, value: str) -> None:
    if key not in mapping and len(mapping) >= _REMEMBERED:
        del mapping[next(iter(mapping))]  # the oldest
    mapping[key] = value


class _Shared:
    """What a client and all its [`with_options`][ttg_async.TTGClient.with_options] views have in
    common."""

    __slots__ = (
        "cart_occurrences",
        "config",
        "crawls",
        "hot",
        "identity",
        "occurrence_events",
        "pipeline",
    )

    def __init__(
        self,
        config: ClientConfig,
        session: aiohttp.ClientSession | None,
        observer: Observer,
        cache: ResponseCache | None = None,
    ) -> None:
        self.config = config
        self.pipeline = Pipeline(
            config.base_url,
            config.max_connections,
            session,
            default_headers=config.base_headers,
            observer=observer,
        )
        # Crawls still running when the client closes are stopped first.
        self.crawls: weakref.WeakSet[Crawl] = weakref.WeakSet()
        # Hot reads: keys carry a hash of the base URL and the fixed headers (key, retailer,
        # language), never the key itself.
        self.hot = HotReads(cache, self.pipeline.observer)
        self.identity = identity_digest(
            config.base_url, *(f"{k.lower()}:{v}" for k, v in sorted(config.base_headers.items()))
        )
        # Learned from reads and writes, so that a write knows what it makes stale.
        self.cart_occurrences: dict[str, str] = {}
        self.occurrence_events: dict[str, str] = {}

    def tags(self, request_path: str) -> tuple[Hashable, ...]:
        """The cache tags of a GET of ``request_path``: what writes make it stale."""
        parts = request_path.split("/")  # "", "api", "v3", ...
        count = len(parts)
        if count == 5 and parts[3] == "carts":
            return (("cart", parts[4]),)
        if count >= 6 and parts[3] == "events" and parts[5] == "occurrences":
            event = parts[4]
            if count == 6:
                return (("occurrences-of", event), _EVERY_OCCURRENCE_LIST)
            occurrence = parts[6]
            if count == 7 or (count == 8 and parts[7] == "inventory-items"):
                _remember(self.occurrence_events, occurrence, event)
                return (("occurrence", occurrence), _EVERY_OCCURRENCE)
        return ()

    def wrote(self, cart_id: str | None, occurrence_id: str | None) -> None:
        """A cart was created, deleted or checked out: forget what that makes stale.

        The cart, and the inventory and occurrences of its occurrence, with the occurrence list
        of its event. An occurrence not known (a cart this client never created or read) makes
        every inventory, occurrence and occurrence list stale; so does an unknown event for
        the occurrence lists.
        """
        self.hot.detach()
        cache = self.hot.cache
        if cache is None:
            return
        tags: list[Hashable] = []
        occurrence = None if occurrence_id is None else _segment(occurrence_id)
        if cart_id is not None:
            cart = _segment(cart_id)
            tags.append(("cart", cart))
            if occurrence is not None:
                _remember(self.cart_occurrences, cart, occurrence)
            else:
                occurrence = self.cart_occurrences.get(cart)
        if occurrence is None:
            tags += (_EVERY_OCCURRENCE, _EVERY_OCCURRENCE_LIST)
        else:
            tags.append(("occurrence", occurrence))
            event = self.occurrence_events.get(occurrence)
            tags.append(_EVERY_OCCURRENCE_LIST if event is None else ("occurrences-of", event))
        cache.invalidate(tags)

    def saw_cart(self, cart_id: str, occurrence_id: str | None) -> None:
        """A cart read: remember its occurrence for a later delete or checkout."""
        if occurrence_id is not None and self.hot.cache is not None:
            _remember(self.cart_occurrences, _segment(cart_id), _segment(occurrence_id))


class TTGClient(ClientBase):
    """An asyncio client for the TTG API v3. Share one per process.

    >>> async with TTGClient("sk_test_...", "my-retailer") as ttg:
    ...     async for location in ttg.locations.list():
    ...         print(location.name)

    ``max_retries=N`` is a shortcut for ``retry=RetryPolicy(max_attempts=N + 1)`` (``0``
    turns retries off); giving both raises [`ConfigurationError`][ttg_async.ConfigurationError].
    ``$TTG_LOG=debug`` (or ``info``) turns on the SDK's own logging to stderr, with keys redacted.

    Answers are read leniently: a field the API docs do not promise that arrives in an
    unexpected shape is dropped (one WARNING per JSON path), never a failed call.
    ``strict=True`` raises [`ResponseDecodeError`][ttg_async.ResponseDecodeError] instead (see
    ``docs/contract.md``).

    The key and retailer fall back to ``$TTG_API_KEY`` and ``$TTG_RETAILER``; ``platform`` to
    ``$TTG_PLATFORM`` and then ``"api"``; ``base_url`` to ``$TTG_BASE_URL`` and then to the
    environment the key belongs to (``sk_test_`` staging, ``sk_live_`` production). Every
    mistake among these raises [`ConfigurationError`][ttg_async.ConfigurationError] here, before any
    network call.

    ``event_hooks={"request": [...], "response": [...], "retry": [...]}`` calls your functions
    with a [`RequestEvent`][ttg_async.RequestEvent], [`ResponseEvent`][ttg_async.ResponseEvent]
    or [`RetryEvent`][ttg_async.RetryEvent] for every attempt, answer and retry wait. With
    ``opentelemetry-api`` installed, every call makes a span (``ttg.events.get``) with one
    HTTP client span per attempt, and metrics, through the global providers or
    ``tracer_provider=``/``meter_provider=``; ``telemetry=False`` turns that off (see
    ``docs/observability.md``).
    """

    locations: Locations
    events: Events
    occurrences: Occurrences
    inventory: Inventory
    carts: Carts
    orders: Orders

    def __init__(
        self,
        api_key: str | None = None,
        retailer: str | None = None,
        *,
        platform: str | NotGiven = NOT_GIVEN,
        base_url: str | None = None,
        accept_language: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
        session: aiohttp.ClientSession | None = None,
        max_retries: int | None = None,
        strict: bool = False,
        cache: ResponseCache | None = None,
        event_hooks: Mapping[str, Sequence[Hook]] | None = None,
        telemetry: bool = True,
        tracer_provider: object = None,
        meter_provider: object = None,
    ) -> None:
        config = resolve_config(
            api_key=api_key,
            retailer=retailer,
            platform=platform,
            base_url=base_url,
            accept_language=accept_language,
            timeout=timeout,
            max_connections=max_connections,
        )
        check_client_args(retry, session)
        if max_retries is not None:
            if retry is not None:
                raise ConfigurationError(
                    "give either retry= or max_retries=, not both "
                    "(max_retries=N is RetryPolicy(max_attempts=N + 1))",
                    field="max_retries",
                )
            retry = _max_retries_policy(max_retries)
        observer = build_observer(
            NAMING,
            config.base_url,
            event_hooks=event_hooks,
            telemetry=telemetry,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        shared = _Shared(config, session, observer, check_cache(cache))
        self._init(shared, retry or RetryPolicy(), config.timeout, view=False)
        self._strict = _check_strict(strict)

    def _init(self, shared: _Shared, retry: RetryPolicy, timeout: float, *, view: bool) -> None:
        self._shared = shared
        self._init_base(shared.pipeline, retry, timeout, view=view)
        self._on_attempt: Callable[[], None] | None = None
        self._coalesce = True
        self._cache = shared.hot.cache
        self.locations = Locations(self)
        self.events = Events(self)
        self.occurrences = Occurrences(self)
        self.inventory = Inventory(self)
        self.carts = Carts(self)
        self.orders = Orders(self)

    @property
    def base_url(self) -> str:
        """The server every call goes to."""
        return self._shared.config.base_url

    def __repr__(self) -> str:
        config = self._shared.config
        kind = "view of " if self._is_view else ""
        return (
            f"<TTGClient {kind}api_key={redact_key(config.api_key)!r} "
            f"retailer={config.retailer!r} platform={config.platform!r} "
            f"base_url={config.base_url!r}>"
        )

    def with_options(
        self,
        *,
        retry: RetryPolicy | NotGiven = NOT_GIVEN,
        timeout: float | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        strict: bool | NotGiven = NOT_GIVEN,
        coalesce: bool | NotGiven = NOT_GIVEN,
        cache: NotGiven | None = NOT_GIVEN,
    ) -> TTGClient:
        """A light view of this client with other per-call options; it shares the session.

        ``strict=True`` makes every answer that does not fit the models raise
        [`ResponseDecodeError`][ttg_async.ResponseDecodeError], instead of dropping the undocumented
        fields that do not fit (see ``docs/contract.md``). ``coalesce=False`` sends every GET
        of the view itself, even when an identical one is in flight; ``cache=None`` bypasses
        the client's [`ResponseCache`][ttg_async.ResponseCache] (writes through the view still
        invalidate it).

        >>> fast = ttg.with_options(retry=RetryPolicy.disabled(), timeout=2.0)
        >>> await fast.events.get("1001")
        >>> fresh = ttg.with_options(cache=None)

        Closing a view does nothing: the session belongs to the client it came from.
        """
        if not isinstance(max_retries, NotGiven):
            if not isinstance(retry, NotGiven):
                raise ConfigurationError(
                    "give either retry= or max_retries=, not both", field="max_retries"
                )
            retry = _max_retries_policy(max_retries)
        new_retry, new_timeout = self._view_options(retry, timeout)
        view = object.__new__(TTGClient)
        view._init(self._shared, new_retry, new_timeout, view=True)
        view._strict = self._strict if isinstance(strict, NotGiven) else _check_strict(strict)
        view._coalesce, view._cache = view_hot_options(
            self._coalesce, self._cache, new_coalesce=coalesce, new_cache=cache, client="TTGClient"
        )
        return view

    def cache_stats(self) -> CacheStats:
        """What hot reads did so far: ``hits``, ``misses``, ``coalesced``, ``refreshes``,
        ``evictions`` (the views of a client share its counts; the cache's counts are the
        cache's, across every client it serves).

        >>> ttg.cache_stats().coalesced
        0
        """
        return self._shared.hot.stats()

    def crawl(
        self,
        location_ids: Iterable[str] | None = None,
        *,
        rate_codes: Iterable[str | None] = (None,),
        inventory: bool = True,
        concurrency: int = 16,
        checkpoint: str | os.PathLike[str] | None = None,
        page_size: int = MAX_LIMIT,
    ) -> Crawl:
        """Walk the catalog: locations, their events, occurrences and inventory, as records.

        >>> crawl = ttg.crawl(rate_codes=[None, "MEMBERS"], checkpoint="catalog.ckpt")
        >>> async for record in crawl:  # CatalogRecord(location, event, occurrence, ...)
        ...     print(record.event.name, record.rate_code, len(record.items))
        >>> print(crawl.stats.records, len(crawl.errors))

        ``location_ids=None`` lists every location; ``rate_codes`` gives one record per
        occurrence per code (``None`` is the default tier); ``inventory=False`` lists
        occurrences only. ``concurrency`` caps the requests in flight across the whole crawl,
        and the client's 429 gate pauses all of them. ``checkpoint`` is a file where finished
        work is recorded, so that a new crawl with the same path skips it. Pages are as large
        as the API allows (``page_size=1000``). Arguments are checked here, before any request;
        see [`Crawl`][ttg_async.Crawl] for the order of records, stopping and resuming.
        """
        crawl = Crawl(
            self,
            location_ids,
            rate_codes=rate_codes,
            inventory=inventory,
            concurrency=concurrency,
            checkpoint=checkpoint,
            page_size=page_size,
        )
        self._shared.crawls.add(crawl)
        return crawl

    def sync(
        self,
        previous: str | os.PathLike[str] | None,
        out: str | os.PathLike[str],
        *,
        location_ids: Iterable[str] | None = None,
        rate_codes: Iterable[str | None] = (None,),
        inventory: bool = True,
        concurrency: int = 16,
        checkpoint: str | os.PathLike[str] | None = None,
        ignore_fields: Iterable[str] = (),
    ) -> Sync:
        """Crawl the catalog and yield what changed since the snapshot ``previous``.

        >>> sync = ttg.sync(previous="monday.jsonl", out="tuesday.jsonl")
        >>> async for change in sync:  # Change(kind, level, key, before, after, fields)
        ...     print(change.kind, change.level, change.key, change.fields)
        >>> print(sync.stats, sync.errors)

        ``out`` receives the new full snapshot (the lines of ``ttg crawl --out``), written
        atomically when the sync ends. ``ignore_fields`` are paths never reported, with
        ``[]`` for any index (``"priceOptions[].sellPrice"``). ``checkpoint`` makes it
        resumable. The crawl arguments are those of `crawl`; see
        [`Sync`][ttg_async.Sync] for the order of changes and resuming.
        """
        return Sync(
            self,
            previous,
            out,
            location_ids=location_ids,
            rate_codes=rate_codes,
            inventory=inventory,
            concurrency=concurrency,
            checkpoint=checkpoint,
            ignore_fields=ignore_fields,
        )

    def _counting_view(self, on_attempt: Callable[[], None]) -> TTGClient:
        """A view whose every HTTP attempt calls ``on_attempt`` first (a crawl's counter)."""
        view = object.__new__(TTGClient)
        view._init(self._shared, self._retry, self._timeout, view=True)
        view._strict = self._strict
        view._on_attempt = on_attempt
        # A crawl reads each page once and counts its own requests: no cache, no coalescing.
        view._coalesce = False
        view._cache = None
        return view

    async def with_raw_response(
        self, call: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> APIResponse[T]:
        """Make one call and return its HTTP status, headers and request ID with its value.

        >>> response = await ttg.with_raw_response(ttg.events.get, "1001")
        >>> response.status, response.request_id, response.headers["Content-Type"]
        (200, 'req_...', 'application/json; charset=utf-8')
        >>> event = response.data

        ``call`` is any call of this client (or of one of its views), with its arguments.
        Errors are raised as usual; they carry ``status``, ``headers`` and ``request_id``
        already. Calls made without this wrapper record nothing.
        """
        capture = Capture()
        token = current_capture.set(capture)
        try:
            data = await call(*args, **kwargs)
        finally:
            current_capture.reset(token)
        if capture.raw is None or capture.request_id is None:
            raise TypeError(
                "with_raw_response: the call made no HTTP request through a ttg_async client"
            )
        return APIResponse(
            data,
            status=capture.raw.status,
            headers=capture.raw.headers,
            request_id=capture.request_id,
        )

    async def aclose(self) -> None:
        """Close the client's own HTTP session (not one passed in). Safe to call twice.

        Running crawls are stopped first. If one cannot make its last checkpoint save, its
        [`CrawlStorageError`][ttg_async.CrawlStorageError] is raised once everything is closed.
        """
        if not self._is_view:
            failed: list[BaseException] = []
            for crawl in list(self._shared.crawls):
                try:
                    await crawl.aclose()
                except CrawlStorageError as exc:  # its last save: raised once the rest is closed
                    failed.append(exc)
            await self._shared.pipeline.aclose()
            if failed:
                raise failed[0]

    def _request(
        self,
        method: str,
        request_path: str,
        decode: Decode[T],
        *,
        query: Mapping[str, object] | None = None,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        options: CallOptions | None = None,
    ) -> Coroutine[Any, Any, T]:
        """One call through the pipeline, to be awaited: every attempt sends the same request.

        ``extra_headers`` are the SDK's own (an idempotency key); ``options`` carries what the
        caller passed to the resource method (``extra_headers=``, ``timeout=``). The request
        is built and checked here, at once; the coroutine returned is the pipeline's own, so a
        call costs one coroutine less.
        """
        shared = self._shared
        shared.pipeline.check_open()
        timeout = self._timeout
        caller_headers = None
        if options is not None:
            caller_headers = options.extra_headers or None
            if not isinstance(options.timeout, NotGiven):
                timeout = check_timeout(options.timeout)
        capture = current_capture.get()
        if capture is not None:
            decode = capture.wrap(decode)
        # The decoders read strictness from the call's context (see protocol.STRICT); it is
        # set around each decode only when it differs, which it does not for a client's own
        # calls.
        if STRICT.get() is not self._strict:
            decode = _Strictness(decode, self._strict)
        if (
            method == "GET"
            and capture is None  # with_raw_response: this call's own request and headers
            and (self._coalesce or self._cache is not None)
            and self._on_attempt is None
            and extra_headers is None
        ):
            hot = self._hot_read(request_path, query, caller_headers, decode, timeout)
            if hot is not None:
                return hot
        spec = build_request(
            shared.config,
            method,
            request_path,
            query=query,
            body=body,
            extra_headers=extra_headers,
        )
        if caller_headers:
            spec = _with_extra_headers(spec, caller_headers)
        return shared.pipeline.call(
            spec, decode, policy=self._retry, timeout=timeout, on_attempt=self._on_attempt
        )

    def _hot_read(
        self,
        request_path: str,
        query: Mapping[str, object] | None,
        caller_headers: Mapping[str, str] | None,
        decode: Decode[T],
        timeout: float,
    ) -> Coroutine[Any, Any, T] | None:
        """A GET through the client's hot reads: the cache, a request in flight, or its own.

        The key is made from what reaches the wire without building the request, which only
        the caller that sends it does (``start``). ``None``: headers that cannot be keyed (the
        ordinary path then raises the right error for them).
        """
        shared = self._shared
        cache = self._cache
        if caller_headers is None:
            headers: Hashable = ()
        else:
            try:
                headers = headers_digest(caller_headers)
            except Exception:
                return None
        key = wire_key(
            shared.identity,
            "GET",
            request_path,
            query_pairs(query) if query else (),
            headers,
            self._strict,
        )
        pipeline = shared.pipeline
        policy = self._retry

        def start(decode: Decode[Any]) -> tuple[str, Coroutine[Any, Any, Any]]:
            spec = build_request(shared.config, "GET", request_path, query=query)
            if caller_headers:
                spec = _with_extra_headers(spec, caller_headers)
            return spec.request_id, pipeline.call(spec, decode, policy=policy, timeout=timeout)

        return shared.hot.read(
            key,
            start,
            decode,
            target=request_path,
            coalesce=self._coalesce,
            cache=cache,
            tags=() if cache is None else shared.tags(request_path),
            wait=policy.deadline,
        )
