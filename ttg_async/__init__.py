"""ttg_async: an asyncio SDK for the TTG (TodayTix Group) ticketing API v3.

>>> from ttg_async import TTGClient
>>> async with TTGClient("sk_test_...", "my-retailer") as ttg:
...     async for location in ttg.locations.list():
...         print(location.name)

Everything public is importable from this package; modules whose names start with ``_`` are
private and may change without notice.
"""

from ttg_async._client import ClientClosedError, TTGClient
from ttg_async._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    CartExpiredError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    InventoryExhaustedError,
    NotFoundError,
    PermissionDeniedError,
    ProviderCodeNotFoundError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TotalPriceMismatchError,
    TTGError,
)
from ttg_async._models import (
    AssignedSeat,
    Barcode,
    Cart,
    CartItem,
    CartItemInput,
    Category,
    Contact,
    Event,
    Extra,
    FeeLine,
    GeneralAdmission,
    InventoryItem,
    InventoryVariant,
    Location,
    Money,
    Occurrence,
    Order,
    OrderItem,
    PriceOption,
    ProtectionLine,
    ReceiptLine,
    SubtotalLine,
    Ticket,
    UnknownReceiptLine,
    UnknownVariant,
    Venue,
    VoucherLine,
)
from ttg_async._pagination import Page, Paginator
from ttg_async._retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AssignedSeat",
    "AuthenticationError",
    "Barcode",
    "Cart",
    "CartExpiredError",
    "CartItem",
    "CartItemInput",
    "Category",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "Event",
    "Extra",
    "FeeLine",
    "GeneralAdmission",
    "GoneError",
    "InvalidRequestError",
    "InventoryExhaustedError",
    "InventoryItem",
    "InventoryVariant",
    "Location",
    "Money",
    "NotFoundError",
    "Occurrence",
    "Order",
    "OrderItem",
    "Page",
    "Paginator",
    "PermissionDeniedError",
    "PriceOption",
    "ProtectionLine",
    "ProviderCodeNotFoundError",
    "RateLimitError",
    "ReceiptLine",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServerError",
    "SubtotalLine",
    "TTGClient",
    "TTGError",
    "Ticket",
    "TotalPriceMismatchError",
    "UnknownReceiptLine",
    "UnknownVariant",
    "Venue",
    "VoucherLine",
    "__version__",
]
