"""The sandbox's own wire encoding: error envelopes, Money, timestamps.

The sandbox deliberately shares no code with the client's models, so a mistake on one side
cannot be hidden by the same mistake on the other.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import msgspec

# The documented status for each error type. A fault with another 5xx status still uses API_ERROR.
TYPE_BY_STATUS: Final[dict[int, str]] = {
    400: "INVALID_REQUEST_ERROR",
    401: "AUTHENTICATION_ERROR",
    403: "PERMISSION_ERROR",
    404: "NOT_FOUND_ERROR",
    409: "CONFLICT_ERROR",
    410: "RESOURCE_GONE_ERROR",
    429: "RATE_LIMIT_ERROR",
}

_encoder: Final = msgspec.json.Encoder()
encode = _encoder.encode
decode = msgspec.json.decode

REQUEST_ID_RE: Final = re.compile(r"^req_[a-zA-Z0-9]+$")
IDEMPOTENCY_KEY_RE: Final = re.compile(r"^idem_[a-zA-Z0-9]+$")
# A client-sent X-Request-ID is echoed as long as it is safe to put back in a header.
_PRINTABLE_RE: Final = re.compile(r"^[\x21-\x7e]{1,200}$")


def type_for_status(status: int) -> str:
    """Return the documented error ``type`` for an HTTP status (``API_ERROR`` for 5xx)."""
    if status >= 500:
        return "API_ERROR"
    return TYPE_BY_STATUS.get(status, "INVALID_REQUEST_ERROR")


def echoable_request_id(value: str | None) -> str | None:
    """Return ``value`` if it can be echoed back verbatim, else ``None``.

    The documented pattern is ``^req_[a-zA-Z0-9]+$``, but a trace ID in another shape is not
    worth failing a request over, so anything printable and short is echoed.
    """
    if value is not None and _PRINTABLE_RE.match(value):
        return value
    return None


class ApiError(Exception):
    """An error answer with the documented envelope.

    Raised anywhere inside a handler; the middleware turns it into a response.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_for_status(status)
        self.code = code
        self.message = message
        self.param = param
        self.details = details
        self.headers = headers

    def body(self) -> bytes:
        return error_body(self.type, self.code, self.message, self.param, self.details)


def error_body(
    type_: str,
    code: str,
    message: str,
    param: str | None = None,
    details: dict[str, Any] | None = None,
) -> bytes:
    """Encode ``{"error": {...}}``; ``param`` and ``details`` are omitted when absent."""
    err: dict[str, Any] = {"type": type_, "code": code, "message": message}
    if param is not None:
        err["param"] = param
    if details is not None:
        err["details"] = details
    return encode({"error": err})


def not_found(resource_type: str, resource_id: str, *, param: str | None = None) -> ApiError:
    """The 404 for a resource that does not exist (or is not visible to this retailer)."""
    return ApiError(
        404,
        "RESOURCE_NOT_FOUND",
        f"No {resource_type} with id {resource_id!r} exists.",
        param=param,
        details={"resourceType": resource_type, "resourceId": resource_id},
    )


def invalid(param: str, message: str, code: str = "INVALID_PARAMETER") -> ApiError:
    """A 400 naming the offending parameter."""
    return ApiError(400, code, message, param=param)


def money(amount: int, currency: str) -> dict[str, Any]:
    """Money on the wire: integer minor units plus an ISO 4217 code."""
    return {"amount": amount, "currency": currency}


def utc_timestamp(epoch: float) -> str:
    """A system timestamp (``createdAt``, ``expiresAt``): UTC, whole seconds, ``Z`` suffix."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
