"""The Buyback sandbox's catalog: events, venues, performers, sections and rows from a seed.

Everything is derived from the seed and the start date, so two sandboxes built alike serve the
same catalog. Section names deliberately hold spaces, ``&``, ``#`` and ``'`` (real venues do),
so a client that forgets to quote a path segment fails against the sandbox too.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

_VENUES: Final = (
    ("ven_100", "Harbor Arena", "Boston", "MA", "US", "America/New_York"),
    ("ven_200", "The Lakeside Theatre", "Chicago", "IL", "US", "America/Chicago"),
    ("ven_300", "Sunset Amphitheater", "Los Angeles", "CA", "US", "America/Los_Angeles"),
    ("ven_400", "Canal Street Hall", "New Orleans", "LA", "US", "America/Chicago"),
)
_PERFORMERS: Final = (
    ("prf_1", "The Midnight Owls"),
    ("prf_2", "Jazz at Dusk"),
    ("prf_3", "City FC"),
    ("prf_4", "Rivertown Rollers"),
    ("prf_5", "Nova Quartet"),
    ("prf_6", "Comedy & Friends"),
)
# (section name, display name, price level); names a client must quote in a path.
_SECTIONS: Final = (
    ("Floor A", "Floor A", 3),
    ("Lower Level 101", "Lower Level 101", 2),
    ("Club & Suites", "Club & Suites", 4),
    ("Box #5", "Box #5", 5),
    ("Upper 300's", "Upper 300's", 1),
    ("Balcony", "Balcony", 1),
)
_ROW_NAMES: Final = ("A", "B", "C", "D", "E", "F", "G", "H")


@dataclass(frozen=True, slots=True)
class Section:
    section_id: str
    name: str
    display: str
    level: int
    rows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    name: str
    starts_at: dt.datetime  # aware, UTC
    timezone: str
    venue: tuple[str, str, str, str, str, str]
    performers: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def wire(self) -> dict[str, Any]:
        venue_id, venue_name, city, state, country, tz = self.venue
        return {
            "event_id": self.event_id,
            "event_name": self.name,
            "event_datetime_utc": self.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "event_datetime_local": self.local_start.strftime("%Y-%m-%dT%H:%M:%S"),
            "event_timezone": tz,
            "venue": {
                "venue_id": venue_id,
                "venue_name": venue_name,
                "city": city,
                "state": state,
                "country": country,
            },
            "performers": [
                {"performer_id": pid, "performer_name": pname} for pid, pname in self.performers
            ],
        }


def price_per_ticket(event: Event, section: Section, row: str | None) -> Decimal:
    """A deterministic buyback price: higher for better sections and front rows."""
    base = 40 + 25 * section.level + (int(event.event_id.rsplit("_", 1)[1]) % 7) * 5
    front = 0 if row is None else max(0, 8 - section.rows.index(row)) * 3
    return Decimal(base + front).quantize(Decimal("0.01")) + Decimal("0.50")


class Catalog:
    """``events`` events from ``seed``, one a day from ``start`` on, at 19:30 venue time."""

    def __init__(self, seed: int, events: int, start: dt.date) -> None:
        if events < 1:
            raise ValueError("events must be at least 1")
        rng = random.Random(seed)
        self.events: list[Event] = []
        for index in range(events):
            venue = _VENUES[rng.randrange(len(_VENUES))]
            headliner = _PERFORMERS[rng.randrange(len(_PERFORMERS))]
            support = _PERFORMERS[rng.randrange(len(_PERFORMERS))]
            performers = (headliner,) if support == headliner else (headliner, support)
            day = start + dt.timedelta(days=index + 1)
            local = dt.datetime.combine(day, dt.time(19, 30), ZoneInfo(venue[5]))
            event_id = f"evt_{1001 + index}"
            count = 3 + rng.randrange(len(_SECTIONS) - 2)
            chosen = sorted(rng.sample(range(len(_SECTIONS)), count))
            sections = tuple(
                Section(
                    section_id=f"sec_{1001 + index}_{n}",
                    name=_SECTIONS[n][0],
                    display=_SECTIONS[n][1],
                    level=_SECTIONS[n][2],
                    rows=_ROW_NAMES[: 3 + rng.randrange(len(_ROW_NAMES) - 2)],
                )
                for n in chosen
            )
            name = f"{headliner[1]} at {venue[1]}"
            self.events.append(
                Event(
                    event_id=event_id,
                    name=name,
                    starts_at=local.astimezone(dt.UTC),
                    timezone=venue[5],
                    venue=venue,
                    performers=performers,
                    sections=sections,
                )
            )
        self._by_id = {event.event_id: event for event in self.events}

    def event(self, event_id: str) -> Event | None:
        return self._by_id.get(event_id)

    def search(
        self,
        *,
        q: str | None = None,
        event_id: str | None = None,
        venue_id: str | None = None,
        venue_name: str | None = None,
        performer_id: str | None = None,
        performer_name: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> list[Event]:
        """The events matching every given filter; text filters are case-insensitive."""

        def has(text: str, needle: str | None) -> bool:
            return needle is None or needle.casefold() in text.casefold()

        out = []
        for event in self.events:
            performers = " ".join(name for _, name in event.performers)
            local_day = event.local_start.date()
            if (
                (event_id is None or event.event_id == event_id)
                and (venue_id is None or event.venue[0] == venue_id)
                and has(event.venue[1], venue_name)
                and (performer_id is None or any(p == performer_id for p, _ in event.performers))
                and has(performers, performer_name)
                and (q is None or has(f"{event.name} {event.venue[1]} {performers}", q))
                and (date_from is None or local_day >= date_from)
                and (date_to is None or local_day <= date_to)
            ):
                out.append(event)
        return out
