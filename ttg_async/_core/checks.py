"""Argument checks every API's resources share: pure, raised before any request.

Each error names the argument, as ``TypeError`` for a wrong type and ``ValueError`` for a
wrong value, so a caller's mistake never costs a round trip.

>>> check_id("evt_1", "event_id")
'evt_1'
>>> iso_date("2026-03-15", "date_from")
'2026-03-15'
"""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["check_id", "check_quantity", "iso_date"]


def check_id(value: object, field: str) -> str:
    """IDs and names are non-empty strings without surrounding spaces; they are sent as is."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str, not {type(value).__name__}")
    if not value or value.strip() != value:
        raise ValueError(f"{field}: must be a non-empty string without surrounding spaces")
    return value


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
