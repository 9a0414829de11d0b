"""TTG's own error classes, and how a TTG error answer picks its class.

They extend the shared tree in `ttg_async._core.errors` (drawn in the package's
docstring). A class is chosen by the error ``code`` first, then by its ``type``, then by the
HTTP status, so a code this version has never heard of still lands on the class of its type
(or status).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ttg_async._core.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    class_for_status,
)

__all__ = [
    "CartExpiredError",
    "InventoryExhaustedError",
    "ProviderCodeNotFoundError",
    "TotalPriceMismatchError",
    "error_class_for",
]


class ProviderCodeNotFoundError(NotFoundError):
    """404 for a rate code (``providerCode``) not configured for this retailer and event.

    >>> try:
    ...     await ttg.inventory.list("1001", "100101", provider_code="members")  # wrong case
    ... except ProviderCodeNotFoundError as exc:
    ...     print(exc.provider_code)  # members
    """

    @property
    def provider_code(self) -> str | None:
        return self.resource_id


class TotalPriceMismatchError(ConflictError):
    """409 TOTAL_PRICE_MISMATCH: ``expected_total`` is not the cart's total any more.

    >>> try:
    ...     order = await ttg.orders.create(cart.id, expected_total=shown, contact=buyer)
    ... except TotalPriceMismatchError:
    ...     shown = (await ttg.carts.get(cart.id)).total  # show it, then check out again
    """


class InventoryExhaustedError(ConflictError):
    """409 INVENTORY_EXHAUSTED: fewer items are left than were asked for.

    >>> try:
    ...     cart = await ttg.carts.create([line])
    ... except InventoryExhaustedError as exc:
    ...     print(f"only {exc.available_quantity} of {exc.requested_quantity} left")
    """

    @property
    def available_quantity(self) -> int | None:
        value = self.details.get("availableQuantity")
        return value if isinstance(value, int) else None

    @property
    def requested_quantity(self) -> int | None:
        value = self.details.get("requestedQuantity")
        return value if isinstance(value, int) else None


class CartExpiredError(GoneError):
    """410 CART_EXPIRED: the hold timed out. Create a new cart.

    >>> try:
    ...     order = await ttg.orders.create(cart.id, expected_total=cart.total, contact=buyer)
    ... except CartExpiredError:
    ...     cart = await ttg.carts.create(lines)  # hold again, show the new total
    """


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
        cls = class_for_status(status)
    if cls is NotFoundError and details and details.get("resourceType") == "providerCode":
        cls = ProviderCodeNotFoundError
    return cls
