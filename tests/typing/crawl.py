"""Type-checked in CI (mypy --strict), never run: the crawl and tier signatures must not drift."""

from __future__ import annotations

from pathlib import Path

from ttg_async import (
    CatalogRecord,
    Crawl,
    CrawlError,
    CrawlStats,
    CrawlStorageError,
    Event,
    InventoryItem,
    Location,
    Money,
    Occurrence,
    ProviderCodeNotFoundError,
    TierComparison,
    TierPrice,
    TierRow,
    TTGClient,
    TTGError,
    compare_tiers,
)


async def crawl_and_compare() -> None:
    async with TTGClient("sk_test_x", "r") as ttg:
        crawl: Crawl = ttg.crawl(
            None,
            rate_codes=(None, "MEMBERS"),
            inventory=True,
            concurrency=16,
            checkpoint="catalog.ckpt",
        )
        errors_so_far: list[CrawlError] = []
        async for record in crawl:
            typed: CatalogRecord = record
            location: Location | str = record.location
            location_id: str = record.location_id
            event: Event = record.event
            occurrence: Occurrence = record.occurrence
            code: str | None = record.rate_code
            items: list[InventoryItem] | ProviderCodeNotFoundError = record.items
        stats: CrawlStats = crawl.stats
        counts: tuple[int, int, int, int, int, int, int] = (
            stats.locations,
            stats.events,
            stats.occurrences,
            stats.records,
            stats.items,
            stats.requests,
            stats.errors,
        )
        elapsed: float = stats.elapsed
        errors: list[CrawlError] = crawl.errors
        for failure in errors:
            where: str = failure.where
            error: TTGError = failure.error
            as_json: dict[str, object] = record.to_dict()
            failure_json: dict[str, object] = errors_so_far[0].to_dict() if errors_so_far else {}
            errors_so_far = crawl.errors
        await crawl.aclose()
        given = ttg.crawl(["1", "2"], inventory=False, page_size=500)
        to_file = ttg.crawl(checkpoint="catalog.jsonl.checkpoint")
        try:
            await to_file.write_jsonl("catalog.jsonl", resume=True)
        except CrawlStorageError as exc:
            path: Path = exc.path

        tiers = await ttg.inventory.by_rate_codes("1001", "100101", [None, "MEMBERS"])
        comparison: TierComparison = compare_tiers(tiers)
        rows: list[TierRow] = comparison.rows
        unknown: dict[str | None, ProviderCodeNotFoundError] = comparison.unknown_codes
        best: TierPrice | None = comparison.cheapest()
        extra: TierPrice | None = comparison.cheapest("extra")
        for_seat: TierPrice | None = comparison.cheapest_for("LowerTier-A-101", category="Adult")
        if best is not None:
            price: Money = best.sell_price
            listed: Money | None = best.list_price
            saved: Money | None = best.discount
            option_id: str = best.price_option_id
        for row in rows:
            kind: str = row.kind
            by_code: dict[str | None, TierPrice] = row.prices
            cheapest: TierPrice | None = row.cheapest()
