"""The catalog crawl: locations → events → occurrences → inventory, as one bounded stream.

A crawl is a scheduler, not nested loops. Every unit of work (a page of locations, a page of a
location's events, an event's occurrences, one occurrence's inventory at one rate code) is a
job in one frontier, and a fixed pool of ``concurrency`` workers takes jobs from it, each
worker sending one request at a time. So ``concurrency`` bounds the requests in flight across
every level at once, and every request goes through the client's pipeline, where the
client-wide 429 gate pauses them all.

Workers prefer the deepest level (inventory, then occurrences, then event pages) and refill a
level only when the one below it runs low, so the frontier stays a few pages wide whatever the
catalog size. Records wait for the consumer in a buffer of at most ``4 × concurrency``: an
inventory request starts only once it has a place there, so a consumer that stops pulling
stops the crawl.

Completion is tracked per unit (an occurrence at a rate code) and rolled up: an event is done
when each of its units has been handed to the consumer *and* the consumer came back for more;
a location is done when all its event pages are listed and all its events are done. Only
finished locations, finished events of unfinished locations and finished units of unfinished
events are written to the checkpoint, so the file stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Final, Literal, TypeAlias, TypeVar

import msgspec

from ttg_async._core.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    ResponseDecodeError,
    TTGError,
)
from ttg_async._core.pagination import MAX_LIMIT, Page, Paginator
from ttg_async._ttg.errors import ProviderCodeNotFoundError
from ttg_async._ttg.models import Event, InventoryItem, Location, Occurrence
from ttg_async._ttg.resources import check_provider_code

if TYPE_CHECKING:
    from ttg_async._ttg.client import TTGClient

__all__ = ["CatalogRecord", "Crawl", "CrawlError", "CrawlStats", "CrawlStorageError"]

T = TypeVar("T")

_Items: TypeAlias = list[InventoryItem] | ProviderCodeNotFoundError
_Unit: TypeAlias = tuple[str, str | None]  # (occurrence id, rate code)

_MAX_CONCURRENCY: Final = 256
_CHECKPOINT_FORMAT: Final = "ttg_async crawl checkpoint"
_CHECKPOINT_VERSION: Final = 1
#: The key of the length of the output file of write_jsonl (and of ``ttg crawl``) in a checkpoint.
_OUTPUT_NOTE: Final = "ttg crawl output bytes"
#: Ready records (and inventory requests that will become records) per unit of concurrency.
_BUFFER_FACTOR: Final = 4


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """One occurrence at one rate code, with everything around it.

    ``location`` is a [`Location`][ttg_async.Location], or its ID when the crawl was given
    ``location_ids`` and never listed locations. ``items`` is the inventory at ``rate_code``
    (``None`` is the default tier), or the
    [`ProviderCodeNotFoundError`][ttg_async.ProviderCodeNotFoundError] the server answered for a
    code it does not know on this event. A crawl made with ``inventory=False`` gives one record per
    occurrence, with ``rate_code=None`` and ``items=[]``.

    >>> async for record in ttg.crawl(rate_codes=[None, "MEMBERS"]):
    ...     if isinstance(record.items, list):
    ...         print(record.event.name, record.occurrence.starts_at, len(record.items))
    """

    location: Location | str
    event: Event
    occurrence: Occurrence
    rate_code: str | None
    items: _Items

    @property
    def location_id(self) -> str:
        """The location's ID, whether the crawl listed locations or was given their IDs."""
        return self.location if isinstance(self.location, str) else self.location.id

    def to_dict(self) -> dict[str, Any]:
        """This record as JSON-ready data (``dict``, ``list``, ``str``, numbers, ``None``).

        The form of each line of `Crawl.write_jsonl` and ``ttg crawl``, with the API's
        camelCase names: ``{"locationId", "location", "event", "occurrence", "rateCode",
        "items"}``, where ``location`` is ``None`` when the crawl was given location IDs;
        for a rate code the event does not know, ``"error"`` (``type``, ``message``,
        ``status``, ``code``, ``requestId``) stands in place of ``"items"``.

        >>> json.dumps(record.to_dict())
        """
        return msgspec.to_builtins(self._json())  # type: ignore[no-any-return]

    def _json(self) -> dict[str, Any]:
        """`to_dict` with the models left as they are (msgspec encodes them as fast)."""
        location = self.location
        line: dict[str, Any] = {
            "locationId": self.location_id,
            "location": None if isinstance(location, str) else location,
            "event": self.event,
            "occurrence": self.occurrence,
            "rateCode": self.rate_code,
        }
        if isinstance(self.items, list):
            line["items"] = self.items
        else:
            line["error"] = _error_dict(self.items)
        return line


@dataclass(frozen=True, slots=True)
class CrawlStats:
    """Counts of one crawl so far; read ``crawl.stats`` at any time to draw progress.

    ``locations``, ``events`` and ``occurrences`` count what this run listed (units a
    checkpoint says are finished are not listed again, so not counted), ``records`` and
    ``items`` what it handed out, ``requests`` the HTTP requests it sent (retries included),
    ``errors`` the entries of ``crawl.errors``. ``elapsed`` is in seconds.

    >>> print(f"{crawl.stats.records} records, {crawl.stats.requests} requests")
    """

    locations: int = 0
    events: int = 0
    occurrences: int = 0
    records: int = 0
    items: int = 0
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class CrawlError:
    """A unit of a crawl that failed; the crawl went on without it.

    ``where`` names the unit by its IDs: ``locations`` (the location list),
    ``location 3`` (its events; ``location 3 offset 1000`` for a later page),
    ``event 1002`` (its occurrences), ``occurrence 200102`` (its default-tier inventory) or
    ``occurrence 200102 rate_code vip``. ``error`` is what the last attempt raised.

    >>> for failure in crawl.errors:
    ...     print(failure.where, failure.error)
    """

    where: str
    error: TTGError

    def to_dict(self) -> dict[str, Any]:
        """``{"where", "error"}`` as JSON-ready data; ``error`` has ``type``, ``message``,
        ``status`` and ``code`` (for an [`APIError`][ttg_async.APIError]) and ``requestId``."""
        return {"where": self.where, "error": _error_dict(self.error)}


class CrawlStorageError(TTGError):
    """A crawl could not save its progress: its checkpoint, or the output file of
    `Crawl.write_jsonl`, could not be written (a missing directory, no permission, a
    full disk). ``path`` is the file; the OS error is the cause (``__cause__``).

    Raised once, where the crawl stood: from the loop (before the first record, when the
    very first checkpoint cannot be written), or from `Crawl.aclose` for the last save.
    The crawl is stopped and closed by then, and saves nothing more; closing it (or the
    client) again is quiet. The last checkpoint that was written is intact: fix the cause and
    run the same crawl again to resume from it.

    >>> try:
    ...     await crawl.write_jsonl("catalog.jsonl")
    ... except CrawlStorageError as exc:
    ...     print("cannot save to", exc.path, exc.__cause__)
    """

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


def _error_dict(error: TTGError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": error.message}
    if isinstance(error, APIError):
        data.update(status=error.status, code=error.code)
    data["requestId"] = error.request_id
    return data


# -- bookkeeping -------------------------------------------------------------------------


class _LocationState:
    """A location being crawled: ``pending`` counts unlisted event pages and unfinished events."""

    __slots__ = ("failed", "key", "location", "pending")

    def __init__(self, location: Location | str) -> None:
        self.location = location
        self.key = location if isinstance(location, str) else location.id
        self.pending = 0
        self.failed = False


class _EventState:
    """An event being crawled: ``pending`` counts its occurrence listing and unfinished units."""

    __slots__ = ("event", "failed", "location", "pending")

    def __init__(self, location: _LocationState, event: Event) -> None:
        self.location = location
        self.event = event
        self.pending = 1  # the occurrence listing itself
        self.failed = False


class _LocationPage:
    __slots__ = ("offset",)

    def __init__(self, offset: int) -> None:
        self.offset = offset


class _EventPage:
    __slots__ = ("location", "offset")

    def __init__(self, location: _LocationState, offset: int) -> None:
        self.location = location
        self.offset = offset


class _Inventory:
    __slots__ = ("code", "event", "occurrence")

    def __init__(self, event: _EventState, occurrence: Occurrence, code: str | None) -> None:
        self.event = event
        self.occurrence = occurrence
        self.code = code


_Job: TypeAlias = _LocationPage | _EventPage | _EventState | _Inventory


_Id: TypeAlias = Annotated[str, msgspec.Meta(min_length=1)]


class _Params(msgspec.Struct, forbid_unknown_fields=True):
    """The arguments a checkpoint belongs to: another crawl's checkpoint is refused."""

    location_ids: list[_Id] | None
    rate_codes: list[_Id | None]
    inventory: bool


class _CheckpointFile(msgspec.Struct, forbid_unknown_fields=True):
    """A checkpoint as it is on disk. Decoded strictly (no ``"12"`` for a list, no ``true``
    for a number), then checked for sense (`_Checkpoint.load`): a file that does not fit
    is refused, never half believed."""

    format: Literal["ttg_async crawl checkpoint"]
    version: Literal[1]
    params: _Params
    locations: list[_Id]
    events: dict[_Id, list[_Id]]
    units: dict[_Id, list[tuple[_Id, _Id | None]]]
    note: msgspec.Raw = msgspec.Raw(b"null")


_read_checkpoint: Final = msgspec.json.Decoder(_CheckpointFile)
_encoder: Final = msgspec.json.Encoder()


class _Checkpoint:
    """What a checkpoint file says is finished, kept up to date as the crawl goes."""

    def __init__(self, path: Path, params: _Params) -> None:
        self.path = path
        self.params = params
        self.found = False  # the file was there when the crawl was made
        self.locations: set[str] = set()
        self.events: dict[str, set[str]] = {}  # location -> finished events
        self.units: dict[str, set[_Unit]] = {}  # event -> finished units
        self.note: msgspec.Raw = msgspec.Raw(b"null")
        self.dirty = False

    def _refuse(self, why: str, cause: BaseException | None = None) -> ConfigurationError:
        error = ConfigurationError(
            f"{self.path} is not a usable crawl checkpoint ({why}); delete it to start over, "
            "or pass another path",
            field="checkpoint",
        )
        error.__cause__ = cause
        return error

    def load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ConfigurationError(f"cannot read {self.path}: {exc}", field="checkpoint") from exc
        try:
            data = _read_checkpoint.decode(raw)
        except msgspec.ValidationError as exc:
            raise self._refuse(str(exc), exc) from exc
        except msgspec.DecodeError as exc:
            raise self._refuse(f"not JSON: {exc}", exc) from exc
        if data.params != self.params:
            raise ConfigurationError(
                f"{self.path} was written by a crawl with other arguments "
                f"({msgspec.structs.asdict(data.params)}); use another path, or delete it "
                "to start over",
                field="checkpoint",
            )
        codes = set(self.params.rate_codes)
        for event_id, units in data.units.items():
            for occurrence_id, code in units:
                if code not in codes:
                    raise self._refuse(
                        f"event {event_id} occurrence {occurrence_id} has rate code {code!r}, "
                        "which this crawl does not ask for"
                    )
        self.found = True
        self.locations = set(data.locations)
        self.events = {k: set(v) for k, v in data.events.items()}
        self.units = {k: set(v) for k, v in data.units.items()}
        self.note = data.note

    def clear(self) -> None:
        """Forget what was finished: the crawl starts over (the file is replaced at start)."""
        self.locations, self.events, self.units = set(), {}, {}
        self.note = msgspec.Raw(b"null")
        self.dirty = True

    def write(self, note: msgspec.Raw) -> None:
        """Replace the file atomically: a reader sees the old state or the new, never half.

        A temporary file in the same directory, written and flushed to the disk, then renamed
        over the checkpoint (and the directory flushed, so the rename lasts). Raises
        [`CrawlStorageError`][ttg_async.CrawlStorageError] with the OS error as its cause.
        """
        data = _CheckpointFile(
            format=_CHECKPOINT_FORMAT,
            version=_CHECKPOINT_VERSION,
            params=self.params,
            locations=sorted(self.locations),
            events={k: sorted(v) for k, v in self.events.items()},
            units={k: sorted(v, key=_unit_key) for k, v in self.units.items()},
            note=note,
        )
        payload = _encoder.encode(data)
        directory = self.path.parent
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
            tmp = None
            _fsync_directory(directory)
        except OSError as exc:
            raise CrawlStorageError(
                f"cannot write the checkpoint {self.path}: {exc}", path=self.path
            ) from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self.note = note
        self.dirty = False


def _fsync_directory(directory: Path) -> None:
    """Make a rename last; a file system that cannot flush a directory is left as it is."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _OutputNote(msgspec.Struct, forbid_unknown_fields=True):
    """What `Crawl.write_jsonl` keeps in the checkpoint: the length of its file."""

    size: Annotated[int, msgspec.Meta(ge=0)] = msgspec.field(name=_OUTPUT_NOTE)


def _open_jsonl(out: Path, checkpoint: _Checkpoint, *, resume: bool) -> BinaryIO:
    """Open ``out`` where the checkpoint says its finished records end."""
    if resume and checkpoint.found:
        try:
            size = msgspec.json.decode(checkpoint.note, type=_OutputNote).size
        except msgspec.ValidationError as exc:
            raise checkpoint._refuse(f"no valid length of {out}: {exc}", exc) from exc
        try:
            file = out.open("r+b") if size else out.open("ab")
        except FileNotFoundError as exc:
            detail = f"no file, {size} bytes in the checkpoint"
            raise _mismatch(out, checkpoint, detail, exc) from exc
        except OSError as exc:
            raise CrawlStorageError(f"cannot open {out}: {exc}", path=out) from exc
        try:
            length = os.fstat(file.fileno()).st_size
            if length < size:
                raise _mismatch(out, checkpoint, f"{length} bytes, {size} in the checkpoint")
            if size:
                file.seek(size - 1)
                if file.read(1) != b"\n":
                    raise _mismatch(out, checkpoint, f"byte {size} does not end a line")
            file.truncate(size)  # lines written after the last save, a half line included
            file.seek(size)
        except BaseException:
            file.close()
            raise
        return file
    if resume:
        with contextlib.suppress(FileNotFoundError):
            if out.stat().st_size:
                raise ConfigurationError(
                    f"{out} has content but {checkpoint.path} (its checkpoint) does not exist: "
                    "the records in it are unknown to the crawl; pass resume=False to start "
                    "over, or another path",
                    field="path",
                )
    checkpoint.clear()
    # The new checkpoint (length 0) first, then the file: stopped in between, a rerun cuts
    # the file to 0 bytes and goes on.
    checkpoint.write(msgspec.Raw(_encoder.encode({_OUTPUT_NOTE: 0})))
    try:
        return out.open("wb")
    except OSError as exc:
        raise CrawlStorageError(f"cannot open {out}: {exc}", path=out) from exc


def _mismatch(
    out: Path, checkpoint: _Checkpoint, what: str, cause: BaseException | None = None
) -> ConfigurationError:
    error = ConfigurationError(
        f"{out} does not match its checkpoint {checkpoint.path} ({what}); pass resume=False "
        "to start over, or another path",
        field="path",
    )
    error.__cause__ = cause
    return error


def _unit_key(unit: _Unit) -> tuple[str, str]:
    return unit[0], "" if unit[1] is None else "\x00" + unit[1]


def _where_unit(occurrence_id: str, code: str | None) -> str:
    return (
        f"occurrence {occurrence_id}"
        if code is None
        else f"occurrence {occurrence_id} rate_code {code}"
    )


def _is_unit_failure(exc: BaseException) -> bool:
    """A failure that concerns one unit. Anything else (a bad key, a closed client) stops all."""
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return False
    return isinstance(exc, APIError | APIConnectionError | ResponseDecodeError)


class _Stop(Exception):
    """Raised inside the worker pool to end it; the error itself is in ``Crawl._fatal``."""


def _first_leaf(group: BaseExceptionGroup[Exception]) -> Exception:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


# -- the crawl -----------------------------------------------------------------------------


class Crawl:
    """A running (or not yet started) catalog crawl; made by
    [`TTGClient.crawl`][ttg_async.TTGClient.crawl].

    Iterate it once with ``async for``. Nothing is requested until then.

    >>> crawl = ttg.crawl(rate_codes=[None, "MEMBERS"], concurrency=32, checkpoint="c.json")
    >>> async for record in crawl:
    ...     save(record)
    >>> print(crawl.stats, crawl.errors)

    **Order.** Records come out as soon as they are ready, in no fixed order: records of one
    event are not necessarily together, and a rerun may order them differently. Each record
    carries its location, event and occurrence, so none is needed to read another.

    **Stopping.** Breaking out of the loop, cancelling the task that iterates, an error in
    your loop body, `aclose` or closing the client all stop the crawl: every request in
    flight is cancelled, and no task is left behind.

    **Resuming.** With ``checkpoint=PATH``, the units whose records you have taken are
    recorded there (atomically: from the first moment, then about once a second and when the
    crawl stops). A record counts as taken once your loop asks for the next one, or when the
    crawl ends normally. A new crawl with the same path and arguments skips what is recorded,
    so, across any number of interruptions, every record comes out at least once; the record
    your loop held when it stopped comes out again. Failed units are never recorded: a
    resumed crawl tries them again. `write_jsonl` writes each record to a file exactly
    once. A checkpoint that cannot be written raises
    [`CrawlStorageError`][ttg_async.CrawlStorageError], once.
    """

    def __init__(
        self,
        client: TTGClient,
        location_ids: Iterable[str] | None = None,
        *,
        rate_codes: Iterable[str | None] = (None,),
        inventory: bool = True,
        concurrency: int = 16,
        checkpoint: str | os.PathLike[str] | None = None,
        page_size: int = MAX_LIMIT,
    ) -> None:
        self._ids = _check_location_ids(location_ids)
        codes = _check_rate_codes(rate_codes)
        self._codes: list[str | None] = codes if inventory else [None]
        if not isinstance(inventory, bool):
            raise TypeError(f"inventory: must be a bool, not {type(inventory).__name__}")
        self._inventory = inventory
        self._concurrency = _check_int("concurrency", concurrency, 1, _MAX_CONCURRENCY)
        self._page_size = _check_int("page_size", page_size, 1, MAX_LIMIT)
        self._client = client._counting_view(self._count_request)
        self._checkpoint: _Checkpoint | None = None
        if checkpoint is not None:
            if not isinstance(checkpoint, str | os.PathLike):
                raise TypeError(
                    f"checkpoint: must be a path or None, not {type(checkpoint).__name__}"
                )
            params = _Params(location_ids=self._ids, rate_codes=self._codes, inventory=inventory)
            self._checkpoint = _Checkpoint(Path(checkpoint), params)
            self._checkpoint.load()
        #: Seconds between checkpoint writes while records are being taken.
        self._checkpoint_interval = 1.0
        #: Called before each checkpoint write; its JSON-able result is stored with it.
        self._checkpoint_note: Callable[[], Any] | None = None

        self.errors: list[CrawlError] = []
        """Per-unit failures, in order (see [`CrawlError`][ttg_async.CrawlError])."""
        self._started = False
        self._finished = False
        self._closed = False
        self._storage_failed = False  # a save failed: it was raised once, and none follows
        self._fatal: BaseException | None = None
        self._runner: asyncio.Task[None] | None = None
        self._t0: float | None = None
        self._t1: float | None = None
        self._last_write = 0.0
        self._taken: tuple[_EventState, _Unit] | None = None
        # counters
        self._n_locations = 0
        self._n_events = 0
        self._n_occurrences = 0
        self._n_records = 0
        self._n_items = 0
        self._n_requests = 0
        self._events_total = 0
        self._events_settled = 0  # occurrences listed (or failed, or skipped): for progress
        # the frontier, deepest level first
        self._inventory_jobs: deque[_Inventory] = deque()
        self._event_jobs: deque[_EventState] = deque()
        self._page_jobs: deque[_EventPage] = deque()
        self._location_jobs: deque[_LocationPage] = deque()
        self._busy = 0
        self._listing_events = 0  # event jobs in flight
        self._listing_pages = 0  # event and location pages in flight
        self._changed = asyncio.Event()
        # ready records, and places for them
        self._ready: deque[tuple[CatalogRecord, _EventState, _Unit]] = deque()
        self._has_ready = asyncio.Event()
        self._places = asyncio.Semaphore(_BUFFER_FACTOR * self._concurrency)

    def __repr__(self) -> str:
        state = "finished" if self._finished else "running" if self._started else "not started"
        return (
            f"<Crawl {state} concurrency={self._concurrency} rate_codes={self._codes!r} "
            f"records={self._n_records} errors={len(self.errors)}>"
        )

    @property
    def stats(self) -> CrawlStats:
        """The counts so far (a snapshot; read it again for fresh numbers)."""
        if self._t0 is None:
            elapsed = 0.0
        else:
            elapsed = (self._t1 if self._t1 is not None else time.monotonic()) - self._t0
        return CrawlStats(
            locations=self._n_locations,
            events=self._n_events,
            occurrences=self._n_occurrences,
            records=self._n_records,
            items=self._n_items,
            requests=self._n_requests,
            errors=len(self.errors),
            elapsed=elapsed,
        )

    @property
    def _events_seen(self) -> int:
        """Events announced by the first page of each location's list, for progress bars."""
        return self._events_total

    # -- the consumer's side ---------------------------------------------------------------

    async def __aiter__(self) -> AsyncGenerator[CatalogRecord, None]:
        if self._started:
            raise RuntimeError("a crawl runs once; call ttg.crawl(...) again for a new one")
        self._started = True
        self._t0 = self._last_write = time.monotonic()
        try:
            # A checkpoint from the first moment: a crawl stopped at any point, even before
            # its first record, leaves one (and a checkpoint that cannot be written fails now).
            self._save(force=True)
            self._runner = asyncio.create_task(self._run(), name="ttg_async crawl")
            while True:
                self._settle_taken()
                while not self._ready:
                    if self._finished:
                        break
                    self._has_ready.clear()
                    await self._has_ready.wait()
                if not self._ready:
                    break
                record, event, unit = self._ready.popleft()
                self._places.release()
                self._taken = (event, unit)
                self._n_records += 1
                if isinstance(record.items, list):
                    self._n_items += len(record.items)
                yield record
            if self._fatal is not None:
                raise self._fatal
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the crawl: cancel every request in flight and save the checkpoint.

        Returns once every task of the crawl has ended. Safe to call more than once; only
        the first call saves, so a crawl closed late (say, by the garbage collector) never
        overwrites the checkpoint of a newer crawl. If that save fails, this call raises
        [`CrawlStorageError`][ttg_async.CrawlStorageError], and the crawl is closed all the same.
        """
        await self._shutdown()
        if self._closed:
            return
        try:
            self._save(force=True)
        finally:
            self._closed = True  # a failed save is raised once; closing again is quiet

    async def write_jsonl(self, path: str | os.PathLike[str], *, resume: bool = True) -> None:
        """Run the crawl into a JSON Lines file, each record exactly once across reruns.

        >>> crawl = ttg.crawl(rate_codes=[None, "MEMBERS"], checkpoint="catalog.jsonl.ckpt")
        >>> await crawl.write_jsonl("catalog.jsonl")  # killed? run the same two lines again
        >>> print(crawl.stats.records, crawl.errors)

        One line per record, `CatalogRecord.to_dict` (the lines of ``ttg crawl``). The
        crawl needs a ``checkpoint``: with each checkpoint save, the file is flushed to the
        disk and its length stored in the checkpoint. With ``resume=True`` (the default), a
        crawl whose checkpoint holds such a length cuts the file back to it (dropping lines
        written after that save, and a half-written last line) and carries on; with no
        checkpoint yet, it starts a new file (refusing a file that already has content).
        ``resume=False`` starts over: the checkpoint is forgotten and the file emptied.

        Raises [`ConfigurationError`][ttg_async.ConfigurationError] (before any request) for
        a crawl without a checkpoint, a checkpoint not written by this method, or a file that
        does not match its checkpoint; [`CrawlStorageError`][ttg_async.CrawlStorageError]
        when the file or the checkpoint cannot be written. Whatever stops it (an error, a
        cancellation, ``kill -9``), running the same crawl again ends with every record in the
        file exactly once.
        """
        checkpoint = self._checkpoint
        if checkpoint is None:
            raise ConfigurationError(
                "write_jsonl needs a crawl made with checkpoint=PATH (where the length of the "
                "file is kept)",
                field="checkpoint",
            )
        if self._started:
            raise RuntimeError("a crawl runs once; call ttg.crawl(...) again for a new one")
        if not isinstance(resume, bool):
            raise TypeError(f"resume: must be a bool, not {type(resume).__name__}")
        out = Path(path)
        file = _open_jsonl(out, checkpoint, resume=resume)
        failed = False

        def note() -> dict[str, int]:
            # The lines reach the disk before the checkpoint that counts them as finished.
            try:
                file.flush()
                os.fsync(file.fileno())
            except OSError as exc:
                raise CrawlStorageError(f"cannot write {out}: {exc}", path=out) from exc
            return {_OUTPUT_NOTE: file.tell()}

        self._checkpoint_note = note
        try:
            async with aclosing(self.__aiter__()) as records:
                async for record in records:
                    try:
                        file.write(_encoder.encode(record._json()) + b"\n")
                    except OSError as exc:
                        # The last checkpoint stays as it was: its length ends before this line.
                        failed = self._storage_failed = True
                        raise CrawlStorageError(f"cannot write {out}: {exc}", path=out) from exc
        except CrawlStorageError:
            failed = True
            raise
        finally:
            if failed:
                with contextlib.suppress(OSError):
                    file.close()  # what is left in its buffer cannot be written either
            else:
                file.close()  # flushed by the last save already

    async def __aenter__(self) -> Crawl:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _shutdown(self) -> None:
        runner = self._runner
        if runner is not None and not runner.done():
            runner.cancel()
            # Wait for every worker to unwind; asyncio.wait() does not raise the runner's own
            # CancelledError, while a cancellation of this task still reaches the caller.
            await asyncio.wait({runner})
        if self._t1 is None and self._t0 is not None:
            self._t1 = time.monotonic()
        self._finished = True

    def _settle_taken(self) -> None:
        """The record handed out last was dealt with: its unit is finished."""
        if self._taken is None:
            return
        event, unit = self._taken
        self._taken = None
        if self._checkpoint is not None:
            self._checkpoint.units.setdefault(event.event.id, set()).add(unit)
            self._checkpoint.dirty = True
        self._settle(event)
        self._save()

    def _save(self, *, force: bool = False) -> None:
        checkpoint = self._checkpoint
        if checkpoint is None or not self._started or self._closed or self._storage_failed:
            return
        now = time.monotonic()
        if not force and (
            not checkpoint.dirty or now - self._last_write < self._checkpoint_interval
        ):
            return
        self._last_write = now
        try:
            note = checkpoint.note
            if self._checkpoint_note is not None:
                note = msgspec.Raw(_encoder.encode(self._checkpoint_note()))
            checkpoint.write(note)
        except CrawlStorageError:
            self._storage_failed = True  # raised here, once; the crawl saves nothing more
            raise

    # -- completion roll-up ------------------------------------------------------------------

    def _settle(self, event: _EventState) -> None:
        """One piece of ``event`` is over; finish the event (and its location) when all are."""
        event.pending -= 1
        if event.pending:
            return
        checkpoint = self._checkpoint
        location = event.location
        if event.failed:
            location.failed = True
        elif checkpoint is not None:
            checkpoint.units.pop(event.event.id, None)
            checkpoint.events.setdefault(location.key, set()).add(event.event.id)
            checkpoint.dirty = True
        self._settle_location(location)

    def _settle_location(self, location: _LocationState) -> None:
        location.pending -= 1
        if location.pending or location.failed:
            return
        checkpoint = self._checkpoint
        if checkpoint is not None:
            checkpoint.events.pop(location.key, None)
            checkpoint.locations.add(location.key)
            checkpoint.dirty = True

    # -- the scheduler -------------------------------------------------------------------------

    def _count_request(self) -> None:
        self._n_requests += 1

    async def _run(self) -> None:
        try:
            self._seed_frontier()
            async with asyncio.TaskGroup() as group:
                for index in range(self._concurrency):
                    group.create_task(self._worker(), name=f"ttg_async crawl worker {index}")
        except* _Stop:
            pass  # _stop() has kept the error for the consumer
        except* Exception as failed:
            self._fatal = self._fatal or _first_leaf(failed)
        finally:
            self._finished = True
            self._has_ready.set()

    def _seed_frontier(self) -> None:
        if self._ids is None:
            self._location_jobs.append(_LocationPage(0))
            return
        for location_id in self._ids:
            self._start_location(location_id)

    def _start_location(self, location: Location | str) -> None:
        state = _LocationState(location)
        if self._checkpoint is not None and state.key in self._checkpoint.locations:
            return
        self._n_locations += 1
        state.pending = 1  # the first page of its events
        self._page_jobs.append(_EventPage(state, 0))

    def _pick(self) -> _Job | None:
        low = self._concurrency
        # Refill a level before the one below runs dry, so workers are not left idle.
        if self._event_jobs and len(self._inventory_jobs) < low and self._listing_events < 2:
            return self._take_event()
        if self._page_jobs and len(self._event_jobs) < low and not self._listing_pages:
            self._listing_pages += 1
            return self._page_jobs.popleft()
        if self._inventory_jobs:
            return self._inventory_jobs.popleft()
        if self._event_jobs:
            return self._take_event()
        if self._page_jobs:
            self._listing_pages += 1
            return self._page_jobs.popleft()
        if self._location_jobs and not self._listing_pages:
            self._listing_pages += 1
            return self._location_jobs.popleft()
        return None

    def _take_event(self) -> _EventState:
        self._listing_events += 1
        return self._event_jobs.popleft()

    async def _worker(self) -> None:
        while True:
            job = self._pick()
            if job is None:
                if not self._busy:
                    self._changed.set()  # wake the others: there is nothing left anywhere
                    return
                self._changed.clear()
                await self._changed.wait()
                continue
            self._busy += 1
            try:
                await self._do(job)
            finally:
                self._busy -= 1
                if isinstance(job, _EventState):
                    self._listing_events -= 1
                elif isinstance(job, _EventPage | _LocationPage):
                    self._listing_pages -= 1
                self._changed.set()

    async def _do(self, job: _Job) -> None:
        if isinstance(job, _Inventory):
            await self._fetch_inventory(job)
        elif isinstance(job, _EventState):
            await self._list_occurrences(job)
        elif isinstance(job, _EventPage):
            await self._list_events(job)
        else:
            await self._list_locations(job)

    def _failed(self, where: str, exc: BaseException) -> None:
        if isinstance(exc, TTGError) and _is_unit_failure(exc):
            self.errors.append(CrawlError(where, exc))
            return
        if isinstance(exc, TypeError | ValueError) and not isinstance(exc, TTGError):
            # An ID from the server that no request can carry: that unit is lost, not the crawl.
            error = ResponseDecodeError(f"unusable data from the server: {exc}", status=200)
            self.errors.append(CrawlError(where, error))
            return
        if self._fatal is None:
            self._fatal = exc
        raise _Stop(str(exc)) from exc

    async def _list_locations(self, job: _LocationPage) -> None:
        where = "locations" if not job.offset else f"locations offset {job.offset}"
        try:
            page = await _first_page(
                self._client.locations.list(
                    limit=self._page_size, offset=job.offset, max_items=self._page_size
                )
            )
        except Exception as exc:  # sorted by _failed: per unit, or fatal
            self._failed(where, exc)
            return
        if page is None:
            return
        if not job.offset and page.items:
            following = page.offset + page.limit
            while following < page.total:
                self._location_jobs.append(_LocationPage(following))
                following += page.limit
        for location in page.items:
            self._start_location(location)

    async def _list_events(self, job: _EventPage) -> None:
        location = job.location
        where = f"location {location.key}"
        if job.offset:
            where += f" offset {job.offset}"
        try:
            page = await _first_page(
                self._client.events.list(
                    location.key,
                    limit=self._page_size,
                    offset=job.offset,
                    max_items=self._page_size,
                )
            )
        except Exception as exc:  # sorted by _failed: per unit, or fatal
            location.failed = True
            self._failed(where, exc)
            self._settle_location(location)
            return
        if page is not None:
            if not job.offset and page.items:
                self._events_total += page.total
                following = page.offset + page.limit
                while following < page.total:
                    location.pending += 1
                    self._page_jobs.append(_EventPage(location, following))
                    following += page.limit
            finished = set()
            if self._checkpoint is not None:
                finished = self._checkpoint.events.get(location.key, set())
            for event in page.items:
                if event.id in finished:
                    self._events_settled += 1
                    continue
                self._n_events += 1
                location.pending += 1
                self._event_jobs.append(_EventState(location, event))
        self._settle_location(location)  # this page is listed

    async def _list_occurrences(self, event: _EventState) -> None:
        event_id = event.event.id
        try:
            occurrences = await self._client.occurrences.list(event_id)
        except Exception as exc:  # sorted by _failed: per unit, or fatal
            event.failed = True
            self._events_settled += 1
            self._failed(f"event {event_id}", exc)
            self._settle(event)
            return
        self._events_settled += 1
        self._n_occurrences += len(occurrences)
        done: set[_Unit] = set()
        if self._checkpoint is not None:
            done = self._checkpoint.units.get(event_id, set())
        fresh: list[tuple[Occurrence, str | None]] = [
            (occurrence, code)
            for occurrence in occurrences
            for code in self._codes
            if (occurrence.id, code) not in done
        ]
        event.pending += len(fresh)
        if self._inventory:
            for occurrence, code in fresh:
                self._inventory_jobs.append(_Inventory(event, occurrence, code))
        else:
            for occurrence, code in fresh:
                await self._places.acquire()  # a slow consumer holds the listing here
                record = CatalogRecord(event.location.location, event.event, occurrence, code, [])
                self._deliver(record, event, (occurrence.id, code))
        self._settle(event)  # the listing itself is over

    async def _fetch_inventory(self, job: _Inventory) -> None:
        event, occurrence, code = job.event, job.occurrence, job.code
        await self._places.acquire()
        try:
            items: _Items = await self._client.inventory.list(
                event.event.id, occurrence.id, provider_code=code
            )
        except ProviderCodeNotFoundError as exc:
            items = exc
        except BaseException as exc:
            self._places.release()
            if not isinstance(exc, Exception):
                raise
            event.failed = True
            self._failed(_where_unit(occurrence.id, code), exc)
            self._settle(event)
            return
        record = CatalogRecord(event.location.location, event.event, occurrence, code, items)
        self._deliver(record, event, (occurrence.id, code))

    def _deliver(self, record: CatalogRecord, event: _EventState, unit: _Unit) -> None:
        self._ready.append((record, event, unit))
        self._has_ready.set()


async def _first_page(paginator: Paginator[T]) -> Page[T] | None:
    async with aclosing(paginator.pages()) as pages:
        async for page in pages:
            return page
    return None


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _check_location_ids(location_ids: Iterable[str] | None) -> list[str] | None:
    if location_ids is None:
        return None
    if isinstance(location_ids, str | bytes):
        raise TypeError("location_ids: must be an iterable of IDs, not a single str")
    ids: list[str] = []
    for index, value in enumerate(location_ids):
        if not isinstance(value, str):
            raise TypeError(f"location_ids[{index}]: must be a str, not {type(value).__name__}")
        if not value or value.strip() != value:
            raise ValueError(
                f"location_ids[{index}]: must be a non-empty string without surrounding spaces"
            )
        if value not in ids:
            ids.append(value)
    return ids


def _check_rate_codes(rate_codes: Iterable[str | None]) -> list[str | None]:
    if isinstance(rate_codes, str | bytes):
        raise TypeError("rate_codes: must be an iterable of codes, not a single str")
    codes: list[str | None] = []
    for index, code in enumerate(rate_codes):
        if code is not None:
            check_provider_code(code, f"rate_codes[{index}]")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise ValueError("rate_codes: must hold at least one code (None is the default tier)")
    return codes
