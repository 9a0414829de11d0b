"""Settings checks that every client shares: pure, no network, no event loop.

Each API's own config module resolves its constructor arguments and environment variables
with these helpers, so every client refuses the same mistakes with the same
[`ConfigurationError`][ttg_async.ConfigurationError], naming the offending field.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from enum import Enum
from typing import Final
from urllib.parse import SplitResult, urlsplit

from ttg_async._core.errors import ConfigurationError

__all__ = [
    "NOT_GIVEN",
    "NotGiven",
    "check_base_url",
    "check_max_connections",
    "check_text",
    "check_timeout",
    "is_loopback",
]


class NotGiven(Enum):
    """The type of `NOT_GIVEN`: tells "argument left out" apart from ``None``."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN


def check_text(value: object, field: str, env_name: str | None, env: Mapping[str, str]) -> str:
    """A required, header-safe string, taken from ``env[env_name]`` when ``value`` is None."""
    if value is None and env_name is not None:
        value = env.get(env_name) or None
    if value is None:
        hint = f" (pass {field}= or set ${env_name})" if env_name else ""
        raise ConfigurationError(f"is required{hint}", field=field)
    if not isinstance(value, str):
        raise ConfigurationError(f"must be a str, not {type(value).__name__}", field=field)
    if not value or value != value.strip():
        raise ConfigurationError("must be non-empty, without surrounding whitespace", field=field)
    # CR/LF would let a value smuggle extra headers into every request.
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ConfigurationError("must not contain control characters", field=field)
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: object, field: str = "base_url") -> SplitResult:
    """An absolute http(s) URL without query, fragment or credentials; plain ``http://`` only
    for loopback hosts, since credentials travel in headers. Returns the split URL.

    >>> check_base_url("http://127.0.0.1:8765/").hostname
    '127.0.0.1'
    """
    if not isinstance(base_url, str):
        raise ConfigurationError(f"must be a str, not {type(base_url).__name__}", field=field)
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(f"must be an absolute http(s) URL, got {base_url!r}", field=field)
    if parts.query or parts.fragment:
        raise ConfigurationError("must not carry a query or fragment", field=field)
    if parts.username or parts.password:
        raise ConfigurationError("must not carry credentials", field=field)
    if parts.scheme == "http" and not is_loopback(host):
        # Keys and tokens travel in headers: over plain HTTP anyone on the path could read them.
        raise ConfigurationError(
            f"plain http:// is only allowed for loopback hosts, not {host!r}; use https://",
            field=field,
        )
    return parts


def check_timeout(timeout: object) -> float:
    """A per-attempt timeout must be a positive, finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(
            f"must be a number of seconds, not {type(timeout).__name__}", field="timeout"
        )
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError(f"must be a positive number, got {timeout!r}", field="timeout")
    return float(timeout)


def check_max_connections(value: object) -> int:
    """The connection pool's size: an int of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError("must be an int", field="max_connections")
    if value < 1:
        raise ConfigurationError(f"must be at least 1, got {value}", field="max_connections")
    return value
