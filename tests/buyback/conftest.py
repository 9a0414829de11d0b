"""Fixtures for the Buyback tests: a served sandbox and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from buyback_helpers import FAST, START

from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox


@pytest.fixture
def sb() -> BuybackSandbox:
    return BuybackSandbox(seed=0, start_date=START)


@pytest.fixture
async def base_url(sb: BuybackSandbox) -> AsyncIterator[str]:
    async with sb.serve() as url:
        yield url


@pytest.fixture
async def tbb(base_url: str) -> AsyncIterator[BuybackClient]:
    async with BuybackClient("tbb_test_alpha", "secret", base_url=base_url, retry=FAST) as client:
        yield client
