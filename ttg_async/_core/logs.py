"""``TTG_LOG=debug|info``: the SDK's own logging switch, with secrets redacted.

The library itself only creates records on the ``ttg_async`` logger (retry decisions, one line
per attempt at DEBUG) and adds no handler, as a library should. Setting ``$TTG_LOG`` asks for
one: a stderr handler on ``ttg_async`` at that level, whose filter masks API keys, bearer
tokens and client secrets in every line it writes.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Final

__all__ = ["LOGGER_NAME", "RedactingFilter", "configure_from_env", "redact_secrets"]

LOGGER_NAME: Final = "ttg_async"

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}

_LABELLED: Final = (
    r"((?:client_secret|access_token|secret|token|api_key)[\"']?\s*[=:]\s*[\"']?)[^\s,;'\"&]+"
)
_SECRETS: Final = (
    # TTG API keys: keep the prefix and at most the last four characters.
    (re.compile(r"\b(sk_(?:test|live)_)([A-Za-z0-9_-]+)"), None),
    # Bearer tokens (Ticket Buyback) and anything labelled as a secret or token.
    (re.compile(r"(?i)\b(bearer\s+)[^\s,;'\"]+"), r"\1[redacted]"),
    (re.compile(_LABELLED, re.IGNORECASE), r"\1[redacted]"),
)


def _key(match: re.Match[str]) -> str:
    secret = match.group(2)
    tail = secret[-4:] if len(secret) >= 12 else ""
    return f"{match.group(1)}…{tail}"


def redact_secrets(text: str) -> str:
    """Mask keys, tokens and secrets in a line of text.

    >>> redact_secrets("key sk_test_4eC39HqLyjWDarjtT1zdp7dc, Authorization: Bearer abc.def")
    'key sk_test_…p7dc, Authorization: Bearer [redacted]'
    """
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement if replacement is not None else _key, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with `redact_secrets` before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_secrets(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``$TTG_LOG`` installs (marked by its class, so it is installed once)."""


def configure_from_env(env: Mapping[str, str] | None = None) -> None:
    """Honour ``$TTG_LOG`` (``debug`` or ``info``; anything else leaves logging alone).

    Called when a client of either API is constructed (by its pipeline), so a program that
    uses only Buyback is covered too; calling it again only updates the level.

    >>> configure_from_env({"TTG_LOG": "debug"})  # doctest: +SKIP
    """
    env = os.environ if env is None else env
    level = _LEVELS.get(env.get("TTG_LOG", "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    for handler in logger.handlers:
        if isinstance(handler, _EnvHandler):
            handler.setLevel(level)
            return
    handler = _EnvHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
