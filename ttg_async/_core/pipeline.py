"""One call, end to end, for any API: the rate-limit gate, the retry loop, one transport
attempt per try, and the API's own decoder.

An API client builds a `RequestSpec` with its protocol (headers, path, body) and hands
it here with a ``decode(raw, request_id)`` function that turns the answer into a model or
raises the API's typed error. Every attempt of the call sends that same spec, so the
``X-Request-ID`` (and an idempotency key, if the spec carries one) never changes between
attempts.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, TypeVar
from urllib.parse import urlencode

import aiohttp

from ttg_async._core.errors import ClientClosedError, TTGError
from ttg_async._core.logs import configure_from_env, redact_secrets
from ttg_async._core.retry import RateLimitGate, RetryPolicy, run_with_retries
from ttg_async._core.telemetry import CallWatch, Observer
from ttg_async._core.transport import RawResponse, RequestSpec, Transport

__all__ = ["IDEMPOTENCY_HEADER", "Decode", "Pipeline"]

T = TypeVar("T")

log: Final = logging.getLogger("ttg_async")

#: A request carrying this header is "keyed": the server answers a repeat with the first
#: attempt's result, so the retry table may send it again after a lost answer.
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"

Decode = Callable[[RawResponse, str], T]


class Pipeline:
    """What a client and all its ``with_options`` views share: the transport and the gate.

    >>> pipeline = Pipeline("https://api.example.com", 64, session=None)
    >>> await pipeline.call(spec, decode, policy=RetryPolicy(), timeout=30.0)  # doctest: +SKIP
    """

    __slots__ = ("gate", "observer", "transport")

    def __init__(
        self,
        base_url: str,
        max_connections: int,
        session: aiohttp.ClientSession | None,
        *,
        default_headers: Mapping[str, str] | None = None,
        observer: Observer | None = None,
    ) -> None:
        # Every client of either API builds one pipeline (its views share it): $TTG_LOG is
        # honoured here, so a program that only uses Buyback gets the SDK's log too.
        configure_from_env()
        # default_headers: what every request of this API sends (credentials, fixed options);
        # the transport sets them once on the session it owns.
        self.transport = Transport(
            base_url, max_connections, session, default_headers=default_headers
        )
        self.gate = RateLimitGate()
        # Hooks and OpenTelemetry (``_core/telemetry.py``); None when neither can see a call.
        self.observer = observer if observer is not None and observer.enabled else None

    @property
    def closed(self) -> bool:
        return self.transport.closed

    def check_open(self) -> None:
        """Raise [`ClientClosedError`][ttg_async.ClientClosedError] once the client is closed."""
        if self.transport.closed:
            raise ClientClosedError("this client is closed; create a new one")

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def call(
        self,
        spec: RequestSpec,
        decode: Decode[T],
        *,
        policy: RetryPolicy,
        timeout: float,
        on_attempt: Callable[[], None] | None = None,
    ) -> T:
        """Send ``spec`` until it succeeds or ``policy`` says stop; return ``decode``'s result.

        ``on_attempt``, when given, is called as each attempt is about to be sent (a crawl
        counts its requests, retries included, with it).
        """
        transport = self.transport
        if transport._closed:
            raise ClientClosedError("this client is closed; create a new one")
        observer = self.observer
        if observer is not None:
            watch = observer.begin(spec.method, spec.path, spec.request_id)
            if watch is not None:
                return await self._watched(watch, spec, decode, policy, timeout, on_attempt)
        failed: TTGError | None = None
        started = time.monotonic()  # for "gave up after 3 attempts in 1.10 s"
        if (
            policy.deadline is None
            and self.gate.reopen_at == -math.inf
            and not log.isEnabledFor(logging.DEBUG)
        ):
            # The straight path, which almost every call takes and which does exactly what
            # the first turn of the retry loop would: no deadline to track, no pause to wait
            # out, nothing to log. Only a failure brings in the loop, which judges it first.
            if on_attempt is not None:
                on_attempt()
            try:
                return decode(await transport.send(spec, timeout=timeout), spec.request_id)
            except TTGError as exc:
                failed = exc
        deadline_at = (
            None if policy.deadline is None else asyncio.get_running_loop().time() + policy.deadline
        )

        made = 0 if failed is None else 1

        async def attempt(budget: float) -> T:
            nonlocal made
            self.check_open()
            if on_attempt is not None:
                on_attempt()
            made += 1
            sent = time.monotonic()
            try:
                raw = await self._resend(spec, budget, deadline_at)
            except TTGError as exc:
                _log_attempt(spec, made, policy.max_attempts, type(exc).__name__, sent)
                raise
            _log_attempt(spec, made, policy.max_attempts, str(raw.status), sent)
            return decode(raw, spec.request_id)

        return await run_with_retries(
            attempt,
            policy=policy,
            method=spec.method,
            path=spec.path,
            request_id=spec.request_id,
            timeout=timeout,
            gate=self.gate,
            keyed=IDEMPOTENCY_HEADER in spec.headers,
            failed=failed,
            started=started,
        )

    def _resend(
        self, spec: RequestSpec, budget: float, deadline_at: float | None
    ) -> Awaitable[RawResponse]:
        """One attempt of the retry loop, plain or watched: ``spec`` exactly as built, the same
        request ID and idempotency key on every attempt."""
        return self.transport.send(spec, timeout=budget, deadline_at=deadline_at)

    async def _watched(
        self,
        watch: CallWatch,
        spec: RequestSpec,
        decode: Decode[T],
        policy: RetryPolicy,
        timeout: float,
        on_attempt: Callable[[], None] | None,
    ) -> T:
        """`call`, with each attempt, answer and wait told to ``watch`` (spans, metrics, hooks)."""
        deadline_at = (
            None if policy.deadline is None else asyncio.get_running_loop().time() + policy.deadline
        )
        made = 0

        async def attempt(budget: float) -> T:
            nonlocal made
            self.check_open()
            if on_attempt is not None:
                on_attempt()
            made += 1
            seen = await watch.attempt_started(made)
            sent = time.monotonic()
            status: int | None = None
            try:
                raw = await self._resend(spec, budget, deadline_at)
                status = raw.status
                result = decode(raw, spec.request_id)
            except TTGError as exc:
                if log.isEnabledFor(logging.DEBUG):
                    outcome = type(exc).__name__ if status is None else str(status)
                    _log_attempt(spec, made, policy.max_attempts, outcome, sent)
                await watch.attempt_ended(seen, status, exc)
                raise
            except BaseException as exc:  # cancelled, or a bug: close the span, tell no hook
                watch.attempt_abandoned(seen, exc)
                raise
            if log.isEnabledFor(logging.DEBUG):
                _log_attempt(spec, made, policy.max_attempts, str(status), sent)
            await watch.attempt_ended(seen, status, None)
            return result

        try:
            result = await run_with_retries(
                attempt,
                policy=policy,
                method=spec.method,
                path=spec.path,
                request_id=spec.request_id,
                timeout=timeout,
                gate=self.gate,
                keyed=IDEMPOTENCY_HEADER in spec.headers,
                watch=watch,
            )
        except BaseException as exc:
            watch.end(exc)
            raise
        watch.end(None)
        return result


def log_target(spec: RequestSpec) -> str:
    """The path and query of ``spec`` for a log line, with any secret in them masked.

    >>> spec = RequestSpec("GET", "/api/v3/events/1/inventory-items",
    ...                    (("providerCode", "vip"), ("token", "abc")), {}, None, "req_1")
    >>> log_target(spec)
    '/api/v3/events/1/inventory-items?providerCode=vip&token=[redacted]'
    """
    if not spec.query:
        return redact_secrets(spec.path)
    return redact_secrets(f"{spec.path}?{urlencode(spec.query)}")


def _log_attempt(spec: RequestSpec, attempt: int, of: int, outcome: str, sent: float) -> None:
    if not log.isEnabledFor(logging.DEBUG):
        return
    elapsed = time.monotonic() - sent
    log.debug(
        "request %s: %s %s attempt %d/%d -> %s in %.3f s",
        spec.request_id,
        spec.method,
        log_target(spec),
        attempt,
        of,
        outcome,
        elapsed,
        extra={
            "request_id": spec.request_id,
            "attempt": attempt,
            "elapsed": elapsed,
            "outcome": outcome,
        },
    )
