"""Turn constructor arguments and environment variables into one validated, frozen config.

Everything here is pure: no network, no event loop. Every rule that can be checked before a
request is checked here, so a misconfigured client fails at construction with a
[`ConfigurationError`][ttg_async.ConfigurationError] that names the offending field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from ttg_async._core.config import (
    NOT_GIVEN,
    check_base_url,
    check_max_connections,
    check_text,
    check_timeout,
)
from ttg_async._core.errors import ConfigurationError
from ttg_async._version import __version__

__all__ = [
    "PLATFORMS",
    "PRODUCTION_URL",
    "STAGING_URL",
    "USER_AGENT",
    "ClientConfig",
    "redact_key",
    "resolve_config",
]

STAGING_URL: Final = "https://stg.ttix.io"
PRODUCTION_URL: Final = "https://api.ttix.io"
PLATFORMS: Final = ("ios", "android", "web", "api")

USER_AGENT: Final = f"ttg-async/{__version__}"

_TEST_PREFIX: Final = "sk_test_"
_LIVE_PREFIX: Final = "sk_live_"
_STAGING_HOST: Final = "stg.ttix.io"
_PRODUCTION_HOST: Final = "api.ttix.io"


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
    """The resolved settings of a [`TTGClient`][ttg_async.TTGClient] (the key stays out of repr)."""

    api_key: str
    retailer: str
    platform: str
    base_url: str
    accept_language: str | None
    timeout: float
    max_connections: int
    #: The headers every request carries, built once rather than on every call.
    base_headers: Mapping[str, str] = field(init=False, compare=False)
    #: The same, as the dict each request's headers start as a copy of (copying a dict is
    #: several times faster than merging a read-only proxy).
    headers_template: dict[str, str] = field(init=False, compare=False)

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
        object.__setattr__(self, "headers_template", headers)

    @property
    def environment(self) -> Literal["staging", "production"]:
        return "production" if self.api_key.startswith(_LIVE_PREFIX) else "staging"

    def __repr__(self) -> str:
        return (
            f"ClientConfig(api_key={redact_key(self.api_key)!r}, retailer={self.retailer!r}, "
            f"platform={self.platform!r}, base_url={self.base_url!r})"
        )


def _resolve_base_url(base_url: object, api_key: str, env: Mapping[str, str]) -> str:
    if base_url is None:
        base_url = env.get("TTG_BASE_URL") or None
    if base_url is None:
        return PRODUCTION_URL if api_key.startswith(_LIVE_PREFIX) else STAGING_URL
    parts = check_base_url(base_url)
    host = (parts.hostname or "").lower()
    if api_key.startswith(_LIVE_PREFIX) and host == _STAGING_HOST:
        raise ConfigurationError(
            "a live key (sk_live_) cannot be used against staging", field="base_url"
        )
    if api_key.startswith(_TEST_PREFIX) and host == _PRODUCTION_HOST:
        raise ConfigurationError(
            "a test key (sk_test_) cannot be used against production", field="base_url"
        )
    assert isinstance(base_url, str)  # check_base_url refused anything else
    return base_url.rstrip("/")


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
    key = check_text(api_key, "api_key", "TTG_API_KEY", env)
    if not key.startswith((_TEST_PREFIX, _LIVE_PREFIX)):
        raise ConfigurationError(
            f"must start with {_TEST_PREFIX!r} or {_LIVE_PREFIX!r}, got {redact_key(key)!r}",
            field="api_key",
        )
    if len(key) == len(_TEST_PREFIX):
        raise ConfigurationError("has a prefix but no secret", field="api_key")
    retailer_id = check_text(retailer, "retailer", "TTG_RETAILER", env)

    if platform is NOT_GIVEN or platform is None:
        platform = env.get("TTG_PLATFORM") or "api"
    if platform not in PLATFORMS:
        raise ConfigurationError(
            f"must be one of {', '.join(PLATFORMS)}, got {platform!r}", field="platform"
        )
    assert isinstance(platform, str)

    language = None
    if accept_language is not None:
        language = check_text(accept_language, "accept_language", None, env)

    seconds = check_timeout(timeout)

    connections = check_max_connections(max_connections)

    return ClientConfig(
        api_key=key,
        retailer=retailer_id,
        platform=platform,
        base_url=_resolve_base_url(base_url, key, env),
        accept_language=language,
        timeout=seconds,
        max_connections=connections,
    )
