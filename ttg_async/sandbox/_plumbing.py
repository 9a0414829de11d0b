"""Plumbing both sandboxes use (TTG's and Ticket Buyback's): query parsing, faults striking
before or after the work, and serving an application on a loopback port.

Each sandbox keeps its own routes, envelope and error bodies; what a fault does to a request
and how a query number is read is written once, here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import socket
import struct
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Final, TypedDict

from aiohttp import web

from ttg_async.sandbox._faults import Fault

__all__ = [
    "FaultOptions",
    "abort",
    "date_param",
    "int_param",
    "retry_after_headers",
    "serve_app",
    "strike_after",
    "strike_before",
    "truncate",
]

_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Builds the sandbox's own 400 for a bad query parameter: ``fail(name, message)``.
Fail = Callable[[str, str], Exception]


class FaultOptions(TypedDict, total=False):
    """The options of a sandbox's ``inject``, as :class:`Fault` takes them."""

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
    app: web.Application, host: str, port: int, *, path: str = ""
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (``0``: a free port); yield its base URL + ``path``."""
    # A short shutdown grace: a scripted slow response must not hold up a test's teardown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{bound}{path}"
    finally:
        await runner.cleanup()
