"""Issue 17: what a TTGClient call, constructor or the ``ttg`` command does with hostile input.

Each test reproduces one report against the real sandbox over loopback: dot-segment IDs,
lone surrogates, malformed base URLs and header names, C1 controls in credentials, an
over-long idempotency key, a deeply nested 2xx answer, and a secret echoed by argparse.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ttg_testkit import KEY, NO_WAIT, RETAILER, Running

from ttg_async import (
    CommittedWriteDecodeError,
    ConfigurationError,
    Contact,
    ResponseDecodeError,
    RetryPolicy,
    TTGClient,
)
from ttg_async._cli import main
from ttg_async._core.pipeline import Pipeline
from ttg_async._core.transport import RawResponse, RequestSpec

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def refused(field: str) -> Iterator[None]:
    """The block raises a plain ValueError (not a UnicodeError leaking out) naming ``field``."""
    with pytest.raises(ValueError, match=f"^{re.escape(field)}:") as info:
        yield
    assert type(info.value) is ValueError, f"{type(info.value).__name__}: {info.value}"


# -- 1. dot segments ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", ".", ".."])
async def test_dot_segment_ids_are_refused_before_any_request(
    ttg: TTGClient, running: Running, value: str
) -> None:
    calls = [
        ("cart_id", ttg.carts.delete(value)),
        ("cart_id", ttg.carts.get(value)),
        ("event_id", ttg.events.get(value)),
        ("event_id", ttg.inventory.list(value, "100101")),
        ("occurrence_id", ttg.inventory.list("1001", value)),
        ("occurrence_id", ttg.occurrences.get("1001", value)),
        ("event_id", ttg.occurrences.list(value)),
        ("order_id", ttg.orders.get(value)),
        ("cart_id", ttg.orders.get("o1", cart_id=value)),
    ]
    for field, call in calls:
        with refused(field):
            await call
    with refused("location_id"):
        ttg.events.list(value)
    assert running.sandbox.request_count() == 0


async def test_an_error_names_the_path_that_was_sent(ttg: TTGClient, running: Running) -> None:
    from ttg_async import NotFoundError

    with pytest.raises(NotFoundError) as info:
        await ttg.events.get("a/../b c")
    (record,) = running.sandbox.wire_log()
    assert record.target == "/api/v3/events/a%2F..%2Fb%20c"
    assert info.value.request_path == record.target
    assert record.target in str(info.value)


async def test_an_error_names_a_path_that_yarl_would_requote_as_sent(
    ttg: TTGClient, running: Running
) -> None:
    from ttg_async import NotFoundError

    # RFC 3986 lets "@:;=,!$'()*" stand bare in a path; yarl, left to itself, would send
    # them bare although the path names them percent-encoded.
    with pytest.raises(NotFoundError) as info:
        await ttg.carts.get("a@b:c;d=e,f!g$h'i(j)k*l")
    (record,) = running.sandbox.wire_log()
    assert info.value.request_path == record.target
    assert record.target == "/api/v3/carts/a%40b%3Ac%3Bd%3De%2Cf%21g%24h%27i%28j%29k%2Al"


async def test_a_request_target_past_8000_octets_is_refused(
    ttg: TTGClient, running: Running
) -> None:
    with pytest.raises(ValueError, match="8000"):
        await ttg.events.get("x" * 7990)
    with pytest.raises(ValueError, match="8000"):
        await ttg.orders.get("o1", cart_id="é" * 1400)
    assert running.sandbox.request_count() == 0
    assert (await ttg.events.get("1001")).id == "1001"


def test_the_wire_helpers_refuse_what_they_cannot_send() -> None:
    # The backstop beneath the resources' own checks: no other path or query is ever built.
    from ttg_async._core.wire import query_pairs, quote_path, request_target

    for segment in ("", ".", ".."):
        with pytest.raises(ValueError, match="would not be sent as itself"):
            quote_path("/v1", "events", segment)
    with refused("path segment"):
        quote_path("/v1", "events", "a\ud800")
    with refused("cartId"):
        query_pairs({"cartId": "\udc00"})
    assert quote_path("/v1", "a.b", "~x-_") == "/v1/a.b/~x-_"
    assert request_target("/v1", (("q", "a&b=c#d+e%f/g"),)) == "/v1?q=a%26b%3Dc%23d%2Be%25f%2Fg"


# -- 2. lone surrogates -------------------------------------------------------------------------


async def test_a_surrogate_in_a_query_value_is_refused(ttg: TTGClient, running: Running) -> None:
    with refused("cart_id"):
        await ttg.orders.get("o1", cart_id="\ud800")
    with refused("provider_code"):
        await ttg.inventory.list("1001", "100101", provider_code="MEMBERS\ud800")
    with refused("provider_codes[1]"):
        await ttg.inventory.by_rate_codes("1001", "100101", [None, "MEMBERS\udfff"])
    with refused("location_id"):
        ttg.events.list("\udc80")
    assert running.sandbox.request_count() == 0


async def test_a_surrogate_in_a_path_id_is_a_value_error(ttg: TTGClient, running: Running) -> None:
    with refused("event_id"):
        await ttg.events.get("10\ud83d01")
    with refused("cart_id"):
        await ttg.carts.delete("\udfff")
    assert running.sandbox.request_count() == 0


# -- 3. the base URL ----------------------------------------------------------------------------

BAD_BASE_URLS = [
    "http://127.0.0.1:99999",
    "http://127.0.0.1:0",
    "http://127.0.0.1:port",
    "http://127.0.0.1:8765/\r\nX-Injected: 1",
    "http://127.0.0.1:8765/api\n",
    "http://127.0.0.1\t:8765",
    "https://exa mple.com",
    "https://example.com/a/../b",
    "https://example.com/./b",
    "http://[::1",
    "https://example.com/%zz",
    "https://example.com/\x85",
    "https://bücher.example",
]


@pytest.mark.parametrize("base_url", BAD_BASE_URLS)
def test_a_malformed_base_url_is_refused_at_construction(base_url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        TTGClient(KEY, RETAILER, base_url=base_url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8765",
        "https://example.com/",
        "https://example.com:443/v3/",
        "http://[::1]:1",
    ],
)
def test_good_base_urls_still_pass(base_url: str) -> None:
    TTGClient(KEY, RETAILER, base_url=base_url)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:99999", "http://"])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_invalid_url_at_send_time_is_not_sent_and_not_retried(
    method: str, base_url: str
) -> None:
    # The pipeline beneath the client, given a base URL the client would refuse: what
    # remains if yarl (a port out of range) or aiohttp (no host) finds a URL invalid.
    pipeline = Pipeline(base_url, 4, session=None)
    spec = RequestSpec(method, "/api/v3/carts", (), {}, b"{}" if method == "POST" else None, "r1")
    calls = 0

    def decode(raw: object, request_id: str) -> None:
        nonlocal calls
        calls += 1

    try:
        for policy in (NO_WAIT, RetryPolicy(backoff_base=0, deadline=5.0)):
            with pytest.raises(ConfigurationError) as info:
                await pipeline.call(spec, decode, policy=policy, timeout=5.0)
            assert info.value.field == "base_url"
            assert info.value.outcome_unknown is False
            assert info.value.attempts == 1
            assert "not sent" in str(info.value)
    finally:
        await pipeline.aclose()
    assert calls == 0


# -- 4. headers, credentials, deadlines, idempotency keys ---------------------------------------


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"Bad Name": "v"}, ValueError),
        ({"X-Colon:": "v"}, ValueError),
        ({"X-Tab\t": "v"}, ValueError),
        ({"": "v"}, ValueError),
        ({"X-Ünï": "v"}, ValueError),
        ({"X-\ud800": "v"}, ValueError),
        ({"X-Note": "v\r\nX-Injected: 1"}, ValueError),
        ({"X-Note": "v\x00"}, ValueError),
        ({"X-Note": "v\x7f"}, ValueError),
        ({"X-Note": "v\x85"}, ValueError),
        ({"X-Note": "v\u2028"}, ValueError),
        ({"X-Note": "\ud800"}, ValueError),
        ({"X-Note": 1}, TypeError),
        ({1: "v"}, TypeError),
    ],
)
async def test_extra_headers_are_checked(
    ttg: TTGClient, running: Running, headers: dict[object, object], error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        await ttg.events.get("1001", extra_headers=headers)  # type: ignore[arg-type]
    assert type(info.value) is error
    assert str(info.value).startswith("extra_headers"), str(info.value)
    assert running.sandbox.request_count() == 0


async def test_good_extra_headers_still_go_out(ttg: TTGClient) -> None:
    event = await ttg.events.get(
        "1001", extra_headers={"X-Correlation-ID": "a b\tc", "x!#$%&'*+.^_`|~": "ok"}
    )
    assert event.id == "1001"


@pytest.mark.parametrize("bad", ["\x85", "\x9b", "\x80", "\u2028", "\u2029", "\ufeff", "\ud800"])
@pytest.mark.parametrize("field", ["api_key", "retailer", "accept_language"])
def test_invisible_and_c1_characters_in_credentials_are_refused(field: str, bad: str) -> None:
    args = {"api_key": KEY, "retailer": RETAILER, "accept_language": "en-GB"}
    inside = len(args[field]) - 2  # inside the value: not where strip() would catch it
    args[field] = args[field][:inside] + bad + args[field][inside:]
    with pytest.raises(ConfigurationError) as info:
        TTGClient(args["api_key"], args["retailer"], accept_language=args["accept_language"])
    assert info.value.field == field


async def test_a_far_deadline_is_a_deadline(running: Running) -> None:
    # 8000 years in seconds, and the largest float: budgets that no call reaches.
    for deadline in (86400 * 365 * 8000.0, sys.float_info.max):
        policy = RetryPolicy(deadline=deadline)
        async with TTGClient(KEY, RETAILER, base_url=running.base_url, retry=policy) as ttg:
            assert (await ttg.events.get("1001")).id == "1001"


async def test_an_idempotency_key_past_255_characters_is_refused(
    ttg: TTGClient, running: Running
) -> None:
    contact = Contact("Ann", "ann@example.com", "+15550100")
    from ttg_async import Money

    with refused("idempotency_key"):
        await ttg.orders.create(
            "c1",
            expected_total=Money(100, "USD"),
            contact=contact,
            idempotency_key="idem_" + "a" * 251,
        )
    assert running.sandbox.request_count() == 0


# -- 5. a deeply nested 2xx answer --------------------------------------------------------------


async def test_a_nested_answer_to_a_placed_order_keeps_the_key(
    ttg: TTGClient, running: Running
) -> None:
    from ttg_testkit import find_show

    show = await find_show(ttg)
    item = show.first(type(show.items[0].inventory_variant))
    from ttg_async import CartItemInput

    option = item.price_options[0]
    cart = await ttg.carts.create([CartItemInput.for_option(show.occurrence.id, item, option)])
    running.sandbox.inject("POST /api/v3/orders", "nested_after_commit")
    contact = Contact("Ann", "ann@example.com", "+15550100")
    with pytest.raises(CommittedWriteDecodeError) as info:
        await ttg.orders.create(cart.id, expected_total=cart.total, contact=contact)
    error = info.value
    assert error.idempotency_key is not None
    assert error.idempotency_key.startswith("idem_")
    assert error.attempts == 1
    assert error.path == "$"
    assert len(running.sandbox.orders_for_key(error.idempotency_key)) == 1
    # The key reconciles: the same call with it returns the order that was placed.
    order = await ttg.orders.create(
        cart.id, expected_total=cart.total, contact=contact, idempotency_key=error.idempotency_key
    )
    assert [order.id] == running.sandbox.orders_for_key(error.idempotency_key)


async def test_a_nested_answer_to_a_cart_hold_is_a_committed_write(
    ttg: TTGClient, running: Running
) -> None:
    from ttg_testkit import find_show

    from ttg_async import CartItemInput

    show = await find_show(ttg)
    item = show.items[0]
    line = CartItemInput.for_option(show.occurrence.id, item, item.price_options[0])
    running.sandbox.inject("POST /api/v3/carts", "nested_after_commit")
    with pytest.raises(CommittedWriteDecodeError) as info:
        await ttg.carts.create([line])
    assert info.value.attempts == 1
    assert info.value.resource == "cart"


@pytest.mark.parametrize("strict", [False, True])
async def test_a_nested_answer_to_a_read_is_a_decode_error(
    ttg: TTGClient, running: Running, strict: bool
) -> None:
    running.sandbox.inject("GET /api/v3/events/{eventId}", "nested_after_commit")
    running.sandbox.inject("GET /api/v3/locations", "nested_after_commit")
    view = ttg.with_options(strict=strict)
    with pytest.raises(ResponseDecodeError) as info:
        await view.events.get("1001")
    assert type(info.value) is ResponseDecodeError
    assert info.value.attempts == 1
    with pytest.raises(ResponseDecodeError):
        await view.locations.list().collect()


@pytest.mark.parametrize("status", [404, 500])
def test_a_nested_error_answer_keeps_its_status(status: int) -> None:
    from ttg_async._ttg.protocol import error_from_response
    from ttg_async.buyback._protocol import error_from_response as buyback_error
    from ttg_async.sandbox._plumbing import nest

    body = nest(b'{"error": {"code": "X"}}')
    assert error_from_response(status, {}, body, request_id="r").status == status
    raw = RawResponse(status, {}, nest(b'{"success": false, "error": {"code": "X"}}'))
    assert buyback_error(raw, request_id="r").status == status


# -- 10. the command line never echoes a secret -------------------------------------------------

SECRET_KEY = "sk_live_Zq8vN3kW5yR7tP1mC9xB4hJ6"
PLAIN_SECRET = "hunter2-correct-horse-battery"


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--api-key", SECRET_KEY],
        ["demo", f"--api-key={SECRET_KEY}"],
        ["demo", SECRET_KEY],
        ["locations", "--api-key", SECRET_KEY, "--bogus"],
        ["locations", "--api-key", SECRET_KEY, "surplus"],
        ["demo", "--api-kee", PLAIN_SECRET],
        ["buyback", "events", "--client-secret", PLAIN_SECRET],
        ["buyback", "events", f"--client-secret={PLAIN_SECRET}"],
        ["buyback", "sections", "--client-secret", PLAIN_SECRET, "evt_1"],
        [SECRET_KEY],
        ["buyback", "--client-secret", PLAIN_SECRET, "events"],
        ["buyback", "events", "--client-sec", PLAIN_SECRET],
        ["buyback", "events", "--secret", PLAIN_SECRET],
        ["buyback", "events", "--token", PLAIN_SECRET],
        ["buyback", "events", "--max-items", PLAIN_SECRET, "--client-secret", PLAIN_SECRET],
    ],
)
def test_a_rejected_secret_is_never_echoed(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert SECRET_KEY not in err
    assert "Zq8vN3kW5yR7tP1m" not in err
    assert PLAIN_SECRET not in err


def test_an_ordinary_usage_error_still_says_what_was_wrong(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["buyback", "order", "q1", "--delivery-type", "pigeon", "--deadline", "x"])
    assert "pigeon" in capsys.readouterr().err


# -- 11. TTG_LOG with Buyback alone -------------------------------------------------------------


def test_ttg_log_works_in_a_buyback_only_program() -> None:
    program = (
        "import asyncio\n"
        "from ttg_async.buyback import BuybackClient\n"
        "from ttg_async import RetryPolicy, APIConnectionError\n"
        "async def main():\n"
        "    policy = RetryPolicy(max_attempts=2, backoff_base=0)\n"
        "    async with BuybackClient('tbb_test_log', 'p4ss-w0rd-secret',\n"
        "                             base_url='http://127.0.0.1:9', retry=policy) as tbb:\n"
        "        try:\n"
        "            await tbb.events.get('evt_1')\n"
        "        except APIConnectionError:\n"
        "            pass\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "TTG_LOG": "debug", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG ttg_async" in done.stderr
    assert "POST /v1/auth/token" in done.stderr
    assert "p4ss-w0rd-secret" not in done.stderr
