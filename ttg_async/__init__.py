"""ttg_async: an asyncio SDK for the TTG (TodayTix Group) ticketing API v3.

>>> from ttg_async import TTGClient
>>> async with TTGClient("sk_test_...", "my-retailer") as ttg:
...     async for location in ttg.locations.list():
...         print(location.name)

Everything public is importable from this package; modules whose names start with ``_`` are
private and may change without notice.
"""

from ttg_async._core.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    CommittedWriteDecodeError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TTGError,
)
from ttg_async._core.hooks import RequestEvent, ResponseEvent, RetryEvent
from ttg_async._core.hot import CacheStats, ResponseCache
from ttg_async._core.pagination import Page, Paginator
from ttg_async._core.response import APIResponse
from ttg_async._core.retry import RetryPolicy
from ttg_async._ttg.client import TTGClient
from ttg_async._ttg.crawl import CatalogRecord, Crawl, CrawlError, CrawlStats, CrawlStorageError
from ttg_async._ttg.errors import (
    CartExpiredError,
    InventoryExhaustedError,
    ProviderCodeNotFoundError,
    TotalPriceMismatchError,
)
from ttg_async._ttg.models import (
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
from ttg_async._ttg.snapshot import Change
from ttg_async._ttg.sync import Sync, SyncStats
from ttg_async._ttg.tiers import TierComparison, TierPrice, TierRow, compare_tiers
from ttg_async._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APITimeoutError",
    "AssignedSeat",
    "AuthenticationError",
    "Barcode",
    "CacheStats",
    "Cart",
    "CartExpiredError",
    "CartItem",
    "CartItemInput",
    "CatalogRecord",
    "Category",
    "Change",
    "ClientClosedError",
    "CommittedWriteDecodeError",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "Crawl",
    "CrawlError",
    "CrawlStats",
    "CrawlStorageError",
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
    "RequestEvent",
    "ResponseCache",
    "ResponseDecodeError",
    "ResponseEvent",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "SubtotalLine",
    "Sync",
    "SyncStats",
    "TTGClient",
    "TTGError",
    "Ticket",
    "TierComparison",
    "TierPrice",
    "TierRow",
    "TotalPriceMismatchError",
    "UnknownReceiptLine",
    "UnknownVariant",
    "Venue",
    "VoucherLine",
    "__version__",
    "compare_tiers",
]

# Tracebacks and reprs name the public path (``ttg_async.NotFoundError``), not the private
# module a class happens to live in. Pickling still works: the class is found here.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = __name__
del _name, _value
