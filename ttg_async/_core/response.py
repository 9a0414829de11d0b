"""The raw side of a successful call: status, headers and request ID, next to the parsed value.

Capture is opt-in per call (``client.with_raw_response(...)``). It is switched on through a
context variable, so the normal path pays for one ``ContextVar.get`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Final, Generic, TypeVar

from ttg_async._core.transport import RawResponse

__all__ = ["APIResponse", "Capture", "current_capture"]

T = TypeVar("T")
R = TypeVar("R")


class APIResponse(Generic[T]):
    """What came back for a successful call: the HTTP status, headers, request ID and value.

    Returned by [`TTGClient.with_raw_response`][ttg_async.TTGClient.with_raw_response]:

    >>> response = await ttg.with_raw_response(ttg.events.get, "1001")
    >>> response.status, response.request_id
    (200, 'req_5f0c...')
    >>> response.headers["Content-Type"]
    'application/json; charset=utf-8'
    >>> event = response.data  # the same Event that ttg.events.get("1001") returns

    When the call made several HTTP requests (a paginator's ``collect()``, a retried call),
    these are the status and headers of the last answer, the one the call finished on.
    ``headers`` is case-insensitive, as HTTP headers are.
    """

    __slots__ = ("data", "headers", "request_id", "status")

    def __init__(self, data: T, *, status: int, headers: Mapping[str, str], request_id: str):
        self.data = data
        self.status = status
        self.headers = headers
        self.request_id = request_id

    def parse(self) -> T:
        """The parsed value (the same as `data`), as openai-python spells it."""
        return self.data

    def __repr__(self) -> str:
        return (
            f"<APIResponse status={self.status} request_id={self.request_id!r} "
            f"data={type(self.data).__name__}>"
        )


class Capture:
    """Records the last raw answer decoded while it is the current capture."""

    __slots__ = ("raw", "request_id")

    def __init__(self) -> None:
        self.raw: RawResponse | None = None
        self.request_id: str | None = None

    def wrap(self, decode: Callable[[RawResponse, str], R]) -> Callable[[RawResponse, str], R]:
        def recording(raw: RawResponse, request_id: str) -> R:
            value = decode(raw, request_id)
            # Only an answer that decoded is the call's answer: an error raised above.
            self.raw = raw
            self.request_id = request_id
            return value

        return recording


#: The capture of the call running in this context, if it asked for one.
current_capture: Final[ContextVar[Capture | None]] = ContextVar("ttg_async_capture", default=None)
