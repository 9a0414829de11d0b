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
    ClientClosedError,
    RetryPolicy,
    TTGClient,
)
from ttg_async._core.transport import RequestSpec
from ttg_async.sandbox import Sandbox

KEY = "sk_test_transport"
RETAILER = "transport"
ITEM = CartItemInput("100101", "item", "option")
SLACK = 0.4  # generous: a busy 2-core machine; a hang overshoots by whole attempts


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


async def test_a_server_that_hangs_up_without_answering_is_a_sent_request() -> None:
    """The disconnect branch: the server read the request, then closed without a status line.

    The sandbox cuts the head of DELETE's bodiless 204 after releasing the hold. aiohttp
    silently sends a DELETE once more on a broken kept-alive connection, so every arrival is
    cut here, and the SDK sees the disconnect on each of its attempts. The request went out,
    so it may have acted: ``request_sent`` and ``outcome_unknown``.
    """
    sb = Sandbox(seed=1)
    policy = RetryPolicy(max_attempts=3, backoff_base=0)
    route = "DELETE /api/v3/carts/{cartId}"
    async with (
        sb.serve() as base_url,
        TTGClient(KEY, RETAILER, base_url=base_url, retry=policy) as ttg,
    ):
        fault = sb.inject(route, "truncate", times=100)
        with pytest.raises(APIConnectionError) as info:
            await ttg.carts.delete("cart_000001")
        exc = info.value
        assert type(exc) is APIConnectionError
        assert "closed the connection without answering" in str(exc)
        assert exc.request_sent
        assert exc.outcome_unknown
        assert exc.attempts == 3  # DELETE is idempotent, so each attempt was allowed
        assert exc.__cause__ is None
        assert exc.request_id is not None
        # Every arrival carried the call's one X-Request-ID, aiohttp's own re-sends included.
        assert sb.attempts(exc.request_id) == fault.hits >= 3
        assert {r.request_id for r in sb.wire_log(route)} == {exc.request_id}


async def test_a_closed_transport_never_opens_a_new_session() -> None:
    """The transport's own closed check, reached by calling it directly.

    Through the client a call after ``aclose`` stops earlier with ``ClientClosedError``; the
    transport still refuses on its own, so nothing can open a fresh session (and leak it)
    behind a closed client.
    """
    sb = Sandbox(seed=1)
    async with sb.serve() as base_url:
        ttg = TTGClient(KEY, RETAILER, base_url=base_url)
        await ttg.events.get("1001")
        await ttg.aclose()
        with pytest.raises(ClientClosedError):
            await ttg.events.get("1001")
        transport = ttg._shared.pipeline.transport
        spec = RequestSpec("GET", "/api/v3/events/1001", (), {}, None, "req_closed")
        with pytest.raises(RuntimeError, match="closed"):
            await transport.send(spec, timeout=1.0)
        assert transport._session is None
        assert sb.attempts("req_closed") == 0
