"""The public namespace: ``__all__`` is exactly the promised surface (as httpx tests it)."""

from __future__ import annotations

import typing

import ttg_async

PROMISED = {
    # Client, paging and retries
    "TTGClient",
    "Paginator",
    "Page",
    "RetryPolicy",
    "APIResponse",
    # Hooks (issue 22)
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    # Hot reads
    "ResponseCache",
    "CacheStats",
    # Models and request types
    "Money",
    "Location",
    "Venue",
    "Event",
    "Occurrence",
    "InventoryItem",
    "InventoryVariant",
    "AssignedSeat",
    "GeneralAdmission",
    "Extra",
    "UnknownVariant",
    "PriceOption",
    "Category",
    "Cart",
    "CartItem",
    "CartItemInput",
    "Contact",
    "Order",
    "OrderItem",
    "Ticket",
    "Barcode",
    "ReceiptLine",
    "SubtotalLine",
    "FeeLine",
    "VoucherLine",
    "ProtectionLine",
    "UnknownReceiptLine",
    # Catalog crawl and rate-code comparison
    "Crawl",
    "CatalogRecord",
    "CrawlStats",
    "CrawlError",
    "CrawlStorageError",
    "Sync",
    "Change",
    "SyncStats",
    "compare_tiers",
    "TierComparison",
    "TierRow",
    "TierPrice",
    # Errors
    "TTGError",
    "ConfigurationError",
    "ClientClosedError",
    "APIConnectionError",
    "APITimeoutError",
    "ResponseDecodeError",
    "CommittedWriteDecodeError",
    "APIError",
    "InvalidRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ProviderCodeNotFoundError",
    "ConflictError",
    "TotalPriceMismatchError",
    "InventoryExhaustedError",
    "GoneError",
    "CartExpiredError",
    "RateLimitError",
    "ServerError",
    "__version__",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(ttg_async.__all__) == PROMISED
    assert len(ttg_async.__all__) == len(set(ttg_async.__all__))


def test_every_exported_name_exists_and_is_public() -> None:
    for name in ttg_async.__all__:
        assert hasattr(ttg_async, name), name
        value = getattr(ttg_async, name)
        # Union aliases (InventoryVariant, ReceiptLine) are checked through their members.
        members = typing.get_args(value) or (value,)
        for member in members:
            module = getattr(member, "__module__", "ttg_async")
            assert module.startswith("ttg_async"), (name, module)


def test_nothing_public_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(ttg_async).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("ttg_async")
    }
    assert public <= set(ttg_async.__all__)


def test_error_tree_matches_the_contract() -> None:
    t = ttg_async
    assert issubclass(t.ConfigurationError, t.TTGError)
    assert issubclass(t.APITimeoutError, t.APIConnectionError)
    assert issubclass(t.APIConnectionError, t.TTGError)
    assert issubclass(t.ResponseDecodeError, t.TTGError)
    assert issubclass(t.CommittedWriteDecodeError, t.ResponseDecodeError)
    for cls in (
        t.InvalidRequestError,
        t.AuthenticationError,
        t.PermissionDeniedError,
        t.NotFoundError,
        t.ConflictError,
        t.GoneError,
        t.RateLimitError,
        t.ServerError,
    ):
        assert issubclass(cls, t.APIError)
    assert issubclass(t.ProviderCodeNotFoundError, t.NotFoundError)
    assert issubclass(t.TotalPriceMismatchError, t.ConflictError)
    assert issubclass(t.InventoryExhaustedError, t.ConflictError)
    assert issubclass(t.CartExpiredError, t.GoneError)
