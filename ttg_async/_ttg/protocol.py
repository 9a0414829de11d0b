"""The TTG v3 wire protocol as pure functions: no sockets, no event loop.

Building a request and reading a response are both plain data transformations, so they are
tested with byte literals. The transport only moves the bytes these functions produce.

>>> spec = build_request(config, "GET", "/api/v3/locations", query={"limit": 50})
>>> decode_data(200, {}, b'{"data": []}', list[Location], request_id=spec.request_id)
[]
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

import msgspec

from ttg_async._core.decoding import TolerantDecoder, error_path, warn_repaired
from ttg_async._core.errors import (
    APIError,
    CommittedWriteDecodeError,
    ResponseDecodeError,
)
from ttg_async._core.telemetry import OperationNaming
from ttg_async._core.transport import RawResponse, RequestSpec
from ttg_async._core.wire import (
    api_error,
    envelope_decoder,
    header,
    new_request_id,
    query_pairs,
    quote_path,
)
from ttg_async._ttg.config import ClientConfig
from ttg_async._ttg.errors import error_class_for
from ttg_async._ttg.models import DataEnvelope, ListEnvelope, Pagination

__all__ = [
    "API_PREFIX",
    "NAMING",
    "STRICT",
    "DataReader",
    "ListReader",
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
    return quote_path(API_PREFIX, *segments)


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
    # What this call adds to the fixed headers: the transport sends only these on the
    # session it owns, where the fixed ones are the session's defaults.
    own = {"X-Request-ID": rid}
    if body is not None:
        own["Content-Type"] = "application/json"
    if extra_headers:
        own.update(extra_headers)
    headers = config.headers_template.copy()
    headers.update(own)
    return RequestSpec(
        method, request_path, query_pairs(query) if query else (), headers, body, rid, own
    )


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


_header = header


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    request_id: str | None,
    now: datetime | None = None,
) -> APIError:
    """Turn an error answer into the matching [`APIError`][ttg_async.APIError] subclass (not
    raised).

    A body that is not the documented envelope (a proxy's HTML 502, say) still yields the
    class for its HTTP status.
    """
    rid = _header(headers, "X-Request-ID") or request_id
    try:
        err: _ErrorBody | None = _error_decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        err = None
    if err is None:
        content_type = _header(headers, "Content-Type") or "no content type"
        message = f"HTTP {status} with a body that is not a TTG error ({content_type})"
        err = _ErrorBody(message=message)
    details = err.details if isinstance(err.details, dict) else None
    cls = error_class_for(status, err.type, err.code, details)
    return api_error(
        cls,
        status,
        headers,
        err.message,
        details=details,
        now=now,
        type=err.type,
        code=err.code,
        param=err.param,
        request_id=rid,
    )


#: Whether the call being decoded asked for strict decoding: set around each call by the
#: client (``TTGClient(strict=...)``, ``with_options(strict=...)``). Default: lenient.
STRICT: ContextVar[bool] = ContextVar("ttg_async_strict", default=False)

_id_probe: Final = msgspec.json.Decoder()


def _readable_id(body: bytes) -> str | None:
    """``data.id`` of a body whose shape is otherwise broken, when it is a usable string."""
    try:
        document = _id_probe.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    data = document.get("data") if isinstance(document, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _decode(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    decode: TolerantDecoder[Any],
    request_id: str | None,
    what: str,
    committed: str | None = None,
    failed: msgspec.ValidationError | None = None,
) -> Any:
    # ``failed``: what the strict decoder already raised for this body (not tried again).
    if not 200 <= status < 300:
        raise error_from_response(status, headers, body, request_id=request_id)
    rid = _header(headers, "X-Request-ID") or request_id
    strict = STRICT.get()
    try:
        if strict:
            return decode(body) if failed is None else decode.fallback(body, failed)
        result, dropped = decode.lenient(body, failed)
    except msgspec.ValidationError as exc:
        # msgspec names the place as `$.data[3].priceOptions[0]`; keep it for the user.
        text = str(exc)
        where = error_path(exc)
        if committed is not None:
            found = _readable_id(body)
            raise CommittedWriteDecodeError(
                f"the {committed} was {_COMMITTED_VERB[committed]}, but the answer does not "
                f"fit the schema ({text}); do not repeat the call: fetch the {committed}"
                + (f" {found}" if found else ""),
                status=status,
                resource=committed,
                resource_id=found,
                path=where,
                request_id=rid,
                body=body,
            ) from None
        raise ResponseDecodeError(
            f"response does not fit the schema: {text}",
            status=status,
            path=where,
            request_id=rid,
            body=body,
        ) from None
    except msgspec.DecodeError as exc:
        # Not JSON at all (a truncated answer, a proxy's page): today's rules, retries included.
        raise ResponseDecodeError(
            f"response body is not valid JSON: {exc}",
            status=status,
            request_id=rid,
            body=body,
        ) from None
    if dropped:
        warn_repaired(what, dropped, rid)
    return result


_COMMITTED_VERB: Final = {"order": "placed", "cart": "created and its items are held"}


def _data_decoder(type_: Any) -> TolerantDecoder[Any]:
    return envelope_decoder(DataEnvelope, type_)


def _list_decoder(type_: Any) -> TolerantDecoder[Any]:
    return envelope_decoder(ListEnvelope, type_)


class DataReader(Generic[T]):
    """``reader(raw, request_id)``: the ``data`` of one endpoint's answer, or its typed error.

    Built once per endpoint. A 2xx body that msgspec decodes strictly, which is almost every
    body, costs one decoder call, and so does one with an unknown ``_type`` the decoder has
    already met (it is retagged first). Anything else (an error status, a field that does
    not fit) goes the way `decode_data` describes, without decoding strictly twice.
    """

    __slots__ = ("_committed", "_decoder", "_strict", "_type")

    def __init__(self, type_: type[T], *, committed: str | None = None) -> None:
        self._type = type_
        self._committed = committed
        self._decoder = _data_decoder(type_)
        self._strict = self._decoder.strict.decode

    def __call__(self, raw: RawResponse, request_id: str) -> T:
        failed = None
        if 200 <= raw.status < 300:
            decoder = self._decoder
            try:
                # Once the server has sent an unknown tag, the tolerant decoder retags it.
                data: T = (decoder(raw.body) if decoder.detour else self._strict(raw.body)).data
                return data
            except msgspec.ValidationError as exc:
                failed = exc
            except (msgspec.DecodeError, RecursionError):
                pass  # not JSON, or nested too deep: the tolerant decoder says which
        envelope: DataEnvelope[T] = _decode(
            raw.status,
            raw.headers,
            raw.body,
            self._decoder,
            request_id,
            self._type.__name__,
            self._committed,
            failed,
        )
        return envelope.data


class ListReader(Generic[T]):
    """``reader(raw, request_id)``: the items and pagination of one list endpoint's answer.

    The list counterpart of `DataReader`, as `decode_list` reads it.
    """

    __slots__ = ("_decoder", "_strict", "_what")

    def __init__(self, type_: type[T]) -> None:
        self._what = f"list of {type_.__name__}"
        self._decoder = _list_decoder(type_)
        self._strict = self._decoder.strict.decode

    def __call__(self, raw: RawResponse, request_id: str) -> tuple[list[T], Pagination | None]:
        failed = None
        envelope: ListEnvelope[T]
        if 200 <= raw.status < 300:
            decoder = self._decoder
            try:
                envelope = decoder(raw.body) if decoder.detour else self._strict(raw.body)
                return envelope.data, envelope.pagination
            except msgspec.ValidationError as exc:
                failed = exc
            except (msgspec.DecodeError, RecursionError):
                pass  # not JSON, or nested too deep: the tolerant decoder says which
        envelope = _decode(
            raw.status, raw.headers, raw.body, self._decoder, request_id, self._what, None, failed
        )
        return envelope.data, envelope.pagination


def decode_data(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    type_: type[T],
    *,
    request_id: str | None,
    committed: str | None = None,
) -> T:
    """Decode ``{"data": ...}`` into ``type_``, or raise the typed error the answer carries.

    Fields the docs do not promise are read leniently unless the call is strict (see
    ``docs/contract.md``). ``committed`` (``"order"`` or ``"cart"``) marks the answer to a
    write the server has carried out: a body whose promised fields cannot be read then raises
    [`CommittedWriteDecodeError`][ttg_async.CommittedWriteDecodeError], which says so and is never
    retried.
    """
    envelope: DataEnvelope[T] = _decode(
        status, headers, body, _data_decoder(type_), request_id, type_.__name__, committed
    )
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
    envelope: ListEnvelope[T] = _decode(
        status, headers, body, _list_decoder(type_), request_id, f"list of {type_.__name__}"
    )
    return envelope.data, envelope.pagination


#: Span names and URL templates of TTG calls (``ttg.events.get``,
#: ``/api/v3/events/{eventId}``): see ``docs/observability.md``.
NAMING: Final = OperationNaming(
    "ttg",
    API_PREFIX,
    ids={
        "locations": "locationId",
        "events": "eventId",
        "occurrences": "occurrenceId",
        "carts": "cartId",
        "orders": "orderId",
    },
    resources={"inventory-items": "inventory"},
)
