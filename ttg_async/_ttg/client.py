"""`TTGClient`: configuration, the session's lifetime, and the one request pipeline.

Every call goes the same way: build the request with the TTG protocol (pure), then hand it to
the shared pipeline (``ttg_async._core.pipeline``): inside the retry loop, wait at the
rate-limit gate, send one attempt through the transport, and decode the answer (pure).
Resources only name a path, a query and a response type.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TypeVar

import aiohttp

from ttg_async._core.config import NOT_GIVEN, NotGiven, check_timeout
from ttg_async._core.errors import ConfigurationError
from ttg_async._core.pagination import MAX_LIMIT
from ttg_async._core.pipeline import Decode, Pipeline
from ttg_async._core.retry import RetryPolicy
from ttg_async._ttg.config import ClientConfig, redact_key, resolve_config
from ttg_async._ttg.crawl import Crawl
from ttg_async._ttg.protocol import build_request
from ttg_async._ttg.resources import Carts, Events, Inventory, Locations, Occurrences, Orders

__all__ = ["TTGClient"]

T = TypeVar("T")


class _Shared:
    """What a client and all its :meth:`~TTGClient.with_options` views have in common."""

    __slots__ = ("config", "crawls", "pipeline")

    def __init__(self, config: ClientConfig, session: aiohttp.ClientSession | None) -> None:
        self.config = config
        self.pipeline = Pipeline(config.base_url, config.max_connections, session)
        # Crawls still running when the client closes are stopped first.
        self.crawls: weakref.WeakSet[Crawl] = weakref.WeakSet()


class TTGClient:
    """An asyncio client for the TTG API v3. Share one per process.

    >>> async with TTGClient("sk_test_...", "my-retailer") as ttg:
    ...     async for location in ttg.locations.list():
    ...         print(location.name)

    The key and retailer fall back to ``$TTG_API_KEY`` and ``$TTG_RETAILER``; ``platform`` to
    ``$TTG_PLATFORM`` and then ``"api"``; ``base_url`` to ``$TTG_BASE_URL`` and then to the
    environment the key belongs to (``sk_test_`` staging, ``sk_live_`` production). Every
    mistake among these raises :class:`ConfigurationError` here, before any network call.
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
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError(
                f"must be a RetryPolicy or None, not {type(retry).__name__}", field="retry"
            )
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError(
                f"must be an aiohttp.ClientSession or None, not {type(session).__name__}",
                field="session",
            )
        self._init(_Shared(config, session), retry or RetryPolicy(), config.timeout, view=False)

    def _init(self, shared: _Shared, retry: RetryPolicy, timeout: float, *, view: bool) -> None:
        self._shared = shared
        self._retry = retry
        self._timeout = timeout
        self._is_view = view
        self._on_attempt: Callable[[], None] | None = None
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

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy calls made through this client (or view) use."""
        return self._retry

    @property
    def timeout(self) -> float:
        """Seconds allowed for each attempt."""
        return self._timeout

    @property
    def closed(self) -> bool:
        return self._shared.pipeline.closed

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
    ) -> TTGClient:
        """A light view of this client with other per-call options; it shares the session.

        >>> fast = ttg.with_options(retry=RetryPolicy.disabled(), timeout=2.0)
        >>> await fast.events.get("1001")

        Closing a view does nothing: the session belongs to the client it came from.
        """
        new_retry = self._retry
        if not isinstance(retry, NotGiven):
            if not isinstance(retry, RetryPolicy):
                raise ConfigurationError(
                    f"must be a RetryPolicy, not {type(retry).__name__}", field="retry"
                )
            new_retry = retry
        new_timeout = self._timeout
        if not isinstance(timeout, NotGiven):
            new_timeout = check_timeout(timeout)
        view = object.__new__(TTGClient)
        view._init(self._shared, new_retry, new_timeout, view=True)
        return view

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
        see :class:`~ttg_async.Crawl` for the order of records, stopping and resuming.
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

    def _counting_view(self, on_attempt: Callable[[], None]) -> TTGClient:
        """A view whose every HTTP attempt calls ``on_attempt`` first (a crawl's counter)."""
        view = object.__new__(TTGClient)
        view._init(self._shared, self._retry, self._timeout, view=True)
        view._on_attempt = on_attempt
        return view

    async def __aenter__(self) -> TTGClient:
        self._shared.pipeline.check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's own HTTP session (not one passed in). Safe to call twice."""
        if not self._is_view:
            for crawl in list(self._shared.crawls):
                await crawl.aclose()
            await self._shared.pipeline.aclose()

    async def _request(
        self,
        method: str,
        request_path: str,
        decode: Decode[T],
        *,
        query: Mapping[str, object] | None = None,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> T:
        """Run one call through the pipeline: every attempt sends the same request."""
        shared = self._shared
        shared.pipeline.check_open()
        spec = build_request(
            shared.config,
            method,
            request_path,
            query=query,
            body=body,
            extra_headers=extra_headers,
        )
        return await shared.pipeline.call(
            spec, decode, policy=self._retry, timeout=self._timeout, on_attempt=self._on_attempt
        )
