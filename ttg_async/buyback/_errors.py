"""The Ticket Buyback error classes, and how an error answer picks one.

They extend the shared tree (see ``ttg_async``'s errors), so one ``except APIError`` catches
failures from either API::

    AuthenticationError
    ├── InvalidCredentialsError     # INVALID_CREDENTIALS: the client ID or secret is wrong
    └── TokenExpiredError           # TOKEN_EXPIRED, met again after a renewal
    PermissionDeniedError
    ├── AccountSuspendedError       # ACCOUNT_SUSPENDED
    └── PaymentNotConfiguredError   # PAYMENT_NOT_CONFIGURED, PAYOUT_METHOD_NOT_CONFIGURED
    ConflictError
    └── QuoteAlreadyConsumedError   # QUOTE_ALREADY_CONSUMED (422)
    GoneError
    └── QuoteExpiredError           # QUOTE_EXPIRED  .quote_id .expired_at

The class is chosen by the error ``code`` first, then by the HTTP status, so a code this
version has never heard of still gets the class of its status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from ttg_async._core.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    PermissionDeniedError,
    class_for_status,
)

__all__ = [
    "AccountSuspendedError",
    "InvalidCredentialsError",
    "PaymentNotConfiguredError",
    "QuoteAlreadyConsumedError",
    "QuoteExpiredError",
    "TokenExpiredError",
    "buyback_error_class",
]


class InvalidCredentialsError(AuthenticationError):
    """401 INVALID_CREDENTIALS: the token request was refused; check the client ID and secret.

    >>> try:
    ...     await tbb.events.get("evt_1")
    ... except InvalidCredentialsError as exc:
    ...     print(exc.code)  # INVALID_CREDENTIALS
    """


class TokenExpiredError(AuthenticationError):
    """401 TOKEN_EXPIRED, met again right after the client renewed its token and replayed.

    The client renews and replays once by itself; this reaches you only when the fresh token
    was refused too (a server-side problem, or a clock far off).

    >>> try:
    ...     await tbb.sections.list("evt_1")
    ... except TokenExpiredError:
    ...     ...  # retry later; the next call fetches a new token
    """


class AccountSuspendedError(PermissionDeniedError):
    """403 ACCOUNT_SUSPENDED: the partner account is suspended; contact Ticket Buyback.

    >>> try:
    ...     await tbb.events.list().collect()
    ... except AccountSuspendedError as exc:
    ...     print(exc.message)
    """


class PaymentNotConfiguredError(PermissionDeniedError):
    """403 PAYMENT_NOT_CONFIGURED (the seed's docs) or PAYOUT_METHOD_NOT_CONFIGURED (the
    "payout" docs): configure a payout method before quotes or orders.

    >>> try:
    ...     await tbb.quotes.create("evt_1", "Floor A", 2)
    ... except PaymentNotConfiguredError:
    ...     print("set up Routable first")
    """


class QuoteAlreadyConsumedError(ConflictError):
    """QUOTE_ALREADY_CONSUMED (422): a quote makes one order. Create a new quote.

    >>> try:
    ...     await tbb.orders.create(quote.quote_id, delivery_type="pdf", delivery_deadline=when)
    ... except QuoteAlreadyConsumedError:
    ...     quote = await tbb.quotes.create(event_id, section_name, 2)
    """


class QuoteExpiredError(GoneError):
    """QUOTE_EXPIRED: the quote's TTL ran out. ``quote_id`` and ``expired_at`` say which, when.

    >>> try:
    ...     await tbb.orders.create(quote.quote_id, delivery_type="pdf", delivery_deadline=when)
    ... except QuoteExpiredError as exc:
    ...     print(exc.quote_id, exc.expired_at)
    """

    @property
    def quote_id(self) -> str | None:
        value = self.details.get("quote_id")
        return value if isinstance(value, str) else None

    @property
    def expired_at(self) -> datetime | None:
        """When the quote expired (timezone-aware), or ``None`` when the server did not say."""
        value = self.details.get("expired_at")
        if not isinstance(value, str):
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
        return when if when.tzinfo is not None else None


_BY_CODE: Final[dict[str, type[APIError]]] = {
    "INVALID_CREDENTIALS": InvalidCredentialsError,
    "UNAUTHORIZED": AuthenticationError,
    "TOKEN_EXPIRED": TokenExpiredError,
    "ACCOUNT_SUSPENDED": AccountSuspendedError,
    "FORBIDDEN": PermissionDeniedError,
    "PAYMENT_NOT_CONFIGURED": PaymentNotConfiguredError,
    # The same refusal, as the "payout" version of the docs names it.
    "PAYOUT_METHOD_NOT_CONFIGURED": PaymentNotConfiguredError,
    "UNSUPPORTED_GRANT_TYPE": InvalidRequestError,
    "VALIDATION_ERROR": InvalidRequestError,
    "QUOTE_ALREADY_CONSUMED": QuoteAlreadyConsumedError,
    "QUOTE_EXPIRED": QuoteExpiredError,
}


def buyback_error_class(status: int, code: str | None) -> type[APIError]:
    """The class for a Buyback error answer: by ``code`` first, then by HTTP ``status``.

    >>> buyback_error_class(422, "QUOTE_EXPIRED").__name__
    'QuoteExpiredError'
    >>> buyback_error_class(403, "SOMETHING_NEW").__name__
    'PermissionDeniedError'
    """
    cls = _BY_CODE.get(code) if code else None
    return cls if cls is not None else class_for_status(status)
