"""The Buyback protocol's pure functions, with byte literals: no server, no event loop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ttg_async import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
)
from ttg_async._core.transport import RawResponse as R
from ttg_async.buyback import (
    AccountSuspendedError,
    BuybackEvent,
    InvalidCredentialsError,
    PaymentNotConfiguredError,
    QuoteAlreadyConsumedError,
    QuoteExpiredError,
    Row,
    Section,
    TokenExpiredError,
)
from ttg_async.buyback._models import BuybackPagination
from ttg_async.buyback._protocol import (
    build_request,
    decode_data,
    decode_list,
    decode_token,
    error_from_response,
    page_from,
    path,
)


def _error(code: str, meta: bytes = b'{"request_id": "meta-1"}') -> bytes:
    return (
        b'{"success": false, "error": {"code": "' + code.encode() + b'", "message": "m"}, '
        b'"meta": ' + meta + b"}"
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "INVALID_CREDENTIALS", InvalidCredentialsError),
        (401, "TOKEN_EXPIRED", TokenExpiredError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (403, "ACCOUNT_SUSPENDED", AccountSuspendedError),
        (403, "PAYMENT_NOT_CONFIGURED", PaymentNotConfiguredError),
        (403, "FORBIDDEN", PermissionDeniedError),
        (400, "VALIDATION_ERROR", InvalidRequestError),
        (400, "UNSUPPORTED_GRANT_TYPE", InvalidRequestError),
        (422, "QUOTE_ALREADY_CONSUMED", QuoteAlreadyConsumedError),
        (422, "QUOTE_EXPIRED", QuoteExpiredError),
        # The code wins over an odd status...
        (400, "QUOTE_EXPIRED", QuoteExpiredError),
        # ... and an unknown code gets the class of its status.
        (403, "BRAND_NEW_CODE", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (401, "SOMETHING_ELSE", AuthenticationError),
        (429, "RATE_LIMITED", RateLimitError),
        (503, "WHATEVER", ServerError),
        (418, "TEAPOT", APIError),
    ],
)
def test_error_class_by_code_then_status(status: int, code: str, cls: type[APIError]) -> None:
    err = error_from_response(R(status, {}, _error(code)), request_id="req_sent")
    assert type(err) is cls
    assert err.status == status
    assert err.code == code


def test_error_request_id_comes_from_meta_first() -> None:
    headers = {"X-Request-ID": "hdr-1"}
    err = error_from_response(R(400, headers, _error("VALIDATION_ERROR")), request_id="req_sent")
    assert err.request_id == "meta-1"
    no_meta = error_from_response(R(400, headers, _error("X", b"null")), request_id="req_sent")
    assert no_meta.request_id == "hdr-1"
    nothing = error_from_response(R(400, {}, _error("X", b"{}")), request_id="req_sent")
    assert nothing.request_id == "req_sent"


def test_quote_expired_details() -> None:
    body = (
        b'{"success": false, "error": {"code": "QUOTE_EXPIRED", "message": "expired",'
        b' "details": {"quote_id": "qt_abc123", "expired_at": "2026-02-26T09:00:00Z"}},'
        b' "meta": {"request_id": "r", "timestamp": "2026-02-26T10:30:00Z"}}'
    )
    err = error_from_response(R(422, {}, body), request_id=None)
    assert isinstance(err, QuoteExpiredError)
    assert err.quote_id == "qt_abc123"
    assert err.expired_at == datetime(2026, 2, 26, 9, 0, tzinfo=UTC)
    odd = error_from_response(R(422, {}, _error("QUOTE_EXPIRED")), request_id=None)
    assert isinstance(odd, QuoteExpiredError)
    assert odd.quote_id is None
    assert odd.expired_at is None


def test_error_body_that_is_not_the_envelope_gets_the_class_of_its_status() -> None:
    html = b"<html><body>502 Bad Gateway</body></html>"
    err = error_from_response(R(502, {"Content-Type": "text/html"}, html), request_id="req_1")
    assert type(err) is ServerError
    assert err.code is None
    assert "text/html" in err.message
    assert err.request_id == "req_1"


def test_rate_limit_carries_retry_after() -> None:
    err = error_from_response(R(429, {"Retry-After": "3"}, _error("RATE_LIMITED")), request_id=None)
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 3.0


def test_a_2xx_that_says_it_failed_is_an_error() -> None:
    with pytest.raises(PaymentNotConfiguredError):
        decode_data(R(200, {}, _error("PAYMENT_NOT_CONFIGURED")), Section, request_id=None)


def test_decode_data_and_unknown_fields() -> None:
    body = (
        b'{"success": true, "data": {"section_id": "s1", "section_name": "Box #5",'
        b' "section_name_display": "Box #5", "brand_new": [1, 2]},'
        b' "meta": {"request_id": "r", "timestamp": "2026-02-26T10:30:00Z", "extra": 1}}'
    )
    section = decode_data(R(200, {}, body), Section, request_id=None)
    assert section == Section(section_id="s1", section_name="Box #5", section_name_display="Box #5")


def test_event_timestamps_are_aware_and_unknown_enum_values_pass() -> None:
    body = (
        b'{"success": true, "data": {"event_id": "e1", "event_name": "Show",'
        b' "event_datetime_utc": "2026-03-01T00:30:00Z",'
        b' "event_datetime_local": "2026-02-28T19:30:00", "event_timezone": "America/New_York",'
        b' "venue": {"venue_id": "v", "venue_name": "Hall", "capacity": 5},'
        b' "status": "a_status_from_the_future"}}'
    )
    event = decode_data(R(200, {}, body), BuybackEvent, request_id=None)
    assert event.event_datetime_utc.tzinfo is not None
    assert event.event_datetime_utc == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    assert event.venue is not None
    assert event.venue.venue_name == "Hall"
    assert event.status == "a_status_from_the_future"


def test_naive_utc_timestamp_is_a_decode_error_naming_the_field() -> None:
    body = (
        b'{"success": true, "data": {"event_id": "e1", "event_name": "Show",'
        b' "event_datetime_utc": "2026-03-01T00:30:00"}}'
    )
    with pytest.raises(ResponseDecodeError) as caught:
        decode_data(R(200, {}, body), BuybackEvent, request_id=None)
    assert caught.value.path == "$.data.event_datetime_utc"


def test_body_that_is_not_json() -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        decode_data(R(200, {}, b'{"success": true, "da'), Row, request_id="req_1")
    assert caught.value.path is None
    assert caught.value.request_id == "req_1"


def test_decode_list_with_and_without_pagination() -> None:
    body = (
        b'{"success": true, "data": [{"row_name": "A"}, {"row_name": "B"}],'
        b' "pagination": {"total": 9, "limit": 2, "offset": 0, "has_more": true}}'
    )
    rows, pagination = decode_list(R(200, {}, body), Row, request_id=None)
    assert [r.row_name for r in rows] == ["A", "B"]
    assert pagination == BuybackPagination(total=9, limit=2, offset=0, has_more=True)
    rows, pagination = decode_list(R(200, {}, b'{"data": []}'), Row, request_id=None)
    assert rows == []
    assert pagination is None


def test_decode_token() -> None:
    body = (
        b'{"success": true, "data": {"access_token": "tok_123456789", "token_type": "Bearer",'
        b' "expires_at": "2026-02-26T11:30:00Z", "expires_in": 3600, "scope": "partner"}}'
    )
    token = decode_token(R(200, {}, body), request_id=None)
    assert token.access_token == "tok_123456789"
    assert token.expires_in == 3600
    assert "tok_123456789" not in repr(token)
    with pytest.raises(InvalidCredentialsError):
        decode_token(R(401, {}, _error("INVALID_CREDENTIALS")), request_id=None)


def test_page_from_follows_has_more_over_total() -> None:
    lying = page_from(["a", "b"], BuybackPagination(total=1, has_more=True), limit=2, offset=4)
    assert lying.has_more is True
    assert lying.offset == 4  # the offset asked for
    last = page_from(["a"], BuybackPagination(total=99, has_more=False), limit=2, offset=0)
    assert last.has_more is False
    fallback = page_from(["a"], BuybackPagination(total=5), limit=1, offset=0)
    assert fallback.has_more is True
    complete = page_from(["a", "b"], None, limit=20, offset=0)
    assert complete.has_more is False


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        (("events", "evt_1"), "/v1/events/evt_1"),
        (
            ("events", "evt_1", "sections", "Club & Suites", "rows"),
            "/v1/events/evt_1/sections/Club%20%26%20Suites/rows",
        ),
        (("events", "e", "sections", "Box #5", "rows"), "/v1/events/e/sections/Box%20%235/rows"),
        (("events", "e", "sections", "a/b?c", "rows"), "/v1/events/e/sections/a%2Fb%3Fc/rows"),
    ],
)
def test_path_segments_are_quoted_whole(segments: tuple[str, ...], expected: str) -> None:
    assert path(*segments) == expected


def test_build_request() -> None:
    spec = build_request(
        "POST", "/v1/quotes", token="tok", body={"quantity": 2}, query={"q": None, "limit": 5}
    )
    assert spec.headers["Authorization"] == "Bearer tok"
    assert spec.headers["Content-Type"] == "application/json"
    assert spec.headers["X-Request-ID"].startswith("req_")
    assert spec.body == b'{"quantity":2}'
    assert spec.query == (("limit", "5"),)
    token_request = build_request("POST", "/v1/auth/token", token=None, body={})
    assert "Authorization" not in token_request.headers


def test_a_token_answer_off_the_schema_does_not_keep_the_token() -> None:
    body = b'{"success": true, "data": {"access_token": "tok_KEEPOUT_123", "expires_in": "x"}}'
    with pytest.raises(ResponseDecodeError) as caught:
        decode_token(R(200, {}, body), request_id=None)
    assert caught.value.path == "$.data.expires_in"
    assert b"tok_KEEPOUT_123" not in caught.value.body
    assert "tok_KEEPOUT_123" not in str(caught.value) + repr(vars(caught.value))
    # Other answers keep their body, as TTG's do.
    with pytest.raises(ResponseDecodeError) as other:
        decode_data(R(200, {}, b'{"data": {"row_name": 5}}'), Row, request_id=None)
    assert other.value.body == b'{"data": {"row_name": 5}}'


def test_an_order_without_a_status_still_decodes() -> None:
    """The docs promise an order its ID and its transfer email; a placed order always decodes."""
    from ttg_async.buyback import BuybackOrder

    body = (
        b'{"success": true, "data": {"order_id": "ord_1", "transfer_email": "t@tbb.example"},'
        b' "meta": {"request_id": "r1"}}'
    )
    order = decode_data(R(201, {}, body), BuybackOrder, request_id=None)
    assert order.order_id == "ord_1"
    assert order.transfer_email == "t@tbb.example"
    assert order.status is None


def test_fields_the_docs_never_define_never_fail_an_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``performers`` and ``category`` are not in the docs: in any shape they are dropped
    (with a WARNING naming the path), and the event still decodes."""
    body = (
        b'{"success": true, "data": {"event_id": "e1", "event_name": "Show",'
        b' "event_datetime_utc": "2030-01-01T00:00:00Z", "performers": [{"performer_id": 5}],'
        b' "category": {"odd": true}}, "meta": {"request_id": "r1"}}'
    )
    with caplog.at_level("WARNING", logger="ttg_async"):
        event = decode_data(R(200, {}, body), BuybackEvent, request_id=None)
    assert (event.event_id, event.performers, event.category) == ("e1", [], None)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "$.data.performers" in logged
    assert "strict=True" not in logged  # Buyback has no strict mode to point at


def test_a_promised_field_still_fails_the_answer() -> None:
    body = b'{"success": true, "data": {"event_id": "e1", "event_name": 7}, "meta": {}}'
    with pytest.raises(ResponseDecodeError) as info:
        decode_data(R(200, {}, body), BuybackEvent, request_id=None)
    assert info.value.path is not None
