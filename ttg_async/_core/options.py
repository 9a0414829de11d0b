"""Per-call options: what a caller passes to one resource method besides its arguments.

Every resource method takes ``extra_headers=`` and ``timeout=`` (keyword-only). When neither
is given, `call_options` returns ``None`` and the call takes the client's defaults
without building anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ttg_async._core.config import NOT_GIVEN, NotGiven

__all__ = ["CallOptions", "call_options"]


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
