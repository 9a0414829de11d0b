"""A faithful local TTG v3 server for tests, demos and benchmarks.

The client never imports this package, and this package imports nothing from the client: it
has its own wire encoding, so neither side can hide the other's mistakes.

>>> from ttg_async.sandbox import Sandbox
>>> async def test_locations() -> None:
...     async with Sandbox(seed=0).serve() as base_url:
...         ...  # point a client (or plain aiohttp) at base_url with any sk_test_* key

See ``docs/sandbox.md`` for the rules it enforces, its controls and its faults.
"""

from ttg_async.sandbox._evolve import CatalogChanges, ExpectedChange, PriceMove
from ttg_async.sandbox._faults import Fault
from ttg_async.sandbox._pricing import SEEDED_CODES, RetailerConfig
from ttg_async.sandbox._sandbox import ROUTES, TEST_KEY, Sandbox
from ttg_async.sandbox._wirelog import WireRecord

__all__ = [
    "ROUTES",
    "SEEDED_CODES",
    "TEST_KEY",
    "CatalogChanges",
    "ExpectedChange",
    "Fault",
    "PriceMove",
    "RetailerConfig",
    "Sandbox",
    "WireRecord",
]
