"""The one place where ttg_async touches aiohttp.

`Transport.send` makes a single HTTP attempt and returns the raw answer. Every aiohttp
exception is converted here, and only here, into
[`APIConnectionError`][ttg_async.APIConnectionError] or
[`APITimeoutError`][ttg_async.APITimeoutError], so no ``aiohttp.*`` error ever reaches a user.

Two aiohttp timeout quirks are handled on purpose:

- ``ClientTimeout.total`` also counts the time spent waiting for a free connection in the pool
  (aiohttp #10313), so a burst of calls can time out without ever being sent. We keep our own
  slot semaphore in front of the pool and only start the attempt's clock once a slot is held.
- ``sock_read`` restarts with every chunk, so a server that drips one byte at a time can hold a
  caller forever (aiohttp #9547). aiohttp's ``total`` timer, armed once an attempt holds its
  slot, is the backstop: it bounds connecting, sending and reading the whole body, and no
  chunk resets it. aiohttp's connect phase ends just before it, so a connection that never
  opens is still reported as never sent.

The hot path pays only for what a call uses: the headers every call sends are set once on a
session we own, one ``ClientTimeout`` serves every attempt with the same budget, and a call
without a deadline does no deadline arithmetic.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Final

import aiohttp
import msgspec
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from yarl import URL

from ttg_async._core.errors import APIConnectionError, APITimeoutError, ConfigurationError
from ttg_async._core.wire import request_target

__all__ = ["RawResponse", "RequestSpec", "Transport"]

log: Final = logging.getLogger("ttg_async")

# How much earlier than the attempt's backstop aiohttp's connect phase must give up.
_CONNECT_MARGIN: Final = 0.05
# aiohttp warns (ResourceWarning) when it is handed more raw bytes than this in one piece;
# a larger body (a ticket PDF in a multipart order) goes as a fresh stream over the same bytes.
_LARGE_BODY: Final = 2**20


class RequestSpec(msgspec.Struct, frozen=True, gc=False):
    """Everything needed to send one call: every attempt of the call sends exactly this.

    ``headers`` are all the headers of the request. ``own_headers``, when the protocol knows
    them, are those beyond the fixed ``default_headers`` its `Transport` was given
    (``headers == {**default_headers, **own_headers}``): on a session the transport owns, only
    these are passed per request.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes | None
    request_id: str
    own_headers: Mapping[str, str] | None = None

    def url(self, base_url: str) -> str:
        return base_url + self.path


class RawResponse(msgspec.Struct, frozen=True, gc=False):
    """What came back over the wire, before any interpretation."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _Attempt:
    """Whether one attempt got a connection: only then can any of the request have left."""

    __slots__ = ("connected",)

    def __init__(self) -> None:
        self.connected = False


#: The attempt being sent by the current task, for the connector to mark as connected.
#: aiohttp asks the connector for a connection in the task that awaits the request.
_SENDING: Final[ContextVar[_Attempt | None]] = ContextVar("ttg_async_sending", default=None)


class _Connector(aiohttp.TCPConnector):
    """A connector that tells the attempt being sent when it got its connection.

    This is what an ``on_connection_create_end`` / ``on_connection_reuseconn`` trace would
    say, without aiohttp's tracing, which costs about an eighth of a small call.
    """

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        connection = await super().connect(req, traces, timeout)
        attempt = _SENDING.get()
        if attempt is not None:
            attempt.connected = True
        return connection


class _Slots:
    """The connection slots of one transport: a semaphore whose free path is not a coroutine.

    ``free`` is how many slots no attempt holds. An attempt takes one with
    ``if slots.free > 0 and not slots.waiting: slots.free -= 1``, or else awaits
    `wait`; `release` hands a slot straight to the oldest waiter, so a late
    arrival cannot overtake a task that is already queued.
    """

    __slots__ = ("free", "waiting")

    def __init__(self, count: int) -> None:
        self.free = count
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def wait(self) -> None:
        """Wait for a slot (when ``free`` is 0 or others are queued); it is held on return."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        try:
            await waiter
        except BaseException:
            # Cancelled (or timed out) after a slot was handed over: pass it on.
            if waiter.done() and not waiter.cancelled():
                self.release()
            else:
                waiter.cancel()
            raise

    def release(self) -> None:
        waiting = self.waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


def _payload(body: bytes | None) -> bytes | io.BytesIO | None:
    """What aiohttp is given to send: the bytes, or for a large body a new stream over them
    (one per attempt, so a retry or a replay sends the very same bytes again)."""
    if body is None or len(body) <= _LARGE_BODY:
        return body
    return io.BytesIO(body)


class Transport:
    """Sends single attempts over one shared `aiohttp.ClientSession`.

    The session is created lazily, inside the running event loop, unless the caller supplied
    one; a supplied session is never closed by us.
    """

    def __init__(
        self,
        base_url: str,
        max_connections: int,
        session: aiohttp.ClientSession | None,
        *,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._base_url = base_url
        self._max_connections = max_connections
        self._session = session
        self._owns_session = session is None
        self._slots: _Slots | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Headers every request sends (the API's credentials and fixed options). On a session
        # we own they are the session's defaults, so a request passes only what differs.
        self._default_headers = dict(default_headers or {})
        # One aiohttp timeout per attempt budget without a deadline (the budget is then the
        # client's fixed per-attempt timeout, so this holds one or two entries).
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    @property
    def closed(self) -> bool:
        return self._closed

    def _ensure_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            # aiohttp sessions and asyncio primitives belong to one loop; using them from
            # another fails later with an obscure error, or hangs. Say so now.
            raise RuntimeError(
                "this client is bound to the event loop it first ran in; "
                "create one client per event loop (for example inside your app's startup hook)"
            )
        if self._session is None:
            # It tells each attempt when it gets its connection, new or pooled, so that a
            # timeout can say for sure whether the request may have left (see send()).
            connector = _Connector(
                limit=self._max_connections,
                limit_per_host=self._max_connections,
                ttl_dns_cache=300,
            )
            # No aiohttp timeout here: every attempt brings its own (see send()).
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._default_headers or None,
                timeout=aiohttp.ClientTimeout(total=None),
                raise_for_status=False,
                auto_decompress=True,
            )
        return self._session

    def _headers_for(self, request: RequestSpec) -> Mapping[str, str]:
        """The headers to pass with ``request``: all of them on a session passed in, only
        those that differ from the session's defaults on our own."""
        defaults = self._default_headers
        if not defaults or not self._owns_session:
            return request.headers
        if request.own_headers is not None:
            return request.own_headers
        # aiohttp merges these over the defaults case-insensitively, so a per-call value
        # (under any spelling) still replaces the default one.
        return {k: v for k, v in request.headers.items() if defaults.get(k) != v}

    def _timeout_for(self, budget: float, *, cache: bool) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(budget) if cache else None
        if timeout is None:
            # The backstop is ``total``; aiohttp's connect phase (DNS and TCP; no pool wait,
            # we hold a slot) ends a little earlier, so that a connection that never opened
            # reports ConnectionTimeoutError (not sent) rather than losing the race to the
            # backstop and passing for a sent request. Neither is rounded up to whole seconds
            # (``ceil_threshold``). No sock_read: ``total`` already bounds the whole body, and
            # a read timer would be re-armed on every chunk for nothing.
            timeout = aiohttp.ClientTimeout(
                total=budget,
                connect=budget - min(_CONNECT_MARGIN, budget / 10),
                ceil_threshold=math.inf,
            )
            if cache and len(self._timeouts) < 8:
                self._timeouts[budget] = timeout
        return timeout

    async def send(
        self, request: RequestSpec, *, timeout: float, deadline_at: float | None = None
    ) -> RawResponse:
        """Make one attempt.

        ``timeout`` bounds the attempt from the moment it holds a connection slot until the
        whole body is read. ``deadline_at`` (event-loop time) bounds everything, the wait for
        a slot included; ``None`` means the call has no overall deadline.
        """
        if self._closed:
            raise RuntimeError("the transport is closed")
        # Built here, whole and already encoded: yarl must neither re-quote the path nor
        # resolve a segment away, and the query is encoded by us, so the bytes sent are the
        # ones the request names. Too long a target raises ValueError before anything is sent.
        target = request_target(request.path, request.query)
        try:
            url = URL(self._base_url + target, encoded=True)
            if url.port is None:  # yarl parses lazily: a bad host or port fails here, not later
                raise ValueError("no port")
        except ValueError as exc:
            raise self._invalid_url(request, exc) from exc
        session = self._session
        if session is None or asyncio.get_running_loop() is not self._loop:
            session = self._ensure_session()  # creates it, or refuses a second event loop
        slots = self._slots
        if slots is None:
            slots = self._slots = _Slots(self._max_connections)
        left: float | None = None  # what was left of the call's deadline, if it has one
        if deadline_at is None:
            if slots.free > 0 and not slots.waiting:
                slots.free -= 1
            else:
                await slots.wait()
            aio_timeout = self._timeouts.get(timeout) or self._timeout_for(timeout, cache=True)
        else:
            if slots.free > 0 and not slots.waiting:
                slots.free -= 1
            else:
                try:
                    async with asyncio.timeout_at(deadline_at):
                        await slots.wait()
                except TimeoutError:
                    raise APITimeoutError(
                        "no connection slot became free before the call's deadline",
                        request_id=request.request_id,
                        request_sent=False,
                    ) from None
            left = deadline_at - asyncio.get_running_loop().time()
            aio_timeout = self._timeout_for(max(0.001, min(timeout, left)), cache=False)
        # On a session we own, the attempt learns whether it got a connection.
        if self._owns_session:
            attempt: _Attempt | None = _Attempt()
            sending = _SENDING.set(attempt)
            headers = request.own_headers
            if headers is None:
                headers = self._headers_for(request)
        else:
            attempt = sending = None
            headers = request.headers
        try:
            async with session.request(
                request.method,
                url,
                headers=headers,
                data=_payload(request.body),
                timeout=aio_timeout,
                allow_redirects=False,
            ) as response:
                return RawResponse(response.status, response.headers, await response.read())
        except aiohttp.ConnectionTimeoutError:
            raise APITimeoutError(
                f"could not connect to {self._base_url} within {aio_timeout.connect:.3g} s",
                request_id=request.request_id,
                request_sent=False,
            ) from None
        except (aiohttp.ServerTimeoutError, TimeoutError):
            if attempt is not None and not attempt.connected:
                # The connect timer and the backstop can fire in the same turn of a busy
                # loop; then the backstop's error wins, although no connection ever opened.
                # Nothing can have left this process, so say so: a POST /carts may be retried.
                raise APITimeoutError(
                    f"could not connect to {self._base_url} within {aio_timeout.total:.3g} s",
                    request_id=request.request_id,
                    request_sent=False,
                ) from None
            # Which limit the attempt hit: its own, or what was left of the call's deadline.
            limit = f"the per-attempt timeout of {timeout:.3g} s"
            if left is not None and left < timeout:
                limit = f"what was left ({max(left, 0.0):.3g} s) of the call's deadline"
            raise APITimeoutError(
                f"{request.method} {request.path}: no complete answer within {limit}",
                request_id=request.request_id,
            ) from None
        except aiohttp.InvalidURL as exc:
            raise self._invalid_url(request, exc) from exc
        except aiohttp.ClientConnectorError as exc:
            # The connection never opened, so the request never left this process.
            raise APIConnectionError(
                f"could not connect to {self._base_url}: {exc.os_error.strerror or exc}",
                request_id=request.request_id,
                request_sent=False,
            ) from None
        except aiohttp.ClientPayloadError:
            raise APIConnectionError(
                f"{request.method} {request.path}: the response body was cut off",
                request_id=request.request_id,
            ) from None
        except aiohttp.ServerDisconnectedError:
            raise APIConnectionError(
                f"{request.method} {request.path}: the server closed the connection "
                "without answering",
                request_id=request.request_id,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(
                f"{request.method} {request.path}: connection failed ({type(exc).__name__})",
                request_id=request.request_id,
            ) from None
        finally:
            if sending is not None:
                _SENDING.reset(sending)
            slots.release()

    def _invalid_url(self, request: RequestSpec, exc: Exception) -> ConfigurationError:
        """A URL that aiohttp or yarl refuses: nothing was sent, and sending it again would
        fail the same way, so this is never retried and never leaves the outcome unknown."""
        return ConfigurationError(
            f"{request.method} {request.path} not sent: the URL under {self._base_url!r} is "
            f"invalid ({exc})",
            field="base_url",
        )

    async def aclose(self) -> None:
        """Close the session if we own it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()
