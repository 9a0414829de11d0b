"""The pure protocol core: bytes in, models or typed errors out (ttg_async/_protocol.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from seed_payloads import SEED_INVENTORY, SEED_LOCATIONS

from ttg_async import (
    APIError,
    AuthenticationError,
    CartExpiredError,
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
)
from ttg_async._core.config import NOT_GIVEN
from ttg_async._ttg.config import ClientConfig, resolve_config
from ttg_async._ttg.models import InventoryItem, Location
from ttg_async._ttg.protocol import (
    build_request,
    decode_data,
    decode_list,
    error_from_response,
    new_idempotency_key,
    new_request_id,
    path,
)

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


def config(**overrides: object) -> ClientConfig:
    args: dict[str, object] = {
        "api_key": KEY,
        "retailer": "retailer-1",
        "platform": NOT_GIVEN,
        "base_url": None,
        "accept_language": None,
        "timeout": 30.0,
        "max_connections": 8,
    }
    args.update(overrides)
    return resolve_config(env={}, **args)  # type: ignore[arg-type]


# --- building requests ------------------------------------------------------------------


def test_request_carries_the_required_headers_and_a_fresh_trace_id() -> None:
    spec = build_request(config(), "GET", "/api/v3/locations", query={"limit": 50, "offset": 0})
    assert spec.headers["X-TT-API-Key"] == KEY
    assert spec.headers["X-TT-Retailer"] == "retailer-1"
    assert spec.headers["X-TT-Platform"] == "api"
    assert re.fullmatch(r"req_[a-zA-Z0-9]+", spec.headers["X-Request-ID"])
    assert spec.request_id == spec.headers["X-Request-ID"]
    assert "Accept-Language" not in spec.headers
    assert "Content-Type" not in spec.headers
    assert spec.query == (("limit", "50"), ("offset", "0"))
    assert spec.url("https://stg.ttix.io") == "https://stg.ttix.io/api/v3/locations"
    other = build_request(config(), "GET", "/api/v3/locations")
    assert other.request_id != spec.request_id


def test_request_with_language_body_and_extra_headers() -> None:
    spec = build_request(
        config(accept_language="en-GB", platform="web"),
        "POST",
        "/api/v3/orders",
        body=b"{}",
        query={"cartId": None},
        extra_headers={"Idempotency-Key": "idem_abc"},
    )
    assert spec.headers["Accept-Language"] == "en-GB"
    assert spec.headers["X-TT-Platform"] == "web"
    assert spec.headers["Content-Type"] == "application/json"
    assert spec.headers["Idempotency-Key"] == "idem_abc"
    assert spec.query == ()  # None values are left out
    assert spec.body == b"{}"


def test_generated_ids_match_the_documented_patterns() -> None:
    assert re.fullmatch(r"req_[a-zA-Z0-9]+", new_request_id())
    assert re.fullmatch(r"idem_[a-zA-Z0-9]+", new_idempotency_key())
    assert new_idempotency_key() != new_idempotency_key()


def test_path_quotes_opaque_ids() -> None:
    assert path("events", "123", "occurrences") == "/api/v3/events/123/occurrences"
    assert path("carts", "a/b+c=") == "/api/v3/carts/a%2Fb%2Bc%3D"
    assert path("events", "../admin") == "/api/v3/events/..%2Fadmin"


# --- decoding successes: the seed documents' examples, verbatim -------------------------


def test_seed_locations_example_decodes() -> None:
    items, pagination = decode_list(200, {}, SEED_LOCATIONS, Location, request_id="req_1")
    assert [(loc.id, loc.name, loc.country) for loc in items] == [
        ("2", "London", "GB"),
        ("1", "New York", "US"),
    ]
    assert pagination is not None
    assert (pagination.limit, pagination.offset, pagination.total) == (50, 0, 2)


def test_seed_inventory_example_decodes() -> None:
    items, pagination = decode_list(200, {}, SEED_INVENTORY, InventoryItem, request_id=None)
    assert pagination is None
    (item,) = items
    assert item.id == "eyJzIjoiT1JDSC1BLTEwMSJ9"
    assert item.quantity_available == 1
    assert item.inventory_variant.id == "Orchestra-A-101"
    assert type(item.inventory_variant).__name__ == "AssignedSeat"
    option = item.price_options[0]
    assert option.category.name == "Adult"
    assert option.list_price is not None
    assert (option.list_price.amount, option.sell_price.amount) == (15000, 12500)


def test_single_object_envelope() -> None:
    body = b'{"data": {"id": "7", "name": "Paris", "country": "FR", "newField": [1, 2]}}'
    location = decode_data(200, {}, body, Location, request_id=None)
    assert (location.id, location.name, location.country) == ("7", "Paris", "FR")


def test_schema_mismatch_names_the_path_and_request_id() -> None:
    body = SEED_INVENTORY.replace(b'"amount": 12500', b'"amount": "125.00"')
    with pytest.raises(ResponseDecodeError) as info:
        decode_list(200, {"X-Request-ID": "req_srv"}, body, InventoryItem, request_id="req_me")
    error = info.value
    assert error.path == "$.data[0].priceOptions[0].sellPrice.amount"
    assert error.request_id == "req_srv"
    assert error.status == 200
    assert "$.data[0].priceOptions[0].sellPrice.amount" in str(error)


def test_non_json_success_body_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError) as info:
        decode_data(200, {}, b"<html>oops</html>", Location, request_id="req_x")
    assert info.value.path is None
    assert info.value.request_id == "req_x"


def test_truncated_success_body_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError):
        decode_list(200, {}, SEED_LOCATIONS[:40], Location, request_id="req_x")


# --- errors: every class, chosen by code, then type, then status ------------------------


def error_body(type_: str | None, code: str | None, **extra: object) -> bytes:
    import json

    error: dict[str, object] = {"message": "localised text"}
    if type_:
        error["type"] = type_
    if code:
        error["code"] = code
    error.update(extra)
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "type_", "code", "details", "expected"),
    [
        (400, "INVALID_REQUEST_ERROR", "MISSING_HEADER", None, InvalidRequestError),
        (401, "AUTHENTICATION_ERROR", "INVALID_API_KEY", None, AuthenticationError),
        (403, "PERMISSION_ERROR", "INSUFFICIENT_PERMISSIONS", None, PermissionDeniedError),
        (404, "NOT_FOUND_ERROR", "RESOURCE_NOT_FOUND", {"resourceType": "event"}, NotFoundError),
        (
            404,
            "NOT_FOUND_ERROR",
            "RESOURCE_NOT_FOUND",
            {"resourceType": "providerCode", "resourceId": "campaign-MAY"},
            ProviderCodeNotFoundError,
        ),
        (409, "CONFLICT_ERROR", "TOTAL_PRICE_MISMATCH", None, TotalPriceMismatchError),
        (409, "CONFLICT_ERROR", "INVENTORY_EXHAUSTED", None, InventoryExhaustedError),
        (409, "CONFLICT_ERROR", "IDEMPOTENCY_KEY_REUSED", None, ConflictError),
        (410, "RESOURCE_GONE_ERROR", "CART_EXPIRED", None, CartExpiredError),
        (410, "RESOURCE_GONE_ERROR", "SOMETHING_ELSE_GONE", None, GoneError),
        (429, "RATE_LIMIT_ERROR", "RATE_LIMITED", None, RateLimitError),
        (500, "API_ERROR", "INTERNAL", None, ServerError),
        (503, "API_ERROR", None, None, ServerError),
        # Codes win over types and statuses...
        (400, "INVALID_REQUEST_ERROR", "CART_EXPIRED", None, CartExpiredError),
        # ...an unknown code falls back to its type...
        (409, "CONFLICT_ERROR", "BRAND_NEW_CODE", None, ConflictError),
        (418, "NOT_FOUND_ERROR", "BRAND_NEW_CODE", None, NotFoundError),
        # ...and an unknown type to its status.
        (403, "BRAND_NEW_TYPE", "BRAND_NEW_CODE", None, PermissionDeniedError),
        (502, "BRAND_NEW_TYPE", None, None, ServerError),
        (418, "BRAND_NEW_TYPE", None, None, APIError),
    ],
)
def test_error_class_mapping(
    status: int,
    type_: str | None,
    code: str | None,
    details: dict[str, object] | None,
    expected: type[APIError],
) -> None:
    extra = {} if details is None else {"details": details}
    error = error_from_response(status, {}, error_body(type_, code, **extra), request_id="req_abc")
    assert type(error) is expected
    assert error.status == status
    assert error.type == type_
    assert error.code == code
    assert error.message == "localised text"
    assert error.request_id == "req_abc"


def test_the_seed_error_envelope_verbatim() -> None:
    body = b"""{
 "error": {
 "type": "NOT_FOUND_ERROR",
 "code": "RESOURCE_NOT_FOUND",
 "message": "The requested resource was not found."
 }
}"""
    error = error_from_response(404, {}, body, request_id="req_1")
    assert isinstance(error, NotFoundError)
    assert error.message == "The requested resource was not found."
    assert error.resource_type is None
    assert error.details == {}


def test_error_carries_param_details_and_the_servers_request_id() -> None:
    body = error_body(
        "CONFLICT_ERROR",
        "INVENTORY_EXHAUSTED",
        param="items[0].quantity",
        details={"availableQuantity": 1, "requestedQuantity": 4, "future": True},
    )
    error = error_from_response(409, {"x-request-id": "req_server"}, body, request_id="req_me")
    assert isinstance(error, InventoryExhaustedError)
    assert error.param == "items[0].quantity"
    assert (error.available_quantity, error.requested_quantity) == (1, 4)
    assert error.details["future"] is True
    assert error.request_id == "req_server"
    assert "items[0].quantity" in str(error)
    assert "req_server" in str(error)


def test_provider_code_not_found_names_the_code() -> None:
    body = error_body(
        "NOT_FOUND_ERROR",
        "RESOURCE_NOT_FOUND",
        details={"resourceType": "providerCode", "resourceId": "Campaign-May"},
    )
    error = error_from_response(404, {}, body, request_id=None)
    assert isinstance(error, ProviderCodeNotFoundError)
    assert error.provider_code == "Campaign-May"
    assert error.resource_type == "providerCode"


def test_html_502_from_a_proxy_still_gets_its_status_class() -> None:
    body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    error = error_from_response(502, {"Content-Type": "text/html"}, body, request_id="req_p")
    assert type(error) is ServerError
    assert error.type is None
    assert error.code is None
    assert "text/html" in error.message
    assert error.request_id == "req_p"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (410, GoneError),
        (429, RateLimitError),
        (500, ServerError),
        (504, ServerError),
    ],
)
def test_empty_error_body_uses_the_status(status: int, expected: type[APIError]) -> None:
    assert type(error_from_response(status, {}, b"", request_id=None)) is expected


def test_rate_limit_reads_retry_after_seconds_and_dates() -> None:
    body = error_body("RATE_LIMIT_ERROR", None)
    error = error_from_response(429, {"Retry-After": "7"}, body, request_id=None)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7
    now = datetime(2026, 3, 15, 19, 40, 0, tzinfo=UTC)
    dated = error_from_response(
        429, {"Retry-After": "Sun, 15 Mar 2026 19:40:30 GMT"}, body, request_id=None, now=now
    )
    assert isinstance(dated, RateLimitError)
    assert dated.retry_after == 30
    missing = error_from_response(429, {}, body, request_id=None)
    assert isinstance(missing, RateLimitError)
    assert missing.retry_after is None


def test_error_answers_raise_from_decode() -> None:
    body = error_body("AUTHENTICATION_ERROR", "INVALID_API_KEY")
    with pytest.raises(AuthenticationError) as info:
        decode_data(401, {}, body, Location, request_id="req_k")
    assert KEY not in str(info.value)


def test_an_unexpected_details_shape_keeps_type_and_code() -> None:
    body = error_body("CONFLICT_ERROR", "TOTAL_PRICE_MISMATCH", details=["not", "an", "object"])
    error = error_from_response(409, {}, body, request_id=None)
    assert isinstance(error, TotalPriceMismatchError)
    assert error.details == {}


def test_a_json_body_that_is_not_the_envelope_still_maps_by_status() -> None:
    error = error_from_response(404, {}, b'{"message": "nope"}', request_id=None)
    assert type(error) is NotFoundError
