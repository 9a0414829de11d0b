"""The client against Prism: an independent mock of docs/openapi.yaml.

Prism (``prism mock --dynamic``) invents every answer from the spec's schemas, with extra
unknown properties, absent optional fields and random totals. Each resource call runs 100
seeded rounds (``Prefer: seed=N``); every 2xx must decode, strictly, since a body that fits
the spec must fit the models; every documented error status must map to its class; Prism's
request validation must never reject one of our requests (it says so in an
``sl-violations`` header); and every paginated walk must end, whatever totals Prism invents.
A failure names the endpoint, the seed and the field.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from contract_support import documented_statuses, prism_server

from ttg_async import (
    APIError,
    AuthenticationError,
    Cart,
    CartItemInput,
    ConflictError,
    Contact,
    Event,
    GoneError,
    InvalidRequestError,
    InventoryItem,
    Location,
    Money,
    NotFoundError,
    Occurrence,
    Order,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TTGClient,
    TTGError,
)

ROUNDS = 100
ERROR_ROUNDS = 6  # per documented error status and call
MAX_REQUESTS_PER_ROUND = 500  # a walk that needs more has not terminated

_prefer: contextvars.ContextVar[str | None] = contextvars.ContextVar("prefer", default=None)


@dataclass
class Wire:
    """What the middleware saw: requests per round, and Prism's request violations."""

    requests: int = 0
    violations: list[str] = field(default_factory=list)
    seed: int = 0


async def _middleware_for(wire: Wire) -> Callable[..., Awaitable[aiohttp.ClientResponse]]:
    async def middleware(
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
    ) -> aiohttp.ClientResponse:
        wire.requests += 1
        if wire.requests > MAX_REQUESTS_PER_ROUND:
            # Not a TTGError, so it ends the round at once, whatever the client would retry.
            raise AssertionError(
                f"{request.method} {request.url.path} seed={wire.seed}: the walk did not end "
                f"after {MAX_REQUESTS_PER_ROUND} requests"
            )
        prefer = _prefer.get()
        # Each request of a round gets its own seed, so the pages of a walk differ.
        seed = f"seed={wire.seed * 1000 + wire.requests}"
        request.headers["Prefer"] = f"{prefer}, {seed}" if prefer else seed
        response = await handler(request)
        violation = response.headers.get("sl-violations")
        if violation:
            wire.violations.append(f"{request.method} {request.url.path}: {violation}")
        return response

    return middleware


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    with prism_server() as base_url:
        yield base_url


@dataclass
class Harness:
    ttg: TTGClient
    wire: Wire


@pytest.fixture
async def harness(prism: str) -> AsyncIterator[Harness]:
    wire = Wire()
    middleware = await _middleware_for(wire)
    async with (
        aiohttp.ClientSession(middlewares=(middleware,)) as session,
        TTGClient(
            "sk_test_prism0contract",
            "prism-retailer",
            base_url=prism,
            retry=RetryPolicy.disabled(),
            session=session,
            timeout=30.0,
        ) as ttg,
    ):
        yield Harness(ttg, wire)


CONTACT = Contact("Ada Lovelace", "ada@example.com", "+442071234567")
LINE = CartItemInput("50001", "eyJzIjoiT1JDSC1BLTEwMSJ9", "eyJjIjoiRlVMTCJ9", 1)


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str  # the spec's path template
    run: Callable[[TTGClient, int], Awaitable[Any]]
    check: Callable[[Any], bool]


def _all(kind: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _is(kind: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, kind)


CALLS = [
    Call(
        "locations.list",
        "GET",
        "/api/v3/locations",
        lambda ttg, n: ttg.locations.list(limit=1 + n % 1000).collect(),
        _all(Location),
    ),
    Call(
        "events.list",
        "GET",
        "/api/v3/events",
        lambda ttg, n: ttg.events.list(f"{n + 1}", limit=50).collect(),
        _all(Event),
    ),
    Call(
        "events.get",
        "GET",
        "/api/v3/events/{eventId}",
        lambda ttg, n: ttg.events.get(f"{1000 + n}"),
        _is(Event),
    ),
    Call(
        "occurrences.list",
        "GET",
        "/api/v3/events/{eventId}/occurrences",
        lambda ttg, n: ttg.occurrences.list(
            "1001",
            quantity=None if n % 2 else 1 + n % 5,
            start_date=None if n % 3 else "2026-03-01",
            end_date=None if n % 3 else "2026-09-30",
        ),
        _all(Occurrence),
    ),
    Call(
        "occurrences.get",
        "GET",
        "/api/v3/events/{eventId}/occurrences/{occurrenceId}",
        lambda ttg, n: ttg.occurrences.get("1001", f"{50000 + n}"),
        _is(Occurrence),
    ),
    Call(
        "inventory.list",
        "GET",
        "/api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items",
        lambda ttg, n: ttg.inventory.list(
            "1001", "50001", provider_code=None if n % 2 else f"campaign-{n}"
        ),
        _all(InventoryItem),
    ),
    Call(
        "carts.create",
        "POST",
        "/api/v3/carts",
        lambda ttg, n: ttg.carts.create([LINE]),
        _is(Cart),
    ),
    Call(
        "carts.get",
        "GET",
        "/api/v3/carts/{cartId}",
        lambda ttg, n: ttg.carts.get(f"cart_{n}"),
        _is(Cart),
    ),
    Call(
        "carts.delete",
        "DELETE",
        "/api/v3/carts/{cartId}",
        lambda ttg, n: ttg.carts.delete(f"cart_{n}"),
        lambda value: value is None,
    ),
    Call(
        "orders.create",
        "POST",
        "/api/v3/orders",
        lambda ttg, n: ttg.orders.create(
            f"cart_{n}", expected_total=Money(18500 + n, "USD"), contact=CONTACT
        ),
        _is(Order),
    ),
    Call(
        "orders.get",
        "GET",
        "/api/v3/orders/{orderId}",
        lambda ttg, n: ttg.orders.get(f"ord_{n}", cart_id=None if n % 2 else f"cart_{n}"),
        _is(Order),
    ),
]

EXPECTED_CLASS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    # 413 and 415 (a body over the size limit, not JSON) have no class of their own.
    413: APIError,
    415: APIError,
    429: RateLimitError,
    500: ServerError,
    503: ServerError,
}


async def _round(harness: Harness, call: Call, seed: int) -> Any:
    harness.wire.seed = seed
    harness.wire.requests = 0
    # Generous: a round is a handful of requests; this only turns a hang into a failure.
    async with asyncio.timeout(120):
        result = await call.run(harness.ttg, seed)
    assert harness.wire.requests <= MAX_REQUESTS_PER_ROUND, (
        f"{call.name} seed={seed}: the walk sent {harness.wire.requests} requests"
    )
    return result


def _strict(harness: Harness) -> Harness:
    view = harness.ttg.with_options(strict=True)
    return Harness(view, harness.wire)


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
async def test_every_success_decodes(
    harness: Harness, call: Call, caplog: pytest.LogCaptureFixture
) -> None:
    """100 rounds of Prism's invented 2xx answers: each decodes strictly and terminates."""
    strict = _strict(harness)
    failures: list[str] = []
    with caplog.at_level(logging.WARNING, logger="ttg_async"):
        for seed in range(ROUNDS):
            try:
                result = await _round(strict, call, seed)
            except TTGError as exc:
                failures.append(f"{call.method} {call.path} seed={seed}: {exc!r} {exc}")
                continue
            if not call.check(result):
                failures.append(f"{call.method} {call.path} seed={seed}: got {result!r}")
    failures += harness.wire.violations
    failures += [f"{call.path}: {record.getMessage()}" for record in caplog.records]
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:20])


def _error_cases() -> list[tuple[Call, int]]:
    return [
        (call, status)
        for call in CALLS
        for status in sorted(documented_statuses(call.method, call.path))
        if status >= 400
    ]


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
async def test_every_error_status_maps_to_its_class(harness: Harness, call: Call) -> None:
    """Every documented error status, with Prism's invented codes and details."""
    statuses = sorted(s for s in documented_statuses(call.method, call.path) if s >= 400)
    assert statuses, f"{call.path}: the spec documents no error status"
    failures: list[str] = []
    for status in statuses:
        expected = EXPECTED_CLASS[status]
        for seed in range(ERROR_ROUNDS):
            token = _prefer.set(f"code={status}")
            try:
                result = await _round(harness, call, seed)
            except APIError as exc:
                if not isinstance(exc, expected) or exc.status != status:
                    failures.append(
                        f"{call.method} {call.path} {status} seed={seed}: "
                        f"{type(exc).__name__} (status {exc.status}), expected {expected.__name__}"
                    )
            except TTGError as exc:
                failures.append(f"{call.method} {call.path} {status} seed={seed}: {exc!r}")
            else:
                # Releasing a hold that is already gone is what carts.delete is for.
                if not (call.name == "carts.delete" and status in (404, 410) and result is None):
                    failures.append(
                        f"{call.method} {call.path} {status} seed={seed}: returned {result!r}"
                    )
            finally:
                _prefer.reset(token)
    failures += harness.wire.violations
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:20])
