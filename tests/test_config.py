"""Configuration: pure checks, no network (ttg_async/_config.py)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from ttg_async._core.config import NOT_GIVEN
from ttg_async._core.errors import ConfigurationError
from ttg_async._ttg.config import (
    PRODUCTION_URL,
    STAGING_URL,
    ClientConfig,
    redact_key,
    resolve_config,
)

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
LIVE = "sk_live_9fA2b7Kq1mXy0ZpLr3sTuVwX"


def resolve(env: Mapping[str, str] | None = None, **overrides: object) -> ClientConfig:
    args: dict[str, object] = {
        "api_key": KEY,
        "retailer": "r1",
        "platform": NOT_GIVEN,
        "base_url": None,
        "accept_language": None,
        "timeout": 30.0,
        "max_connections": 64,
    }
    args.update(overrides)
    return resolve_config(env=env or {}, **args)  # type: ignore[arg-type]


def test_defaults_pick_staging_for_a_test_key() -> None:
    config = resolve()
    assert config.base_url == STAGING_URL
    assert config.platform == "api"
    assert config.environment == "staging"
    assert config.timeout == 30.0


def test_live_key_picks_production() -> None:
    config = resolve(api_key=LIVE)
    assert config.base_url == PRODUCTION_URL
    assert config.environment == "production"


def test_environment_variables_fill_the_gaps() -> None:
    env = {
        "TTG_API_KEY": KEY,
        "TTG_RETAILER": "from-env",
        "TTG_PLATFORM": "web",
        "TTG_BASE_URL": "http://127.0.0.1:8765/",
    }
    config = resolve(env, api_key=None, retailer=None)
    assert (config.api_key, config.retailer, config.platform) == (KEY, "from-env", "web")
    assert config.base_url == "http://127.0.0.1:8765"


def test_arguments_beat_environment_variables() -> None:
    env = {"TTG_API_KEY": LIVE, "TTG_RETAILER": "env", "TTG_PLATFORM": "ios"}
    config = resolve(env, retailer="arg", platform="android")
    assert (config.api_key, config.retailer, config.platform) == (KEY, "arg", "android")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"api_key": None}, "api_key"),
        ({"api_key": ""}, "api_key"),
        ({"api_key": "pk_test_abc"}, "api_key"),
        ({"api_key": "sk_test_"}, "api_key"),
        ({"api_key": KEY + "\n"}, "api_key"),
        ({"api_key": 12345}, "api_key"),
        ({"retailer": None}, "retailer"),
        ({"retailer": "bad\r\nX-Evil: 1"}, "retailer"),
        ({"platform": "desktop"}, "platform"),
        ({"platform": "API"}, "platform"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": 2.5}, "max_connections"),
        ({"base_url": "ftp://example.com"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "http://api.example.com"}, "base_url"),
        ({"base_url": "https://user:pw@api.example.com"}, "base_url"),
        ({"base_url": "https://api.example.com/?x=1"}, "base_url"),
        ({"base_url": "https://api.ttix.io"}, "base_url"),
        ({"api_key": LIVE, "base_url": "https://stg.ttix.io"}, "base_url"),
    ],
)
def test_bad_settings_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(**overrides)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_missing_key_message_points_at_the_env_var() -> None:
    with pytest.raises(ConfigurationError, match=r"TTG_API_KEY"):
        resolve(api_key=None)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://localhost:8765", "http://[::1]:8080", "http://127.8.0.1"]
)
def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    assert resolve(base_url=url).base_url == url


def test_https_to_any_host_is_allowed_and_keeps_a_path_prefix() -> None:
    assert resolve(base_url="https://proxy.example.com/ttg/").base_url == (
        "https://proxy.example.com/ttg"
    )


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (KEY, "sk_test_…p7dc"),
        (LIVE, "sk_live_…uVwX"),
        ("sk_test_short", "sk_test_…"),
        ("whatever-unknown-key-123456", "…3456"),
    ],
)
def test_redact_key_shows_at_most_prefix_and_last_four(key: str, shown: str) -> None:
    assert redact_key(key) == shown


def test_repr_never_shows_the_key() -> None:
    config = resolve()
    assert KEY not in repr(config)
    assert "p7dc" in repr(config)
    secret_middle = KEY[len("sk_test_") : -4]
    assert secret_middle not in repr(config)
