"""The sandbox's mutable state: its clock, stock, carts, orders and idempotency keys.

Every method runs without awaiting, so on one event loop each request's change is atomic.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from ttg_async.sandbox._catalog import LRU, Catalog, Currency, ItemTemplate, Occurrence
from ttg_async.sandbox._ids import parse_item_token, parse_price_token, price_token
from ttg_async.sandbox._pricing import Pricing, RateRule, RetailerConfig
from ttg_async.sandbox._wire import ApiError, encode, invalid, money, not_found, utc_timestamp

IDEMPOTENCY_TTL: Final = 24 * 3600.0
TICKET_KINDS: Final = frozenset({"AssignedSeat", "GeneralAdmission"})
# Markets whose totals include VAT that the receipt discloses; elsewhere totalTaxes is null.
VAT_COUNTRIES: Final = frozenset({"GB", "IE", "FR", "DE", "ES", "NL"})

# (occurrence id, the retailer's markup, the rate rule): everything an inventory list's bytes
# depend on, apart from stock (filled in live) and price overrides (never cached).
_InventoryKey = tuple[str, int, RateRule | None]
# (item, head, tail): head + quantityAvailable + tail is the item's JSON object.
_ItemParts = tuple[tuple[ItemTemplate, bytes, bytes], ...]


@dataclass(slots=True)
class CartLine:
    item: ItemTemplate
    category: str
    tier: str
    option_id: str
    quantity: int


@dataclass(slots=True)
class Cart:
    id: str
    retailer: str
    occ: Occurrence
    lines: list[CartLine]
    expires_at: float
    state: str = "active"  # active | expired | deleted | ordered
    order_id: str | None = None
    final: dict[str, Any] | None = None  # the priced cart frozen at checkout


@dataclass(slots=True)
class Order:
    id: str
    retailer: str
    cart_id: str
    encoded: bytes
    payment: dict[str, Any] | None = None


@dataclass(slots=True)
class Counters:
    requests: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    orders_by_cart: dict[str, list[str]] = field(default_factory=dict)
    orders_by_key: dict[str, list[str]] = field(default_factory=dict)


class State:
    """Stock, carts and orders on top of a `Catalog` and its `Pricing`."""

    def __init__(self, catalog: Catalog, pricing: Pricing, hold_seconds: float) -> None:
        self.catalog = catalog
        self.pricing = pricing
        self.hold_seconds = hold_seconds
        # Off: only the Idempotency-Key replay stands between a client and a duplicate. A
        # second order for a cart is placed, and a hold may oversell, so a client's bug shows
        # up as a duplicate instead of being refused (see Sandbox(unprotected=True)).
        self.unprotected = False
        self.clock_offset = 0.0
        self.held: dict[tuple[str, str], int] = {}
        self.touched: set[str] = set()  # occurrences with any hold or sale, ever
        self.sold: dict[tuple[str, str], int] = {}
        self.carts: dict[str, Cart] = {}
        self.orders: dict[str, Order] = {}
        self.keys: dict[str, tuple[str, str, float]] = {}  # key -> (cart id, order id, created)
        self.counters = Counters()
        self._expiry: list[tuple[float, str]] = []
        self._next_cart = 0
        self._next_order = 0
        self._next_ticket = 0
        # Encoded inventory lists (about 7 kB each) and, for occurrences with holds or sales,
        # their items' fragments; see inventory_body.
        self._inventory_bodies: LRU[_InventoryKey, bytes] = LRU(1024)
        self._inventory_fragments: LRU[_InventoryKey, _ItemParts] = LRU(256)

    # -- clock and expiry ----------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def sweep(self) -> None:
        """Release the stock of every hold that has run out. Called on each request."""
        now = self.now()
        while self._expiry and self._expiry[0][0] <= now:
            _, cart_id = heapq.heappop(self._expiry)
            cart = self.carts[cart_id]
            if cart.state == "active" and cart.expires_at <= now:
                self._release(cart, "expired")

    def expire(self, cart_id: str) -> None:
        cart = self.carts[cart_id]
        if cart.state == "active":
            cart.expires_at = min(cart.expires_at, self.now())
            self._release(cart, "expired")

    def _release(self, cart: Cart, state: str) -> None:
        for line in cart.lines:
            key = (cart.occ.id, line.item.variant_id)
            self.held[key] -= line.quantity
        cart.state = state

    # -- availability and views ----------------------------------------------------------
    def available(self, occ_id: str, item: ItemTemplate) -> int:
        key = (occ_id, item.variant_id)
        return item.base_qty - self.sold.get(key, 0) - self.held.get(key, 0)

    def inventory_body(
        self, retailer: RetailerConfig, occ: Occurrence, rule: RateRule | None
    ) -> bytes:
        """The inventory list's response body, ``{"data": [...]}``, encoded.

        Each item is pre-encoded as two fragments around its ``quantityAvailable`` and cached
        by what its bytes depend on: the occurrence, the retailer's markup and the tier (the
        rule's value, so a changed or withdrawn code never hits a stale entry). Occurrences
        nobody has held or bought from have their whole body cached; for others the current
        quantities are filled in. An occurrence with a price override is never cached.
        """
        key = (occ.id, retailer.markup_percent, rule)
        overridden = occ.id in self.pricing.overridden
        if occ.id not in self.touched and not overridden:
            body = self._inventory_bodies.get(key)
            if body is None:
                # Nothing held or sold here: every item has its base quantity.
                parts = self._inventory_parts(retailer, occ, rule)
                body = _list_body(
                    [b"%b%d%b" % (h, it.base_qty, t) for it, h, t in parts if it.base_qty > 0]
                )
                self._inventory_bodies.put(key, body)
            return body
        cached = None if overridden else self._inventory_fragments.get(key)
        if cached is None:
            cached = self._inventory_parts(retailer, occ, rule)
            if not overridden:
                self._inventory_fragments.put(key, cached)
        chunks = []
        for it, head, tail in cached:
            avail = self.available(occ.id, it)
            if avail > 0:  # sold or held items are not offered
                chunks.append(b"%b%d%b" % (head, avail, tail))
        return _list_body(chunks)

    def inventory_items(
        self, retailer: RetailerConfig, occ: Occurrence, rule: RateRule | None
    ) -> list[bytes]:
        """Every offered item of the inventory list, each encoded, for the paged answer."""
        return [
            b"%b%d%b" % (head, avail, tail)
            for it, head, tail in self._inventory_parts(retailer, occ, rule)
            if (avail := self.available(occ.id, it)) > 0
        ]

    def _inventory_parts(
        self, retailer: RetailerConfig, occ: Occurrence, rule: RateRule | None
    ) -> _ItemParts:
        """Every item of the occurrence as ``(item, head, tail)``.

        ``head + quantityAvailable + tail`` is exactly the encoded item object.
        """
        out = []
        cur = occ.event.location.currency.code
        for it in self.catalog.inventory(occ).items:
            tier = rule.code if rule is not None and rule.covers(it) else ""
            options = []
            for p in it.prices:
                priced = self.pricing.price(retailer, occ, it, p.category, rule)
                assert priced is not None
                sell, lst = priced
                opt: dict[str, Any] = {
                    "id": price_token(occ.id, it.variant_id, p.category, tier),
                    "category": {"name": p.category},
                }
                if lst is not None:
                    opt["listPrice"] = money(lst, cur)
                opt["sellPrice"] = money(sell, cur)
                options.append(opt)
            # The keys in the documented order: id, inventoryVariant, quantityAvailable,
            # priceOptions.
            head = b'{"id":%b,"inventoryVariant":%b,"quantityAvailable":' % (
                encode(it.token(occ.id)),
                encode(it.variant_wire()),
            )
            out.append((it, head, b',"priceOptions":%b}' % encode(options)))
        return tuple(out)

    def occurrence_view(
        self, retailer: RetailerConfig, occ: Occurrence, min_quantity: int | None = None
    ) -> dict[str, Any] | None:
        """The occurrence with its price summary; ``None`` if it has < ``min_quantity`` left."""
        cur = occ.event.location.currency.code
        low: int | None = None
        best_amount = best_pct = 0
        tickets = 0
        pairs: Iterable[tuple[ItemTemplate, int]]
        if occ.id in self.touched or occ.id in self.pricing.overridden:
            items = self.catalog.inventory(occ).items
            pairs = ((it, self.available(occ.id, it)) for it in items)
        else:
            # Nothing held, sold or re-priced here: one sample per price group will do.
            pairs = self.catalog.plan(occ).groups
        for it, avail in pairs:
            if it.kind not in TICKET_KINDS or avail <= 0:
                continue
            tickets += avail
            for p in it.prices:
                priced = self.pricing.price(retailer, occ, it, p.category, None)
                assert priced is not None
                sell, lst = priced
                low = sell if low is None or sell < low else low
                if lst is not None:
                    best_amount = max(best_amount, lst - sell)
                    best_pct = max(best_pct, (lst - sell) * 100 // lst)
        if min_quantity is not None and tickets < min_quantity:
            return None
        view = dict(occ.wire)
        view["fromPrice"] = None if low is None else money(low, cur)
        mode = occ.event.discount_mode
        # Each discount field is omitted, not null, when there is no discount.
        if best_amount and mode in ("both", "amount"):
            view["maxDiscountAmount"] = money(best_amount, cur)
        if best_pct and mode in ("both", "percent"):
            view["maxDiscountPercentage"] = best_pct
        return view

    # -- carts ---------------------------------------------------------------------------
    def create_cart(self, retailer_name: str, retailer: RetailerConfig, items: Any) -> Cart:
        """Validate ``items`` (the decoded JSON), reserve the stock and start the hold."""
        if not isinstance(items, list) or not items:
            raise invalid("items", "items must be a non-empty list.")
        if len(items) > 50:
            raise invalid("items", "A cart holds at most 50 items.")
        occ: Occurrence | None = None
        lines: list[CartLine] = []
        wanted: dict[str, int] = {}
        for i, raw in enumerate(items):
            p = f"items[{i}]"
            if not isinstance(raw, dict):
                raise invalid(p, f"{p} must be an object.")
            fields = {}
            for name in ("occurrenceId", "inventoryItemId", "priceOptionId"):
                value = raw.get(name)
                if not isinstance(value, str) or not value:
                    raise invalid(f"{p}.{name}", f"{p}.{name} must be a non-empty string.")
                fields[name] = value
            qty = raw.get("quantity", 1)
            # JSON has one number type: 2.0 is the integer 2 (as JSON Schema says), 2.5 is not.
            if isinstance(qty, float) and qty.is_integer():
                qty = int(qty)
            if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
                raise invalid(f"{p}.quantity", f"{p}.quantity must be a positive integer.")
            if occ is None:
                occ = self.catalog.occurrence_by_id(fields["occurrenceId"])
                if occ is None or not self.pricing.can_see(retailer, occ.event):
                    raise not_found("occurrence", fields["occurrenceId"], param=f"{p}.occurrenceId")
            elif fields["occurrenceId"] != occ.id:
                raise ApiError(
                    400,
                    "MULTIPLE_OCCURRENCES",
                    "All items in a cart must come from the same occurrence.",
                    param=f"{p}.occurrenceId",
                )
            parsed = parse_item_token(fields["inventoryItemId"])
            item = None
            if parsed is not None and parsed[0] == occ.id:
                item = self.catalog.item(occ, parsed[1])
            if item is None:
                raise not_found(
                    "inventoryItem", fields["inventoryItemId"], param=f"{p}.inventoryItemId"
                )
            option = parse_price_token(fields["priceOptionId"])
            if (
                option is None
                or option[:2] != (occ.id, item.variant_id)
                or item.price(option[2]) is None
                or not self._tier_ok(retailer_name, occ, item, option[3])
            ):
                raise ApiError(
                    400,
                    "INVALID_PRICE_OPTION",
                    "That price option does not belong to this inventory item.",
                    param=f"{p}.priceOptionId",
                )
            if item.kind == "AssignedSeat" and qty != 1:
                raise ApiError(
                    400,
                    "INVALID_QUANTITY",
                    "An assigned seat is sold one at a time: quantity must be 1.",
                    param=f"{p}.quantity",
                )
            requested = wanted.get(item.variant_id, 0) + qty
            avail = self.available(occ.id, item)
            if requested > avail and not self.unprotected:
                raise ApiError(
                    409,
                    "INVENTORY_EXHAUSTED",
                    "Not enough of this item is left.",
                    param=f"{p}.quantity",
                    details={"availableQuantity": max(avail, 0), "requestedQuantity": requested},
                )
            wanted[item.variant_id] = requested
            lines.append(CartLine(item, option[2], option[3], fields["priceOptionId"], qty))
        assert occ is not None
        self.touched.add(occ.id)
        for line in lines:
            key = (occ.id, line.item.variant_id)
            self.held[key] = self.held.get(key, 0) + line.quantity
        self._next_cart += 1
        cart = Cart(f"cart_{self._next_cart:06d}", retailer_name, occ, lines, 0.0)
        cart.expires_at = self.now() + self.hold_seconds
        self.carts[cart.id] = cart
        heapq.heappush(self._expiry, (cart.expires_at, cart.id))
        return cart

    def _tier_ok(self, retailer: str, occ: Occurrence, item: ItemTemplate, tier: str) -> bool:
        if not tier:
            return True
        rule = self.pricing.rule(retailer, occ.event, tier)
        return rule is not None and rule.covers(item)

    def visible_cart(self, retailer: str, cart_id: str) -> Cart | None:
        cart = self.carts.get(cart_id)
        return cart if cart is not None and cart.retailer == retailer else None

    def delete_cart(self, retailer: str, cart_id: str) -> bool:
        """Release an active hold; whether there was one to release."""
        cart = self.visible_cart(retailer, cart_id)
        if cart is not None and cart.state == "active":
            self._release(cart, "deleted")
            return True
        return False

    def cart_view(self, cart: Cart) -> dict[str, Any]:
        """The cart priced now: a price change shows up here until the cart is ordered."""
        if cart.final is not None:
            return cart.final
        occ = cart.occ
        cur = occ.event.location.currency
        retailer = self.pricing.retailer(cart.retailer)
        assert retailer is not None
        items = []
        subtotal = tickets = 0
        for n, line in enumerate(cart.lines, 1):
            rule = self.pricing.rule(cart.retailer, occ.event, line.tier) if line.tier else None
            priced = self.pricing.price(retailer, occ, line.item, line.category, rule)
            assert priced is not None
            unit = priced[0]
            subtotal += unit * line.quantity
            if line.item.kind in TICKET_KINDS:
                tickets += line.quantity
            items.append(
                {
                    "id": f"ci_{n}",
                    "occurrenceId": occ.id,
                    "inventoryItemId": line.item.token(occ.id),
                    "priceOptionId": line.option_id,
                    "quantity": line.quantity,
                    "inventoryVariant": line.item.variant_wire(),
                    "unitPrice": money(unit, cur.code),
                    "total": money(unit * line.quantity, cur.code),
                }
            )
        lines, total = receipt(cur, subtotal, tickets, fee=occ.event.index % 2 == 0)
        taxes = None
        if occ.event.location.country in VAT_COUNTRIES:
            taxes = money(total * 20 // 120, cur.code)
        return {
            "id": cart.id,
            "expiresAt": utc_timestamp(cart.expires_at),
            "items": items,
            "receiptLines": lines,
            "total": money(total, cur.code),
            "totalTaxes": taxes,
            "protection": None,
        }

    # -- orders --------------------------------------------------------------------------
    def checkout(
        self, retailer: str, key: str, cart_id: str, expected: dict[str, Any], contact: Any
    ) -> tuple[Order, bool]:
        """Place the order; returns ``(order, created)``. ``created`` is False on a replay."""
        now = self.now()
        record = self.keys.get(key)
        if record is not None and now - record[2] >= IDEMPOTENCY_TTL:
            del self.keys[key]  # keys are forgotten after 24 hours
            record = None
        if record is not None:
            if record[0] != cart_id:
                raise ApiError(
                    409,
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was already used with another cart.",
                    param="Idempotency-Key",
                )
            return self.orders[record[1]], False
        cart = self.visible_cart(retailer, cart_id)
        if cart is None or cart.state == "deleted":
            raise not_found("cart", cart_id, param="cartId")
        if cart.state == "expired":
            raise ApiError(410, "CART_EXPIRED", "The cart's hold has expired.", param="cartId")
        again = cart.state == "ordered"
        if again and not self.unprotected:
            raise ApiError(
                409,
                "CART_ALREADY_ORDERED",
                "This cart has already been checked out.",
                param="cartId",
                details={"orderId": cart.order_id},
            )
        # Unprotected, a new key checks the same cart out again: a double charge, on purpose.
        view = self.cart_view(cart)
        if view["total"] != expected:
            raise ApiError(
                409,
                "TOTAL_PRICE_MISMATCH",
                "expectedTotal does not match the cart total.",
                param="expectedTotal",
                details={"cartTotal": view["total"], "expectedTotal": expected},
            )
        if not again:
            for line in cart.lines:
                k = (cart.occ.id, line.item.variant_id)
                self.held[k] -= line.quantity
                self.sold[k] = self.sold.get(k, 0) + line.quantity
            cart.state = "ordered"
            cart.final = view
        self._next_order += 1
        order_id = f"ord_{self._next_order:06d}"
        if not again:
            cart.order_id = order_id
        body = {
            "id": order_id,
            "confirmationNumber": f"TTG-{self.catalog.seed % 1000:03d}{self._next_order:06d}",
            "status": "CONFIRMED",
            "cartId": cart.id,
            "contact": contact,
            "items": [dict(it, tickets=self._tickets(cart, it)) for it in view["items"]],
            "receiptLines": view["receiptLines"],
            "total": view["total"],
            "totalTaxes": view["totalTaxes"],
            "createdAt": utc_timestamp(now),
        }
        order = Order(order_id, retailer, cart.id, encode({"data": body}))
        self.orders[order_id] = order
        self.keys[key] = (cart.id, order_id, now)
        self.counters.orders_by_cart.setdefault(cart.id, []).append(order_id)
        self.counters.orders_by_key.setdefault(key, []).append(order_id)
        return order, True

    def _tickets(self, cart: Cart, item: dict[str, Any]) -> list[dict[str, Any]]:
        venue = cart.occ.event.venue
        out = []
        for _ in range(item["quantity"]):
            self._next_ticket += 1
            n = self._next_ticket
            barcode: dict[str, Any] | None = None
            # Delayed-delivery venues issue barcodes later, so the order has none yet.
            if not venue.delayed_delivery:
                value = f"{(self.catalog.seed * 7919 + n * 104729) % 10**12:012d}{n % 10000:04d}"
                barcode = {"value": value, "format": "QR_CODE"}
                if venue.kind == "arena":
                    barcode["imageUrl"] = f"https://barcodes.sandbox.invalid/{value}.png"
            out.append({"id": f"tkt_{n:07d}", "barcode": barcode})
        return out


def _list_body(items: list[bytes]) -> bytes:
    """Exactly ``encode({"data": [...]})`` for already encoded items."""
    return b"".join((b'{"data":[', b",".join(items), b"]}"))


def receipt(
    cur: Currency, subtotal: int, tickets: int, *, fee: bool
) -> tuple[list[dict[str, Any]], int]:
    """The receipt lines and the total they add up to (sum of sign * amount)."""
    lines: list[dict[str, Any]] = [
        {
            "_type": "SubtotalLine",
            "label": "Subtotal",
            "sign": 1,
            "total": money(subtotal, cur.code),
        }
    ]
    total = subtotal
    if fee:
        amount = cur.step * 5
        lines.append(
            {
                "_type": "FeeLine",
                "label": "Transaction fee",
                "sign": 1,
                "total": money(amount, cur.code),
            }
        )
        total += amount
    if tickets >= 4:
        # A group saving, so receipts also show a credit line.
        amount = subtotal * 5 // 100 // cur.step * cur.step
        if amount > 0:
            lines.append(
                {
                    "_type": "VoucherLine",
                    "label": "Group saving (5%)",
                    "sign": -1,
                    "total": money(amount, cur.code),
                }
            )
            total -= amount
    return lines, total
