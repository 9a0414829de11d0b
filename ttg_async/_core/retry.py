"""Retries: the policy, the pure decision table, ``Retry-After``, backoff, the gate and the loop.

Everything here but `RateLimitGate` and `run_with_retries` is pure: it takes values
and returns values, so the table that decides whether a request may be sent again is tested case
by case without a network. The loop itself only sleeps; the HTTP attempt is a callable it is
given (see ``docs/architecture.md``, "The retry loop").

The table keys on the error's class (chosen by the wire ``code`` first, then ``type``, then the
status) *and* on the status, so a ``409 TOTAL_PRICE_MISMATCH`` is never sent again, whatever the
method, while a ``502`` from a proxy that speaks HTML is retried where that is safe.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

import backoff

from ttg_async._core.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TTGError,
)

if TYPE_CHECKING:
    from ttg_async._core.telemetry import CallWatch

__all__ = [
    "GateClosedError",
    "RateLimitGate",
    "RetryDecision",
    "RetryPolicy",
    "backoff_wait",
    "decide_retry",
    "may_have_taken_effect",
    "parse_retry_after",
    "retry_wait",
    "run_with_retries",
]

log = logging.getLogger("ttg_async")

T = TypeVar("T")

# RFC 9110 §9.2.1: these never change state, so "did it happen?" is never a question.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 9110 §9.2.2: sending these twice has the effect of sending them once.
_IDEMPOTENT_METHODS = _SAFE_METHODS | {"PUT", "DELETE"}
# The server's answer to these cannot change by asking again. 409 above all: a
# TOTAL_PRICE_MISMATCH must reach the caller at once, so a human can confirm the new price.
_NEVER_STATUSES = frozenset({400, 401, 403, 404, 409, 410})

#: The least of a deadline a retry is started with (or the per-attempt timeout, if smaller).
#: A retry started with a few milliseconds left can only time out: it would add one more
#: request to the server's load and nothing to the caller's chances.
MIN_RETRY_BUDGET = 0.05
_NEVER_CLASSES: tuple[type[APIError], ...] = (
    InvalidRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    GoneError,
)

_RequestKind = Literal["idempotent", "keyed", "unsafe"]


def _check_float(name: str, value: float, *, positive: bool = False) -> None:
    # bool is an int; a policy of `True` seconds is a typo, not a wish.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"must be a number, got {value!r}", field=name)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ConfigurationError(f"must be a finite number {bound}, got {value!r}", field=name)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often, and how patiently, a call is sent again. An immutable value object.

    ``max_attempts`` counts every attempt, the first one included. The wait before retry *n*
    (0-based) is drawn uniformly from ``[0, min(backoff_max, backoff_base * 2**n)]`` ("full
    jitter"), unless the server sent ``Retry-After``: that is obeyed when it is at most
    ``max_retry_after`` seconds, and beyond it the call gives up at once. ``deadline`` bounds
    the whole call, every attempt and every wait included; ``None`` means no overall bound.

    A bad value raises [`ConfigurationError`][ttg_async.ConfigurationError] (a ``ValueError``)
    naming the field.

    >>> RetryPolicy().max_retry_after
    60.0
    >>> RetryPolicy(max_attempts=5, deadline=45.0).max_attempts
    5
    >>> RetryPolicy(backoff_base=0)  # tests: retry at once, never sleep  # doctest: +ELLIPSIS
    RetryPolicy(max_attempts=3, backoff_base=0, ...)
    """

    max_attempts: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ConfigurationError(
                f"must be an int >= 1, got {self.max_attempts!r}", field="max_attempts"
            )
        _check_float("backoff_base", self.backoff_base)
        _check_float("backoff_max", self.backoff_max)
        _check_float("max_retry_after", self.max_retry_after)
        if self.deadline is not None:
            _check_float("deadline", self.deadline, positive=True)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that sends every call exactly once.

        >>> RetryPolicy.disabled().max_attempts
        1
        """
        return cls(max_attempts=1)


class RetryDecision(NamedTuple):
    """The verdict of `decide_retry`: ``retry`` and a short ``reason`` for the log."""

    retry: bool
    reason: str


def _request_kind(method: str, keyed: bool) -> _RequestKind:
    method = method.upper()
    if method in _IDEMPOTENT_METHODS:
        return "idempotent"
    # A request that carries an idempotency key (the same on every attempt of a call) is
    # answered with the first attempt's result when it arrives again, so it cannot act twice.
    if keyed:
        return "keyed"
    # Every other POST (carts.create above all) may place a hold each time it arrives.
    return "unsafe"


def _status_of(error: BaseException) -> int | None:
    if isinstance(error, APIError | ResponseDecodeError):
        return error.status
    return None


def _label(error: BaseException) -> str:
    status = _status_of(error)
    name = type(error).__name__
    if isinstance(error, APIError) and (error.code or error.type):
        name = f"{name} {error.code or error.type}"
    return name if status is None else f"{status} {name}"


def decide_retry(
    method: str, path: str, error: BaseException, *, keyed: bool = False
) -> RetryDecision:
    """Decide whether a failed attempt of ``method path`` may be sent again. Pure.

    This is the whole decision table (``docs/retries.md`` draws it); the loop only adds the
    limits (attempts, ``Retry-After`` cap, deadline). ``keyed`` says the request carries an
    idempotency key that the server honours (TTG's ``POST /orders``); ``path`` is for the log.

    >>> from ttg_async import ConflictError, ServerError
    >>> decide_retry("POST", "/api/v3/orders", ServerError("boom", status=503), keyed=True).retry
    True
    >>> decide_retry("POST", "/api/v3/carts", ServerError("boom", status=503)).retry
    False
    >>> decide_retry("GET", "/api/v3/carts/c1", ConflictError("no", status=409))
    RetryDecision(retry=False, reason='409 ConflictError is never retried')
    """
    kind = _request_kind(method, keyed)
    label = _label(error)
    if not isinstance(error, TTGError):
        # A bug, or an exception the transport failed to convert: retrying would hide it.
        return RetryDecision(False, f"{type(error).__name__} is not a TTG error")

    if isinstance(error, APIConnectionError):
        what = "timed out" if isinstance(error, APITimeoutError) else "connection failed"
        if not error.request_sent:
            # The request never left this process, so nothing can have happened on the server.
            return RetryDecision(True, f"{what} before the request was sent")
        if kind == "unsafe":
            return RetryDecision(False, f"{what} after sending {method.upper()}: may be processed")
        return RetryDecision(True, f"{what} ({kind} request)")

    status = _status_of(error)
    if isinstance(error, ResponseDecodeError) and status is not None and status < 400:
        if error.path is not None:
            # The body parsed but did not fit the schema: the server will say the same again.
            return RetryDecision(False, f"{label}: body does not fit the schema at {error.path}")
        if kind == "unsafe":
            # The server did the work (a 2xx) and only the answer was lost: a second POST
            # /carts would place a second hold.
            return RetryDecision(False, f"{label}: unreadable body, but the POST was processed")
        return RetryDecision(True, f"{label}: unreadable body (truncated?), {kind} request")

    # From here on the server answered with an error status (a ResponseDecodeError with a
    # 4xx/5xx status is an error page we could not read, and is judged by its status).
    if isinstance(error, _NEVER_CLASSES) or status in _NEVER_STATUSES:
        return RetryDecision(False, f"{label} is never retried")
    if isinstance(error, RateLimitError) or status == 429:
        # A 429 proves the server refused the request before doing anything with it.
        return RetryDecision(True, f"{label}: rate limited")
    if isinstance(error, ServerError) or (status is not None and status >= 500):
        if kind == "unsafe":
            return RetryDecision(False, f"{label} on {method.upper()}: may be processed")
        return RetryDecision(True, f"{label} ({kind} request)")
    return RetryDecision(False, f"{label} is not retryable")


def may_have_taken_effect(method: str, path: str, error: BaseException) -> bool:
    """Whether the failed attempt may have changed state on the server anyway. Pure.

    True for a state-changing method when the request went out and no definite answer came
    back: a timeout or a broken connection after sending, a 5xx, or a 2xx whose body could not
    be read. The loop then sets ``error.outcome_unknown``. ``path`` is part of the key for
    symmetry with `decide_retry`; today no path changes the answer.

    >>> from ttg_async import APITimeoutError
    >>> may_have_taken_effect("POST", "/api/v3/carts", APITimeoutError("slow"))
    True
    >>> may_have_taken_effect("GET", "/api/v3/carts/c1", APITimeoutError("slow"))
    False
    """
    if method.upper() in _SAFE_METHODS:
        return False
    if isinstance(error, APIConnectionError):
        return error.request_sent
    if isinstance(error, RateLimitError):
        return False
    status = _status_of(error)
    if isinstance(error, ResponseDecodeError) and status is not None and status < 400:
        return True
    return isinstance(error, ServerError) or (status is not None and status >= 500)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Parse a ``Retry-After`` header into seconds from ``now``. Pure.

    Accepts delta-seconds (``"2"``, and the non-standard ``"1.5"``) or an HTTP-date. A moment
    in the past, or a negative number, gives ``0.0``; junk, ``NaN`` or nothing gives ``None``.
    ``now`` should be timezone-aware (a naive one is taken as UTC).

    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    >>> parse_retry_after("120", now=now)
    120.0
    >>> parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=now)
    30.0
    >>> parse_retry_after("soon", now=now) is None
    True
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP-dates are always GMT; "-0000" makes parsedate_to_datetime return a naive datetime.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_wait(policy: RetryPolicy, n: int) -> float:
    """The jittered wait before retry ``n`` (0 for the first retry), in seconds.

    ``backoff.expo(base=2, factor=backoff_base, max_value=backoff_max)`` gives the cap of
    each step, ``backoff.full_jitter`` draws the wait uniformly below it, as AWS's "Exponential
    Backoff And Jitter" recommends: the spread keeps many clients from retrying in lockstep.

    >>> 0.0 <= backoff_wait(RetryPolicy(), 0) <= 1.0
    True
    >>> backoff_wait(RetryPolicy(backoff_base=0), 5)
    0.0
    """
    steps = backoff.expo(base=2, factor=policy.backoff_base, max_value=policy.backoff_max)
    steps.send(None)  # prime the generator, as backoff's own decorators do
    cap = next(itertools.islice(steps, n, None))
    return float(backoff.full_jitter(cap))


def retry_wait(policy: RetryPolicy, n: int, error: BaseException) -> float | None:
    """The wait before retry ``n`` after ``error``, or ``None`` to give up at once.

    The server's ``Retry-After`` wins when it is at most ``policy.max_retry_after``; beyond
    that, sleeping would hang the caller, so the loop gives up and the caller gets the
    [`RateLimitError`][ttg_async.RateLimitError] (its ``retry_after`` says how long to back off).

    >>> from ttg_async import RateLimitError
    >>> retry_wait(RetryPolicy(), 0, RateLimitError("slow down", status=429, retry_after=2.0))
    2.0
    >>> retry_wait(RetryPolicy(), 0, RateLimitError("later", status=429, retry_after=600)) is None
    True
    """
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return None
        return max(0.0, float(error.retry_after))
    return backoff_wait(policy, n)


class GateClosedError(Exception):
    """Raised by `RateLimitGate.wait` when the gate stays shut longer than allowed.

    ``remaining`` is how many seconds it will still stay shut.
    """

    def __init__(self, remaining: float) -> None:
        super().__init__(f"the rate-limit gate stays closed for another {remaining:.3f} s")
        self.remaining = remaining


class RateLimitGate:
    """A client-wide pause after a ``429`` with ``Retry-After``.

    One gate is shared by every task using a client: once any request is told to wait, no
    task sends a new request before that moment, so 64 concurrent crawlers do not keep
    hammering an API that has already said "wait". Times are ``asyncio`` loop times
    (monotonic).

    >>> gate = RateLimitGate()
    >>> gate.close_until(asyncio.get_running_loop().time() + 2.0)  # doctest: +SKIP
    >>> await gate.wait(timeout=5.0)  # returns about 2 s later  # doctest: +SKIP
    """

    __slots__ = ("reopen_at",)

    def __init__(self) -> None:
        #: The loop time at which the gate opens (``-inf`` while it was never closed). Read
        #: it; only :meth:`close_until` moves it.
        self.reopen_at = -math.inf

    def close_until(self, monotonic_deadline: float) -> None:
        """Keep new requests back until ``monotonic_deadline`` (loop time).

        Only ever extends the pause: a shorter ``Retry-After`` from another request must not
        cut short a longer one the server asked for.
        """
        self.reopen_at = max(self.reopen_at, monotonic_deadline)

    async def wait(self, *, timeout: float | None = None) -> None:
        """Return once the gate is open; at once when it already is.

        Raises `GateClosedError` without sleeping when the gate will stay shut longer
        than ``timeout`` seconds, so the caller fails fast instead of hanging. Another task may
        extend the pause while this one sleeps; the extension is honoured within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        give_up_at = None if timeout is None else loop.time() + timeout
        while True:
            now = loop.time()
            if now >= self.reopen_at:
                return
            if give_up_at is not None and self.reopen_at > give_up_at:
                raise GateClosedError(self.reopen_at - now)
            await asyncio.sleep(self.reopen_at - now)


def _give_up(
    error: TTGError,
    *,
    attempts: int,
    request_id: str,
    outcome_unknown: bool,
    method: str | None = None,
    path: str | None = None,
    elapsed: float | None = None,
) -> TTGError:
    error.attempts = attempts
    error.elapsed = elapsed
    if method is not None and path is not None and error.method is None:
        # Say which call failed; the query string stays out (it may carry secrets).
        error.method = method.upper()
        error.request_path = path.split("?", 1)[0]
    if error.request_id is None:
        error.request_id = request_id
    if outcome_unknown:
        error.outcome_unknown = True
    return error


async def run_with_retries(
    attempt: Callable[[float], Awaitable[T]],
    *,
    policy: RetryPolicy,
    method: str,
    path: str,
    request_id: str,
    timeout: float,
    gate: RateLimitGate,
    keyed: bool = False,
    failed: TTGError | None = None,
    started: float | None = None,
    watch: CallWatch | None = None,
) -> T:
    """Run ``attempt(budget)`` until it succeeds or the policy says stop; return its result.

    ``failed``, when given, is the error of a first attempt the caller already made itself
    (its straight path, taken only when the policy has no deadline and the gate was open):
    the loop judges it as its own first failure. ``started`` is when the call began
    (``time.monotonic()``; now, when not given): the error raised on giving up says how long
    the call took (``elapsed``) and how many attempts it made. ``watch``, when given, is told
    of every wait before a retry and every wait at the gate (hooks, spans, metrics).

    Each attempt gets ``budget`` = the per-attempt ``timeout``, shortened to what is left of
    ``policy.deadline``. Before every attempt the loop waits at ``gate``; a ``429`` with
    ``Retry-After`` closes the gate for every task sharing it. On giving up, the error of the
    last failure is raised itself, with ``.attempts``, ``.request_id`` and, when the request
    may have taken effect, ``.outcome_unknown`` set. Cancellation is never caught.

    >>> async def once(budget: float) -> str:
    ...     return "ok"
    >>> await run_with_retries(once, policy=RetryPolicy(), method="GET",
    ...     path="/api/v3/locations", request_id="req_1", timeout=30.0,
    ...     gate=RateLimitGate())  # doctest: +SKIP
    'ok'
    """
    loop = asyncio.get_running_loop()
    began = time.monotonic() if started is None else started
    last: TTGError | None = failed
    made = 0 if failed is None else 1
    # The common case pays for nothing else: no deadline, the gate open and no debug log
    # make the first attempt exactly what the loop below would do, and everything the loop
    # needs to judge a failure is built only once one has happened.
    if (
        failed is None
        and policy.deadline is None
        and loop.time() >= gate.reopen_at
        and not log.isEnabledFor(logging.DEBUG)
    ):
        made = 1
        try:
            return await attempt(timeout)
        except TTGError as exc:
            last = exc
    deadline_at = None if policy.deadline is None else loop.time() + policy.deadline
    where = f"{method.upper()} {path.split('?', 1)[0]}"  # no query string in logs
    # Sticky across attempts: a timed-out POST /orders followed by two 429s may still have
    # bought the tickets on the first try.
    effect = False

    def left() -> float | None:
        return None if deadline_at is None else deadline_at - loop.time()

    def stop(reason: str) -> TTGError:
        assert last is not None
        elapsed = time.monotonic() - began
        log.debug(
            "request %s: %s failed after attempt %d/%d with %s; giving up after %.3f s (%s)",
            request_id,
            where,
            made,
            policy.max_attempts,
            _label(last),
            elapsed,
            reason,
            extra={
                "request_id": request_id,
                "attempt": made,
                "wait": None,
                "reason": reason,
                "elapsed": elapsed,
            },
        )
        return _give_up(
            last,
            attempts=made,
            request_id=request_id,
            outcome_unknown=effect,
            method=method,
            path=path,
            elapsed=elapsed,
        )

    while True:
        if last is not None:
            # The attempt just made failed: judge it, then wait before the next one.
            effect = effect or may_have_taken_effect(method, path, last)
            if isinstance(last, RateLimitError) and last.retry_after is not None:
                # Capped, so one bogus "Retry-After: 86400" cannot brick a long-lived client:
                # past the cap, the next request probes the server again.
                pause = min(max(0.0, last.retry_after), policy.max_retry_after)
                gate.close_until(loop.time() + pause)

            verdict = decide_retry(method, path, last, keyed=keyed)
            if not verdict.retry:
                raise stop(verdict.reason)
            if made >= policy.max_attempts:
                raise stop(f"{verdict.reason}; max_attempts={policy.max_attempts} reached")
            wait = retry_wait(policy, made - 1, last)
            if wait is None:
                # The server asked for a longer pause than this call may wait: say so now.
                raise stop(f"Retry-After exceeds max_retry_after={policy.max_retry_after} s")
            remaining = left()
            if remaining is not None and wait >= remaining:
                raise stop(f"a wait of {wait:.3f} s would cross the deadline")
            log.debug(
                "request %s: %s attempt %d/%d failed with %s; retrying in %.3f s (%s)",
                request_id,
                where,
                made,
                policy.max_attempts,
                _label(last),
                wait,
                verdict.reason,
                extra={
                    "request_id": request_id,
                    "attempt": made,
                    "wait": wait,
                    "reason": verdict.reason,
                },
            )
            if watch is not None:
                await watch.retrying(made, last, wait)
            await asyncio.sleep(wait)

        remaining = left()
        if (
            remaining is not None
            and last is not None
            and remaining < min(MIN_RETRY_BUDGET, timeout)
        ):
            raise stop(f"{max(0.0, remaining):.3f} s of the deadline left, too little to retry")
        if remaining is not None and remaining <= 0:
            if last is not None:
                raise stop("deadline ran out")
            raise _give_up(
                APITimeoutError(
                    f"{where}: the deadline of {policy.deadline} s ran out before an attempt",
                    request_id=request_id,
                    request_sent=False,
                ),
                attempts=made,
                request_id=request_id,
                outcome_unknown=False,
                method=method,
                path=path,
                elapsed=time.monotonic() - began,
            )

        # A pause the server asked for is waited out like a Retry-After: up to the policy's
        # cap, and never past the deadline.
        bound = (
            policy.max_retry_after if remaining is None else min(policy.max_retry_after, remaining)
        )
        # Only a gate actually shut is a wait worth telling (``ttg.client.gate_wait``).
        shut_at = loop.time() if watch is not None and gate.reopen_at > loop.time() else None
        try:
            await gate.wait(timeout=bound)
        except GateClosedError as closed:
            reason = f"client paused by a 429 for another {closed.remaining:.3f} s"
            paused = RateLimitError(
                f"{where} not sent: the client is paused by the server's Retry-After for "
                f"another {closed.remaining:.3f} s, longer than this call may wait",
                status=429,
                retry_after=closed.remaining,
                request_id=request_id,
            )
            log.debug(
                "request %s: %s not sent; giving up (%s)",
                request_id,
                where,
                reason,
                extra={"request_id": request_id, "attempt": made, "wait": None, "reason": reason},
            )
            raise _give_up(
                paused,
                attempts=made,
                request_id=request_id,
                outcome_unknown=effect,
                method=method,
                path=path,
                elapsed=time.monotonic() - began,
            ) from last
        if watch is not None and shut_at is not None:
            watch.gate_waited(loop.time() - shut_at)

        remaining = left()
        budget = timeout if remaining is None else min(timeout, remaining)
        made += 1
        if log.isEnabledFor(logging.DEBUG):  # the hot path: skip building the record's extras
            log.debug(
                "request %s: %s attempt %d/%d (budget %.3f s)",
                request_id,
                where,
                made,
                policy.max_attempts,
                budget,
                extra={
                    "request_id": request_id,
                    "attempt": made,
                    "wait": None,
                    "reason": "attempt",
                    "budget": budget,
                },
            )
        try:
            return await attempt(budget)
        except TTGError as exc:
            last = exc
        # CancelledError and any non-TTG exception propagate untouched: never retried.
