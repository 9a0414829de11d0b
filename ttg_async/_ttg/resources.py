"""One small class per TTG resource. Each method checks its arguments locally, names a path,
a query and a response type, and hands the rest to the client's pipeline."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar

import msgspec

from ttg_async._core.checks import check_id, check_quantity, check_sendable
from ttg_async._core.checks import iso_date as _iso_date
from ttg_async._core.config import NOT_GIVEN, NotGiven
from ttg_async._core.errors import GoneError, NotFoundError, TTGError
from ttg_async._core.options import CallOptions, call_options
from ttg_async._core.pagination import MAX_LIMIT, Page, Paginator, next_offset, paginate
from ttg_async._ttg.errors import ProviderCodeNotFoundError
from ttg_async._ttg.models import (
    Cart,
    CartItemInput,
    Contact,
    Event,
    InventoryItem,
    Location,
    Money,
    Occurrence,
    Order,
    Pagination,
    Venue,
)
from ttg_async._ttg.protocol import (
    DataReader,
    ListReader,
    RawResponse,
    error_from_response,
    new_idempotency_key,
    path,
)

if TYPE_CHECKING:
    from ttg_async._ttg.client import TTGClient

__all__ = ["Carts", "Events", "Inventory", "Locations", "Occurrences", "Orders"]

T = TypeVar("T")

# Resource classes define a method named `list`, which shadows the builtin in their bodies.
_Items: TypeAlias = list[InventoryItem]
_Codes: TypeAlias = list[str | None]

_IDEMPOTENCY_KEY: Final = re.compile(r"idem_[a-zA-Z0-9]+")
#: The page size asked for on the lists the guides call unpaginated (occurrences, inventory):
#: the API's largest, so that a server which pages them still sends most lists in one answer.
WHOLE_LIST_LIMIT: Final = MAX_LIMIT
_MAX_PROVIDER_CODE: Final = 255
# docs/openapi.yaml: the Idempotency-Key header is at most 255 characters (see docs/choices.md).
_MAX_IDEMPOTENCY_KEY: Final = 255
_json: Final = msgspec.json.Encoder()


def check_provider_code(value: object, field: str = "provider_code") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str or None, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{field}: must not be empty; pass None for the default tier")
    if len(value) > _MAX_PROVIDER_CODE:
        raise ValueError(f"{field}: must be at most {_MAX_PROVIDER_CODE} characters")
    return check_sendable(value, field)


def _json_object(value: object, field: str) -> dict[str, object]:
    """A mapping with string keys that encodes as a JSON object, copied, or a ``TypeError``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{field}: must be a mapping (a JSON object), not {type(value).__name__}")
    copied = dict(value)
    try:
        _json.encode(copied)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"{field}: must hold only JSON values ({exc})") from exc
    if not all(isinstance(key, str) for key in copied):
        raise TypeError(f"{field}: every key must be a str")
    return copied


def _one(type_: type[T], *, committed: str | None = None) -> DataReader[T]:
    return DataReader(type_, committed=committed)


def _many(type_: type[T]) -> ListReader[T]:
    return ListReader(type_)


def _empty(raw: RawResponse, request_id: str) -> None:
    """For 204 answers: nothing to decode, but an error answer is still an error."""
    if not 200 <= raw.status < 300:
        raise error_from_response(raw.status, raw.headers, raw.body, request_id=request_id)


def _share_parts(events: list[Event]) -> None:
    """Make the events of one page that carry equal locations (or venues) share one object.

    A page of a location's events repeats that location, and a few venues, on every event:
    kept as they are decoded, they are most of the memory of a collected catalog. Models are
    frozen, so sharing equal ones changes nothing a caller can see but ``is``. Only
    ``collect()`` calls this, since it is what keeps every event.
    """
    locations: dict[str, Location] = {}
    venues: dict[str | None, Venue] = {}
    for event in events:
        location = event.location
        if type(location) is Location:
            kept = locations.setdefault(location.id, location)
            if kept is not location and kept == location:
                _force_setattr(event, "location", kept)
        venue = event.venue
        if venue is not None:
            kept_venue = venues.setdefault(venue.id, venue)
            if kept_venue is not venue and kept_venue == venue:
                _force_setattr(event, "venue", kept_venue)


_force_setattr: Final = msgspec.structs.force_setattr


def _ttg_page(answer: tuple[list[T], Pagination | None], limit: int, offset: int) -> Page[T]:
    items, pagination = answer
    if pagination is None:
        # A server that does not paginate this list sent everything at once.
        return Page(items, len(items), offset, offset + len(items))
    return Page(items, pagination.limit, pagination.offset, pagination.total)


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: TTGClient) -> None:
        self._client = client

    def _paginator(
        self,
        request_path: str,
        decode: ListReader[T],
        *,
        query: dict[str, object],
        limit: int,
        offset: int,
        max_items: int | None,
        concurrency: int,
        options: CallOptions | None,
        compact: Callable[[list[T]], object] | None = None,
    ) -> Paginator[T]:
        async def request(page_query: dict[str, object]) -> tuple[list[T], Pagination | None]:
            return await self._client._request(
                "GET", request_path, decode, query=page_query, options=options
            )

        return paginate(
            request,
            _ttg_page,
            query,
            limit=limit,
            offset=offset,
            max_items=max_items,
            concurrency=concurrency,
            compact=compact,
        )

    async def _whole_list(
        self,
        request_path: str,
        decode: ListReader[T],
        query: dict[str, object],
        options: CallOptions | None,
    ) -> list[T]:
        """Every item of a list the guides call unpaginated and the reference pages.

        ``limit`` and ``offset`` go with every request and every page the answer announces is
        walked, one after the other, advancing by the ``limit`` the server reports; an answer
        without ``pagination`` is the whole list. The first page is asked for directly, as
        most lists fit in it: the paginator joins only when a second page is announced.
        """
        first = {**query, "limit": WHOLE_LIST_LIMIT, "offset": 0}
        answer = await self._client._request(
            "GET", request_path, decode, query=first, options=options
        )
        following = next_offset(_ttg_page(answer, WHOLE_LIST_LIMIT, 0))
        if following is None:
            return answer[0]
        rest = self._paginator(
            request_path,
            decode,
            query=query,
            limit=WHOLE_LIST_LIMIT,
            offset=following,
            max_items=None,
            concurrency=1,
            options=options,
        )
        return answer[0] + await rest.collect()


class Locations(_Resource):
    """``ttg.locations``: the markets your retailer sells in."""

    __slots__ = ()

    def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        max_items: int | None = None,
        concurrency: int = 1,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Paginator[Location]:
        """Every location, page by page.

        >>> locations = await ttg.locations.list().collect()
        """
        return self._paginator(
            path("locations"),
            _DECODE_LOCATIONS,
            query={},
            limit=limit,
            offset=offset,
            max_items=max_items,
            concurrency=concurrency,
            options=call_options(extra_headers, timeout),
        )


class Events(_Resource):
    """``ttg.events``: shows and attractions."""

    __slots__ = ()

    def list(
        self,
        location_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        max_items: int | None = None,
        concurrency: int = 1,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Paginator[Event]:
        """The events of one location.

        >>> async for event in ttg.events.list("1"):
        ...     print(event.id, event.name)
        """
        return self._paginator(
            path("events"),
            _DECODE_EVENTS,
            query={"locationId": check_id(location_id, "location_id")},
            limit=limit,
            offset=offset,
            max_items=max_items,
            concurrency=concurrency,
            options=call_options(extra_headers, timeout),
            compact=_share_parts,
        )

    async def get(
        self,
        event_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Event:
        """One event. Raises [`NotFoundError`][ttg_async.NotFoundError] for an unknown ID.

        >>> event = await ttg.events.get("1001")
        """
        return await self._client._request(
            "GET",
            path("events", check_id(event_id, "event_id")),
            _DECODE_EVENT,
            options=call_options(extra_headers, timeout),
        )


class Occurrences(_Resource):
    """``ttg.occurrences``: the dated performances of an event."""

    __slots__ = ()

    async def list(
        self,
        event_id: str,
        *,
        quantity: int | None = None,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> list[Occurrence]:
        """Every occurrence of an event (dates are inclusive and event-local).

        The guides say the list comes in one answer, while the API reference pages it: the
        call always sends ``limit`` and ``offset`` and walks every page it is told of.

        >>> on_sale = [o for o in await ttg.occurrences.list("1001") if o.from_price]
        """
        event = check_id(event_id, "event_id")
        if quantity is not None:
            check_quantity(quantity)
        start = _iso_date(start_date, "start_date")
        end = _iso_date(end_date, "end_date")
        if start and end and start > end:
            raise ValueError(f"end_date: {end} is before start_date {start}")
        query: dict[str, object] = {"quantity": quantity, "startDate": start, "endDate": end}
        return await self._whole_list(
            path("events", event, "occurrences"),
            _DECODE_OCCURRENCES,
            query,
            call_options(extra_headers, timeout),
        )

    async def get(
        self,
        event_id: str,
        occurrence_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Occurrence:
        """One occurrence of an event.

        >>> show = await ttg.occurrences.get("1001", "100101")
        """
        request_path = path(
            "events",
            check_id(event_id, "event_id"),
            "occurrences",
            check_id(occurrence_id, "occurrence_id"),
        )
        return await self._client._request(
            "GET", request_path, _DECODE_OCCURRENCE, options=call_options(extra_headers, timeout)
        )


class Inventory(_Resource):
    """``ttg.inventory``: what can be bought for an occurrence, at a price tier."""

    __slots__ = ()

    async def list(
        self,
        event_id: str,
        occurrence_id: str,
        *,
        provider_code: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> list[InventoryItem]:
        """Purchasable items; ``provider_code`` selects a rate code's prices (case-sensitive).

        Like ``occurrences.list``, it sends ``limit`` and ``offset`` and walks every page the
        answer announces, so a server that pages inventory loses no item. An unknown code
        raises [`ProviderCodeNotFoundError`][ttg_async.ProviderCodeNotFoundError].

        >>> items = await ttg.inventory.list("1001", "50001", provider_code="campaign-may")
        """
        request_path = path(
            "events",
            check_id(event_id, "event_id"),
            "occurrences",
            check_id(occurrence_id, "occurrence_id"),
            "inventory-items",
        )
        query: dict[str, object] = {}
        if provider_code is not None:
            query["providerCode"] = check_provider_code(provider_code)
        return await self._whole_list(
            request_path, _DECODE_INVENTORY, query, call_options(extra_headers, timeout)
        )

    async def by_rate_codes(
        self,
        event_id: str,
        occurrence_id: str,
        provider_codes: Iterable[str | None],
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> dict[str | None, _Items | ProviderCodeNotFoundError]:
        """One concurrent inventory call per rate code; ``None`` stands for the default tier.

        A code the server does not recognise maps to its
        [`ProviderCodeNotFoundError`][ttg_async.ProviderCodeNotFoundError] instead of failing the
        others. Any other error cancels the rest and is raised.

        >>> tiers = await ttg.inventory.by_rate_codes("1001", "50001", [None, "campaign-may"])
        """
        if isinstance(provider_codes, str):
            raise TypeError("provider_codes: must be an iterable of codes, not a single str")
        check_id(event_id, "event_id")
        check_id(occurrence_id, "occurrence_id")
        codes: _Codes = []
        for index, code in enumerate(provider_codes):
            if code is not None:
                check_provider_code(code, f"provider_codes[{index}]")
            if code not in codes:
                codes.append(code)

        async def one(code: str | None) -> _Items | ProviderCodeNotFoundError:
            try:
                return await self.list(
                    event_id,
                    occurrence_id,
                    provider_code=code,
                    extra_headers=extra_headers,
                    timeout=timeout,
                )
            except ProviderCodeNotFoundError as exc:
                return exc

        tasks = [asyncio.ensure_future(one(code)) for code in codes]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            # A real failure (or our own cancellation) makes the other tiers moot.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return dict(zip(codes, results, strict=True))


class Carts(_Resource):
    """``ttg.carts``: holds on inventory, with a countdown to ``expires_at``."""

    __slots__ = ()

    async def create(
        self,
        items: Sequence[CartItemInput],
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Cart:
        """Hold the given items. All of them must come from one occurrence.

        Once the server answers 2xx the hold exists, so the answer never fails on a field the
        docs do not promise. If even its promised fields (such as the ID) cannot be read,
        [`CommittedWriteDecodeError`][ttg_async.CommittedWriteDecodeError] says the cart was created
        (``resource_id`` is its ID when readable) and is never retried.

        >>> item = CartItemInput.for_option(occurrence.id, inv_item, inv_item.price_options[0])
        >>> cart = await ttg.carts.create([item])
        """
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise TypeError("items: must be a sequence of CartItemInput")
        if not items:
            raise ValueError("items: must hold at least one CartItemInput")
        for index, item in enumerate(items):
            if not isinstance(item, CartItemInput):
                raise TypeError(
                    f"items[{index}]: must be a CartItemInput, not {type(item).__name__}"
                )
            if item.occurrence_id != items[0].occurrence_id:
                raise ValueError(
                    f"items[{index}].occurrence_id: every item of a cart must come from one "
                    f"occurrence ({items[0].occurrence_id!r}), got {item.occurrence_id!r}"
                )
        body = _json.encode({"items": list(items)})
        # The hold exists once the server answers 2xx: its answer is read leniently, and one
        # whose promised fields are unreadable raises CommittedWriteDecodeError, never retried.
        cart: Cart | None = None
        try:
            cart = await self._client._request(
                "POST",
                path("carts"),
                _DECODE_CART_CREATED,
                body=body,
                options=call_options(extra_headers, timeout),
            )
        finally:
            # Even a failed create may have made a hold: the occurrence's inventory is stale.
            self._client._shared.wrote(None if cart is None else cart.id, items[0].occurrence_id)
        return cart

    async def get(
        self,
        cart_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Cart:
        """A cart and its current total. An expired cart raises
        [`NotFoundError`][ttg_async.NotFoundError].

        >>> cart = await ttg.carts.get(cart.id)
        """
        cart = await self._client._request(
            "GET",
            path("carts", check_id(cart_id, "cart_id")),
            _DECODE_CART,
            options=call_options(extra_headers, timeout),
        )
        if cart.items:
            self._client._shared.saw_cart(cart_id, cart.items[0].occurrence_id)
        return cart

    async def delete(
        self,
        cart_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> None:
        """Release a hold early. Idempotent: a cart already gone is not an error.

        >>> await ttg.carts.delete(cart.id)
        """
        request_path = path("carts", check_id(cart_id, "cart_id"))
        try:
            await self._client._request(
                "DELETE", request_path, _empty, options=call_options(extra_headers, timeout)
            )
        except (NotFoundError, GoneError):
            # The hold no longer exists, which is what deleting it was for.
            return
        finally:
            # Even a failed delete may have released the hold.
            self._client._shared.wrote(cart_id, None)


class Orders(_Resource):
    """``ttg.orders``: checkout and order look-up."""

    __slots__ = ()

    async def create(
        self,
        cart_id: str,
        *,
        expected_total: Money,
        contact: Contact,
        idempotency_key: str | None = None,
        payment: Mapping[str, object] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Order:
        """Check out a cart. ``expected_total`` must equal the cart's current ``total``.

        Every attempt of this call sends the same ``Idempotency-Key`` (``idem_<hex>``, made
        here when you pass none), so a retry can never buy twice. Should the call fail with
        ``outcome_unknown``, call again with ``idempotency_key=exc.idempotency_key``: the
        server answers with the order if the first attempt created one.

        A 2xx means the order was placed, so this never raises because of an undocumented
        field. If even its promised field (the order's ID) cannot be read, it raises
        [`CommittedWriteDecodeError`][ttg_async.CommittedWriteDecodeError] (never retried): fetch
        the order with ``orders.get(exc.resource_id)``, or call again with ``exc.idempotency_key``.

        ``payment`` is a JSON object (a mapping), sent as the body's ``payment`` when given:
        the API reference lists such an object for checkout without showing its shape, so it
        goes as you pass it.

        >>> order = await ttg.orders.create(
        ...     cart.id, expected_total=cart.total, contact=Contact("Ann", "a@b.co", "+15550100")
        ... )
        """
        cart = check_id(cart_id, "cart_id")
        if not isinstance(expected_total, Money):
            raise TypeError(f"expected_total: must be a Money, not {type(expected_total).__name__}")
        if not isinstance(contact, Contact):
            raise TypeError(f"contact: must be a Contact, not {type(contact).__name__}")
        for field in ("name", "email", "phone"):
            if not getattr(contact, field).strip():
                raise ValueError(f"contact.{field}: must not be empty")
        if idempotency_key is None:
            key = new_idempotency_key()
        elif not isinstance(idempotency_key, str):
            raise TypeError(f"idempotency_key: must be a str, not {type(idempotency_key).__name__}")
        elif not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValueError("idempotency_key: must look like idem_<letters and digits>")
        elif len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
            raise ValueError(
                f"idempotency_key: must be at most {_MAX_IDEMPOTENCY_KEY} characters, "
                f"got {len(idempotency_key)}"
            )
        else:
            key = idempotency_key
        checkout: dict[str, object] = {
            "cartId": cart,
            "expectedTotal": expected_total,
            "contact": contact,
        }
        if payment is not None:
            checkout["payment"] = _json_object(payment, "payment")
        body = _json.encode(checkout)
        try:
            return await self._client._request(
                "POST",
                path("orders"),
                _DECODE_ORDER_PLACED,
                body=body,
                extra_headers={"Idempotency-Key": key},
                options=call_options(extra_headers, timeout),
            )
        except TTGError as exc:
            exc.idempotency_key = key
            raise
        except asyncio.CancelledError as exc:
            # A cancelled checkout may still have bought the tickets: keep its key reachable,
            # so that the caller can ask again with it and get that order (or make it once).
            exc.idempotency_key = key  # type: ignore[attr-defined]
            exc.add_note(f"ttg_async: the cancelled checkout used idempotency_key={key}")
            raise
        finally:
            # Placed, or maybe placed: the cart and its occurrence's inventory are stale.
            self._client._shared.wrote(cart, None)

    async def get(
        self,
        order_id: str,
        *,
        cart_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | NotGiven = NOT_GIVEN,
    ) -> Order:
        """One order, with its tickets and barcodes.

        >>> order = await ttg.orders.get(order.id)
        """
        query = {} if cart_id is None else {"cartId": check_id(cart_id, "cart_id")}
        return await self._client._request(
            "GET",
            path("orders", check_id(order_id, "order_id")),
            _DECODE_ORDER,
            query=query,
            options=call_options(extra_headers, timeout),
        )


_DECODE_LOCATIONS: Final = _many(Location)
_DECODE_EVENTS: Final = _many(Event)
_DECODE_EVENT: Final = _one(Event)
_DECODE_OCCURRENCE: Final = _one(Occurrence)
_DECODE_OCCURRENCES: Final = _many(Occurrence)
_DECODE_INVENTORY: Final = _many(InventoryItem)
_DECODE_CART: Final = _one(Cart)
_DECODE_ORDER: Final = _one(Order)
# A 2xx to these writes means the order was placed or the hold made: never fail on the shape.
_DECODE_CART_CREATED: Final = _one(Cart, committed="cart")
_DECODE_ORDER_PLACED: Final = _one(Order, committed="order")
