"""Property: every ID and query value of every TTGClient call is sent exactly as given, or
refused with a TypeError/ValueError before any request.

Generated strings cover every Unicode category (lone surrogates and controls included), dot
segments, ``/ ? # % & = +``, separators and very long values. Each one goes into one argument
of one call against a real sandbox on loopback (one server for the module), and the sandbox's
wire log says what arrived: its raw request target, decoded, must carry the value and nothing
else. ``TTG_PROPERTY_EXAMPLES`` sets the number of examples (default 150, and 10000 when
``$CI`` is set).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ttg_testkit import KEY, RETAILER

from ttg_async import Contact, Money, RetryPolicy, TTGClient, TTGError
from ttg_async.sandbox import Sandbox

# CI runs the 10,000 examples issue 17 asks for (about 15 s); a laptop run takes 150 unless
# TTG_PROPERTY_EXAMPLES says otherwise.
EXAMPLES = int(os.environ.get("TTG_PROPERTY_EXAMPLES", "10000" if os.environ.get("CI") else "150"))

#: Strings a hostile or careless caller passes: every category, and the URL's own syntax.
TRICKY = [".", "..", "...", "", " ", "/", "//", "?", "#", "%", "%2F", "%2e%2e", "%00", "a/../b"]
TRICKY += ["..%2F", "./", "&", "=", "+", ";", "a b", "\\", "\x00", "\r\n", "\u2028", "\u0085"]
TRICKY += ["\ud800", "x\udfffy", "\U0001f600", "ﬁ", "İ", "\ufeff", "~", "-", "_"]

any_char = st.characters(exclude_categories=())  # every category, surrogates included
syntax = st.sampled_from([*"./?#%&=+;~ \\", "\x00", "\u2028", "\u0085", "\ud800", "é"])
VALUES = st.one_of(
    st.sampled_from(TRICKY),
    st.text(any_char, max_size=24),
    st.text(st.one_of(syntax, any_char), max_size=24),
    st.text(any_char, min_size=200, max_size=3000),
    st.builds(lambda c, n: c * n, st.one_of(syntax, any_char), st.integers(500, 9000)),
)


@dataclass(frozen=True)
class Slot:
    """One argument of one call: where its value must arrive."""

    name: str
    call: Callable[[TTGClient, str], Awaitable[Any]]
    path: Callable[[str], list[str]] | None  # the decoded path segments, or None: in the body
    query: str | None = None  # the query parameter that carries it
    other_params: frozenset[str] = frozenset()

    def __repr__(self) -> str:  # what a falsifying example shows
        return self.name


CONTACT = Contact("Ann", "ann@example.com", "+15550100")
EV = ["", "api", "v3", "events"]
ORDERS = ["", "api", "v3", "orders"]
PAGED = frozenset({"limit", "offset"})


async def _first_events(ttg: TTGClient, v: str) -> object:
    return await ttg.events.list(v, limit=1, max_items=1).collect()


async def _rate_codes(ttg: TTGClient, v: str) -> object:
    return await ttg.inventory.by_rate_codes("1001", "100101", [v])


async def _checkout(ttg: TTGClient, v: str) -> object:
    return await ttg.orders.create(v, expected_total=Money(100, "USD"), contact=CONTACT)


SLOTS = [
    Slot("events.list location_id", _first_events, lambda v: EV, "locationId", PAGED),
    Slot("events.get event_id", lambda t, v: t.events.get(v), lambda v: [*EV, v]),
    Slot(
        "occurrences.list event_id",
        lambda t, v: t.occurrences.list(v),
        lambda v: [*EV, v, "occurrences"],
        None,
        PAGED,  # both lists always send limit and offset (docs/versions.md)
    ),
    Slot(
        "occurrences.get event_id",
        lambda t, v: t.occurrences.get(v, "100101"),
        lambda v: [*EV, v, "occurrences", "100101"],
    ),
    Slot(
        "occurrences.get occurrence_id",
        lambda t, v: t.occurrences.get("1001", v),
        lambda v: [*EV, "1001", "occurrences", v],
    ),
    Slot(
        "inventory.list event_id",
        lambda t, v: t.inventory.list(v, "100101"),
        lambda v: [*EV, v, "occurrences", "100101", "inventory-items"],
        None,
        PAGED,  # both lists always send limit and offset (docs/versions.md)
    ),
    Slot(
        "inventory.list occurrence_id",
        lambda t, v: t.inventory.list("1001", v),
        lambda v: [*EV, "1001", "occurrences", v, "inventory-items"],
        None,
        PAGED,  # both lists always send limit and offset (docs/versions.md)
    ),
    Slot(
        "inventory.list provider_code",
        lambda t, v: t.inventory.list("1001", "100101", provider_code=v),
        lambda v: [*EV, "1001", "occurrences", "100101", "inventory-items"],
        "providerCode",
        PAGED,
    ),
    Slot(
        "inventory.by_rate_codes provider_codes",
        _rate_codes,
        lambda v: [*EV, "1001", "occurrences", "100101", "inventory-items"],
        "providerCode",
        PAGED,
    ),
    Slot("carts.get cart_id", lambda t, v: t.carts.get(v), lambda v: ["", "api", "v3", "carts", v]),
    Slot(
        "carts.delete cart_id",
        lambda t, v: t.carts.delete(v),
        lambda v: ["", "api", "v3", "carts", v],
    ),
    Slot(
        "orders.get order_id",
        lambda t, v: t.orders.get(v),
        lambda v: ["", "api", "v3", "orders", v],
    ),
    Slot(
        "orders.get cart_id",
        lambda t, v: t.orders.get("o1", cart_id=v),
        lambda v: [*ORDERS, "o1"],
        "cartId",
    ),
    Slot("orders.create cart_id", _checkout, None),
]


@dataclass
class Server:
    loop: asyncio.AbstractEventLoop
    sandbox: Sandbox
    ttg: TTGClient

    def run(self, call: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(call)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """One sandbox and one client for the whole module, on a loop of the module's own."""
    loop = asyncio.new_event_loop()
    sandbox = Sandbox(seed=0)
    serving = sandbox.serve()
    base_url = loop.run_until_complete(serving.__aenter__())
    ttg = TTGClient(KEY, RETAILER, base_url=base_url, retry=RetryPolicy.disabled())
    try:
        yield Server(loop, sandbox, ttg)
    finally:
        loop.run_until_complete(ttg.aclose())
        loop.run_until_complete(serving.__aexit__(None, None, None))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def check_arrival(slot: Slot, value: str, target: str) -> None:
    """The raw target that arrived carries ``value`` exactly where ``slot`` puts it."""
    path, _, query = target.partition("?")
    assert slot.path is not None
    segments = [unquote(segment, errors="strict") for segment in path.split("/")]
    assert segments == slot.path(value)
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), errors="strict")
    names = [name for name, _ in pairs]
    if slot.query is None:
        assert set(names) <= slot.other_params, names
        return
    assert names.count(slot.query) == 1, names
    assert dict(pairs)[slot.query] == value
    assert set(names) - {slot.query} <= slot.other_params, names


# 10,000 examples take about 15 s alone, several times that on a loaded machine.
@pytest.mark.timeout(900)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(slot=st.sampled_from(SLOTS), value=VALUES)
def test_every_id_and_query_value_arrives_as_given_or_is_refused(
    server: Server, slot: Slot, value: str
) -> None:
    server.sandbox.reset_counters()
    refused: Exception | None = None
    error: TTGError | None = None
    try:
        server.run(slot.call(server.ttg, value))
    except TTGError as exc:  # an answer from the server (before TypeError: none is both)
        error = exc
    except (TypeError, ValueError) as exc:
        refused = exc
    if refused is not None:
        assert not isinstance(refused, UnicodeError), f"{slot.name}: {refused!r}"
        assert server.sandbox.wire_log() == [], f"{slot.name}: refused after a request"
        event(f"{slot.name}: refused")
        return
    records = server.sandbox.wire_log()
    assert len(records) == 1, f"{slot.name}: {len(records)} requests"
    (record,) = records
    assert record.target is not None
    event(f"{slot.name}: sent, answered {record.answered}")
    if slot.path is not None:
        check_arrival(slot, value, record.target)
    if error is not None and error.request_path is not None:
        # An error names the path that was sent, never another.
        assert error.request_path == record.target.partition("?")[0]
