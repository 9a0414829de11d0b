"""The fault matrix: what a client's retries do to the server's books, counted by the server.

Every run talks to an *unprotected* sandbox (``Sandbox(unprotected=True)``): a cart that
already has an order is ordered again under a new key, and holds may oversell, so a client
bug shows as a duplicate instead of being refused. The checks read the server's own books
(orders per cart and per ``Idempotency-Key``) and its wire log (the ``X-Request-ID`` and key
each arrival really carried), never what the test handed the client.

Three parts:

1. **The mixed matrix**: one seeded run of 200 mixed operations (browse, hold, release, check
   out) per fault kind, 20% of all requests faulted, with bounded concurrency.
2. **The write matrix**: every write (``POST /carts``, ``POST /orders``, ``DELETE /carts``)
   meets every post-commit fault (the work is done, then a 500, an HTML 502, a reset, an
   answer past the client's timeout, or a cut body), 30 flows per row with 60% of that
   route's requests hit, so an unknown checkout is resolved many times per row.
3. **The worst case** of each fault: every attempt of one checkout is hit.

They prove: one hold per ``carts.create`` call and no ``POST /carts`` sent again after it may
have arrived; exactly one order per cart, one key over the wire per checkout (attempts and
the caller's own retries alike), ``outcome_unknown`` whenever an attempt may have acted, and
convergence to that one order when the caller retries with ``exc.idempotency_key``; every call
ends within its deadline; every failure is the typed error of its fault, never aiohttp's; and
nothing leaks (pool, slots, ResourceWarnings, "unclosed" reports).

Waits are switched off through configuration (``backoff_base=0``, ``Retry-After: 0``); late
answers are paced against short attempt timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import warnings
from collections import Counter, defaultdict
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
from ttg_async.sandbox import Sandbox, WireRecord

T = TypeVar("T")

KEY = "sk_test_faults"
RETAILER = "fault-matrix"
CONTACT = Contact("Ann Example", "ann@example.com", "+15550100")

OPERATIONS = 200
WORKERS = 12
FAULT_RATE = 0.2
# Loop-time slack on top of a deadline, generous for a 2-core machine kept busy by other
# processes. A call that ignored its deadline overruns it by whole attempts, far beyond this.
SLACK = 0.5
# A careful integrator tries an unknown checkout again (same key) up to this many times.
RESOLVE_TRIES = 20

CARTS = "POST /api/v3/carts"
ORDERS = "POST /api/v3/orders"
DELETE = "DELETE /api/v3/carts/{cartId}"


class LoopLag:
    """The longest stretch the event loop went without running a 10 ms heartbeat.

    On a starved machine the whole process can stall for a second or more; no call can end
    while its loop does not run, so "ended within its deadline" allows for the worst stall
    seen during the run. A call that ignores its deadline overshoots by whole attempts.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - before - 0.01)


def by_request_id(records: list[WireRecord]) -> dict[str | None, list[WireRecord]]:
    grouped: dict[str | None, list[WireRecord]] = defaultdict(list)
    for record in records:
        grouped[record.request_id].append(record)
    return grouped


def keys_sent_for(sb: Sandbox, cart_id: str) -> set[str | None]:
    """The Idempotency-Keys that reached the server for checkouts of one cart."""
    return {r.idempotency_key for r in sb.wire_log(ORDERS) if r.cart_id == cart_id}


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
        except TTGError:
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
    sb = Sandbox(seed=case.seed, unprotected=True)
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
            # Discovery is not under test: a loaded machine must not fail it on the slow
            # row's 0.2 s attempt timeout before any fault is injected.
            targets = await discover(ttg.with_options(timeout=30.0))
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
        async with LoopLag() as lag:
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

    # Zero duplicate and zero lost orders, by the server's books; one key over the wire per
    # checkout, whatever the attempts and the caller's own retries.
    for cart_id, order_id in run.ordered.items():
        assert sb.orders_for_cart(cart_id) == [order_id], cart_id
        [key] = keys_sent_for(sb, cart_id)
        assert key is not None
        assert sb.orders_for_key(key) == [order_id]
    for cart_id, exc in run.refused.items():
        # The error said the outcome was known: then no order may exist.
        assert sb.orders_for_cart(cart_id) == [], (cart_id, exc)
        assert keys_sent_for(sb, cart_id) <= {exc.idempotency_key}
    for cart_id, exc in run.unknown.items():
        # Retrying with the same Idempotency-Key converged on exactly one order.
        assert cart_id in run.resolved, f"{cart_id} never resolved: {exc!r}"
        assert sb.orders_for_cart(cart_id) == [run.resolved[cart_id]], cart_id
        assert keys_sent_for(sb, cart_id) == {exc.idempotency_key}, cart_id
    for cart_id in run.held:
        assert sb.orders_for_cart(cart_id) == []
    # One hold per carts.create call: no X-Request-ID ever created two carts.
    for rid, arrivals in by_request_id(sb.wire_log(CARTS)).items():
        assert sum(r.created for r in arrivals) <= 1, (rid, arrivals)

    # Every call ended within its deadline (allowing for any stall of the loop itself).
    late = [(call, took) for call, took in run.late if took > case.deadline + SLACK + lag.worst]
    assert not late, (late, lag.worst)

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


# -- the write matrix: every write meets every post-commit fault ----------------------------


@dataclass(frozen=True)
class CommitFault:
    """A fault that strikes after the server did the work, and what the caller must see."""

    kind: str
    error: type[TTGError]
    inject: dict[str, Any] = field(default_factory=dict)
    timeout: float = 2.0


COMMIT_FAULTS = {
    "500 after commit": CommitFault("status_after_commit", ServerError, {"status": 500}),
    "html 502 after commit": CommitFault("html_502_after_commit", ServerError),
    "reset after commit": CommitFault("reset_after_commit", APIConnectionError),
    "late after commit": CommitFault(
        "slow_after_commit", APITimeoutError, {"delay": 0.6}, timeout=0.25
    ),
    "body cut after commit": CommitFault("truncate", APIConnectionError),
}
WRITES = {"POST /carts": CARTS, "POST /orders": ORDERS, "DELETE /carts": DELETE}
FLOWS = 30
FLOW_WORKERS = 6
HIT_RATE = 0.6
# Two attempts a call: 36% of checkouts lose both answers, so each POST /orders row resolves
# about ten unknown outcomes, and the retry with a key is still exercised on every hit.
WRITE_ATTEMPTS = 2


@dataclass
class Flow:
    """One caller's go at a write: the cart it worked on, what it got, what it did next."""

    cart_id: str | None = None
    order_id: str | None = None  # returned by the first orders.create
    error: TTGError | None = None  # raised by the write under test
    resolved: str | None = None  # the order (or "deleted") the caller's own retry got
    late: list[float] = field(default_factory=list)


async def write_flow(
    route: str, ttg: TTGClient, line: CartItemInput, flow: Flow, timed: Timed
) -> None:
    """The write under test, then what a careful caller does after an unknown outcome."""
    if route == CARTS:
        try:
            cart = await timed(lambda: ttg.carts.create([line]))
        except TTGError as exc:
            flow.error = exc
            return
        flow.cart_id = cart.id
        return
    # Only the route under test is faulted; the set-up call is not under test, so a loaded
    # machine must not fail it on a short attempt timeout.
    cart = await ttg.with_options(timeout=30.0).carts.create([line])
    flow.cart_id = cart.id
    if route == DELETE:
        try:
            await timed(lambda: ttg.carts.delete(cart.id))
            return
        except TTGError as exc:
            flow.error = exc
        for _ in range(RESOLVE_TRIES):  # deleting is idempotent: just ask again
            try:
                await timed(lambda: ttg.carts.delete(cart.id))
            except TTGError:
                continue
            flow.resolved = "deleted"
            return
        return
    try:
        order = await timed(
            lambda: ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
        )
    except TTGError as exc:
        flow.error = exc
    else:
        flow.order_id = order.id
        return
    key = flow.error.idempotency_key
    if not flow.error.outcome_unknown or key is None:
        return  # judged after the run: a post-commit fault always leaves the outcome unknown
    for _ in range(RESOLVE_TRIES):
        try:
            order = await timed(
                lambda: ttg.orders.create(
                    cart.id, expected_total=cart.total, contact=CONTACT, idempotency_key=key
                )
            )
        except TTGError:
            continue
        flow.resolved = order.id
        return


class Timed:
    """Runs calls, noting any that ends later than its deadline allows."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.loop = asyncio.get_running_loop()
        self.late: list[float] = []

    async def __call__(self, make: Callable[[], Awaitable[T]]) -> T:
        start = self.loop.time()
        try:
            return await make()
        finally:
            elapsed = self.loop.time() - start
            if elapsed > self.deadline + SLACK:
                self.late.append(elapsed)


async def run_write_row(
    route: str, fault: CommitFault, *, with_deadline: bool = True
) -> tuple[list[Flow], Sandbox, int, Timed]:
    sb = Sandbox(seed=11, unprotected=True)
    # Room for every attempt's full timeout: a loaded machine must not change how many
    # attempts a call makes, only how late their timers fire. Without a deadline (the
    # default policy) the first attempt takes the pipeline's straight path, which must judge
    # its failure exactly as the retry loop does; the same bound still holds.
    deadline = WRITE_ATTEMPTS * fault.timeout + 0.3
    policy = RetryPolicy(
        max_attempts=WRITE_ATTEMPTS, backoff_base=0, deadline=deadline if with_deadline else None
    )
    flows = [Flow() for _ in range(FLOWS)]
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY,
            RETAILER,
            base_url=base_url,
            retry=policy,
            timeout=fault.timeout,
            max_connections=8,
        ) as ttg,
    ):
        event_id, occurrence_id = sb.find_occurrence(assigned_seat=False)
        setup = ttg.with_options(timeout=30.0)  # not under test: never on a short timeout
        item = pick_item(await setup.inventory.list(event_id, occurrence_id), random.Random(0))
        assert item is not None
        # Unprotected holds oversell, so every flow can hold the same line.
        line = CartItemInput.for_option(occurrence_id, item, item.price_options[0])
        sb.reset_counters()
        injected = sb.inject(
            route, fault.kind, probability=HIT_RATE, seed=len(route), **fault.inject
        )
        timed = Timed(deadline)
        queue = list(flows)

        async def worker() -> None:
            while queue:
                await write_flow(route, ttg, line, queue.pop(), timed)

        async with asyncio.TaskGroup() as group:
            for _ in range(FLOW_WORKERS):
                group.create_task(worker())
        hits = injected.hits
        sb.clear_faults()
        assert_pool_idle(ttg, 8)
    # The server has shut down: a late answer still pending is finished or dropped, and the
    # work it did was done before the delay. The books are final.
    return flows, sb, hits, timed


def check_error(exc: TTGError, fault: CommitFault) -> None:
    """The typed error of the fault, telling the truth about a write that may have acted."""
    assert isinstance(exc, fault.error), repr(exc)
    assert not isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError), repr(exc)
    assert exc.__cause__ is None or isinstance(exc.__cause__, TTGError), repr(exc)
    assert exc.request_id is not None
    assert exc.request_id.startswith("req_"), exc.request_id
    assert exc.outcome_unknown, repr(exc)


def check_attempts(exc: TTGError, policy: str) -> None:
    """Every attempt was made, or, under a deadline, as many as it left time for.

    A machine busy enough to stall the event loop can spend the deadline before the last
    attempt (no retry starts with less than ``MIN_RETRY_BUDGET`` left): fewer attempts, never
    more. Without a deadline the count is exact. This was the row's one load-dependent
    assertion; the books (one order per cart and per key) never depend on load.
    """
    if policy == "deadline":
        assert 1 <= exc.attempts <= WRITE_ATTEMPTS, exc.attempts
    else:
        assert exc.attempts == WRITE_ATTEMPTS, exc.attempts


@pytest.mark.parametrize("policy", ["deadline", "no deadline"])
@pytest.mark.parametrize("fault_name", list(COMMIT_FAULTS))
@pytest.mark.parametrize("write", list(WRITES))
async def test_every_write_meets_every_post_commit_fault(
    write: str, fault_name: str, policy: str
) -> None:
    route, fault = WRITES[write], COMMIT_FAULTS[fault_name]
    loop = asyncio.get_running_loop()
    with warnings.catch_warnings(record=True) as caught, loop_reports(loop) as reports:
        warnings.simplefilter("always")
        async with LoopLag() as lag:
            flows, sb, hits, timed = await run_write_row(
                route, fault, with_deadline=policy == "deadline"
            )
        gc.collect()
    wire = sb.wire_log(route)
    arrivals = by_request_id(wire)
    failed = [flow for flow in flows if flow.error is not None]
    print(f"\n{write} x {fault_name}: {hits} faults, {len(wire)} arrivals, {len(failed)} failed")
    # Not vacuous: the fault really struck, after the work was done each time.
    assert hits >= FLOWS // 3, hits
    assert all(r.handled is not None for r in wire if r.fault == fault.kind)

    if route == CARTS:
        # A POST /carts that may have arrived is never sent again: one arrival per call,
        # and each made exactly one hold, also when its answer was lost.
        assert len(arrivals) == FLOWS
        for rid, sent in arrivals.items():
            assert len(sent) == 1, (rid, sent)
            assert sent[0].created, (rid, sent)
        for flow in flows:
            if flow.error is None:
                [made] = [r for r in wire if r.cart_id == flow.cart_id]
                assert made.fault is None
                continue
            check_error(flow.error, fault)
            assert flow.error.attempts == 1
            [sent] = arrivals[flow.error.request_id]
            assert sent.fault == fault.kind
        assert len(failed) >= FLOWS // 3

    if route == ORDERS:
        for flow in flows:
            assert flow.cart_id is not None
            sent = [r for r in wire if r.cart_id == flow.cart_id]
            # One key over the wire for the cart: every attempt and every retry of the caller.
            keys = {r.idempotency_key for r in sent}
            assert len(keys) == 1, keys
            [key] = keys
            assert key is not None
            order_id = flow.order_id or flow.resolved
            assert order_id is not None, f"{flow.cart_id} never converged: {flow.error!r}"
            assert sb.orders_for_cart(flow.cart_id) == [order_id]
            assert sb.orders_for_key(key) == [order_id]
            if flow.error is not None:
                check_error(flow.error, fault)
                assert flow.error.idempotency_key == key
                check_attempts(flow.error, policy)
                hit = arrivals[flow.error.request_id]
                # One X-Request-ID for every attempt, each one hit by the fault.
                assert len(hit) == flow.error.attempts
                assert all(r.fault == fault.kind for r in hit)
        # Enough lost answers that the caller's resolve path ran many times.
        assert len(failed) >= 4, len(failed)

    if route == DELETE:
        for flow in flows:
            sent = [r for r in wire if r.cart_id == flow.cart_id]
            assert sum(r.released for r in sent) == 1, sent  # released, and only once
            if flow.error is not None:
                check_error(flow.error, fault)
                check_attempts(flow.error, policy)
                assert flow.resolved == "deleted"

    late = [took for took in timed.late if took > timed.deadline + SLACK + lag.worst]
    assert not late, (late, lag.worst)
    resource = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not resource, [str(w.message) for w in resource]
    unclosed = [r for r in reports if "nclosed" in str(r.get("message", ""))]
    assert not unclosed, unclosed


# -- the worst case: every attempt of one checkout is hit -----------------------------------

# Every fault kind, with the number of orders on the sandbox once every attempt was hit: 1
# when the fault strikes after the work is done, 0 before (a late request whose client has
# gone is dropped unhandled).
WORST = {
    **{name: (case, 0) for name, case in CASES.items()},
    **{
        name: (Case(fault.kind, fault.error, fault.inject, fault.timeout), 1)
        for name, fault in COMMIT_FAULTS.items()
    },
}
WORST["reset after commit"] = (CASES["reset after commit"], 1)
WORST["truncate"] = (CASES["truncate"], 1)


@pytest.mark.parametrize("name", list(WORST))
async def test_checkout_that_fails_every_attempt_converges_with_the_same_key(name: str) -> None:
    """The worst case of each fault: every attempt of one checkout is hit.

    The caller gets the typed error of the last failure, with ``.attempts``, the request ID
    every attempt carried, the idempotency key, and ``outcome_unknown`` telling the truth;
    asking again with that key ends with exactly one order.
    """
    case, committed = WORST[name]
    loop = asyncio.get_running_loop()
    sb = Sandbox(seed=case.seed, unprotected=True)
    # Room for three full attempts, so that exactly three are made however loaded the
    # machine is; the deadline still bounds the call.
    deadline = 3 * case.timeout + 0.3
    policy = RetryPolicy(max_attempts=3, backoff_base=0, deadline=deadline)
    async with (
        sb.serve() as base_url,
        TTGClient(KEY, RETAILER, base_url=base_url, retry=policy, timeout=case.timeout) as ttg,
    ):
        event_id, occurrence_id = sb.find_occurrence(assigned_seat=False)
        setup = ttg.with_options(timeout=30.0)  # not under test: never on a short timeout
        item = pick_item(await setup.inventory.list(event_id, occurrence_id), random.Random(0))
        assert item is not None
        line = CartItemInput.for_option(occurrence_id, item, item.price_options[0])
        cart = await setup.carts.create([line])
        sb.inject(ORDERS, case.kind, times=3, **case.inject)

        start = loop.time()
        with pytest.raises(case.error) as info:
            async with LoopLag() as lag:
                await ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
        assert loop.time() - start <= deadline + SLACK + lag.worst
        exc = info.value
        assert exc.attempts == 3
        assert exc.request_id is not None
        assert exc.idempotency_key is not None
        assert exc.outcome_unknown == (case.error is not RateLimitError)
        order = await setup.orders.create(
            cart.id, expected_total=cart.total, contact=CONTACT, idempotency_key=exc.idempotency_key
        )
    # The server has shut down (a late first attempt has finished or been dropped): the
    # books are final.
    hit = [r for r in sb.wire_log(ORDERS) if r.request_id == exc.request_id]
    assert len(hit) == 3  # one X-Request-ID for every attempt
    assert all(r.fault == case.kind for r in hit)
    assert sum(r.created for r in hit) == committed
    assert keys_sent_for(sb, cart.id) == {exc.idempotency_key}
    assert sb.orders_for_cart(cart.id) == [order.id]
    assert sb.orders_for_key(exc.idempotency_key) == [order.id]
