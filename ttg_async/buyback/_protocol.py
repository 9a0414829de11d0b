"""The Ticket Buyback wire protocol as pure functions: no sockets, no event loop.

Requests carry ``Authorization: Bearer <token>`` and an ``X-Request-ID``; answers come in the
envelope ``{success, data, meta{request_id, timestamp}}``, lists add ``pagination{total, limit,
offset, has_more}``, and errors are ``{success: false, error{code, message, details}, meta}``.

>>> spec = build_request("GET", path("events", "evt_1001"), token="tok")
>>> spec.path, spec.headers["Authorization"][:6]
('/v1/events/evt_1001', 'Bearer')
>>> from ttg_async.buyback._models import Row
>>> raw = RawResponse(200, {}, b'{"success": true, "data": {"row_name": "A"}}')
>>> decode_data(raw, Row, request_id=None)
Row(row_name='A', row_name_display=None, available_quantity=None)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple, TypeVar

import msgspec

from ttg_async._core.decoding import TolerantDecoder, warn_repaired
from ttg_async._core.errors import APIError, ResponseDecodeError
from ttg_async._core.pagination import Page
from ttg_async._core.telemetry import OperationNaming
from ttg_async._core.transport import RawResponse, RequestSpec
from ttg_async._core.wire import (
    api_error,
    decode_body,
    envelope_decoder,
    header,
    new_request_id,
    query_pairs,
    quote_path,
)
from ttg_async.buyback._errors import buyback_error_class
from ttg_async.buyback._models import (
    BuybackDataEnvelope,
    BuybackErrorBody,
    BuybackErrorEnvelope,
    BuybackListEnvelope,
    BuybackPagination,
    Token,
)

__all__ = [
    "API_PREFIX",
    "NAMING",
    "TOKEN_PATH",
    "USER_AGENT",
    "PreparedBody",
    "build_request",
    "decode_data",
    "decode_list",
    "decode_token",
    "error_from_response",
    "page_from",
    "path",
    "token_body",
]

T = TypeVar("T")

API_PREFIX: Final = "/v1"
TOKEN_PATH: Final = "/v1/auth/token"
USER_AGENT: Final = "ttg-async/0.1.0 (buyback)"

_BASE_HEADERS: Final = {"Accept": "application/json", "User-Agent": USER_AGENT}
# Decimals (a quote's face_value) go out as JSON numbers: the API documents a number.
_encoder: Final = msgspec.json.Encoder(decimal_format="number")


class PreparedBody(NamedTuple):
    """A request body serialized once (a multipart form), with its ``Content-Type``.

    Every attempt of a call, the replay after a token renewal included, sends these very
    bytes: an ``aiohttp.FormData`` can be consumed only once, bytes any number of times.
    """

    data: bytes
    content_type: str


def path(*segments: str) -> str:
    """Join path segments under ``/v1``, percent-encoding each (section names hold spaces,
    ``&`` and ``#``).

    >>> path("events", "evt_1", "sections", "Box #5", "rows")
    '/v1/events/evt_1/sections/Box%20%235/rows'
    """
    return quote_path(API_PREFIX, *segments)


def build_request(
    method: str,
    request_path: str,
    *,
    token: str | None,
    query: Mapping[str, object] | None = None,
    body: Mapping[str, Any] | PreparedBody | None = None,
    request_id: str | None = None,
) -> RequestSpec:
    """Build one call's request: the bearer token (``None`` for the token request itself),
    a trace ID, and a body when one is given: a mapping is sent as JSON, a
    `PreparedBody` as it is.

    >>> build_request("POST", "/v1/quotes", token="t", body={"quantity": 2}).body
    b'{"quantity":2}'
    """
    rid = request_id or new_request_id()
    headers = dict(_BASE_HEADERS)
    headers["X-Request-ID"] = rid
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if isinstance(body, PreparedBody):
        headers["Content-Type"] = body.content_type
        data = body.data
    elif body is not None:
        headers["Content-Type"] = "application/json"
        data = _encoder.encode(body)
    return RequestSpec(method, request_path, query_pairs(query), headers, data, rid)


def token_body(client_id: str, client_secret: str) -> dict[str, str]:
    """The body of ``POST /v1/auth/token`` (it holds the secret: never log it)."""
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "client_credentials",
    }


_error_decoder: Final = msgspec.json.Decoder(BuybackErrorEnvelope)


def _meta_request_id(meta: Any) -> str | None:
    if isinstance(meta, dict):
        value = meta.get("request_id")
        if isinstance(value, str) and value:
            return value
    return None


def error_from_response(
    raw: RawResponse, *, request_id: str | None, now: datetime | None = None
) -> APIError:
    """Turn an error answer into its [`APIError`][ttg_async.APIError] subclass (not raised): by
    code, then status. ``request_id`` comes from ``meta``, else the ``X-Request-ID`` header, else
    the one sent. A body that is not the envelope (a proxy's HTML 502) gets the class of its status.

    >>> body = b'{"success": false, "error": {"code": "QUOTE_EXPIRED", "message": "gone"},'
    >>> body += b' "meta": {"request_id": "r-1"}}'
    >>> err = error_from_response(RawResponse(422, {}, body), request_id="req_x")
    >>> type(err).__name__, err.request_id
    ('QuoteExpiredError', 'r-1')
    """
    status, headers = raw.status, raw.headers
    meta: Any = None
    try:
        envelope = _error_decoder.decode(raw.body)
        err, meta = envelope.error, envelope.meta
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        content_type = header(headers, "Content-Type") or "no content type"
        err = BuybackErrorBody(
            message=f"HTTP {status} with a body that is not a Buyback error ({content_type})"
        )
    rid = _meta_request_id(meta) or header(headers, "X-Request-ID") or request_id
    cls = buyback_error_class(status, err.code)
    return api_error(
        cls,
        status,
        headers,
        err.message,
        details=err.details,
        now=now,
        code=err.code,
        request_id=rid,
    )


class _Success(msgspec.Struct):
    success: Any = True


_success_decoder: Final = msgspec.json.Decoder(_Success)


def _decode(
    raw: RawResponse,
    decode: TolerantDecoder[Any],
    request_id: str | None,
    keep_body: bool = True,
    what: str | None = "answer",
) -> Any:
    # ``what=None``: strict, no field dropped (the token answer: a credential is read exactly).
    if not 200 <= raw.status < 300:
        raise error_from_response(raw, request_id=request_id)
    rid = header(raw.headers, "X-Request-ID") or request_id

    def lenient(body: bytes) -> Any:
        # As for TTG: a field the docs do not promise that arrives in an odd shape is dropped
        # (one WARNING per path), never the answer; a promised one still fails it.
        result, dropped = decode.lenient(body)
        if dropped:
            warn_repaired(str(what), dropped, rid, hint="")
        return result

    read = decode if what is None else lenient
    try:
        result = decode_body(raw.status, raw.body, read, request_id=rid, keep_body=keep_body)
    except ResponseDecodeError as exc:
        # An error envelope under a 2xx has no `data`: it is an error all the same.
        if exc.path is not None and _says_failure(raw.body):
            raise error_from_response(raw, request_id=request_id) from None
        raise
    if result.success is False:
        raise error_from_response(raw, request_id=request_id)
    return result


def _says_failure(body: bytes) -> bool:
    try:
        return _success_decoder.decode(body).success is False
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return False


def decode_data(raw: RawResponse, type_: type[T], *, request_id: str | None) -> T:
    """Decode ``{success, data, meta}`` into ``type_``, or raise the answer's typed error."""
    decode = envelope_decoder(BuybackDataEnvelope, type_)
    envelope: BuybackDataEnvelope[T] = _decode(raw, decode, request_id, what=type_.__name__)
    return envelope.data


def decode_list(
    raw: RawResponse, type_: type[T], *, request_id: str | None
) -> tuple[list[T], BuybackPagination | None]:
    """Decode a list answer; ``pagination`` is ``None`` when the answer has none."""
    decode = envelope_decoder(BuybackListEnvelope, type_)
    what = f"list of {type_.__name__}"
    envelope: BuybackListEnvelope[T] = _decode(raw, decode, request_id, what=what)
    return envelope.data, envelope.pagination


def decode_token(raw: RawResponse, *, request_id: str | None) -> Token:
    """Decode the token answer, or raise its typed error (``InvalidCredentialsError``...).

    A token answer that does not fit raises a [`ResponseDecodeError`][ttg_async.ResponseDecodeError]
    without the body: the body holds the token.
    """
    decode = envelope_decoder(BuybackDataEnvelope, Token)
    envelope: BuybackDataEnvelope[Token] = _decode(
        raw, decode, request_id, keep_body=False, what=None
    )
    return envelope.data


def page_from(
    items: list[T], pagination: BuybackPagination | None, *, limit: int, offset: int
) -> Page[T]:
    """The page as the paginator walks it: at the offset asked for, ``has_more`` deciding.

    No ``pagination`` object means a complete answer (``has_more`` false). A missing
    ``has_more`` falls back to ``total``.

    >>> page_from(["a"], BuybackPagination(total=1, has_more=True), limit=1, offset=0).has_more
    True
    """
    total = offset + len(items)
    if pagination is None:
        return Page(items, limit, offset, total, has_more=False)
    if pagination.total is not None:
        total = pagination.total
    has_more = pagination.has_more
    if has_more is None:
        has_more = offset + len(items) < total
    return Page(items, limit, offset, total, has_more=has_more)


#: Span names and URL templates of Buyback calls (``tbb.events.get``,
#: ``/v1/events/{event_id}``): see ``docs/observability.md``.
NAMING: Final = OperationNaming(
    "tbb",
    API_PREFIX,
    ids={"events": "event_id", "sections": "section_name"},
    fixed={TOKEN_PATH: "tbb.auth.token"},
)
