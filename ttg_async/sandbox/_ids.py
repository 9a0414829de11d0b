"""Identifiers: the opaque tokens for inventory items and price options, and id parsing.

Tokens are URL-safe base64 of the fields that locate an item, so the sandbox needs no table
to accept a token it issued earlier. Clients must treat them as opaque.
"""

from __future__ import annotations

import base64
import binascii


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(token: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def item_token(occurrence_id: str, variant_id: str) -> str:
    return _b64(f"{occurrence_id}|{variant_id}")


def price_token(occurrence_id: str, variant_id: str, category: str, tier: str) -> str:
    # The tier (rate code) comes last, so a code may contain any character.
    return _b64(f"{occurrence_id}|{variant_id}|{category}|{tier}")


def parse_item_token(token: str) -> tuple[str, str] | None:
    """Return ``(occurrence_id, variant_id)`` or ``None`` for a token we never issued."""
    text = _unb64(token)
    parts = text.split("|") if text else []
    return (parts[0], parts[1]) if len(parts) == 2 else None


def parse_price_token(token: str) -> tuple[str, str, str, str] | None:
    """Return ``(occurrence_id, variant_id, category, tier)`` or ``None``."""
    text = _unb64(token)
    parts = text.split("|", 3) if text else []
    return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else None


def parse_id(value: str) -> int | None:
    # Only canonical digit strings name something: "01001" is not "1001". ASCII only:
    # str.isdigit() also accepts "³" or "٣", which int() then refuses.
    if not (value.isascii() and value.isdigit()) or value.startswith("0") or len(value) > 12:
        return None
    return int(value)
