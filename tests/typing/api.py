"""Type-checked in CI (mypy --strict), never run: the public signatures must not drift.

Each line uses the public API the way public-api.md promises it; `reveal_type`-free
assignments with explicit annotations make mypy check every return type.
"""

from __future__ import annotations

from decimal import Decimal

import aiohttp

from ttg_async import (
    APIError,
    APIResponse,
    AssignedSeat,
    Barcode,
    CacheStats,
    Cart,
    CartItemInput,
    CommittedWriteDecodeError,
    Contact,
    Event,
    Extra,
    GeneralAdmission,
    InventoryItem,
    Location,
    Money,
    NotFoundError,
    Occurrence,
    Order,
    Page,
    Paginator,
    ProviderCodeNotFoundError,
    RateLimitError,
    ReceiptLine,
    RequestEvent,
    ResponseCache,
    ResponseDecodeError,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    TTGClient,
    UnknownReceiptLine,
    UnknownVariant,
)


async def everything(session: aiohttp.ClientSession) -> None:
    ttg = TTGClient(
        "sk_test_x",
        "retailer",
        platform="web",
        base_url="http://127.0.0.1:8765",
        accept_language="en-GB",
        timeout=10.0,
        retry=RetryPolicy(max_attempts=5, backoff_base=0.5, backoff_max=4.0, deadline=20.0),
        max_connections=8,
        session=session,
    )
    async with ttg:
        locations: Paginator[Location] = ttg.locations.list(limit=100, offset=0)
        first: list[Location] = await locations.collect()
        async for page in ttg.locations.list(max_items=10, concurrency=4).pages():
            page_: Page[Location] = page
            total: int = page_.total + page_.limit + page_.offset + len(page_.items)
        events: Paginator[Event] = ttg.events.list(first[0].id, limit=50, offset=0)
        async for listed in events:
            name: str = listed.name
        event: Event = await ttg.events.get("1001")
        occurrences: list[Occurrence] = await ttg.occurrences.list(
            event.id, quantity=2, start_date="2026-03-01", end_date=None
        )
        occurrence: Occurrence = await ttg.occurrences.get(event.id, occurrences[0].id)
        price: Money | None = occurrence.from_price
        items: list[InventoryItem] = await ttg.inventory.list(
            event.id, occurrence.id, provider_code="campaign-may"
        )
        tiers: dict[
            str | None, list[InventoryItem] | ProviderCodeNotFoundError
        ] = await ttg.inventory.by_rate_codes(event.id, occurrence.id, [None, "campaign-may"])
        variant = items[0].inventory_variant
        if isinstance(variant, AssignedSeat):
            seat: str = variant.seat
        elif isinstance(variant, UnknownVariant):
            wire_type: str = variant.type
        else:
            ga_or_extra: GeneralAdmission | Extra = variant
        line = CartItemInput.for_option(occurrence.id, items[0], items[0].price_options[0])
        plain = CartItemInput("occ", "item", "option", quantity=2)
        cart: Cart = await ttg.carts.create([line, plain])
        cart = await ttg.carts.get(cart.id)
        receipt: list[ReceiptLine] = cart.receipt_lines
        for receipt_line in receipt:
            sign: int = receipt_line.sign
            amount: Money = receipt_line.total
            unknown: bool = isinstance(receipt_line, UnknownReceiptLine)
        contact = Contact(name="Ann", email="ann@example.com", phone="+15550100")
        order: Order = await ttg.orders.create(
            cart.id, expected_total=cart.total, contact=contact, idempotency_key="idem_abc"
        )
        order = await ttg.orders.create(
            cart.id, expected_total=cart.total, contact=contact, payment={"method": "invoice"}
        )
        order = await ttg.orders.get(order.id, cart_id=cart.id)
        barcode: Barcode | None = order.items[0].tickets[0].barcode
        status: str | None = order.status
        paid: Money | None = order.total
        await ttg.carts.delete(cart.id)
        major: Decimal = cart.total.decimal
        shown: str = cart.total.format("en_GB")
        view: TTGClient = ttg.with_options(retry=RetryPolicy.disabled(), timeout=2.0)
        try:
            await view.events.get("404")
        except NotFoundError as exc:
            kind: str | None = exc.resource_type
        except RateLimitError as exc:
            wait: float | None = exc.retry_after
        except APIError as exc:
            code: str | None = exc.code
            request_id: str | None = exc.request_id
        # Ergonomics: the raw response, per-call options, max_retries, Money ordering.
        raw: APIResponse[Event] = await ttg.with_raw_response(ttg.events.get, "1001")
        raw_status: int = raw.status
        raw_id: str = raw.request_id
        raw_event: Event = raw.data
        raw_pages: APIResponse[list[Location]] = await ttg.with_raw_response(
            ttg.locations.list(limit=10).collect
        )
        one: Event = await ttg.events.get(
            "1001", extra_headers={"X-Correlation-ID": "c1"}, timeout=5.0
        )
        held: list[InventoryItem] = await ttg.inventory.list("1001", "100101", timeout=2.0)
        shortcut: TTGClient = ttg.with_options(max_retries=1)
        cheaper: bool = cart.total < order.total
        printed: str = str(cart.total)
    quick = TTGClient("sk_test_x", "r", max_retries=5)
    await quick.aclose()

    # Hooks (sync or async) and OpenTelemetry options.
    def on_request(event: RequestEvent) -> None:
        method: str = event.method
        path: str = event.path
        attempt: int = event.attempt
        request_id: str = event.request_id

    async def on_response(event: ResponseEvent) -> None:
        status: int = event.status
        elapsed: float = event.elapsed

    def on_retry(event: RetryEvent) -> None:
        error: BaseException = event.error
        wait: float = event.wait

    observed = TTGClient(
        "sk_test_x",
        "r",
        event_hooks={"request": [on_request], "response": [on_response], "retry": [on_retry]},
        telemetry=True,
        tracer_provider=None,
        meter_provider=None,
    )
    await observed.aclose()
    silent = TTGClient("sk_test_x", "r", telemetry=False)
    await silent.aclose()
    # Hot reads: coalescing on by default, an optional cache, and the counts.
    hot = TTGClient("sk_test_x", "r", cache=ResponseCache(ttl=5.0, max_entries=10_000))
    alone: TTGClient = hot.with_options(coalesce=False)
    fresh: TTGClient = hot.with_options(cache=None)
    stats: CacheStats = alone.cache_stats()
    counts: tuple[int, int, int, int, int] = (
        stats.hits,
        stats.misses,
        stats.coalesced,
        stats.refreshes,
        stats.evictions,
    )
    ticking = ResponseCache(2.0, 100, clock=lambda: 0.0)
    size: int = len(ticking)
    await fresh.aclose()
    await hot.aclose()
    # Decoding: lenient by default, strict on request; a committed write's unreadable answer.
    strict = TTGClient("sk_test_x", "r", strict=True)
    relaxed: TTGClient = strict.with_options(strict=False)
    try:
        await relaxed.orders.create(
            "cart_1", expected_total=Money(1, "USD"), contact=Contact("A", "a@b.co", "+1")
        )
    except CommittedWriteDecodeError as exc:
        placed_id: str | None = exc.resource_id
        what: str = exc.resource
        key: str | None = exc.idempotency_key
    except ResponseDecodeError as exc:
        sent: bytes = exc.body
        where: str | None = exc.path
    await strict.aclose()
    await ttg.aclose()
