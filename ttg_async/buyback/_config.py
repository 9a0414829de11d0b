"""Resolve a BuybackClient's arguments and ``$TBB_*`` variables into one frozen config.

Pure: no network, no event loop. Every mistake raises
[`ConfigurationError`][ttg_async.ConfigurationError] naming the field, before any request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ttg_async._core.config import (
    check_base_url,
    check_max_connections,
    check_text,
    check_timeout,
)

__all__ = ["DEFAULT_BASE_URL", "BuybackConfig", "resolve_buyback_config"]

DEFAULT_BASE_URL: Final = "https://api.ticketbuyback.com/partner"


@dataclass(frozen=True, slots=True, repr=False)
class BuybackConfig:
    """The resolved settings of a [`BuybackClient`][ttg_async.buyback.BuybackClient].

    The secret never appears in ``repr``: only the (public) client ID does.
    """

    client_id: str
    client_secret: str
    base_url: str
    timeout: float
    max_connections: int

    def __repr__(self) -> str:
        return f"BuybackConfig(client_id={self.client_id!r}, base_url={self.base_url!r})"


def resolve_buyback_config(
    *,
    client_id: object,
    client_secret: object,
    base_url: object,
    timeout: object,
    max_connections: object,
    env: Mapping[str, str] | None = None,
) -> BuybackConfig:
    """Validate the settings, filling gaps from ``$TBB_CLIENT_ID``, ``$TBB_CLIENT_SECRET`` and
    ``$TBB_BASE_URL``.

    >>> resolve_buyback_config(client_id="tbb_test_a", client_secret="secret", base_url=None,
    ...     timeout=30.0, max_connections=64, env={}).base_url
    'https://api.ticketbuyback.com/partner'
    """
    env = os.environ if env is None else env
    cid = check_text(client_id, "client_id", "TBB_CLIENT_ID", env)
    secret = check_text(client_secret, "client_secret", "TBB_CLIENT_SECRET", env)
    if base_url is None:
        base_url = env.get("TBB_BASE_URL") or DEFAULT_BASE_URL
    check_base_url(base_url)
    assert isinstance(base_url, str)
    return BuybackConfig(
        client_id=cid,
        client_secret=secret,
        base_url=base_url.rstrip("/"),
        timeout=check_timeout(timeout),
        max_connections=check_max_connections(max_connections),
    )
