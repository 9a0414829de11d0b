"""The wire log: what each request carried and what the server did with it.

Tests of a client's retry logic must judge it by what went over the wire, not by what the test
handed the client: the ``X-Request-ID`` and ``Idempotency-Key`` each arrival carried, which
fault hit it, and whether the handler held a cart, placed an order or released a hold.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

WIRE_LOG_SIZE: Final = 100_000
"""How many requests the log keeps; older ones are dropped (a benchmark's millions would not
fit in memory). Tests read far fewer."""


@dataclass(slots=True)
class WireRecord:
    """One request as the sandbox saw it. Read them with
    [`Sandbox.wire_log`][ttg_async.sandbox.Sandbox.wire_log].

    ``request_id`` and ``idempotency_key`` are the headers exactly as sent (``None`` when
    absent). ``fault`` is the kind of fault that hit the request, if any. ``handled`` is the
    status the handler answered with (``None`` when a fault struck first, or the client had
    gone before the work began); ``answered`` is the status the client was sent (``None`` when
    the connection was reset or cut, or nothing was sent). ``cart_id`` names the cart the
    request created, checked out or deleted, and ``order_id`` the order it placed or replayed;
    ``created`` is true when a new cart or order came into being, ``released`` when a hold was
    released. ``target`` is the request target exactly as it arrived: the raw path and query,
    still percent-encoded.

    >>> from ttg_async.sandbox import Sandbox
    >>> sb = Sandbox()
    >>> # after some traffic:
    >>> placed = [r.order_id for r in sb.wire_log("POST /api/v3/orders") if r.created]
    """

    seq: int
    route: str
    request_id: str | None
    idempotency_key: str | None
    fault: str | None = None
    handled: int | None = None
    answered: int | None = None
    cart_id: str | None = None
    order_id: str | None = None
    created: bool = False
    released: bool = False
    target: str | None = None


class WireLog:
    """A bounded, append-only list of [`WireRecord`][ttg_async.sandbox.WireRecord], oldest first."""

    def __init__(self, size: int = WIRE_LOG_SIZE) -> None:
        self.records: deque[WireRecord] = deque(maxlen=size)
        self._seq = 0

    def open(
        self, route: str, request_id: str | None, key: str | None, target: str | None = None
    ) -> WireRecord:
        self._seq += 1
        record = WireRecord(self._seq, route, request_id, key, target=target)
        self.records.append(record)
        return record

    def clear(self) -> None:
        self.records.clear()
