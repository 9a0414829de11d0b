"""Issue 17 for BuybackClient: dot-segment IDs, lone surrogates, malformed base URLs, C1
controls in the credentials, an out-of-range delivery deadline and a deeply nested 2xx answer,
each against the Buyback sandbox over loopback."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator

import pytest

from ttg_async import ConfigurationError, ResponseDecodeError
from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox


@contextlib.contextmanager
def refused(field: str) -> Iterator[None]:
    """The block raises a plain ValueError (not a UnicodeError leaking out) naming ``field``."""
    with pytest.raises(ValueError, match=f"^{re.escape(field)}:") as info:
        yield
    assert type(info.value) is ValueError, f"{type(info.value).__name__}: {info.value}"


@pytest.mark.parametrize("value", ["", ".", "..", "\ud800", "Floor\udc00A"])
async def test_ids_that_cannot_be_sent_as_given_are_refused(
    tbb: BuybackClient, sb: BuybackSandbox, value: str
) -> None:
    event = sb.event_ids()[0]
    calls = [
        ("event_id", tbb.events.get(value)),
        ("event_id", tbb.sections.list(value)),
        ("event_id", tbb.rows.list(value, "Floor A")),
        ("section_name", tbb.rows.list(event, value)),
        ("event_id", tbb.quotes.create(value, "Floor A", 1)),
        ("section_name", tbb.quotes.create(event, value, 1)),
        ("row_name", tbb.quotes.create(event, "Floor A", 1, row_name=value)),
    ]
    for field, call in calls:
        with refused(field):
            await call
    assert sb.request_count() == 0


@pytest.mark.parametrize(
    "field", ["q", "event_id", "venue_id", "venue_name", "performer_id", "performer_name"]
)
async def test_a_surrogate_in_an_event_filter_is_refused(
    tbb: BuybackClient, sb: BuybackSandbox, field: str
) -> None:
    # With and without coalescing: the refusal comes before the token request either way.
    for client in (tbb, tbb.with_options(coalesce=False)):
        with refused(field):
            await client.events.list(**{field: "arena\ud800"}).collect()  # type: ignore[arg-type]
        assert sb.request_count() == 0


async def test_dot_segments_in_a_filter_are_sent_as_given(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    # A query value is not a path segment: ".." there is data, and arrives as such.
    assert await tbb.events.list(q="..", venue_name="a/../b&c=d#e").collect() == []
    (record,) = sb.arrivals("GET /v1/events")
    assert record.target is not None
    assert "q=..&" in record.target
    assert "venue_name=a%2F..%2Fb%26c%3Dd%23e" in record.target


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:99999/partner",
        "http://127.0.0.1:0/partner",
        "http://127.0.0.1:8765/partner\r\nX-Injected: 1",
        "https://api.example.com/partner/../admin",
        "https://api.example.com/par tner",
        "https://api.example.com/partner\x85",
    ],
)
def test_a_malformed_base_url_is_refused_at_construction(base_url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        BuybackClient("tbb_test_alpha", "secret", base_url=base_url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize("bad", ["\x85", "\x9b", "\u2028", "\u2029", "\ufeff", "\ud800"])
@pytest.mark.parametrize("field", ["client_id", "client_secret"])
def test_invisible_and_c1_characters_in_credentials_are_refused(field: str, bad: str) -> None:
    args = {"client_id": "tbb_test_alpha", "client_secret": "s3cr3t-value"}
    args[field] = args[field][:4] + bad + args[field][4:]
    with pytest.raises(ConfigurationError) as info:
        BuybackClient(args["client_id"], args["client_secret"], base_url="http://127.0.0.1:1")
    assert info.value.field == field
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    ],
)
async def test_an_out_of_range_delivery_deadline_is_a_value_error(
    tbb: BuybackClient, sb: BuybackSandbox, when: dt.datetime
) -> None:
    with refused("delivery_deadline"):
        await tbb.orders.create("q_1", delivery_type="pdf", delivery_deadline=when)
    assert sb.request_count() == 0


async def test_a_nested_answer_to_a_read_is_a_decode_error(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    sb.inject("GET /v1/events/{event_id}", "nested_after_commit")
    with pytest.raises(ResponseDecodeError) as info:
        await tbb.events.get(sb.event_ids()[0])
    assert type(info.value) is ResponseDecodeError
    assert info.value.attempts == 1
    sb.inject("GET /v1/events", "nested_after_commit")
    with pytest.raises(ResponseDecodeError):
        await tbb.events.list().collect()


async def test_a_nested_answer_to_a_quote_is_never_sent_again(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    event = sb.event_ids()[0]
    section = sb.section_names(event)[0]
    sb.inject("POST /v1/quotes", "nested_after_commit")
    with pytest.raises(ResponseDecodeError) as info:
        await tbb.quotes.create(event, section, 1)
    assert info.value.attempts == 1
    assert info.value.outcome_unknown is True
    assert len(sb.quotes()) == 1
    assert sb.request_count("POST /v1/quotes") == 1


async def test_a_nested_token_answer_is_a_decode_error(
    tbb: BuybackClient, sb: BuybackSandbox
) -> None:
    sb.inject("POST /v1/auth/token", "nested_after_commit")
    with pytest.raises(ResponseDecodeError) as info:
        await tbb.events.get(sb.event_ids()[0])
    assert info.value.body == b""  # the body holds a token: never kept
