"""Wire helpers every API's protocol uses: pure, no sockets, no event loop.

Request IDs, percent-encoded paths, query pairs, case-blind header lookups, and turning a 2xx
body into a model (or a [`ResponseDecodeError`][ttg_async.ResponseDecodeError] that says where it
stopped fitting). Each API's protocol module adds its own headers, envelope and error mapping on
top.

>>> quote_path("/v1", "events", "evt_1", "sections", "Club & Suites", "rows")
'/v1/events/evt_1/sections/Club%20%26%20Suites/rows'
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import quote

import msgspec

from ttg_async._core.checks import check_sendable
from ttg_async._core.decoding import TolerantDecoder, decoder_for, error_path
from ttg_async._core.errors import APIError, RateLimitError, ResponseDecodeError
from ttg_async._core.retry import parse_retry_after

__all__ = [
    "api_error",
    "decode_body",
    "envelope_decoder",
    "header",
    "new_request_id",
    "query_pairs",
    "quote_path",
    "request_target",
]

T = TypeVar("T")

# Unreserved characters (RFC 3986) need no quoting: most IDs and every fixed segment.
_UNRESERVED: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-"


# Trace IDs must be unique, not secret (idempotency keys come from ``secrets``): 96 bits from
# a generator of our own, seeded from the OS, is a system call less per request than
# os.urandom. It is reseeded in a forked child, and a user's ``random.seed()`` cannot touch it.
_ids: Final = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.seed)
_id_bits: Final = _ids.getrandbits


def new_request_id() -> str:
    """A fresh trace ID, ``req_<24 hex digits>``: one per call, sent unchanged on every attempt.

    >>> new_request_id().startswith("req_")
    True
    """
    return f"req_{_id_bits(96):024x}"


def quote_path(prefix: str, *segments: str) -> str:
    """Join ``segments`` under ``prefix``, percent-encoding each one whole.

    IDs are opaque and names hold spaces, ``&``, ``#`` or ``/``: no segment is trusted to be
    URL-safe, so none can escape into another segment, the query or a fragment. A segment
    that cannot be sent as itself (empty, ``.``, ``..``, or holding a lone surrogate) raises
    ``ValueError``: resources check their arguments first, naming them; this is the
    backstop, so that no path but the one named is ever built.

    >>> quote_path("/api/v3", "events", "12/3")
    '/api/v3/events/12%2F3'
    """
    path = prefix
    for segment in segments:
        # Most IDs are alphanumeric and every fixed segment is unreserved: no quoting.
        if segment.isalnum() and segment.isascii():
            path += "/" + segment
            continue
        if not segment or segment == "." or segment == "..":
            raise ValueError(f"path segment {segment!r} would not be sent as itself")
        if segment.strip(_UNRESERVED) or not segment.isascii():
            segment = quote(check_sendable(segment, "path segment"), safe="")
        path += "/" + segment
    return path


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_pairs(query: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """The query as ``(name, text)`` pairs; ``None`` values are left out, booleans are
    ``true``/``false``. A value with a lone surrogate raises ``ValueError`` naming the
    parameter (nothing could carry it as given; an encoder would drop or mangle it).

    >>> query_pairs({"limit": 20, "q": None, "flag": True})
    (('limit', '20'), ('flag', 'true'))
    """
    if not query:
        return ()
    return tuple(
        (name, check_sendable(_query_value(value), name))
        for name, value in query.items()
        if value is not None
    )


#: The longest request target (path and query) sent. RFC 9112 §3 asks every server to take
#: request lines of at least 8000 octets; beyond that a server may refuse or cut the line.
MAX_TARGET: Final = 8000


def request_target(path: str, query: tuple[tuple[str, str], ...]) -> str:
    """``path`` (already encoded) and the query, percent-encoded by us: every character but
    the unreserved ones, so ``+``, ``&``, ``=``, ``#`` and ``%`` arrive as themselves.

    Raises ``ValueError`` for a target longer than :data:`MAX_TARGET` octets.

    >>> request_target("/v1/events", (("q", "a+b & c"), ("limit", "20")))
    '/v1/events?q=a%2Bb%20%26%20c&limit=20'
    """
    target = path
    if query:
        target += "?" + "&".join(f"{_quote_part(n)}={_quote_part(v)}" for n, v in query)
    if len(target) > MAX_TARGET:
        raise ValueError(
            f"the request target would be {len(target)} octets long, past the {MAX_TARGET} "
            "every HTTP server must accept: an ID or query value is too long"
        )
    return target


def _quote_part(text: str) -> str:
    if text.isalnum() and text.isascii():
        return text
    return quote(text, safe="")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]``, case-blind even when ``headers`` is a plain dict.

    >>> header({"x-request-id": "req_1"}, "X-Request-ID")
    'req_1'
    """
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


# Building `Envelope[X]` costs about as much as decoding a small body: once per pair.
_ENVELOPE_DECODERS: dict[tuple[Any, Any], TolerantDecoder[Any]] = {}


def envelope_decoder(envelope: Any, type_: Any) -> TolerantDecoder[Any]:
    """The decoder of ``envelope[type_]`` (a generic envelope Struct), built once.

    >>> envelope_decoder(list, int) is envelope_decoder(list, int)
    True
    """
    decode = _ENVELOPE_DECODERS.get((envelope, type_))
    if decode is None:
        decode = _ENVELOPE_DECODERS[envelope, type_] = decoder_for(envelope[type_])
    return decode


def decode_body(
    status: int,
    body: bytes,
    decode: Callable[[bytes], T],
    *,
    request_id: str | None,
    keep_body: bool = True,
) -> T:
    """Decode a success body, or raise [`ResponseDecodeError`][ttg_async.ResponseDecodeError] naming
    where it failed.

    ``path`` is msgspec's ``$.data[3].field`` for a body off the schema (``$`` for the document
    itself) and ``None`` for a body that is not JSON at all. The error keeps the body unless
    ``keep_body`` is false (an answer that holds a credential, such as an access token).

    >>> decode_body(200, b"[1]", msgspec.json.Decoder(list[int]).decode, request_id=None)
    [1]
    """
    kept = body if keep_body else None
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        raise ResponseDecodeError(
            f"response does not fit the schema: {exc}",
            status=status,
            path=error_path(exc),
            request_id=request_id,
            body=kept,
        ) from None
    except msgspec.DecodeError as exc:
        raise ResponseDecodeError(
            f"response body is not valid JSON: {exc}",
            status=status,
            request_id=request_id,
            body=kept,
        ) from None


def api_error(
    cls: type[APIError],
    status: int,
    response_headers: Mapping[str, str],
    message: str | None,
    /,
    *,
    details: Any = None,
    now: datetime | None = None,
    **fields: Any,
) -> APIError:
    """Build the error ``cls`` for an answer with ``status`` and ``response_headers``.

    ``details`` is kept only when it is an object (an odd shape must not cost the caller the
    error's class and code); a missing message becomes ``HTTP <status>``; a
    [`RateLimitError`][ttg_async.RateLimitError] also gets the server's ``Retry-After`` in seconds,
    read at ``now``.

    >>> api_error(RateLimitError, 429, {"Retry-After": "2"}, None).retry_after
    2.0
    """
    kept = details if isinstance(details, dict) else None
    text = message or f"HTTP {status}"
    if issubclass(cls, RateLimitError):
        retry_after = parse_retry_after(
            header(response_headers, "Retry-After"), now=now or datetime.now(UTC)
        )
        fields["retry_after"] = retry_after
    return cls(text, status=status, details=kept, headers=dict(response_headers), **fields)
