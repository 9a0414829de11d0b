"""Plumbing both sandboxes use (TTG's and Ticket Buyback's): query parsing, faults striking
before or after the work, and serving an application on a loopback port.

Each sandbox keeps its own routes, envelope and error bodies; what a fault does to a request
and how a query number is read is written once, here. So is how a sandbox is served: idle
connections time out, open connections are capped (the least recently active idle one makes
way for a newcomer), a request aiohttp cannot even parse is answered in the sandbox's own
error body when it gives one, and a sandbox bound beyond loopback says so loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import re
import socket
import struct
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final, TypedDict

from aiohttp import web

from ttg_async.sandbox._faults import Fault

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_CONNECTIONS",
    "ErrorRenderer",
    "FaultOptions",
    "abort",
    "connection_cap",
    "date_param",
    "int_param",
    "is_loopback",
    "retry_after_headers",
    "serve_app",
    "strike_after",
    "strike_before",
    "truncate",
    "warn_if_exposed",
]

_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

logger: Final = logging.getLogger("ttg_async.sandbox")

#: Seconds an open connection may sit without a request before the server closes it. Longer
#: than aiohttp's client keeps an idle pooled connection (15 s), so a client never reuses a
#: connection the server is closing under it.
IDLE_TIMEOUT: Final = 30.0

#: At most this many open connections (fewer when the file-descriptor limit is low).
MAX_CONNECTIONS: Final = 512

#: Renders an error aiohttp answers itself, before any handler runs (a request it cannot
#: parse) or after one crashed: ``render(status) -> Response`` in the sandbox's own body.
ErrorRenderer = Callable[[int], web.Response]

#: Builds the sandbox's own 400 for a bad query parameter: ``fail(name, message)``.
Fail = Callable[[str, str], Exception]


class FaultOptions(TypedDict, total=False):
    """The options of a sandbox's ``inject``, as [`Fault`][ttg_async.sandbox.Fault] takes them."""

    times: int | None
    probability: float | None
    seed: int
    status: int
    retry_after: float | None
    delay: float


def int_param(
    query: Mapping[str, str], name: str, default: int, lo: int, hi: int | None, fail: Fail
) -> int:
    """An integer query parameter within ``[lo, hi]`` (``hi=None``: no upper bound)."""
    raw = query.get(name)
    if raw is None:
        return default
    # No cap on digits below Python's own int() limit: an offset far past the end is a valid
    # request for an empty page (docs/openapi.yaml bounds offset only from below).
    # ASCII digits only: "³".isdigit() is true, but int() refuses it.
    digits = raw.isascii() and raw.isdigit()
    if not digits or len(raw) > 1000 or int(raw) < lo or (hi is not None and int(raw) > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise fail(name, f"{name} must be an integer {bound}.")
    return int(raw)


def date_param(query: Mapping[str, str], name: str, fail: Fail) -> dt.date | None:
    """A ``YYYY-MM-DD`` query parameter, or ``None`` when absent."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        if not _DATE_RE.match(raw):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise fail(name, f"{name} must be an ISO date (YYYY-MM-DD).") from None


def abort(request: web.BaseRequest) -> None:
    """Drop the connection with a TCP reset, as a crashed peer or middlebox would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout turns close() into an RST instead of a FIN.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def truncate(request: web.BaseRequest, resp: web.Response, request_id: str) -> None:
    """Send the full headers and half of the body, then close the connection.

    An answer without a body (``DELETE``'s 204) has nothing to cut, so half of its head is
    sent instead: either way the client never gets a whole answer.
    """
    transport = request.transport
    body = resp.body if isinstance(resp.body, bytes) else b""
    if transport is None:
        return
    head = (
        f"HTTP/1.1 {resp.status} {resp.reason}\r\n"
        f"Content-Type: {resp.content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n\r\n"
    ).encode()
    sent = head + body[: len(body) // 2] if body else head[: len(head) // 2]
    transport.write(sent)
    # close() flushes what was written, then sends FIN: the client sees a short body.
    transport.close()


def retry_after_headers(fault: Fault) -> dict[str, str]:
    """``Retry-After`` for a status fault that has one (whole seconds written as such)."""
    if fault.retry_after is None:
        return {}
    ra = fault.retry_after
    return {"Retry-After": str(int(ra)) if float(ra).is_integer() else str(ra)}


async def strike_before(request: web.BaseRequest, fault: Fault | None, latency: float) -> bool:
    """Apply the latency and a fault that strikes before any work (a reset, a slow answer).

    Returns true when the request must be dropped unhandled: the connection was reset, or
    the client left while the server dawdled (like a server that checks for a closed
    connection before it starts work, so nothing is committed that no one waits for).
    """
    kind = None if fault is None else fault.kind
    if kind == "reset_before":
        abort(request)
        return True
    delay = latency
    if fault is not None and kind == "slow":
        delay += fault.delay
    if delay > 0:
        await asyncio.sleep(delay)
        if request.transport is None:
            return True
    return False


async def strike_after(
    request: web.BaseRequest,
    resp: web.StreamResponse,
    fault: Fault,
    request_id: str,
    fault_response: Callable[[], web.Response],
) -> web.StreamResponse:
    """The work is done (or refused); make only the answer go wrong, as ``fault`` says."""
    kind = fault.kind
    if kind == "reset_after_commit":
        abort(request)
    elif kind == "truncate" and isinstance(resp, web.Response):
        truncate(request, resp, request_id)
    elif kind in ("status_after_commit", "html_502_after_commit"):
        return fault_response()
    elif kind == "slow_after_commit":
        await asyncio.sleep(fault.delay)
    elif kind == "nested_after_commit" and isinstance(resp, web.Response):
        resp.body = nest(resp.body if isinstance(resp.body, bytes) else b"")
    return resp


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback(""), is_loopback("192.168.1.5")
    (False, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "" (every interface) or a host name: assume the network


def connection_cap(max_connections: int = MAX_CONNECTIONS) -> int:
    """``max_connections``, lowered to half the process's file-descriptor limit if need be.

    A server that runs out of descriptors stops accepting anyone; half leaves room for what
    else the process holds (in a test, the clients' ends of the same connections).
    """
    try:
        import resource  # POSIX only

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError):  # pragma: no cover (not POSIX)
        return max_connections
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(8, min(max_connections, (soft - 64) // 2))


class _ConnectionGuard:
    """The open connections, least recently active first, and the cap on their number."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        # Insertion-ordered: a connection moves to the end whenever bytes arrive on it.
        self.open: dict[_Protocol, None] = {}

    def opened(self, conn: _Protocol) -> None:
        self.open[conn] = None
        if len(self.open) <= self.cap:
            return
        # Over the cap: the least recently active idle connection makes way. A connection
        # with a request in hand is never cut; if every one is busy, the newcomer is refused.
        victim = next((c for c in self.open if c is not conn and c.idle()), conn)
        del self.open[victim]
        victim.force_close()

    def touched(self, conn: _Protocol) -> None:
        if conn in self.open:
            del self.open[conn]
            self.open[conn] = None

    def closed(self, conn: _Protocol) -> None:
        self.open.pop(conn, None)


class _Protocol(web.RequestHandler):
    """aiohttp's connection handler, under the guard and with the sandbox's error bodies."""

    def __init__(
        self,
        manager: web.Server,
        guard: _ConnectionGuard,
        render_error: ErrorRenderer | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._render_error = render_error

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._guard.opened(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._guard.touched(self)
        super().data_received(data)

    def idle(self) -> bool:
        """Waiting for a request: nothing in hand, nothing queued (or half a request line).

        The same test aiohttp's own keep-alive timer applies before it closes a connection.
        """
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer what aiohttp answers itself (unparsable requests, crashes) in our body."""
        if self._render_error is None:
            return super().handle_error(request, status, exc, message)
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        else:
            # The client's mistake (a port scan, a fuzzer): not worth a traceback.
            self.logger.debug("Bad request from %s: %s", request.remote, message or exc)
        if request.writer.output_size > 0:
            # Part of an answer went out already: the connection is beyond saving.
            raise ConnectionError("an answer was already started; cannot send an error")
        resp = self._render_error(status)
        resp.force_close()
        return resp


class _Server(web.Server):
    """aiohttp's low-level server over an application, making `_Protocol`s."""

    def __init__(
        self,
        base: web.Server,
        guard: _ConnectionGuard,
        render_error: ErrorRenderer | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            base.request_handler,
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            **kwargs,
        )
        self._protocol_args = (guard, render_error, kwargs)

    def __call__(self) -> web.RequestHandler:
        guard, render_error, kwargs = self._protocol_args
        loop = asyncio.get_running_loop()
        return _Protocol(self, guard, render_error, loop=loop, **kwargs)


class _Runner(web.AppRunner):
    """``web.AppRunner`` whose server makes `_Protocol`s (aiohttp has no public hook
    for the protocol class or for the answer to a request it cannot parse: aiohttp#3287)."""

    def __init__(
        self,
        app: web.Application,
        guard: _ConnectionGuard,
        render_error: ErrorRenderer | None,
        *,
        shutdown_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, shutdown_timeout=shutdown_timeout, **kwargs)
        self._server_args = (guard, render_error, kwargs)

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        guard, render_error, kwargs = self._server_args
        return _Server(base, guard, render_error, **kwargs)


def warn_if_exposed(host: str, base_url: str, credentials: str = "any sk_test_* key") -> None:
    """Say loudly (a WARNING log and a line on stderr) that a sandbox left loopback."""
    if is_loopback(host):
        return
    text = (
        f"sandbox bound to {base_url}, beyond loopback: anyone who can reach this machine can "
        f"use it, and test keys ({credentials}) now work from the network"
    )
    logger.warning(text)
    # With no handler anywhere, logging prints the warning on stderr itself (its last
    # resort): print our line only when the log goes somewhere else, so it shows up once.
    if logger.hasHandlers():
        print(f"WARNING: {text}", file=sys.stderr, flush=True)


#: How deep :func:`nest` buries its extra member: far past any recursion limit.
NEST_DEPTH: Final = 100_000


def nest(body: bytes) -> bytes:
    """``body`` (a JSON object) with one more member, ``"nested"``, a list nested
    :data:`NEST_DEPTH` deep: valid JSON that a recursive decoder cannot read."""
    deep = b"[" * NEST_DEPTH + b"]" * NEST_DEPTH
    head = body.rstrip()
    if not head.endswith(b"}"):
        return deep
    inner = head[:-1].rstrip()
    comma = b"" if inner.endswith(b"{") else b","
    return inner + comma + b'"nested":' + deep + b"}"


@contextlib.asynccontextmanager
async def serve_app(
    app: web.Application,
    host: str,
    port: int,
    *,
    path: str = "",
    render_error: ErrorRenderer | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
    max_connections: int | None = None,
    credentials: str = "any sk_test_* key",
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (``0``: a free port); yield its base URL + ``path``.

    ``credentials`` names what the warning beyond loopback says now works from the network.

    A connection idle for ``idle_timeout`` seconds is closed; at most ``max_connections``
    (default: `connection_cap`) stay open. ``render_error`` answers the requests
    aiohttp answers itself (default: aiohttp's plain text). Binding beyond loopback warns.
    """
    guard = _ConnectionGuard(connection_cap() if max_connections is None else max_connections)
    # A short shutdown grace: a scripted slow response must not hold up a test's teardown.
    runner = _Runner(
        app,
        guard,
        render_error,
        shutdown_timeout=0.25,
        access_log=None,
        keepalive_timeout=idle_timeout,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        base_url = f"http://{shown}:{bound}"
        warn_if_exposed(host, base_url, credentials)
        yield base_url + path
    finally:
        await runner.cleanup()
