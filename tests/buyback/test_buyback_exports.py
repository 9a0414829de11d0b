"""The Buyback public surface: every name public-api.md promises, and nothing private."""

from __future__ import annotations

import inspect

import ttg_async
import ttg_async.buyback
import ttg_async.buyback.sandbox
from ttg_async.buyback import BuybackClient

PROMISED = {
    "BuybackClient",
    "BuybackEvent",
    "BuybackVenue",
    "Section",
    "Row",
    "Quote",
    "BuybackOrder",
    "InvalidCredentialsError",
    "TokenExpiredError",
    "AccountSuspendedError",
    "PaymentNotConfiguredError",
    "QuoteExpiredError",
    "QuoteAlreadyConsumedError",
}


def test_all_is_complete_and_exact() -> None:
    exported = set(ttg_async.buyback.__all__)
    assert exported >= PROMISED
    defined = {
        name
        for name, value in vars(ttg_async.buyback).items()
        if not name.startswith("_") and (inspect.isclass(value) or isinstance(value, tuple))
    }
    assert defined == exported
    assert "BuybackSandbox" in ttg_async.buyback.sandbox.__all__


def test_errors_share_the_tree() -> None:
    for name in PROMISED:
        value = getattr(ttg_async.buyback, name)
        if name.endswith("Error"):
            assert issubclass(value, ttg_async.APIError), name


def test_signature_matches_the_contract() -> None:
    params = inspect.signature(BuybackClient).parameters
    assert list(params) == [
        "client_id",
        "client_secret",
        "base_url",
        "timeout",
        "retry",
        "max_connections",
        "session",
        "cache",
        "event_hooks",
        "telemetry",
        "tracer_provider",
        "meter_provider",
    ]
    assert params["timeout"].default == 30.0
    assert params["max_connections"].default == 64
    assert all(params[name].kind is inspect.Parameter.KEYWORD_ONLY for name in list(params)[2:])
    from ttg_async.buyback._resources import Events

    assert list(inspect.signature(Events.list).parameters) == [
        "self",
        "q",
        "event_id",
        "venue_id",
        "venue_name",
        "performer_id",
        "performer_name",
        "date_from",
        "date_to",
        "limit",
        "offset",
        "max_items",
        "concurrency",
        "extra_headers",
        "timeout",
    ]


def test_write_signatures_match_the_contract() -> None:
    from ttg_async.buyback._resources import Events, Orders, Quotes, Rows, Sections

    assert list(inspect.signature(Quotes.create).parameters) == [
        "self",
        "event_id",
        "section_name",
        "quantity",
        "row_name",
        "section_name_display",
        "row_name_display",
        "face_value",
        "seat_start",
        "seat_end",
        "general_admission",
        "is_view_restricted",
        "restriction_detail",
        "restrictions",
        "user_metadata",
        "extra_headers",
        "timeout",
    ]
    assert list(inspect.signature(Orders.create).parameters) == [
        "self",
        "quote_id",
        "delivery_type",
        "delivery_deadline",
        "is_ready_to_deliver",
        "in_hand_date",
        "file",
        "extra_headers",
        "timeout",
    ]
    # Every resource call takes the per-call options, keyword-only and left out by default.
    for method in (
        Events.list,
        Events.get,
        Sections.list,
        Rows.list,
        Quotes.create,
        Orders.create,
    ):
        params = inspect.signature(method).parameters
        for name in ("extra_headers", "timeout"):
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (method, name)
