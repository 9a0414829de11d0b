"""Event hooks: the caller's own functions, told of every attempt, answer and retry wait.

A client takes ``event_hooks={"request": [...], "response": [...], "retry": [...]}``. Each
hook gets one event and may be a plain function or return an awaitable (then it is awaited).
A hook that raises is logged at WARNING and forgotten: it never changes the call's result.

The events name the path alone: the query is left out, since it can carry a rate code the
caller considers private, and no header (the key, the token) is ever in an event.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ttg_async._core.errors import ConfigurationError

__all__ = ["EventHooks", "Hook", "RequestEvent", "ResponseEvent", "RetryEvent", "check_hooks"]

log: Final = logging.getLogger("ttg_async")

#: A hook: called with one event; what it returns is awaited when it is awaitable.
Hook = Callable[[Any], object]

_KINDS: Final = ("request", "response", "retry")


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """An attempt is about to be sent. ``attempt`` counts from 1; every attempt of one call
    carries the same ``request_id`` (the ``X-Request-ID`` sent).

    >>> def on_request(event: RequestEvent) -> None:
    ...     print(event.method, event.path, event.attempt, event.request_id)
    >>> client = TTGClient(..., event_hooks={"request": [on_request]})  # doctest: +SKIP
    """

    method: str
    path: str
    attempt: int
    request_id: str


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """An attempt got an HTTP answer (any status): ``elapsed`` is the seconds from sending it
    to reading the whole body. An attempt that got no answer (a timeout, a reset) has none.

    >>> async def on_response(event: ResponseEvent) -> None:
    ...     metrics.observe(event.path, event.status, event.elapsed)  # doctest: +SKIP
    """

    method: str
    path: str
    attempt: int
    request_id: str
    status: int
    elapsed: float


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """Attempt ``attempt`` failed with ``error`` and the call waits ``wait`` seconds before
    the next one.

    >>> def on_retry(event: RetryEvent) -> None:
    ...     print(f"retrying {event.path} in {event.wait:.2f} s: {type(event.error).__name__}")
    """

    method: str
    path: str
    attempt: int
    request_id: str
    error: BaseException
    wait: float


class EventHooks:
    """The checked hooks of one client, by kind; ``any`` says whether there is one at all."""

    __slots__ = ("any", "request", "response", "retry")

    def __init__(
        self, request: tuple[Hook, ...], response: tuple[Hook, ...], retry: tuple[Hook, ...]
    ) -> None:
        self.request = request
        self.response = response
        self.retry = retry
        self.any = bool(request or response or retry)

    async def emit(self, hooks: tuple[Hook, ...], event: object) -> None:
        """Call each of ``hooks`` with ``event`` in order; a failure is logged, never raised."""
        for hook in hooks:
            try:
                result = hook(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as exc:  # a hook's bug must not break the call it watches
                # The hook's own traceback only: a hook told of a failure runs while the
                # call's error is being handled, and that error's message may quote the
                # query (a private rate code), so the chain stays out of the log.
                log.warning(
                    "event hook %s failed on %s (ignored):\n%s",
                    _name(hook),
                    type(event).__name__,
                    "".join(traceback.format_exception(exc, chain=False)).rstrip(),
                )


def _name(hook: object) -> str:
    return getattr(hook, "__qualname__", None) or type(hook).__name__


def check_hooks(event_hooks: object) -> EventHooks | None:
    """The constructor's ``event_hooks`` checked, or ``None`` when there is no hook at all.

    >>> check_hooks(None) is None
    True
    >>> check_hooks({"request": [print]}).request == (print,)
    True
    """
    if event_hooks is None:
        return None
    if not isinstance(event_hooks, Mapping):
        raise ConfigurationError(
            f"must be a mapping of kind to a list of hooks, not {type(event_hooks).__name__}",
            field="event_hooks",
        )
    found: dict[str, tuple[Hook, ...]] = dict.fromkeys(_KINDS, ())
    for kind, hooks in event_hooks.items():
        if kind not in found:
            raise ConfigurationError(
                f"unknown kind {kind!r}; the kinds are {', '.join(_KINDS)}", field="event_hooks"
            )
        if callable(hooks) or isinstance(hooks, str) or not isinstance(hooks, Iterable):
            raise ConfigurationError(
                f"[{kind!r}] must be a list of callables, not {type(hooks).__name__}",
                field="event_hooks",
            )
        listed = tuple(hooks)
        for hook in listed:
            if not callable(hook):
                raise ConfigurationError(
                    f"[{kind!r}] holds {type(hook).__name__}, which is not callable",
                    field="event_hooks",
                )
        found[kind] = listed
    hooks = EventHooks(found["request"], found["response"], found["retry"])
    return hooks if hooks.any else None
