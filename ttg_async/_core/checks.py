"""Argument checks every API's resources share: pure, raised before any request.

Each error names the argument, as ``TypeError`` for a wrong type and ``ValueError`` for a
wrong value, so a caller's mistake never costs a round trip.

>>> check_id("evt_1", "event_id")
'evt_1'
>>> iso_date("2026-03-15", "date_from")
'2026-03-15'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Final

__all__ = [
    "check_headers",
    "check_id",
    "check_quantity",
    "check_sendable",
    "iso_date",
]

# A lone surrogate has no UTF-8 form: no URL and no header can carry it as given.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# RFC 9110 §5.6.2: a header name is a token.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What a header value may not hold: C0 controls but HTAB, DEL, C1 controls, the Unicode line
# and paragraph separators, and lone surrogates. Any of them could end the header early at
# some hop, or cannot be encoded at all.
_BAD_IN_HEADER: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def check_sendable(value: str, field: str) -> str:
    """``value`` unless it holds a lone surrogate, which no request can carry as given
    (percent-encoding needs UTF-8, and a surrogate has none).

    >>> check_sendable("Club & Suites", "section_name")
    'Club & Suites'
    """
    bad = None if value.isascii() else _SURROGATE.search(value)
    if bad is not None:
        raise ValueError(
            f"{field}: holds a lone surrogate (U+{ord(bad.group()):04X} at index "
            f"{bad.start()}), which cannot be sent as given"
        )
    return value


def check_id(value: object, field: str) -> str:
    """IDs and names are non-empty strings without surrounding spaces; they are sent as is,
    percent-encoded as one path segment (or one query value).

    ``.`` and ``..`` are refused: every layer between here and the server may take them for
    "this level" and "one level up" and send the call to another path. So is a string with a
    lone surrogate, which has no UTF-8 form to percent-encode.

    >>> check_id("..", "cart_id")
    Traceback (most recent call last):
    ...
    ValueError: cart_id: '..' is a dot segment and cannot be sent as an ID
    """
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str, not {type(value).__name__}")
    if not value or value.strip() != value:
        raise ValueError(f"{field}: must be a non-empty string without surrounding spaces")
    if value == "." or value == "..":
        raise ValueError(f"{field}: {value!r} is a dot segment and cannot be sent as an ID")
    return check_sendable(value, field)


def check_headers(headers: object, field: str = "extra_headers") -> dict[str, str]:
    """Headers a caller adds to one call: names are HTTP tokens, values hold no control
    character (HTAB aside), no line separator and no lone surrogate. Returns them as a dict.

    >>> check_headers({"X-Correlation-ID": "checkout 42"})
    {'X-Correlation-ID': 'checkout 42'}
    """
    if not isinstance(headers, Mapping):
        raise TypeError(f"{field}: must be a mapping, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"{field}[{name!r}]: names and values must be str")
        if not _TOKEN.fullmatch(name):
            raise ValueError(
                f"{field}[{name!r}]: a header name must be a non-empty HTTP token "
                "(ASCII letters, digits and !#$%&'*+-.^_`|~)"
            )
        bad = _BAD_IN_HEADER.search(value)
        if bad is not None:
            raise ValueError(
                f"{field}[{name!r}]: the value holds U+{ord(bad.group()):04X} at index "
                f"{bad.start()}; control characters, line breaks and lone surrogates cannot "
                "be sent in a header"
            )
        checked[name] = value
    return checked


def check_quantity(value: object, field: str = "quantity") -> int:
    """A ticket count: an int (not a bool) of at least 1.

    >>> check_quantity(2)
    2
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field}: must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{field}: must be at least 1, got {value}")
    return value


def iso_date(value: object, field: str) -> str | None:
    """A ``datetime.date`` or an ISO ``YYYY-MM-DD`` string, as ``YYYY-MM-DD``; ``None`` passes.

    A ``datetime`` is refused: dates are the event's local days, and which day a ``datetime``
    falls on depends on a timezone the caller did not name.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        raise TypeError(f"{field}: must be a date (event-local), not a datetime")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(
                f"{field}: must be an ISO date like 2026-03-15, got {value!r}"
            ) from None
    raise TypeError(f"{field}: must be a date or an ISO date string, not {type(value).__name__}")
