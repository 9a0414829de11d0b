"""The transport: aiohttp's errors are converted in one place, and "not sent" means not sent.

``APIConnectionError.request_sent`` is ``False`` only when the connection never opened; that
alone makes a retry of ``POST /carts`` safe, so it must be right both ways.
"""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import Iterator

import aiohttp
import pytest

from ttg_async import (
    APIConnectionError,
    APITimeoutError,
    CartItemInput,
    RetryPolicy,
    TTGClient,
)
from ttg_async.sandbox import Sandbox

KEY = "sk_test_transport"
RETAILER = "transport"
ITEM = CartItemInput("100101", "item", "option")
SLACK = 0.15


@pytest.fixture
def refused_url() -> str:
    """A loopback port where nothing listens: every connect is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A loopback port whose accept queue is full, so a new connect hangs (SYNs dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    sockets = [server]
    try:
        hung = False
        for _ in range(8):
            client = socket.socket()
            client.setblocking(False)
            sockets.append(client)
            client.connect_ex(address)
            _, writable, _ = select.select([], [client], [], 0.05)
            if not writable:
                hung = True
                break
        if not hung:
            pytest.skip("this OS does not leave a connect to a full accept queue hanging")
        yield f"http://{address[0]}:{address[1]}"
    finally:
        for sock in sockets:
            sock.close()


async def test_a_refused_connection_is_retried_even_for_post_carts(refused_url: str) -> None:
    policy = RetryPolicy(backoff_base=0)
    async with TTGClient(KEY, RETAILER, base_url=refused_url, retry=policy) as ttg:
        for call in (lambda: ttg.events.get("1001"), lambda: ttg.carts.create([ITEM])):
            with pytest.raises(APIConnectionError) as info:
                await call()
            exc = info.value
            assert type(exc) is APIConnectionError
            assert not exc.request_sent
            assert exc.attempts == 3  # nothing left this process, so every attempt was safe
            assert not exc.outcome_unknown
            assert exc.request_id is not None
            assert exc.request_id.startswith("req_")
            assert "could not connect" in str(exc)
            assert exc.__cause__ is None
            assert not isinstance(exc, aiohttp.ClientError | OSError)


async def test_a_connect_that_hangs_is_a_timeout_of_a_request_never_sent(
    unanswered_url: str,
) -> None:
    """The attempt's backstop must not pass a hung connect off as a sent request.

    Otherwise ``POST /carts`` would not be retried and would claim an unknown outcome.
    """
    loop = asyncio.get_running_loop()
    policy = RetryPolicy(backoff_base=0)
    async with TTGClient(KEY, RETAILER, base_url=unanswered_url, retry=policy, timeout=0.2) as ttg:
        start = loop.time()
        with pytest.raises(APITimeoutError) as info:
            await ttg.carts.create([ITEM])
        assert loop.time() - start <= 3 * 0.2 + SLACK
        exc = info.value
        assert not exc.request_sent
        assert exc.attempts == 3
        assert not exc.outcome_unknown
        assert "could not connect" in str(exc)
        assert exc.__cause__ is None


async def test_a_session_passed_in_stays_open() -> None:
    sb = Sandbox(seed=1)
    async with sb.serve() as base_url, aiohttp.ClientSession() as session:
        async with TTGClient(KEY, RETAILER, base_url=base_url, session=session) as ttg:
            event = await ttg.events.get("1001")
            assert event.id == "1001"
        assert ttg.closed
        assert not session.closed
