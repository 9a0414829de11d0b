"""Settings checks that every client shares: pure, no network, no event loop.

Each API's own config module resolves its constructor arguments and environment variables
with these helpers, so every client refuses the same mistakes with the same
[`ConfigurationError`][ttg_async.ConfigurationError], naming the offending field.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Mapping
from enum import Enum
from typing import Final
from urllib.parse import SplitResult, unquote, urlsplit

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
    # CR/LF would let a value smuggle extra headers into every request; C1 controls (NEL is
    # a line break to some parsers), the Unicode line separators and invisible format
    # characters are paste accidents; a lone surrogate cannot be encoded at all. The message
    # names the character's position, never the value (it may be a secret).
    bad = _INVISIBLE.search(value)
    if bad is None and not value.isascii():
        bad = next((m for m in _CHARS.finditer(value) if _is_invisible(m.group())), None)
    if bad is not None:
        raise ConfigurationError(
            f"must not contain control or invisible characters (U+{ord(bad.group()):04X} "
            f"at index {bad.start()})",
            field=field,
        )
    return value


# The ASCII controls; beyond ASCII, _is_invisible decides by category.
_INVISIBLE: Final = re.compile("[\x00-\x1f\x7f]")
_CHARS: Final = re.compile(".", re.DOTALL)


def _is_invisible(char: str) -> bool:
    # Cc control (C1: NEL U+0085, CSI U+009B...), Cf format (zero-width space, BOM),
    # Cs surrogate, Co private use, Cn unassigned, Zl/Zp line and paragraph separators.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


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

    The URL is checked whole, so that what is sent is what was given: only the characters a
    URL may hold (RFC 3986; a non-ASCII host in its ``xn--`` form), no whitespace or control
    character anywhere, a ``%`` only before two hex digits, a port from 1 to 65535, and no
    ``.`` or ``..`` segment in the path (aiohttp would resolve it and call another path).

    >>> check_base_url("http://127.0.0.1:8765/").hostname
    '127.0.0.1'
    """
    if not isinstance(base_url, str):
        raise ConfigurationError(f"must be a str, not {type(base_url).__name__}", field=field)
    bad = _NOT_URL.search(base_url)
    if bad is not None:
        raise ConfigurationError(
            f"holds U+{ord(bad.group()):04X} at index {bad.start()}, which a URL cannot carry "
            "as given (a non-ASCII host goes in its xn-- form)",
            field=field,
        )
    if _BAD_ESCAPE.search(base_url):
        raise ConfigurationError("holds a % that does not start a %XX escape", field=field)
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"is not a valid URL ({exc})", field=field) from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(f"must be an absolute http(s) URL, got {base_url!r}", field=field)
    if "?" in base_url or "#" in base_url:
        raise ConfigurationError("must not carry a query or fragment", field=field)
    if "@" in parts.netloc:
        raise ConfigurationError("must not carry credentials", field=field)
    if port == 0 or parts.netloc.endswith(":"):
        raise ConfigurationError("must name a port from 1 to 65535, or none", field=field)
    if not (_is_ip6(host) if ":" in host else _HOST.fullmatch(host)):
        raise ConfigurationError(f"has an invalid host {host!r}", field=field)
    if any(unquote(s) in (".", "..") for s in parts.path.split("/")):
        raise ConfigurationError(
            "must not hold a '.' or '..' path segment (it would be resolved away)", field=field
        )
    if parts.scheme == "http" and not is_loopback(host):
        # Keys and tokens travel in headers: over plain HTTP anyone on the path could read them.
        raise ConfigurationError(
            f"plain http:// is only allowed for loopback hosts, not {host!r}; use https://",
            field=field,
        )
    return parts


# Everything but what RFC 3986 lets a URL hold: unreserved, reserved and "%".
_NOT_URL: Final = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# A registered name as DNS spells it (or an IPv4 address); an IPv6 literal: _is_ip6.
_HOST: Final = re.compile(r"[a-z0-9_~-]+(\.[a-z0-9_~-]+)*\.?")


def _is_ip6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


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
