"""The exception tree every ttg_async client raises.

::

    TTGError
    ├── ConfigurationError
    ├── APIConnectionError            # network failure after retries
    │   └── APITimeoutError
    ├── ResponseDecodeError           # body is not JSON, or does not fit the schema (says where)
    │   └── CommittedWriteDecodeError # a 2xx write (order placed, cart held) that cannot be read
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

The classes by status live here; each API adds its own code-specific subclasses (TTG's in
``ttg_async._ttg.errors``, Ticket Buyback's in ``ttg_async.buyback``) and picks a class by the
error's code first, then by its HTTP status (`class_for_status`), so a code this version
has never heard of still lands on the class of its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "CommittedWriteDecodeError",
    "ConfigurationError",
    "ConflictError",
    "GoneError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "TTGError",
    "class_for_status",
]


class TTGError(Exception):
    """Base class of every exception raised by ttg_async.

    ``attempts`` counts the HTTP attempts made for the call that failed, and ``request_id``
    is the ``X-Request-ID`` that every one of those attempts carried (``None`` when the error
    happened before any request was built). ``outcome_unknown`` is true when the request may
    have been processed by the server even though no answer arrived. For a failed
    ``orders.create``, ``idempotency_key`` is the key its attempts sent: calling again with it
    returns the order if one was made, and never makes a second.

    ``method`` and ``request_path`` name the call that failed (``"GET"``,
    ``"/api/v3/events/1001"``; never the query string, which may carry secrets), and the
    message shows them. Both are ``None`` for an error raised before any request was sent.
    ``elapsed`` is how long the whole call took, in seconds, every attempt and wait included
    (``None`` when no request was made).
    [`APIError`][ttg_async.APIError] and [`APIConnectionError`][ttg_async.APIConnectionError] also
    offer ``request_path`` as ``path``.

    >>> try:
    ...     event = await ttg.events.get("1001")
    ... except TTGError as exc:  # anything the SDK raises
    ...     print(type(exc).__name__, exc.request_id, exc.attempts)
    """

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.attempts = 0
        self.outcome_unknown = False
        self.idempotency_key: str | None = None
        self.method: str | None = None
        self.request_path: str | None = None
        self.elapsed: float | None = None

    def _tally(self) -> str:
        """What the message adds about the attempts made; nothing for most errors."""
        return ""

    def _call(self) -> str:
        """`` (GET /api/v3/events/1)`` when known and not already in the message, else ``""``."""
        if self.method is None or self.request_path is None:
            return ""
        call = f"{self.method} {self.request_path}"
        return "" if call in self.message else f" ({call})"

    def __str__(self) -> str:
        message = f"{self.message}{self._tally()}"
        if self.request_id:
            return f"{message}{self._call()} (request_id={self.request_id})"
        if self.method is not None:
            return f"{message}{self._call()}"
        return message


class ClientClosedError(TTGError, RuntimeError):
    """The client was used after ``aclose()`` (or after its ``async with`` block).

    >>> async with TTGClient() as ttg:
    ...     pass
    >>> await ttg.events.get("1001")
    Traceback (most recent call last):
    ttg_async.ClientClosedError: this client is closed; create a new one
    """


class ConfigurationError(TTGError, ValueError):
    """The client was configured wrongly: raised at construction, before any network call.

    >>> from ttg_async import TTGClient
    >>> TTGClient(api_key="sk_test_abc", retailer="r1", platform="desktop")
    Traceback (most recent call last):
    ...
    ttg_async.ConfigurationError: platform: must be one of ...
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class APIConnectionError(TTGError):
    """The server could not be reached, or the connection failed before a full answer arrived.

    ``request_sent`` is false only when the request provably never left this process (for
    example, the connection was refused), which makes a retry of any request safe.

    >>> try:
    ...     await ttg.events.get("1001")
    ... except APIConnectionError as exc:  # after the policy's retries
    ...     print(exc.request_sent, exc.outcome_unknown)
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

    @property
    def path(self) -> str | None:
        """The path of the call that failed (``request_path``), e.g. ``/api/v3/locations``."""
        return self.request_path

    def _tally(self) -> str:
        # The message is the last attempt's; say what the whole call went through, so a
        # "0.1 s" timeout after three attempts does not read as a call that took 0.1 s.
        if self.elapsed is None:
            return ""
        if not self.attempts:
            return f"; gave up after {self.elapsed:.2f} s"
        plural = "s" if self.attempts > 1 else ""
        return f"; gave up after {self.attempts} attempt{plural} in {self.elapsed:.2f} s"


class APITimeoutError(APIConnectionError):
    """An attempt, or the whole call's deadline, ran out of time.

    The message says which: "within the per-attempt timeout of 2 s", or "within what was
    left (0.4 s) of the call's deadline", then what the whole call went through: "gave up
    after 3 attempts in 6.31 s" (also in ``attempts`` and ``elapsed``).

    >>> try:
    ...     await ttg.events.get("1001", timeout=2.0)
    ... except APITimeoutError as exc:
    ...     print(exc)
    """


#: How much of a body a :class:`ResponseDecodeError` keeps (64 KiB): enough to report what
#: the server sent, bounded so a huge page cannot pin memory through a stored exception.
MAX_ERROR_BODY = 64 * 1024


class ResponseDecodeError(TTGError):
    """The response body was not JSON, or did not fit the expected schema.

    ``path`` names the place in the document that did not fit, such as
    ``$.data[3].priceOptions[0].sellPrice`` (``None`` when the body is not JSON at all).
    ``body`` holds the first `MAX_ERROR_BODY` bytes the server sent (``body_truncated``
    says whether there was more), so the answer can be reported as it was.

    >>> try:
    ...     order = await ttg.orders.get("ord_1")
    ... except ResponseDecodeError as exc:
    ...     print(exc.status, exc.path, exc.request_id, exc.body[:200])
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        path: str | None = None,
        request_id: str | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.path = path
        raw = body if body is not None else b""
        self.body: bytes = raw[:MAX_ERROR_BODY]
        self.body_truncated = len(raw) > MAX_ERROR_BODY


class CommittedWriteDecodeError(ResponseDecodeError):
    """A write the server committed (a 2xx) whose answer cannot be read: it did happen.

    Raised by ``orders.create`` (the order was placed) and ``carts.create`` (the hold
    exists) when even the promised fields of the answer (such as the ID) do not fit. It is
    never retried, because repeating the write would buy or hold twice. ``resource`` is
    ``"order"`` or ``"cart"``; ``resource_id`` is the ID when it could be read, else ``None``;
    ``idempotency_key`` is the checkout's key; ``body``, ``status`` and ``request_id`` are
    what the server answered. ``committed`` is always ``True``.

    Do not place the order again. Fetch it instead: calling ``orders.create`` again with the
    same key returns the order already made, and never makes a second one.

    >>> try:
    ...     order = await ttg.orders.create(cart.id, expected_total=cart.total, contact=buyer)
    ... except CommittedWriteDecodeError as exc:
    ...     log.error("order placed, answer unreadable: %r", exc.body)
    ...     if exc.resource_id is not None:
    ...         order = await ttg.orders.get(exc.resource_id)
    ...     else:  # the same key returns the existing order (within 24 hours)
    ...         order = await ttg.orders.create(cart.id, expected_total=cart.total,
    ...                                         contact=buyer, idempotency_key=exc.idempotency_key)
    """

    committed = True

    def __init__(
        self,
        message: str,
        *,
        status: int,
        resource: str,
        resource_id: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        body: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        super().__init__(message, status=status, path=path, request_id=request_id, body=body)
        self.resource = resource
        self.resource_id = resource_id
        self.idempotency_key = idempotency_key


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
        text += self._call()
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    @property
    def path(self) -> str | None:
        """The path of the call that failed (``request_path``), e.g. ``/api/v3/events/1``."""
        return self.request_path

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, type={self.type!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class InvalidRequestError(APIError):
    """400: the request was malformed; ``param`` names the offending field when known.

    >>> try:
    ...     await ttg.carts.create(lines)
    ... except InvalidRequestError as exc:
    ...     print(exc.code, exc.param)  # e.g. INVALID_QUANTITY items[0].quantity
    """


class AuthenticationError(APIError):
    """401: the API key was missing, unknown or revoked.

    >>> try:
    ...     await ttg.locations.list().collect()
    ... except AuthenticationError:
    ...     print("check TTG_API_KEY")
    """


class PermissionDeniedError(APIError):
    """403: the key may not do this.

    >>> try:
    ...     await ttg.locations.list().collect()
    ... except PermissionDeniedError as exc:
    ...     print(exc.code)  # e.g. INSUFFICIENT_PERMISSIONS for another retailer
    """


class NotFoundError(APIError):
    """404: ``resource_type`` and ``resource_id`` say what was missing.

    >>> try:
    ...     await ttg.events.get("404404")
    ... except NotFoundError as exc:
    ...     print(exc.resource_type, exc.resource_id)  # event 404404
    """

    @property
    def resource_type(self) -> str | None:
        value = self.details.get("resourceType")
        return value if isinstance(value, str) else None

    @property
    def resource_id(self) -> str | None:
        value = self.details.get("resourceId")
        return None if value is None else str(value)


class ConflictError(APIError):
    """409: the request conflicts with the current state. Re-fetch, then adapt.

    >>> try:
    ...     order = await ttg.orders.create(cart.id, expected_total=cart.total, contact=buyer)
    ... except ConflictError as exc:
    ...     print(exc.code)  # e.g. CART_ALREADY_ORDERED, details["orderId"] names the order
    """


class GoneError(APIError):
    """410: the resource existed but is gone for good.

    >>> try:
    ...     order = await ttg.orders.create(cart.id, expected_total=cart.total, contact=buyer)
    ... except GoneError as exc:
    ...     print(exc.code)  # CART_EXPIRED (see CartExpiredError)
    """


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any.

    Raised once the retry policy has given up; until then the client waits (every call of
    the client, not just this one).

    >>> try:
    ...     await ttg.events.get("1001")
    ... except RateLimitError as exc:
    ...     print(exc.retry_after)
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx, or an ``API_ERROR``: the server failed.

    >>> try:
    ...     await ttg.events.get("1001")
    ... except ServerError as exc:  # reads were retried already
    ...     print(exc.status, exc.request_id)
    """


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    429: RateLimitError,
}


def class_for_status(status: int) -> type[APIError]:
    """The exception class for an HTTP error status alone, whatever the API.

    >>> class_for_status(409).__name__
    'ConflictError'
    >>> class_for_status(503).__name__
    'ServerError'
    """
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls
