"""The deterministic, lazy catalog: locations, venues, events, occurrences and inventory.

Nothing is generated up front except the locations. An event, its occurrences and each
occurrence's inventory are derived on demand from ``(seed, index)``, so a catalog of 100,000
events starts instantly. List pages are computed by arithmetic: the events of location ``k``
are the indexes ``k, k + L, k + 2L, ...``.

An event's fields come from one 64-bit hash of ``(seed, index)`` (no RNG object per event),
and its JSON is assembled from pre-encoded pieces (name, dates, location and venue), so a
1000-event page costs about a millisecond to build the first time. Each event's JSON is then
kept in a flat list indexed by event number, sized to the catalog (up to
`EVENT_JSON_CACHE` events), so crawling the catalog again only joins cached bytes.
Occurrences and inventory are cached in bounded LRUs.

Everything here is static. Stock held by carts, stock sold, retailer markups, price overrides
and rate codes are applied on top by `._state`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, cast
from zoneinfo import ZoneInfo

from ttg_async.sandbox._ids import item_token, parse_id
from ttg_async.sandbox._wire import encode

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small bounded cache; the catalog's memory is this cache, not the catalog size."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def drop(self, key: K) -> None:
        self._data.pop(key, None)

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        if len(self._data) > self._size:
            self._data.popitem(last=False)
        return value


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    low: int  # cheapest base price, minor units
    high: int
    step: int  # prices are multiples of this (e.g. 50 cents, 100 yen, 250 fils)

    def round(self, amount: float) -> int:
        return max(self.step, round(amount / self.step) * self.step)


CURRENCIES: Final[dict[str, Currency]] = {
    c.code: c
    for c in (
        Currency("USD", 3_000, 25_000, 50),
        Currency("GBP", 2_500, 20_000, 50),
        Currency("EUR", 2_500, 20_000, 50),
        Currency("AUD", 4_000, 30_000, 50),
        Currency("CAD", 4_000, 30_000, 50),
        Currency("JPY", 3_000, 20_000, 100),  # scale 0
        Currency("KRW", 30_000, 200_000, 1_000),  # scale 0
        Currency("KWD", 5_000, 60_000, 250),  # scale 3
    )
}

# (name, ISO country, currency, IANA timezone). The first four cover USD, GBP, JPY and KWD.
CITIES: Final = (
    ("New York", "US", "USD", "America/New_York"),
    ("London", "GB", "GBP", "Europe/London"),
    ("Tokyo", "JP", "JPY", "Asia/Tokyo"),
    ("Kuwait City", "KW", "KWD", "Asia/Kuwait"),
    ("Paris", "FR", "EUR", "Europe/Paris"),
    ("Seoul", "KR", "KRW", "Asia/Seoul"),
    ("Chicago", "US", "USD", "America/Chicago"),
    ("Los Angeles", "US", "USD", "America/Los_Angeles"),
    ("Berlin", "DE", "EUR", "Europe/Berlin"),
    ("Sydney", "AU", "AUD", "Australia/Sydney"),
    ("Toronto", "CA", "CAD", "America/Toronto"),
    ("Madrid", "ES", "EUR", "Europe/Madrid"),
    ("Manchester", "GB", "GBP", "Europe/London"),
    ("Osaka", "JP", "JPY", "Asia/Tokyo"),
    ("Las Vegas", "US", "USD", "America/Los_Angeles"),
    ("Dublin", "IE", "EUR", "Europe/Dublin"),
    ("Melbourne", "AU", "AUD", "Australia/Melbourne"),
    ("Boston", "US", "USD", "America/New_York"),
    ("Amsterdam", "NL", "EUR", "Europe/Amsterdam"),
    ("Edinburgh", "GB", "GBP", "Europe/London"),
)

# Venue layouts: assigned-seat sections with price multipliers, an optional GA area, and extras.
_LAYOUTS: Final[dict[str, tuple[tuple[tuple[str, float], ...], str | None, tuple[str, str]]]] = {
    "arena": ((("Lower Tier", 1.0), ("Upper Tier", 0.6)), "Floor", ("Parking", "Parking pass")),
    "theatre": (
        (("Orchestra", 1.0), ("Mezzanine", 0.75), ("Balcony", 0.5)),
        None,
        ("Programme", "Souvenir programme"),
    ),
    "club": ((), "Standing", ("Drinks", "Drinks voucher")),
}
_VENUE_KINDS: Final = ("arena", "theatre", "club")
_VENUE_NAMES: Final = {
    "arena": ("Apollo Arena", "Harbour Arena", "Central Arena", "Crown Dome"),
    "theatre": ("Lyric Theatre", "Royal Playhouse", "Majestic Theatre", "Garrick Stage"),
    "club": ("Blue Note Hall", "Velvet Room", "The Cellar", "Neon Works"),
}
_ROWS: Final = ("A", "B", "C")
_SEATS: Final = tuple(range(101, 109))
_SEAT_STR: Final = {n: str(n) for n in _SEATS}
_SEAT_BITS: Final = len(_ROWS) * len(_SEATS)
_ADJ: Final = ("Midnight", "Golden", "Silent", "Electric", "Hidden", "Wild", "Crimson", "Last")
_NOUN: Final = ("Garden", "Harbour", "Kingdom", "Circus", "Orchestra", "Voyage", "Mirror", "Waltz")
_FORMS: Final = ("The {a} {n}", "{a} {n}: The Musical", "{n} Live", "A {a} {n}", "{a} {n} Tour")
_DISCOUNTS: Final = (10, 15, 20, 25, 30)
_EVENT_ID_BASE: Final = 1001
_OCC_PER_EVENT: Final = 100  # occurrence id = event number * 100 + position (1-based)

#: The most events whose encoded JSON the catalog keeps (about 250 bytes each, so 100,000
#: events take about 25 MB). Events past this index are assembled again on every request,
#: which is cheap (about 1.5 us each).
EVENT_JSON_CACHE: Final = 250_000

# Event fields are drawn from one splitmix64 hash of (seed, index): a few integer operations
# instead of seeding a Mersenne Twister (about 3.5 us) for every event.
_M64: Final = (1 << 64) - 1
_GOLDEN: Final = 0x9E3779B97F4A7C15
_FIRST_DAYS: Final = 60  # an event's first date is within this many days of the start
_GAPS: Final = (1, 1, 2, 7)  # days between dates
_MIN_DATES: Final = 4
_DATE_CHOICES: Final = 21  # 4 to 24 dates
_MODES: Final = ("both", "amount", "percent")
_DURATIONS: Final[dict[str, int | None]] = {"arena": 180, "theatre": 150, "club": None}
# Every event name, encoded once: index (form * len(_ADJ) + adjective) * len(_NOUN) + noun.
_NAMES: Final = tuple(
    form.format(a=a, n=n) for form in _FORMS for a in _ADJ for n in _NOUN
)  # fmt: skip
_NAMES_JSON: Final = tuple(encode(name) for name in _NAMES)
_NAME_COUNT: Final = len(_NAMES)
_LAST_DAY: Final = _FIRST_DAYS - 1 + max(_GAPS) * (_MIN_DATES + _DATE_CHOICES - 2)


def _mix64(z: int) -> int:
    """The splitmix64 finaliser: a well-mixed 64-bit value from a 64-bit input."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


@dataclass(frozen=True, slots=True)
class Venue:
    id: str
    name: str
    timezone: str
    kind: str
    delayed_delivery: bool  # tickets for this venue have no barcode yet
    wire: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Location:
    index: int
    id: str
    name: str
    country: str
    currency: Currency
    zone: ZoneInfo
    venues: tuple[Venue, ...]
    wire: dict[str, Any]
    # The end of an event's JSON for each venue: ',"location":{...},"venue":{...}}'.
    event_tails: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Event:
    index: int
    id: str
    number: int
    location: Location
    venue: Venue
    first_day: dt.date
    gap_days: int
    count: int
    duration_min: int | None  # None: no known end time
    discount_mode: str  # which discount summary fields an occurrence shows
    encoded: bytes  # the event's JSON object


# What the hash of (seed, index) decides about an event (see Catalog.draw): the venue (an
# index into the location's venues), the name (an index into _NAMES), the first date (days
# after the catalog's start), the days between dates, the number of dates, whether it is a
# theatre run with no announced end, and which discount fields its occurrences show. A plain
# tuple: building a dataclass would cost as much as drawing the values.
EventDraw = tuple[int, int, int, int, int, bool, str]


@dataclass(frozen=True, slots=True)
class Occurrence:
    id: str
    event: Event
    position: int
    local_date: dt.date
    wire: dict[str, Any]  # the static part: id, startsAt, endsAt, venue


@dataclass(frozen=True, slots=True)
class PriceTemplate:
    category: str
    sell: int
    list: int | None  # present only when the default tier is discounted


@dataclass(frozen=True, slots=True)
class ItemTemplate:
    """One inventory item of one occurrence, before holds, sales and pricing rules.

    It keeps only plain fields; the wire dicts and the token are built when a response
    needs them, which keeps a cached occurrence small.
    """

    variant_id: str
    kind: str  # AssignedSeat | GeneralAdmission | Extra
    section: str | None
    row: str | None
    seat: str | None
    name: str
    base_qty: int
    prices: tuple[PriceTemplate, ...]
    # The ``_type`` sent on the wire when it is not ``kind``: a variant type clients do not
    # know yet (``Sandbox(unknown_variant_type=...)``). The sandbox's own rules follow ``kind``.
    wire_type: str | None = None

    def price(self, category: str) -> PriceTemplate | None:
        for p in self.prices:
            if p.category == category:
                return p
        return None

    def variant_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "_type": self.wire_type or self.kind,
            "id": self.variant_id,
            "name": self.name,
        }
        wire["attributes"] = []
        if self.section is not None:
            wire["section"] = self.section
        if self.row is not None:
            wire["row"] = self.row
            wire["seat"] = self.seat
        return wire

    def token(self, occurrence_id: str) -> str:
        return item_token(occurrence_id, self.variant_id)


@dataclass(frozen=True, slots=True)
class Plan:
    """The compact form of an occurrence's inventory, cheap to derive and to cache.

    Assigned seats are kept as one bitmask per section (bit ``8 * row + seat``), so a price
    summary never has to build per-seat objects.
    """

    seat_groups: tuple[tuple[ItemTemplate, int], ...]  # (a seat of the section, seat mask)
    others: tuple[ItemTemplate, ...]  # general admission and extras, with their stock
    groups: tuple[tuple[ItemTemplate, int], ...]  # ticket price groups with stock left


@dataclass(frozen=True, slots=True)
class Inventory:
    """Every item of an occurrence, and an index by variant id."""

    items: tuple[ItemTemplate, ...]
    by_id: dict[str, ItemTemplate]


class Catalog:
    """The static catalog for one seed. Cheap to build whatever its size.

    >>> cat = Catalog(seed=0, locations=3, events=30, start=dt.date(2026, 3, 1))
    >>> cat.event(0).id
    '1001'
    """

    def __init__(
        self,
        seed: int,
        locations: int,
        events: int,
        start: dt.date,
        *,
        unknown_variant_type: str | None = None,
    ) -> None:
        if locations < 1 or events < 0:
            raise ValueError("need at least one location and a non-negative event count")
        self.seed = seed
        self.unknown_variant_type = unknown_variant_type
        self.event_count = events
        self.start = start
        self.locations = tuple(self._make_location(i) for i in range(locations))
        self._by_location_id = {loc.id: loc for loc in self.locations}
        self._events: LRU[int, Event] = LRU(8192)
        self._occurrences: LRU[int, tuple[Occurrence, ...]] = LRU(4096)
        self._price_tables: LRU[int, tuple[tuple[PriceTemplate, ...], ...]] = LRU(4096)
        self._plans: LRU[str, Plan] = LRU(4096)
        self._inventory: LRU[str, Inventory] = LRU(512)
        self.locations_encoded = tuple(encode(loc.wire) for loc in self.locations)
        self._salt = _mix64((seed * _GOLDEN + 0x2545F4914F6CDD1D) & _M64)
        # '"YYYY-MM-DD"' for every date an event can start or end on.
        self._days_json = tuple(
            encode((start + dt.timedelta(days=d)).isoformat()) for d in range(_LAST_DAY + 1)
        )
        # The encoded JSON of events 0 .. len - 1, filled in as they are first asked for.
        self._event_json: list[bytes | None] = [None] * min(events, EVENT_JSON_CACHE)
        # Moved by ``Sandbox.evolve`` (see ._evolve): events ended and occurrences cancelled.
        self.ended: set[int] = set()
        self.cancelled: set[str] = set()
        self.extra_dates: dict[int, int] = {}  # event index -> dates added at the end

    def _rng(self, tag: int, index: int) -> random.Random:
        return random.Random((self.seed * 1_000_003 + tag) * 10_000_019 + index)

    def _make_location(self, i: int) -> Location:
        name, country, code, tz = CITIES[i % len(CITIES)]
        if i >= len(CITIES):
            name = f"{name} {i // len(CITIES) + 1}"
        rng = self._rng(1, i)
        venues = []
        for v, kind in enumerate(_VENUE_KINDS):
            vid = str((i + 1) * 10 + v + 1)
            vname = rng.choice(_VENUE_NAMES[kind])
            wire = {"id": vid, "name": vname, "timezone": tz}
            venues.append(Venue(vid, vname, tz, kind, kind == "club", wire))
        lid = str(i + 1)
        wire = {"id": lid, "name": name, "country": country}
        tails = tuple(
            b',"location":' + encode(wire) + b',"venue":' + encode(v.wire) + b"}" for v in venues
        )
        return Location(
            i, lid, name, country, CURRENCIES[code], ZoneInfo(tz), tuple(venues), wire, tails
        )

    # -- locations and events ------------------------------------------------------------
    def location_by_id(self, location_id: str) -> Location | None:
        return self._by_location_id.get(location_id)

    def events_in_location(self, location: Location) -> int:
        n = len(self.locations)
        return max(0, (self.event_count - location.index + n - 1) // n)

    def event_index(self, location: Location, position: int) -> int:
        return location.index + position * len(self.locations)

    def event_by_id(self, event_id: str) -> Event | None:
        number = parse_id(event_id)
        if number is None or not 0 <= number - _EVENT_ID_BASE < self.event_count:
            return None
        if number - _EVENT_ID_BASE in self.ended:
            return None
        return self.event(number - _EVENT_ID_BASE)

    def event(self, index: int) -> Event:
        cached = self._events.get(index)
        return cached if cached is not None else self._events.put(index, self._make_event(index))

    def draw(self, index: int) -> EventDraw:
        """Decide event ``index``'s venue, name, dates and discount display from one hash."""
        # _mix64, inlined: this runs for every event of every first page.
        z = (self._salt + index * _GOLDEN) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        z ^= z >> 31
        # Two 30-bit halves: arithmetic on small ints is much faster than on 64-bit ones.
        lo, hi = z & 0x3FFFFFFF, z >> 34
        venue = lo % 3
        lo //= 3
        name = lo % _NAME_COUNT
        lo //= _NAME_COUNT
        first_day = lo % _FIRST_DAYS
        gap = _GAPS[hi & 3]
        hi >>= 2
        count = _MIN_DATES + hi % _DATE_CHOICES
        hi //= _DATE_CHOICES
        open_ended = hi % 5 == 0  # for theatre runs only: about one in five
        hi //= 5
        mode = _MODES[hi % 3]
        if index == 0:
            # Event 0 is always an on-sale arena show with seats, GA, extras and rate codes,
            # so tests and demos have a known starting point.
            venue, count = 0, 12
        if self.extra_dates:  # Sandbox.evolve added dates at the end
            count += self.extra_dates.get(index, 0)
        open_ended = open_ended and _VENUE_KINDS[venue] == "theatre"
        return venue, name, first_day, gap, count, open_ended, mode

    def event_json(self, index: int) -> bytes:
        """Event ``index`` as a JSON object (bytes); cached for the first events."""
        cache = self._event_json
        if index < len(cache):
            cached = cache[index]
            if cached is None:
                cached = cache[index] = self._encode_event(index)
            return cached
        return self._encode_event(index)

    def event_page(self, location: Location, start: int, stop: int) -> list[bytes]:
        """The JSON of the location's events at positions ``start <= p < stop``."""
        stop = min(stop, self.events_in_location(location))
        if start >= stop:
            return []
        first, step = self.event_index(location, start), len(self.locations)
        end = self.event_index(location, stop)
        cache = self._event_json
        if end - step >= len(cache):
            return [self.event_json(i) for i in range(first, end, step)]
        page = cache[first:end:step]  # one slice: a page of a warm catalog costs nothing more
        if None in page:
            for j, cached in enumerate(page):
                if cached is None:
                    index = first + j * step
                    page[j] = cache[index] = self._encode_event(index)
        return cast("list[bytes]", page)  # no None is left

    def add_date(self, index: int) -> None:
        """One more date at the end of event ``index`` (its ``endDate`` moves with it)."""
        self.extra_dates[index] = self.extra_dates.get(index, 0) + 1
        self._events.drop(index)
        self._occurrences.drop(index)
        if index < len(self._event_json):
            self._event_json[index] = None

    def visible_page(self, location: Location, offset: int, limit: int) -> tuple[list[bytes], int]:
        """A page of the location's events with the ended ones left out, and their total."""
        n = len(self.locations)
        indexes = [i for i in range(location.index, self.event_count, n) if i not in self.ended]
        return [self.event_json(i) for i in indexes[offset : offset + limit]], len(indexes)

    def _encode_event(self, index: int) -> bytes:
        # Exactly encode({"id", "name", "startDate", "endDate", "location", "venue"}).
        venue, name, first_day, gap, count, open_ended, _ = self.draw(index)
        days = self._days_json
        end = b"null" if open_ended else days[first_day + gap * (count - 1)]
        tail = self.locations[index % len(self.locations)].event_tails[venue]
        return b'{"id":"%d","name":%b,"startDate":%b,"endDate":%b%b' % (
            _EVENT_ID_BASE + index, _NAMES_JSON[name], days[first_day], end, tail
        )  # fmt: skip

    def _make_event(self, index: int) -> Event:
        venue_index, _, first_day, gap, count, _, mode = self.draw(index)
        location = self.locations[index % len(self.locations)]
        venue = location.venues[venue_index]
        number = _EVENT_ID_BASE + index
        return Event(
            index,
            str(number),
            number,
            location,
            venue,
            self.start + dt.timedelta(days=first_day),
            gap,
            count,
            _DURATIONS[venue.kind],
            mode,
            self.event_json(index),
        )

    def event_wire(self, event: Event) -> dict[str, Any]:
        """The event as a dict, built the slow way (for tests of `event_json`)."""
        _, name, _, _, _, open_ended, _ = self.draw(event.index)
        last_day = event.first_day + dt.timedelta(days=event.gap_days * (event.count - 1))
        return {
            "id": event.id,
            "name": _NAMES[name],
            "startDate": event.first_day.isoformat(),
            "endDate": None if open_ended else last_day.isoformat(),
            "location": event.location.wire,
            "venue": event.venue.wire,
        }

    # -- occurrences ---------------------------------------------------------------------
    def occurrences(self, event: Event) -> tuple[Occurrence, ...]:
        cached = self._occurrences.get(event.index)
        if cached is None:
            cached = self._occurrences.put(event.index, self._make_occurrences(event))
        return cached

    def occurrence(self, event: Event, occurrence_id: str) -> Occurrence | None:
        number = parse_id(occurrence_id)
        if number is None or number // _OCC_PER_EVENT != event.number:
            return None
        position = number % _OCC_PER_EVENT - 1
        if not 0 <= position < event.count or occurrence_id in self.cancelled:
            return None
        return self.occurrences(event)[position]

    def occurrence_by_id(self, occurrence_id: str) -> Occurrence | None:
        """Find an occurrence from its id alone (cart items name no event)."""
        number = parse_id(occurrence_id)
        if number is None:
            return None
        event = self.event_by_id(str(number // _OCC_PER_EVENT))
        return None if event is None else self.occurrence(event, occurrence_id)

    def _make_occurrences(self, event: Event) -> tuple[Occurrence, ...]:
        zone = event.location.zone
        out = []
        for j in range(event.count):
            day = event.first_day + dt.timedelta(days=j * event.gap_days)
            kind = event.venue.kind
            if kind == "theatre":
                at = dt.time(14, 30) if day.weekday() >= 5 else dt.time(19, 30)
            else:
                at = dt.time(20, 0) if kind == "arena" else dt.time(21, 0)
            starts = dt.datetime.combine(day, at, zone)
            ends = None
            if event.duration_min is not None:
                # Add wall-clock minutes, then re-resolve the offset (a show may span DST).
                ends = (starts + dt.timedelta(minutes=event.duration_min)).replace(tzinfo=zone)
            oid = str(event.number * _OCC_PER_EVENT + j + 1)
            wire = {
                "id": oid,
                "startsAt": starts.isoformat(),
                "endsAt": None if ends is None else ends.isoformat(),
                "venue": event.venue.wire,
            }
            out.append(Occurrence(oid, event, j, day, wire))
        return tuple(out)

    # -- inventory -----------------------------------------------------------------------
    @staticmethod
    def first_section(event: Event) -> str:
        """The venue's first (best) section, or its GA area when it has no seats."""
        sections, ga, _ = _LAYOUTS[event.venue.kind]
        return sections[0][0] if sections else (ga or "")

    def plan(self, occ: Occurrence) -> Plan:
        cached = self._plans.get(occ.id)
        return cached if cached is not None else self._plans.put(occ.id, self._make_plan(occ))

    def inventory(self, occ: Occurrence) -> Inventory:
        """Every item this occurrence ever had, with its stock before any sale or hold."""
        cached = self._inventory.get(occ.id)
        if cached is None:
            cached = self._inventory.put(occ.id, self._expand(self.plan(occ)))
        return cached

    def item(self, occ: Occurrence, variant_id: str) -> ItemTemplate | None:
        return self.inventory(occ).by_id.get(variant_id)

    def _prices(self, event: Event) -> tuple[tuple[PriceTemplate, ...], ...]:
        """The event's price table: one entry per section, then GA (if any), then the extra.

        Prices belong to the event (the same on every date); stock belongs to the date.
        """
        cached = self._price_tables.get(event.index)
        if cached is not None:
            return cached
        cur = event.location.currency
        sections, ga, _ = _LAYOUTS[event.venue.kind]
        prng = self._rng(3, event.index)
        base = cur.round(prng.uniform(cur.low, cur.high))
        child = prng.random() < 0.5

        def prices(mult: float, cats: tuple[str, ...]) -> tuple[PriceTemplate, ...]:
            full = cur.round(base * mult)
            off = prng.choice(_DISCOUNTS) if prng.random() < 0.35 else 0
            out = []
            for k, cat in enumerate(cats):
                lst = cur.round(full * (1.0 - 0.3 * k))
                sell = cur.round(lst * (100 - off) / 100) if off else lst
                out.append(PriceTemplate(cat, sell, lst if sell < lst else None))
            return tuple(out)

        cats = ("Adult", "Child") if child else ("Adult",)
        table = [prices(mult, cats) for _, mult in sections]
        if ga is not None:
            table.append(prices(0.8, ("Adult", "Student")))
        table.append((PriceTemplate("Standard", cur.round(base * 0.1), None),))
        return self._price_tables.put(event.index, tuple(table))

    def _make_plan(self, occ: Occurrence) -> Plan:
        event = occ.event
        sections, ga, extra = _LAYOUTS[event.venue.kind]
        table = self._prices(event)
        srng = self._rng(4, event.index * _OCC_PER_EVENT + occ.position)
        sold_out = srng.random() < 0.1 and not (event.index == 0 and occ.position < 4)
        fill = srng.randrange(3)  # a quarter, half or three quarters of the seats are left
        seat_groups: list[tuple[ItemTemplate, int]] = []
        groups: list[tuple[ItemTemplate, int]] = []
        for (section, _), sp in zip(sections, table, strict=False):
            a, b = srng.getrandbits(_SEAT_BITS), srng.getrandbits(_SEAT_BITS)
            mask = 0 if sold_out else (a & b, a, a | b)[fill]
            sample = ItemTemplate(section, "AssignedSeat", section, None, None, section, 1, sp)
            seat_groups.append((sample, mask))
            if mask:
                groups.append((sample, mask.bit_count()))
        others = []
        if ga is not None:
            qty = 0 if sold_out else srng.randrange(20, 400)
            gp = table[len(sections)]
            name = f"General Admission {ga}"
            others.append(
                ItemTemplate(f"GA-{ga}", "GeneralAdmission", ga, None, None, name, qty, gp)
            )
            if qty:
                groups.append((others[-1], qty))
        code, label = extra
        xp = table[-1]
        qty = 0 if sold_out else srng.randrange(50, 500)
        others.append(
            ItemTemplate(
                f"Extra-{code}",
                "Extra",
                None,
                None,
                None,
                label,
                qty,
                xp,
                self.unknown_variant_type,
            )
        )
        return Plan(tuple(seat_groups), tuple(others), tuple(groups))

    @staticmethod
    def _expand(plan: Plan) -> Inventory:
        items = []
        for sample, mask in plan.seat_groups:
            section = sample.variant_id
            code = section.replace(" ", "")
            for bit in range(_SEAT_BITS):
                if mask >> bit & 1:
                    row, seat = _ROWS[bit // len(_SEATS)], _SEAT_STR[_SEATS[bit % len(_SEATS)]]
                    vid = f"{code}-{row}-{seat}"
                    name = f"{section} {row} {seat}"
                    items.append(
                        ItemTemplate(
                            vid, "AssignedSeat", section, row, seat, name, 1, sample.prices
                        )
                    )
        items.extend(plan.others)
        return Inventory(tuple(items), {it.variant_id: it for it in items})
