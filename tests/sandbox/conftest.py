"""Fixtures for the sandbox tests: a served sandbox and a plain-aiohttp caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sandbox_helpers import START, Api

from ttg_async.sandbox import Sandbox


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(seed=0, locations=3, start_date=START)


@pytest.fixture
async def api(sb: Sandbox) -> AsyncIterator[Api]:
    async with sb.serve() as base_url, aiohttp.ClientSession() as http:
        yield Api(http, base_url)


@pytest.fixture
def occ(sb: Sandbox) -> tuple[str, str]:
    """An on-sale occurrence with assigned seats and general admission."""
    return sb.find_occurrence(assigned_seat=True, general_admission=True)
