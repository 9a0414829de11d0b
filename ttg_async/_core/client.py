"""What every API client shares: per-call options, light views, and the async lifecycle.

Each API's client subclasses `ClientBase`, owns a `Pipeline` (shared with its
views), and adds its resources and its own ``aclose`` steps.
"""

from __future__ import annotations

from types import TracebackType
from typing import NoReturn, Self

import aiohttp

from ttg_async._core.config import NotGiven, check_timeout
from ttg_async._core.errors import ConfigurationError
from ttg_async._core.pipeline import Pipeline
from ttg_async._core.retry import RetryPolicy

__all__ = ["ClientBase", "check_client_args"]


def check_client_args(retry: object, session: object) -> RetryPolicy:
    """A constructor's ``retry`` (``None``: the default policy) and ``session`` must have the
    right types; returns the policy to use.

    >>> check_client_args(None, None).max_attempts
    3
    """
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(
            f"must be a RetryPolicy or None, not {type(retry).__name__}", field="retry"
        )
    if session is not None and not isinstance(session, aiohttp.ClientSession):
        raise ConfigurationError(
            f"must be an aiohttp.ClientSession or None, not {type(session).__name__}",
            field="session",
        )
    return retry if retry is not None else RetryPolicy()


class ClientBase:
    """The options and lifecycle of a client or of one of its ``with_options`` views."""

    _pipeline: Pipeline
    _retry: RetryPolicy
    _timeout: float
    _is_view: bool

    def _init_base(
        self, pipeline: Pipeline, retry: RetryPolicy, timeout: float, *, view: bool
    ) -> None:
        self._pipeline = pipeline
        self._retry = retry
        self._timeout = timeout
        self._is_view = view

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of calls made through this client (or view)."""
        return self._retry

    @property
    def timeout(self) -> float:
        """Seconds allowed for each attempt."""
        return self._timeout

    @property
    def closed(self) -> bool:
        """Whether the client this is (or this view comes from) has been closed."""
        return self._pipeline.closed

    def _view_options(
        self, retry: RetryPolicy | NotGiven, timeout: float | NotGiven
    ) -> tuple[RetryPolicy, float]:
        """The checked options of a view: each one given, or this client's own."""
        new_retry = self._retry
        if not isinstance(retry, NotGiven):
            if not isinstance(retry, RetryPolicy):
                raise ConfigurationError(
                    f"must be a RetryPolicy, not {type(retry).__name__}", field="retry"
                )
            new_retry = retry
        new_timeout = self._timeout
        if not isinstance(timeout, NotGiven):
            new_timeout = check_timeout(timeout)
        return new_retry, new_timeout

    async def aclose(self) -> None:
        """Close what the client owns. Subclasses say what that is."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        try:
            self._pipeline.check_open()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> NoReturn:
        # Without this, a plain `with` fails with Python's bare "does not support the context
        # manager protocol", which does not say what to write instead.
        name = type(self).__name__
        raise TypeError(
            f"{name} is asynchronous: use 'async with {name}(...) as client:' inside an "
            "async function (or call 'await client.aclose()' when done), not 'with'"
        )

    def __exit__(self, *exc_info: object) -> None:  # pragma: no cover - __enter__ raises
        return None
