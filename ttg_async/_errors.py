"""The exceptions ttg_async raises.

::

    TTGError
    ├── ConfigurationError
    ├── APIConnectionError            # network failure after retries
    │   └── APITimeoutError
    ├── ResponseDecodeError           # body is not JSON, or does not fit the schema (says where)
    └── APIError                      # .status .type .code .message .param .details .request_id
        ├── InvalidRequestError       # 400
        ├── AuthenticationError       # 401
        ├── PermissionDeniedError     # 403
        ├── NotFoundError             # 404  .resource_type .resource_id
        │   └── ProviderCodeNotFoundError   # resourceType == "providerCode"; .provider_code
        ├── ConflictError             # 409
        │   ├── TotalPriceMismatchError     # TOTAL_PRICE_MISMATCH
        │   └── InventoryExhaustedError     # INVENTORY_EXHAUSTED
        ├── GoneError                 # 410
        │   └── CartExpiredError            # CART_EXPIRED
        ├── RateLimitError            # 429  .retry_after (seconds or None)
        └── ServerError               # 5xx

An :class:`APIError` subclass is chosen by the error ``code`` first, then by its ``type``, then
by the HTTP status, so a code this version has never heard of still lands on the class of its
type (or status).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "CartExpiredError",
    "ConfigurationError",
    "ConflictError",
    "GoneError",
    "InvalidRequestError",
    "InventoryExhaustedError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderCodeNotFoundError",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "TTGError",
    "TotalPriceMismatchError",
    "error_class_for",
]


class TTGError(Exception):
    """Base class of every exception raised by ttg_async.

    ``attempts`` counts the HTTP attempts made for the call that failed, and ``request_id``
    is the ``X-Request-ID`` that every one of those attempts carried (``None`` when the error
    happened before any request was built). ``outcome_unknown`` is true when the request may
    have been processed by the server even though no answer arrived. For a failed
    ``orders.create``, ``idempotency_key`` is the key its attempts sent: calling again with it
    returns the order if one was made, and never makes a second.
    """

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.attempts = 0
        self.outcome_unknown = False
        self.idempotency_key: str | None = None

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request_id={self.request_id})"
        return self.message


class ConfigurationError(TTGError, ValueError):
    """The client was configured wrongly: raised at construction, before any network call.

    >>> from ttg_async import TTGClient
    >>> TTGClient(api_key="sk_test_abc", retailer="r1", platform="desktop")
    Traceback (most recent call last):
    ...
    ttg_async._errors.ConfigurationError: platform: must be one of ...
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class APIConnectionError(TTGError):
    """The server could not be reached, or the connection failed before a full answer arrived.

    ``request_sent`` is false only when the request provably never left this process (for
    example, the connection was refused), which makes a retry of any request safe.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """An attempt, or the whole call's deadline, ran out of time."""


class ResponseDecodeError(TTGError):
    """The response body was not JSON, or did not fit the expected schema.

    ``path`` names the place in the document that did not fit, such as
    ``$.data[3].priceOptions[0].sellPrice``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.path = path


class APIError(TTGError):
    """The server answered with an error.

    Branch on ``type`` and ``code``; ``message`` is localised, for display only.

    >>> try:
    ...     await ttg.events.get("404404")
    ... except NotFoundError as exc:
    ...     print(exc.code, exc.resource_type, exc.request_id)
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.details: Mapping[str, Any] = details if details is not None else {}
        self.headers: Mapping[str, str] = headers if headers is not None else {}

    def __str__(self) -> str:
        parts = [f"{self.status}"]
        if self.code:
            parts.append(self.code)
        elif self.type:
            parts.append(self.type)
        text = f"{' '.join(parts)}: {self.message}"
        if self.param:
            text += f" (param={self.param})"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, type={self.type!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class InvalidRequestError(APIError):
    """400: the request was malformed; ``param`` names the offending field when known."""


class AuthenticationError(APIError):
    """401: the API key was missing, unknown or revoked."""


class PermissionDeniedError(APIError):
    """403: the key may not do this."""


class NotFoundError(APIError):
    """404: ``resource_type`` and ``resource_id`` say what was missing."""

    @property
    def resource_type(self) -> str | None:
        value = self.details.get("resourceType")
        return value if isinstance(value, str) else None

    @property
    def resource_id(self) -> str | None:
        value = self.details.get("resourceId")
        return None if value is None else str(value)


class ProviderCodeNotFoundError(NotFoundError):
    """404 for a rate code (``providerCode``) not configured for this retailer and event."""

    @property
    def provider_code(self) -> str | None:
        return self.resource_id


class ConflictError(APIError):
    """409: the request conflicts with the current state. Re-fetch, then adapt."""


class TotalPriceMismatchError(ConflictError):
    """409 TOTAL_PRICE_MISMATCH: ``expected_total`` is not the cart's total any more."""


class InventoryExhaustedError(ConflictError):
    """409 INVENTORY_EXHAUSTED: fewer items are left than were asked for."""

    @property
    def available_quantity(self) -> int | None:
        value = self.details.get("availableQuantity")
        return value if isinstance(value, int) else None

    @property
    def requested_quantity(self) -> int | None:
        value = self.details.get("requestedQuantity")
        return value if isinstance(value, int) else None


class GoneError(APIError):
    """410: the resource existed but is gone for good."""


class CartExpiredError(GoneError):
    """410 CART_EXPIRED: the hold timed out. Create a new cart."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx, or an ``API_ERROR``: the server failed."""


_BY_CODE: dict[str, type[APIError]] = {
    "TOTAL_PRICE_MISMATCH": TotalPriceMismatchError,
    "INVENTORY_EXHAUSTED": InventoryExhaustedError,
    "CART_EXPIRED": CartExpiredError,
}

_BY_TYPE: dict[str, type[APIError]] = {
    "INVALID_REQUEST_ERROR": InvalidRequestError,
    "AUTHENTICATION_ERROR": AuthenticationError,
    "PERMISSION_ERROR": PermissionDeniedError,
    "NOT_FOUND_ERROR": NotFoundError,
    "CONFLICT_ERROR": ConflictError,
    "RESOURCE_GONE_ERROR": GoneError,
    "RATE_LIMIT_ERROR": RateLimitError,
    "API_ERROR": ServerError,
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    429: RateLimitError,
}


def error_class_for(
    status: int,
    type: str | None,
    code: str | None,
    details: Mapping[str, Any] | None = None,
) -> type[APIError]:
    """Pick the exception class for an error answer: by code, then type, then HTTP status.

    >>> error_class_for(409, "CONFLICT_ERROR", "SOMETHING_NEW").__name__
    'ConflictError'
    """
    cls = _BY_CODE.get(code) if code else None
    if cls is None and type:
        cls = _BY_TYPE.get(type)
    if cls is None:
        cls = _BY_STATUS.get(status)
        if cls is None:
            cls = ServerError if status >= 500 else APIError
    if cls is NotFoundError and details and details.get("resourceType") == "providerCode":
        cls = ProviderCodeNotFoundError
    return cls
