"""Decoding paths, timed against bare msgspec: python benchmarks/decode_paths.py [--items N].

One inventory page of N items (default 2000), decoded five ways:

- ``bare msgspec``: ``msgspec.json.Decoder(ListEnvelope[InventoryItem])``, the floor;
- ``sdk, known types``: the SDK's own path for a body that fits (the strict fast path);
- ``sdk, 1 unknown _type``: one item with a variant type this version does not know;
- ``sdk, every 10th unknown``: many unknown variants (only those items take the slow path);
- ``sdk, odd optional field``: every item's variant carries ``attributes`` as an object
  (the lenient pass drops it, with one WARNING).

Each line is the best of 7 runs, in microseconds, with its ratio to bare msgspec. Timing
never fails anything: on a busy machine, compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from ttg_async._ttg.models import InventoryItem, ListEnvelope
from ttg_async._ttg.protocol import decode_list


def page(n: int, *, unknown_every: int = 0, odd_attributes: bool = False) -> bytes:
    items: list[dict[str, Any]] = []
    for i in range(n):
        kind = "AssignedSeat" if i % 2 else "GeneralAdmission"
        if unknown_every and i % unknown_every == 0:
            kind = "Standing"
        variant: dict[str, Any] = {
            "_type": kind,
            "id": f"v{i}",
            "name": f"Seat {i}",
            "attributes": {"odd": True} if odd_attributes else [],
            "section": "Orchestra",
            "row": "A",
            "seat": str(i),
        }
        option = {
            "id": "po",
            "category": {"name": "Adult"},
            "sellPrice": {"amount": 12500, "currency": "USD"},
            "listPrice": {"amount": 15000, "currency": "USD"},
        }
        items.append(
            {
                "id": f"it{i}",
                "inventoryVariant": variant,
                "quantityAvailable": 1,
                "priceOptions": [option],
            }
        )
    return json.dumps({"data": items}).encode()


def best_of(call: Callable[[], object], repeat: int) -> float:
    call()
    best = float("inf")
    for _ in range(7):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        best = min(best, (time.perf_counter() - started) / repeat)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    n = parser.parse_args().items
    logging.getLogger("ttg_async").disabled = True
    repeat = max(3, 40_000 // n)
    bare = msgspec.json.Decoder(ListEnvelope[InventoryItem])
    known = page(n)

    def sdk(body: bytes) -> Callable[[], object]:
        return lambda: decode_list(200, {}, body, InventoryItem, request_id="req_bench")

    floor = best_of(lambda: bare.decode(known), repeat)
    rows = [
        ("bare msgspec", floor),
        ("sdk, known types", best_of(sdk(known), repeat)),
        ("sdk, 1 unknown _type", best_of(sdk(page(n, unknown_every=n)), repeat)),
        ("sdk, every 10th unknown", best_of(sdk(page(n, unknown_every=10)), repeat)),
        (
            "sdk, odd optional field",
            best_of(sdk(page(n, odd_attributes=True)), max(1, repeat // 10)),
        ),
    ]
    print(f"{n} inventory items per page")
    for name, micros in rows:
        print(f"{name:<26}{micros:>12.1f} us  {micros / floor:6.2f}x")


if __name__ == "__main__":
    main()
