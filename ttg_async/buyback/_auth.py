"""Access tokens: fetched with the client credentials, cached, renewed early, single-flight.

A token is renewed before it expires, at most ``min(60 s, a fifth of its lifetime)`` early, so
an hour-long token is renewed a minute before its end and a 2-second token after 1.6 s (never
on every call). However many calls need a token at once, one token request is in flight; the
others wait for its answer. A call whose token was refused asks for a renewal *of that token*:
if another call renewed it already, the fresh token is used without a new request.

The token and the secret are never logged, and appear in no ``repr`` and no error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from ttg_async.buyback._models import Token

__all__ = ["TokenCache", "renewal_margin"]

#: Never renew more than this many seconds before a token expires.
MAX_MARGIN: Final = 60.0


def renewal_margin(lifetime: float) -> float:
    """How early to renew a token that lives ``lifetime`` seconds: ``min(60, lifetime / 5)``.

    >>> renewal_margin(3600), renewal_margin(2)
    (60.0, 0.4)
    """
    return min(MAX_MARGIN, max(0.0, lifetime) / 5)


def token_lifetime(token: Token, *, server_now: datetime | None) -> float:
    """Seconds the token lives from when it was issued, by ``expires_in`` (no clock skew),
    else by ``expires_at`` against the server's own timestamp (or ours)."""
    if token.expires_in is not None:
        return float(token.expires_in)
    if token.expires_at is not None:
        now = server_now or datetime.now(UTC)
        return (token.expires_at - now).total_seconds()
    # Neither: the documented default lifetime.
    return 3600.0


class _Cached:
    __slots__ = ("renew_at", "value")

    def __init__(self, value: str, renew_at: float) -> None:
        self.value = value
        self.renew_at = renew_at

    def __repr__(self) -> str:
        return f"<token renew_at={self.renew_at:.3f}>"


Fetch = Callable[[], Awaitable[tuple[Token, datetime | None]]]


class TokenCache:
    """Holds the current token of one client (shared by all its views).

    ``fetch`` performs one token request and returns the token and the server's timestamp.
    """

    __slots__ = ("_current", "_flight", "requests")

    def __init__(self) -> None:
        self._current: _Cached | None = None
        self._flight: asyncio.Task[_Cached] | None = None
        #: Token requests this cache started (a test and debugging aid).
        self.requests = 0

    def __repr__(self) -> str:
        return f"<TokenCache cached={self._current is not None} requests={self.requests}>"

    async def token(self, fetch: Fetch) -> str:
        """A token that is not due for renewal; fetched (single-flight) when needed."""
        current = self._current
        if current is not None and asyncio.get_running_loop().time() < current.renew_at:
            return current.value
        return await self._join(fetch)

    async def renew(self, refused: str, fetch: Fetch) -> str:
        """A token other than ``refused``, which the server turned down.

        If another call already replaced it, that token is returned without a request.
        """
        current = self._current
        if (
            current is not None
            and current.value != refused
            and asyncio.get_running_loop().time() < current.renew_at
        ):
            return current.value
        if current is not None and current.value == refused:
            self._current = None  # never hand the refused token out again
        return await self._join(fetch)

    async def _join(self, fetch: Fetch) -> str:
        flight = self._flight
        if flight is None:
            flight = self._flight = asyncio.ensure_future(self._fetch(fetch))
            # A flight whose waiters were all cancelled still has its outcome retrieved.
            flight.add_done_callback(_retrieve)
        # Shielded: one waiter's cancellation must not cancel the others' token request.
        cached = await asyncio.shield(flight)
        return cached.value

    async def _fetch(self, fetch: Fetch) -> _Cached:
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        self.requests += 1
        try:
            token, server_now = await fetch()
            lifetime = token_lifetime(token, server_now=server_now)
            cached = _Cached(token.access_token, sent_at + lifetime - renewal_margin(lifetime))
            self._current = cached
            return cached
        finally:
            self._flight = None

    async def aclose(self) -> None:
        """Stop a token request still in flight and forget the token."""
        flight, self._flight = self._flight, None
        self._current = None
        if flight is not None and not flight.done():
            flight.cancel()
            await asyncio.gather(flight, return_exceptions=True)


def _retrieve(task: asyncio.Task[_Cached]) -> None:
    if not task.cancelled():
        task.exception()
