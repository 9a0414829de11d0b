"""The TTG v3 wire protocol as pure functions: no sockets, no event loop.

Building a request and reading a response are both plain data transformations, so they are
tested with byte literals. The transport only moves the bytes these functions produce.

>>> spec = build_request(config, "GET", "/api/v3/locations", query={"limit": 50})
>>> decode_data(200, {}, b'{"data": []}', list[Location], request_id=spec.request_id)
[]
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import quote

import msgspec

from ttg_async._core.decoding import decoder_for
from ttg_async._core.errors import APIError, RateLimitError, ResponseDecodeError
from ttg_async._core.retry import parse_retry_after
from ttg_async._core.transport import RawResponse, RequestSpec
from ttg_async._ttg.config import ClientConfig
from ttg_async._ttg.errors import error_class_for
from ttg_async._ttg.models import DataEnvelope, ListEnvelope, Pagination

__all__ = [
    "API_PREFIX",
    "RawResponse",
    "RequestSpec",
    "build_request",
    "decode_data",
    "decode_list",
    "error_from_response",
    "new_idempotency_key",
    "new_request_id",
    "path",
]

T = TypeVar("T")

API_PREFIX: Final = "/api/v3"
# Unreserved characters need no quoting: most IDs and every fixed segment take this path.
_PLAIN_SEGMENT: Final = re.compile(r"[A-Za-z0-9_.~-]+")


def new_request_id() -> str:
    """A fresh trace ID in the documented form ``req_<hex>``."""
    return f"req_{secrets.token_hex(12)}"


def new_idempotency_key() -> str:
    """A fresh checkout key in the documented form ``idem_<hex>``."""
    return f"idem_{secrets.token_hex(16)}"


def path(*segments: str) -> str:
    """Join path segments under ``/api/v3``, percent-encoding each one.

    IDs are opaque tokens (some are base64-like and may hold ``/`` or ``+``), so every
    segment is quoted whole rather than trusted to be URL-safe.

    >>> path("events", "12/3", "occurrences")
    '/api/v3/events/12%2F3/occurrences'
    """
    return API_PREFIX + "".join(
        "/" + (segment if _PLAIN_SEGMENT.fullmatch(segment) else quote(segment, safe=""))
        for segment in segments
    )


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_request(
    config: ClientConfig,
    method: str,
    request_path: str,
    *,
    query: Mapping[str, object] | None = None,
    body: bytes | None = None,
    request_id: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> RequestSpec:
    """Build the request for one call, with the required TTG headers and a trace ID."""
    rid = request_id or new_request_id()
    headers = dict(config.base_headers)
    headers["X-Request-ID"] = rid
    if body is not None:
        headers["Content-Type"] = "application/json"
    if extra_headers:
        headers.update(extra_headers)
    params = tuple(
        (name, _query_value(value)) for name, value in (query or {}).items() if value is not None
    )
    return RequestSpec(method, request_path, params, headers, body, rid)


class _ErrorBody(msgspec.Struct):
    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None
    # Typed loosely on purpose: a details shape we do not expect must not cost the caller
    # the error's type and code. Only an object is kept.
    details: Any = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody


_error_decoder: Final = msgspec.json.Decoder(_ErrorEnvelope)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # Plain dicts (tests, other transports) are not case-insensitive.
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    request_id: str | None,
    now: datetime | None = None,
) -> APIError:
    """Turn an error answer into the matching :class:`APIError` subclass (not raised).

    A body that is not the documented envelope (a proxy's HTML 502, say) still yields the
    class for its HTTP status.
    """
    rid = _header(headers, "X-Request-ID") or request_id
    try:
        err: _ErrorBody | None = _error_decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        err = None
    if err is None:
        content_type = _header(headers, "Content-Type") or "no content type"
        message = f"HTTP {status} with a body that is not a TTG error ({content_type})"
        err = _ErrorBody(message=message)
    details = err.details if isinstance(err.details, dict) else None
    cls = error_class_for(status, err.type, err.code, details)
    fields: dict[str, Any] = {
        "status": status,
        "type": err.type,
        "code": err.code,
        "param": err.param,
        "details": details,
        "request_id": rid,
        "headers": dict(headers),
    }
    message = err.message or f"HTTP {status}"
    if issubclass(cls, RateLimitError):
        retry_after = parse_retry_after(
            _header(headers, "Retry-After"), now=now or datetime.now(UTC)
        )
        return cls(message, retry_after=retry_after, **fields)
    return cls(message, **fields)


def _decode(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    decode: Callable[[bytes], Any],
    request_id: str | None,
) -> Any:
    if not 200 <= status < 300:
        raise error_from_response(status, headers, body, request_id=request_id)
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        # msgspec names the place as `$.data[3].priceOptions[0]`; keep it for the user.
        text = str(exc)
        # A mismatch at the top level carries no "- at" part: it is then the document root.
        where = text.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in text else "$"
        raise ResponseDecodeError(
            f"response does not fit the schema: {text}",
            status=status,
            path=where,
            request_id=_header(headers, "X-Request-ID") or request_id,
        ) from None
    except msgspec.DecodeError as exc:
        raise ResponseDecodeError(
            f"response body is not valid JSON: {exc}",
            status=status,
            request_id=_header(headers, "X-Request-ID") or request_id,
        ) from None


# Building `DataEnvelope[X]` costs about as much as decoding a small body: once per type.
_DATA_DECODERS: dict[Any, Callable[[bytes], Any]] = {}
_LIST_DECODERS: dict[Any, Callable[[bytes], Any]] = {}


def _data_decoder(type_: Any) -> Callable[[bytes], Any]:
    decode = _DATA_DECODERS.get(type_)
    if decode is None:
        decode = _DATA_DECODERS[type_] = decoder_for(DataEnvelope[type_])
    return decode


def _list_decoder(type_: Any) -> Callable[[bytes], Any]:
    decode = _LIST_DECODERS.get(type_)
    if decode is None:
        decode = _LIST_DECODERS[type_] = decoder_for(ListEnvelope[type_])
    return decode


def decode_data(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    type_: type[T],
    *,
    request_id: str | None,
) -> T:
    """Decode ``{"data": ...}`` into ``type_``, or raise the typed error the answer carries."""
    envelope: DataEnvelope[T] = _decode(status, headers, body, _data_decoder(type_), request_id)
    return envelope.data


def decode_list(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    type_: type[T],
    *,
    request_id: str | None,
) -> tuple[list[T], Pagination | None]:
    """Decode ``{"data": [...], "pagination": {...}}``; pagination is ``None`` when absent."""
    envelope: ListEnvelope[T] = _decode(status, headers, body, _list_decoder(type_), request_id)
    return envelope.data, envelope.pagination
