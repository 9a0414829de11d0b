"""Turn constructor arguments and environment variables into one validated, frozen config.

Everything here is pure: no network, no event loop. Every rule that can be checked before a
request is checked here, so a misconfigured client fails at construction with a
:class:`ConfigurationError` that names the offending field.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final, Literal
from urllib.parse import urlsplit

from ttg_async._errors import ConfigurationError

__all__ = [
    "NOT_GIVEN",
    "PLATFORMS",
    "PRODUCTION_URL",
    "STAGING_URL",
    "USER_AGENT",
    "ClientConfig",
    "NotGiven",
    "check_timeout",
    "redact_key",
    "resolve_config",
]

STAGING_URL: Final = "https://stg.ttix.io"
PRODUCTION_URL: Final = "https://api.ttix.io"
PLATFORMS: Final = ("ios", "android", "web", "api")

USER_AGENT: Final = "ttg-async/0.1.0"

_TEST_PREFIX: Final = "sk_test_"
_LIVE_PREFIX: Final = "sk_live_"
_STAGING_HOST: Final = "stg.ttix.io"
_PRODUCTION_HOST: Final = "api.ttix.io"


class NotGiven(Enum):
    """The type of :data:`NOT_GIVEN`: tells "argument left out" apart from ``None``."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN


def redact_key(key: str) -> str:
    """Show at most an API key's prefix and its last four characters.

    >>> redact_key("sk_test_4eC39HqLyjWDarjtT1zdp7dc")
    'sk_test_…p7dc'
    """
    prefix = next((p for p in (_TEST_PREFIX, _LIVE_PREFIX) if key.startswith(p)), "")
    secret = key[len(prefix) :]
    # A short secret would be half revealed by its last four characters: show none of it.
    tail = secret[-4:] if len(secret) >= 12 else ""
    return f"{prefix}…{tail}"


@dataclass(frozen=True, slots=True, repr=False)
class ClientConfig:
    """The resolved settings of a :class:`~ttg_async.TTGClient` (the key stays out of repr)."""

    api_key: str
    retailer: str
    platform: str
    base_url: str
    accept_language: str | None
    timeout: float
    max_connections: int
    #: The headers every request carries, built once rather than on every call.
    base_headers: Mapping[str, str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        headers = {
            "X-TT-API-Key": self.api_key,
            "X-TT-Retailer": self.retailer,
            "X-TT-Platform": self.platform,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self.accept_language:
            headers["Accept-Language"] = self.accept_language
        object.__setattr__(self, "base_headers", MappingProxyType(headers))

    @property
    def environment(self) -> Literal["staging", "production"]:
        return "production" if self.api_key.startswith(_LIVE_PREFIX) else "staging"

    def __repr__(self) -> str:
        return (
            f"ClientConfig(api_key={redact_key(self.api_key)!r}, retailer={self.retailer!r}, "
            f"platform={self.platform!r}, base_url={self.base_url!r})"
        )


def _text(value: object, field: str, env_name: str | None, env: Mapping[str, str]) -> str:
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


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve_base_url(base_url: object, api_key: str, env: Mapping[str, str]) -> str:
    if base_url is None:
        base_url = env.get("TTG_BASE_URL") or None
    if base_url is None:
        return PRODUCTION_URL if api_key.startswith(_LIVE_PREFIX) else STAGING_URL
    if not isinstance(base_url, str):
        raise ConfigurationError(f"must be a str, not {type(base_url).__name__}", field="base_url")
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"must be an absolute http(s) URL, got {base_url!r}", field="base_url"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("must not carry a query or fragment", field="base_url")
    if parts.username or parts.password:
        raise ConfigurationError("must not carry credentials", field="base_url")
    if parts.scheme == "http" and not _is_loopback(host):
        # The key travels in a header: over plain HTTP anyone on the path could read it.
        raise ConfigurationError(
            f"plain http:// is only allowed for loopback hosts, not {host!r}; use https://",
            field="base_url",
        )
    if api_key.startswith(_LIVE_PREFIX) and host == _STAGING_HOST:
        raise ConfigurationError(
            "a live key (sk_live_) cannot be used against staging", field="base_url"
        )
    if api_key.startswith(_TEST_PREFIX) and host == _PRODUCTION_HOST:
        raise ConfigurationError(
            "a test key (sk_test_) cannot be used against production", field="base_url"
        )
    return base_url.strip().rstrip("/")


def check_timeout(timeout: object) -> float:
    """A per-attempt timeout must be a positive, finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(
            f"must be a number of seconds, not {type(timeout).__name__}", field="timeout"
        )
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError(f"must be a positive number, got {timeout!r}", field="timeout")
    return float(timeout)


def resolve_config(
    *,
    api_key: object,
    retailer: object,
    platform: object,
    base_url: object,
    accept_language: object,
    timeout: object,
    max_connections: object,
    env: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Validate the client's settings, filling gaps from ``$TTG_*`` environment variables."""
    env = os.environ if env is None else env
    key = _text(api_key, "api_key", "TTG_API_KEY", env)
    if not key.startswith((_TEST_PREFIX, _LIVE_PREFIX)):
        raise ConfigurationError(
            f"must start with {_TEST_PREFIX!r} or {_LIVE_PREFIX!r}, got {redact_key(key)!r}",
            field="api_key",
        )
    if len(key) == len(_TEST_PREFIX):
        raise ConfigurationError("has a prefix but no secret", field="api_key")
    retailer_id = _text(retailer, "retailer", "TTG_RETAILER", env)

    if platform is NOT_GIVEN or platform is None:
        platform = env.get("TTG_PLATFORM") or "api"
    if platform not in PLATFORMS:
        raise ConfigurationError(
            f"must be one of {', '.join(PLATFORMS)}, got {platform!r}", field="platform"
        )
    assert isinstance(platform, str)

    language = None
    if accept_language is not None:
        language = _text(accept_language, "accept_language", None, env)

    seconds = check_timeout(timeout)

    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise ConfigurationError("must be an int", field="max_connections")
    if max_connections < 1:
        raise ConfigurationError(
            f"must be at least 1, got {max_connections}", field="max_connections"
        )

    return ClientConfig(
        api_key=key,
        retailer=retailer_id,
        platform=platform,
        base_url=_resolve_base_url(base_url, key, env),
        accept_language=language,
        timeout=seconds,
        max_connections=max_connections,
    )
