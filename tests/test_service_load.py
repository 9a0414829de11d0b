"""The aiohttp example under load, in front of the sandbox: zero errors, one upstream
session for the whole run, upstream connections never above ``max_connections``, and a clean
shutdown.

It checks behaviour, never time. CI runs it with a small count; set ``TTG_LOAD_TEST=full``
for the issue's figure, 2,000 requests from 100 concurrent clients (about ten seconds).
``benchmarks/service_load.py`` reports throughput and latency for the same scenario, next to
the same service written with raw aiohttp calls.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import service_load

FULL = os.environ.get("TTG_LOAD_TEST") == "full"
REQUESTS, CLIENTS = (2000, 100) if FULL else (300, 30)
MAX_CONNECTIONS = 8


@pytest.mark.timeout(300)
async def test_the_aiohttp_example_under_load() -> None:
    result = await service_load.measure(
        "sdk", requests=REQUESTS, clients=CLIENTS, max_connections=MAX_CONNECTIONS
    )
    assert len(result.latencies) == REQUESTS
    assert result.errors == 0
    assert result.sessions == 1  # one ClientSession for the whole run
    assert 1 <= result.peak_connections <= MAX_CONNECTIONS
    # Kept alive and reused: never more connections opened than the pool holds.
    assert result.opened_connections <= MAX_CONNECTIONS
    assert result.loop_errors == []  # no unclosed session, no lost exception at shutdown


async def test_the_raw_twin_serves_the_same_load() -> None:
    # The benchmark's baseline must stay a working service too, or its figures mean nothing.
    result = await service_load.measure("raw", requests=100, clients=10, max_connections=4)
    assert result.errors == 0
    assert result.peak_connections <= 4
    assert result.loop_errors == []
