"""Per-call options: what a caller passes to one resource method besides its arguments.

Every resource method takes ``extra_headers=`` and ``timeout=`` (keyword-only). When neither
is given, `call_options` returns ``None`` and the call takes the client's defaults
without building anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ttg_async._core.config import NOT_GIVEN, NotGiven

__all__ = ["CallOptions", "call_options", "merge_headers"]


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Headers to add to (or replace in) one call's request, and that call's attempt timeout."""

    extra_headers: Mapping[str, str] | None = None
    timeout: float | NotGiven = NOT_GIVEN


def call_options(
    extra_headers: Mapping[str, str] | None, timeout: float | NotGiven
) -> CallOptions | None:
    """The options of one call, or ``None`` (the fast path) when the caller passed neither."""
    if extra_headers is None and isinstance(timeout, NotGiven):
        return None
    return CallOptions(extra_headers, timeout)


def merge_headers(
    headers: Mapping[str, str], extra: object, reserved: Mapping[str, str]
) -> tuple[dict[str, str], str | None]:
    """``headers`` with a caller's ``extra_headers`` replacing any of the same name (any case).

    ``reserved`` maps lower-case names the caller may not set to the reason given in the
    ``ValueError``. Returns the headers and the caller's own ``X-Request-ID``, if any (errors
    and logs then carry it). Wrong types raise ``TypeError``, before any request.

    >>> merge_headers({"Accept": "a"}, {"accept": "b"}, {})
    ({'accept': 'b'}, None)
    """
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra_headers: must be a mapping, not {type(extra).__name__}")
    merged = dict(headers)
    request_id = None
    for name, value in extra.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"extra_headers[{name!r}]: names and values must be str")
        if not name or any(c in name + value for c in "\r\n"):
            raise ValueError(f"extra_headers[{name!r}]: empty name, or a line break")
        lowered = name.lower()
        if lowered in reserved:
            raise ValueError(f"extra_headers[{name!r}]: {reserved[lowered]}")
        for existing in [h for h in merged if h.lower() == lowered]:
            del merged[existing]
        merged[name] = value
        if lowered == "x-request-id":
            request_id = value
    return merged, request_id
