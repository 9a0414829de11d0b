"""The fault matrix (issue 4): one seeded run of 200 mixed operations per fault kind.

Each run points one client at a sandbox that faults 20% of all requests with one kind of
failure, and drives 200 operations (browse, hold a cart, check out) with bounded
concurrency. It then proves:

- no duplicate and no lost orders: an ``orders.create`` that returned left exactly one order
  (the one it returned); one that raised left at most one, and its ``outcome_unknown`` says
  whether there may be one. Retrying those with ``exc.idempotency_key``, as a careful
  integrator does, converges to exactly one order per cart;
- every call ends within its deadline;
- every failure is the typed error of its fault, with ``.attempts`` and ``.request_id``,
  never an aiohttp exception;
- nothing leaks: no connection is checked out of the pool, every slot of the client's
  semaphore is free, no ResourceWarning is issued and no "unclosed" report reaches the loop.

Waits are switched off through configuration (``backoff_base=0``, ``Retry-After: 0``); the
slow fault uses a 0.2 s attempt timeout against a 0.5 s delay.
"""

from __future__ import annotations

import asyncio
import gc
import random
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import pytest
from ttg_testkit import assert_pool_idle

from ttg_async import (
    APIConnectionError,
    APITimeoutError,
    Cart,
    CartItemInput,
    Contact,
    GeneralAdmission,
    InventoryExhaustedError,
    InventoryItem,
    Order,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TTGClient,
    TTGError,
)
from ttg_async.sandbox import Sandbox

T = TypeVar("T")

KEY = "sk_test_faults"
RETAILER = "fault-matrix"
CONTACT = Contact("Ann Example", "ann@example.com", "+15550100")

OPERATIONS = 200
WORKERS = 12
FAULT_RATE = 0.2
# Loop-time slack on top of a deadline: the loop may run a callback a little late on a
# busy 2-core machine, but never by a whole attempt.
SLACK = 0.15
# A careful integrator tries an unknown checkout again (same key) up to this many times.
RESOLVE_TRIES = 5


@dataclass(frozen=True)
class Case:
    """One row of the matrix: the fault, the client's timing, and the error it must cause."""

    kind: str
    error: type[TTGError]
    inject: dict[str, Any] = field(default_factory=dict)
    timeout: float = 1.0
    deadline: float = 1.0
    seed: int = 0


CASES = {
    "429 Retry-After": Case("status", RateLimitError, {"status": 429, "retry_after": 0}, seed=429),
    "503": Case("status", ServerError, {"status": 503}, seed=503),
    "html 502": Case("html_502", ServerError, seed=502),
    "reset before": Case("reset_before", APIConnectionError, seed=1),
    "reset after commit": Case("reset_after_commit", APIConnectionError, seed=2),
    "slow": Case("slow", APITimeoutError, {"delay": 0.5}, timeout=0.2, deadline=0.5, seed=3),
    "truncate": Case("truncate", APIConnectionError, seed=4),
}


@dataclass
class Run:
    """What one matrix run saw, call by call."""

    case: Case
    loop: asyncio.AbstractEventLoop
    calls: Counter[str] = field(default_factory=Counter)
    late: list[tuple[str, float]] = field(default_factory=list)
    slowest: float = 0.0
    errors: list[tuple[str, TTGError]] = field(default_factory=list)
    ordered: dict[str, str] = field(default_factory=dict)  # cart id -> returned order id
    unknown: dict[str, TTGError] = field(default_factory=dict)  # cart id -> unresolved error
    refused: dict[str, TTGError] = field(default_factory=dict)  # cart id -> known failure
    held: list[str] = field(default_factory=list)  # carts released without checkout
    resolved: dict[str, str] = field(default_factory=dict)  # cart id -> order id on retry
    keys_sent: dict[str, set[str | None]] = field(default_factory=dict)  # by failed retries

    async def call(self, name: str, make: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK call, timing it against the deadline and checking its error."""
        self.calls[name] += 1
        start = self.loop.time()
        try:
            return await make()
        except TTGError as exc:
            self.errors.append((name, exc))
            raise
        finally:
            elapsed = self.loop.time() - start
            self.slowest = max(self.slowest, elapsed)
            if elapsed > self.case.deadline + SLACK:
                self.late.append((name, elapsed))


@dataclass(frozen=True)
class Target:
    event_id: str
    occurrence_id: str
    location_id: str


@contextmanager
def loop_reports(loop: asyncio.AbstractEventLoop) -> Iterator[list[dict[str, Any]]]:
    """Collect what reaches the loop's exception handler (aiohttp reports leaks there)."""
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        yield seen
    finally:
        loop.set_exception_handler(previous)


def pick_item(items: list[InventoryItem], rng: random.Random) -> InventoryItem | None:
    """A general-admission item when there is one, so concurrent holds rarely collide."""
    on_sale = [item for item in items if item.quantity_available > 0 and item.price_options]
    ga = [item for item in on_sale if isinstance(item.inventory_variant, GeneralAdmission)]
    pool = ga or on_sale
    return rng.choice(pool) if pool else None


async def discover(ttg: TTGClient) -> list[Target]:
    """Find on-sale occurrences before any fault is injected."""
    targets: list[Target] = []
    for location in await ttg.locations.list().collect():
        for event in await ttg.events.list(location.id).collect():
            occurrences = await ttg.occurrences.list(event.id)
            targets.extend(
                Target(event.id, occ.id, location.id)
                for occ in occurrences[:3]
                if occ.from_price is not None
            )
    return targets


async def hold(run: Run, ttg: TTGClient, target: Target, rng: random.Random) -> Cart | None:
    items = await run.call(
        "inventory.list",
        lambda: ttg.inventory.list(target.event_id, target.occurrence_id),
    )
    item = pick_item(items, rng)
    if item is None:
        return None
    line = CartItemInput.for_option(target.occurrence_id, item, item.price_options[0])
    return await run.call("carts.create", lambda: ttg.carts.create([line]))


async def check_out(run: Run, ttg: TTGClient, cart: Cart) -> None:
    try:
        order = await run.call(
            "orders.create",
            lambda: ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT),
        )
    except TTGError as exc:
        # (Every orders.create error is checked for its idempotency key after the run.)
        if exc.outcome_unknown and exc.idempotency_key is not None:
            await resolve(run, ttg, cart, exc)
        else:
            run.refused[cart.id] = exc
        return
    run.ordered[cart.id] = order.id


async def resolve(run: Run, ttg: TTGClient, cart: Cart, exc: TTGError) -> None:
    """What a careful integrator does after an unknown outcome: ask again, same key."""
    run.unknown[cart.id] = exc
    key = exc.idempotency_key
    assert key is not None
    for _ in range(RESOLVE_TRIES):
        try:
            order: Order = await run.call(
                "orders.create (same key)",
                lambda: ttg.orders.create(
                    cart.id, expected_total=cart.total, contact=CONTACT, idempotency_key=key
                ),
            )
        except TTGError as again:
            run.keys_sent.setdefault(cart.id, set()).add(again.idempotency_key)
            continue
        run.resolved[cart.id] = order.id
        return


async def operation(run: Run, ttg: TTGClient, targets: list[Target], rng: random.Random) -> None:
    """One mixed operation: browse (50%), hold and release a cart (20%), check out (30%)."""
    target = rng.choice(targets)
    roll = rng.random()
    try:
        if roll < 0.5:
            browse: list[tuple[str, Callable[[], Awaitable[object]]]] = [
                ("locations.list", lambda: ttg.locations.list().collect()),
                ("events.list", lambda: ttg.events.list(target.location_id).collect()),
                ("events.get", lambda: ttg.events.get(target.event_id)),
                ("occurrences.list", lambda: ttg.occurrences.list(target.event_id)),
                (
                    "inventory.list",
                    lambda: ttg.inventory.list(target.event_id, target.occurrence_id),
                ),
            ]
            name, make = rng.choice(browse)
            await run.call(name, make)
            return
        cart = await hold(run, ttg, target, rng)
        if cart is None:
            return
        if roll < 0.7:
            run.held.append(cart.id)
            await run.call("carts.delete", lambda: ttg.carts.delete(cart.id))
            return
        await check_out(run, ttg, cart)
    except TTGError:
        return  # recorded by run.call and judged after the run


async def run_matrix(case: Case) -> tuple[Run, Sandbox, int, int]:
    """Drive the 200 operations; return the run, the sandbox, faults fired, requests seen."""
    loop = asyncio.get_running_loop()
    run = Run(case, loop)
    sb = Sandbox(seed=case.seed)
    rng = random.Random(case.seed)
    max_connections = 8
    policy = RetryPolicy(max_attempts=3, backoff_base=0, deadline=case.deadline)
    async with sb.serve() as base_url:
        ttg = TTGClient(
            KEY,
            RETAILER,
            base_url=base_url,
            retry=policy,
            timeout=case.timeout,
            max_connections=max_connections,
        )
        async with ttg:
            targets = await discover(ttg)
            assert len(targets) >= 10
            sb.reset_counters()
            fault = sb.inject("*", case.kind, probability=FAULT_RATE, seed=case.seed, **case.inject)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(OPERATIONS):
                queue.put_nowait(n)

            async def worker(seed: int) -> None:
                own = random.Random(seed)
                while not queue.empty():
                    queue.get_nowait()
                    await operation(run, ttg, targets, own)

            async with asyncio.TaskGroup() as group:
                for _ in range(WORKERS):
                    group.create_task(worker(rng.randrange(2**32)))
            hits, requests = fault.hits, sb.request_count()
            sb.clear_faults()
            assert_pool_idle(ttg, max_connections)
        assert ttg.closed
    # The server has shut down: a slow handler still asleep for a call that gave up has
    # either finished (and is counted) or been cancelled. Only now are the books final.
    return run, sb, hits, requests


@pytest.mark.parametrize("name", list(CASES))
async def test_fault_matrix(name: str) -> None:
    case = CASES[name]
    loop = asyncio.get_running_loop()
    with warnings.catch_warnings(record=True) as caught, loop_reports(loop) as reports:
        warnings.simplefilter("always")
        run, sb, hits, requests = await run_matrix(case)
        gc.collect()

    print(
        f"\n{name}: {run.calls.total()} calls, {requests} requests, {hits} faults, "
        f"{len(run.errors)} errors, {len(run.ordered)} ordered, {len(run.unknown)} unknown, "
        f"{len(run.refused)} refused, slowest {run.slowest:.3f} s"
    )
    # The fault really hit about a fifth of the requests, and the run was not vacuous.
    assert requests > OPERATIONS
    assert 0.12 <= hits / requests <= 0.28, (hits, requests)
    assert len(run.ordered) + len(run.resolved) >= 20
    # Checkouts were hit and retried too: more POST /orders arrived than calls were made.
    checkouts = run.calls["orders.create"] + run.calls["orders.create (same key)"]
    assert sb.request_count("POST /api/v3/orders") > checkouts

    # Zero duplicate and zero lost orders.
    for cart_id, order_id in run.ordered.items():
        assert sb.orders_for_cart(cart_id) == [order_id], cart_id
    for cart_id, exc in run.refused.items():
        # The error said the outcome was known: then no order may exist.
        assert sb.orders_for_cart(cart_id) == [], (cart_id, exc)
    for cart_id, exc in run.unknown.items():
        assert len(sb.orders_for_cart(cart_id)) <= 1, (cart_id, exc)
        # Retrying with the same Idempotency-Key converged on exactly one order.
        assert cart_id in run.resolved, f"{cart_id} never resolved: {exc!r}"
        assert sb.orders_for_cart(cart_id) == [run.resolved[cart_id]], cart_id
        assert run.keys_sent.get(cart_id, {exc.idempotency_key}) == {exc.idempotency_key}
    for cart_id in run.held:
        assert sb.orders_for_cart(cart_id) == []

    # Every call ended within its deadline.
    assert not run.late, run.late

    # Every failure is the typed error of the fault (or a real sell-out), never aiohttp's.
    if case.error is not RateLimitError:
        # Unsafe POSTs are never retried after a fault, so some calls must fail (a 429 is
        # retried everywhere, and three in a row are rare).
        assert run.errors, "a 20% fault rate must make some calls fail"
    for call, exc in run.errors:
        assert not isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError), (call, exc)
        assert exc.__cause__ is None or isinstance(exc.__cause__, TTGError), (call, exc)
        assert exc.request_id is not None
        assert exc.request_id.startswith("req_"), exc.request_id
        if isinstance(exc, InventoryExhaustedError) and call == "carts.create":
            assert exc.attempts == 1
            continue
        assert isinstance(exc, case.error), (call, repr(exc))
        assert exc.attempts >= 1, (call, exc)
        # Every attempt went out under the same X-Request-ID. An attempt that timed out on a
        # loaded machine may not have reached the server at all, so timeouts only bound it.
        seen = sb.attempts(exc.request_id)
        posted = call.startswith(("carts.create", "orders.create"))
        if isinstance(exc, APITimeoutError):
            assert seen <= exc.attempts or not posted, (call, exc, seen)
        else:
            assert seen >= exc.attempts, (call, exc, seen)
            if posted:
                assert seen == exc.attempts, (call, exc, seen)
        if call == "carts.create" and not isinstance(exc, RateLimitError):
            # A POST /carts that may have arrived is never sent twice, and says so.
            assert exc.attempts == 1
            assert exc.outcome_unknown
        elif call.startswith("orders.create"):
            assert exc.idempotency_key is not None
        elif exc.outcome_unknown:
            assert call == "carts.delete", (call, exc)

    # Nothing leaked.
    resource = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not resource, [str(w.message) for w in resource]
    unclosed = [r for r in reports if "nclosed" in str(r.get("message", ""))]
    assert not unclosed, unclosed


# Orders on the sandbox when a checkout gives up after every attempt hit the fault: 1 when
# the fault strikes after the work is done, 0 when before, None when a slow handler may
# still be finishing the first attempt.
COMMITTED = {
    "429 Retry-After": 0,
    "503": 0,
    "html 502": 0,
    "reset before": 0,
    "reset after commit": 1,
    "slow": None,
    "truncate": 1,
}


@pytest.mark.parametrize("name", list(CASES))
async def test_checkout_that_fails_every_attempt_converges_with_the_same_key(name: str) -> None:
    """The worst case of each fault: every attempt of one checkout is hit.

    The caller gets the typed error of the last failure, with ``.attempts``, the request ID
    every attempt carried, the idempotency key, and ``outcome_unknown`` telling the truth;
    asking again with that key ends with exactly one order.
    """
    case = CASES[name]
    loop = asyncio.get_running_loop()
    sb = Sandbox(seed=case.seed)
    policy = RetryPolicy(max_attempts=3, backoff_base=0, deadline=case.deadline)
    async with (
        sb.serve() as base_url,
        TTGClient(KEY, RETAILER, base_url=base_url, retry=policy, timeout=case.timeout) as ttg,
    ):
        event_id, occurrence_id = sb.find_occurrence(assigned_seat=False)
        item = pick_item(await ttg.inventory.list(event_id, occurrence_id), random.Random(0))
        assert item is not None
        line = CartItemInput.for_option(occurrence_id, item, item.price_options[0])
        cart = await ttg.carts.create([line])
        sb.inject("POST /api/v3/orders", case.kind, times=3, **case.inject)

        start = loop.time()
        with pytest.raises(case.error) as info:
            await ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
        assert loop.time() - start <= case.deadline + SLACK
        exc = info.value
        assert exc.attempts == 3
        assert exc.request_id is not None
        assert sb.attempts(exc.request_id) == 3  # one X-Request-ID for every attempt
        assert exc.idempotency_key is not None
        assert exc.outcome_unknown == (case.error is not RateLimitError)
        committed = COMMITTED[name]
        if committed is None:
            assert len(sb.orders_for_cart(cart.id)) <= 1
        else:
            assert len(sb.orders_for_cart(cart.id)) == committed

        order = await ttg.orders.create(
            cart.id, expected_total=cart.total, contact=CONTACT, idempotency_key=exc.idempotency_key
        )
        assert sb.orders_for_cart(cart.id) == [order.id]
    # Once the server has shut down (a slow first attempt has finished or been dropped),
    # there is still exactly that one order.
    assert sb.orders_for_cart(cart.id) == [order.id]
