"""A faithful local Ticket Buyback partner API for tests, demos and the command line.

The client never imports this package. It shares fault injection with the TTG sandbox.

>>> from ttg_async.buyback.sandbox import BuybackSandbox
>>> async def test_events() -> None:
...     async with BuybackSandbox(seed=0).serve() as base_url:
...         ...  # point a BuybackClient at base_url with any tbb_test_* ID and "secret"

See ``docs/buyback.md`` for the rules it enforces and its controls.
"""

from ttg_async.buyback.sandbox._sandbox import (
    PAGINATION_QUIRKS,
    ROUTES,
    TEST_CLIENT_ID,
    BuybackSandbox,
)
from ttg_async.buyback.sandbox._state import TEST_SECRET
from ttg_async.sandbox._faults import Fault

__all__ = [
    "PAGINATION_QUIRKS",
    "ROUTES",
    "TEST_CLIENT_ID",
    "TEST_SECRET",
    "BuybackSandbox",
    "Fault",
]
