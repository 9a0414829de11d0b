"""`BuybackClient`: configuration, tokens, and one call through the shared pipeline.

Every call: take a token from the cache (fetched single-flight when due), build the request
with the Buyback protocol (pure), and hand it to the core pipeline (gate, retry loop,
transport, decode). A 401 on a call that carried a token means the server refused the token
before doing anything, so the token is renewed once and the call replayed once, with the same
``X-Request-ID``, whatever the method.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, TypeVar

import aiohttp

from ttg_async._core.client import ClientBase, check_client_args
from ttg_async._core.config import NOT_GIVEN, NotGiven, check_timeout
from ttg_async._core.errors import AuthenticationError, TTGError
from ttg_async._core.hooks import Hook
from ttg_async._core.hot import (
    CacheStats,
    HotReads,
    ResponseCache,
    check_cache,
    identity_digest,
    request_key,
    view_hot_options,
)
from ttg_async._core.options import CallOptions, merge_headers
from ttg_async._core.pipeline import Pipeline
from ttg_async._core.retry import RetryPolicy
from ttg_async._core.telemetry import Observer, build_observer
from ttg_async._core.transport import RawResponse, RequestSpec
from ttg_async._core.wire import header, new_request_id, query_pairs
from ttg_async.buyback._auth import TokenCache
from ttg_async.buyback._config import BuybackConfig, resolve_buyback_config
from ttg_async.buyback._errors import InvalidCredentialsError
from ttg_async.buyback._models import Token
from ttg_async.buyback._protocol import (
    NAMING,
    TOKEN_PATH,
    PreparedBody,
    build_request,
    decode_token,
    token_body,
)
from ttg_async.buyback._resources import Events, Orders, Quotes, Rows, Sections

__all__ = ["BuybackClient"]

T = TypeVar("T")

# A 401 with one of these codes (or none) refused the token, not the request: renew, replay.
_TOKEN_REFUSED: Final = frozenset({"TOKEN_EXPIRED", "UNAUTHORIZED", None})

# Headers a caller may not set through ``extra_headers``, and why.
_RESERVED_HEADERS: Final = {
    "authorization": "the client sends (and renews) the access token itself",
    "content-type": "the body's type is set by the call (JSON, or multipart with its boundary)",
}


def _with_headers(spec: RequestSpec, extra: Mapping[str, str]) -> RequestSpec:
    headers, request_id = merge_headers(spec.headers, extra, _RESERVED_HEADERS)
    return RequestSpec(
        spec.method, spec.path, spec.query, headers, spec.body, request_id or spec.request_id
    )


class _Shared:
    """What a client and all its ``with_options`` views share."""

    __slots__ = ("config", "hot", "identity", "pipeline", "tokens")

    def __init__(
        self,
        config: BuybackConfig,
        session: aiohttp.ClientSession | None,
        observer: Observer,
        cache: ResponseCache | None = None,
    ) -> None:
        self.config = config
        self.pipeline = Pipeline(
            config.base_url, config.max_connections, session, observer=observer
        )
        self.tokens = TokenCache()
        # Hot reads are keyed on the credentials behind the token (hashed), not on the token,
        # which changes when renewed.
        self.hot = HotReads(cache, self.pipeline.observer)
        self.identity = identity_digest(config.base_url, config.client_id, config.client_secret)


def _server_time(raw: RawResponse) -> datetime | None:
    value = header(raw.headers, "Date")
    if value is None:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


class BuybackClient(ClientBase):
    """An asyncio client for the Ticket Buyback partner API. Share one per process.

    >>> async with BuybackClient("tbb_test_me", "secret", base_url=base_url) as tbb:
    ...     event = (await tbb.events.list(q="arena", max_items=1).collect())[0]
    ...     section = (await tbb.sections.list(event.event_id))[0]
    ...     quote = await tbb.quotes.create(event.event_id, section.section_name, 2)
    ...     order = await tbb.orders.create(
    ...         quote.quote_id, delivery_type="pdf", delivery_deadline=deadline
    ...     )
    ...     print(order.transfer_email)

    ``client_id`` and ``client_secret`` fall back to ``$TBB_CLIENT_ID`` and
    ``$TBB_CLIENT_SECRET``, ``base_url`` to ``$TBB_BASE_URL`` and then the production URL.
    Plain ``http://`` is refused except on loopback. Mistakes raise
    [`ConfigurationError`][ttg_async.ConfigurationError] here, before any network call.

    ``event_hooks=``, ``telemetry=``, ``tracer_provider=`` and ``meter_provider=`` work as for
    [`TTGClient`][ttg_async.TTGClient]; spans are named ``tbb.events.get`` and so on, and the
    token request is a call of its own (``tbb.auth.token``). See ``docs/observability.md``.
    """

    events: Events
    sections: Sections
    rows: Rows
    quotes: Quotes
    orders: Orders

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
        session: aiohttp.ClientSession | None = None,
        cache: ResponseCache | None = None,
        event_hooks: Mapping[str, Sequence[Hook]] | None = None,
        telemetry: bool = True,
        tracer_provider: object = None,
        meter_provider: object = None,
    ) -> None:
        config = resolve_buyback_config(
            client_id=client_id,
            client_secret=client_secret,
            base_url=base_url,
            timeout=timeout,
            max_connections=max_connections,
        )
        policy = check_client_args(retry, session)
        observer = build_observer(
            NAMING,
            config.base_url,
            event_hooks=event_hooks,
            telemetry=telemetry,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        shared = _Shared(config, session, observer, check_cache(cache))
        self._init(shared, policy, config.timeout, view=False)

    def _init(self, shared: _Shared, retry: RetryPolicy, timeout: float, *, view: bool) -> None:
        self._shared = shared
        self._init_base(shared.pipeline, retry, timeout, view=view)
        self._coalesce = True
        self._cache = shared.hot.cache
        self.events = Events(self._call)
        self.sections = Sections(self._call)
        self.rows = Rows(self._call)
        self.quotes = Quotes(self._call)
        self.orders = Orders(self._call)

    @property
    def base_url(self) -> str:
        """The server every call goes to."""
        return self._shared.config.base_url

    @property
    def client_id(self) -> str:
        """The partner's (public) client ID."""
        return self._shared.config.client_id

    def __repr__(self) -> str:
        kind = "view of " if self._is_view else ""
        return (
            f"<BuybackClient {kind}client_id={self.client_id!r} client_secret='…' "
            f"base_url={self.base_url!r}>"
        )

    def with_options(
        self,
        *,
        retry: RetryPolicy | NotGiven = NOT_GIVEN,
        timeout: float | NotGiven = NOT_GIVEN,
        coalesce: bool | NotGiven = NOT_GIVEN,
        cache: NotGiven | None = NOT_GIVEN,
    ) -> BuybackClient:
        """A light view with other per-call options; it shares the session and the token.

        ``coalesce=False`` sends every GET of the view itself; ``cache=None`` bypasses the
        client's [`ResponseCache`][ttg_async.ResponseCache].

        >>> once = tbb.with_options(retry=RetryPolicy.disabled(), timeout=5.0)
        >>> await once.events.get("evt_1001")

        Closing a view does nothing: the session belongs to the client it came from.
        """
        view = object.__new__(BuybackClient)
        view._init(self._shared, *self._view_options(retry, timeout), view=True)
        view._coalesce, view._cache = view_hot_options(
            self._coalesce,
            self._cache,
            new_coalesce=coalesce,
            new_cache=cache,
            client="BuybackClient",
        )
        return view

    def cache_stats(self) -> CacheStats:
        """What hot reads did so far: ``hits``, ``misses``, ``coalesced``, ``refreshes``,
        ``evictions`` (shared by a client and its views).

        >>> tbb.cache_stats().hits
        0
        """
        return self._shared.hot.stats()

    async def aclose(self) -> None:
        """Stop a token request in flight and close the client's own session (not one passed
        in). Safe to call twice; a view's ``aclose`` does nothing."""
        if not self._is_view:
            try:
                await self._shared.tokens.aclose()
            finally:
                await self._shared.pipeline.aclose()

    # -- the pipeline ----------------------------------------------------------------------
    async def _fetch_token(
        self, policy: RetryPolicy, timeout: float
    ) -> tuple[Token, datetime | None]:
        config = self._shared.config
        spec = build_request(
            "POST",
            TOKEN_PATH,
            token=None,
            body=token_body(config.client_id, config.client_secret),
        )
        server_now: list[datetime | None] = [None]

        def decode(raw: RawResponse, request_id: str) -> Token:
            server_now[0] = _server_time(raw)
            return decode_token(raw, request_id=request_id)

        try:
            token = await self._shared.pipeline.call(spec, decode, policy=policy, timeout=timeout)
        except TTGError as exc:
            # Asking for a token changes nothing that matters: the caller's own request was
            # never sent, so its outcome is known.
            exc.outcome_unknown = False
            raise
        return token, server_now[0]

    async def _call(
        self,
        method: str,
        request_path: str,
        decode: Callable[[RawResponse, str], T],
        *,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | PreparedBody | None = None,
        options: CallOptions | None = None,
    ) -> T:
        """One call: ``body`` is a JSON object, or a body already serialized (multipart).

        ``options`` are the caller's ``extra_headers=`` and ``timeout=``; both are checked
        here, before the token request.
        """
        self._shared.pipeline.check_open()
        policy = self._retry
        timeout = self._timeout
        extra: Mapping[str, str] | None = None
        if options is not None:
            if options.extra_headers is not None:
                extra = options.extra_headers
                merge_headers({}, extra, _RESERVED_HEADERS)  # a mistake costs no request
            if not isinstance(options.timeout, NotGiven):
                timeout = check_timeout(options.timeout)
        request_id = new_request_id()
        if method == "GET" and (self._coalesce or self._cache is not None):
            # Events, sections and rows: shared while in flight, and cached when asked.
            # (Quotes and orders are POSTs: never.)
            own = {"X-Request-ID": request_id, **(extra or {})}
            key = request_key(
                self._shared.identity,
                RequestSpec(method, request_path, query_pairs(query), own, None, request_id, own),
            )

            def start(keep: Callable[[RawResponse, str], Any]) -> tuple[str, Awaitable[Any]]:
                call = self._send(
                    method, request_path, keep, query, body, extra, timeout, request_id
                )
                return request_id, call

            return await self._shared.hot.read(
                key,
                start,
                decode,
                target=request_path,
                coalesce=self._coalesce,
                cache=self._cache,
                wait=policy.deadline,
            )
        return await self._send(
            method, request_path, decode, query, body, extra, timeout, request_id
        )

    async def _send(
        self,
        method: str,
        request_path: str,
        decode: Callable[[RawResponse, str], T],
        query: Mapping[str, object] | None,
        body: Mapping[str, Any] | PreparedBody | None,
        extra: Mapping[str, str] | None,
        timeout: float,
        request_id: str,
    ) -> T:
        """The call itself: a token, the request, and one replay after a refused token."""
        pipeline = self._shared.pipeline
        tokens = self._shared.tokens
        loop = asyncio.get_running_loop()
        policy = self._retry
        ends_at = None if policy.deadline is None else loop.time() + policy.deadline

        def remaining_policy() -> RetryPolicy:
            # The call's deadline covers the token request and the replay too.
            if ends_at is None:
                return policy
            left = ends_at - loop.time()
            return dataclasses.replace(policy, deadline=max(left, 0.001))

        async def fetch() -> tuple[Token, datetime | None]:
            return await self._fetch_token(remaining_policy(), timeout)

        token = await tokens.token(fetch)
        for replay in (False, True):
            # Rebuilt for the replay from the same values (a serialized multipart body is
            # plain bytes), so the replay sends exactly what the first attempt sent.
            spec = build_request(
                method, request_path, token=token, query=query, body=body, request_id=request_id
            )
            if extra:
                spec = _with_headers(spec, extra)
            try:
                return await pipeline.call(spec, decode, policy=remaining_policy(), timeout=timeout)
            except AuthenticationError as exc:
                if (
                    replay
                    or exc.status != 401
                    or isinstance(exc, InvalidCredentialsError)
                    or exc.code not in _TOKEN_REFUSED
                ):
                    raise
            # Renewed outside the except block, so a token error is not chained to the 401.
            token = await tokens.renew(token, fetch)
        raise AssertionError("unreachable")  # pragma: no cover
