"""Scripted faults: what can go wrong between a client and TTG, on demand."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

# Faults that strike before the request is handled: nothing changes on the server.
BEFORE_HANDLING: Final = frozenset({"status", "html_502", "proxy_status", "reset_before", "slow"})
# Faults that strike after the handler has done its work (a cart held, an order placed, a
# hold released): only the answer is lost, late or wrong. These are what a client's retry
# decisions are really tested by.
AFTER_COMMIT: Final = frozenset(
    {
        "status_after_commit",
        "html_502_after_commit",
        "reset_after_commit",
        "slow_after_commit",
        "truncate",
        "nested_after_commit",
    }
)
KINDS: Final = BEFORE_HANDLING | AFTER_COMMIT


@dataclass(eq=False)
class Fault:
    """One scripted fault on a route. Returned by
    [`Sandbox.inject`][ttg_async.sandbox.Sandbox.inject].

    It fires on the next ``times`` matching requests, or on each matching request with
    probability ``probability`` (drawn from a RNG seeded with ``seed``, so runs repeat).
    ``hits`` counts how often it fired.

    >>> from ttg_async.sandbox import Sandbox
    >>> sb = Sandbox()
    >>> fault = sb.inject("POST /api/v3/orders", "reset_after_commit", times=1)
    >>> fault.remaining
    1
    """

    route: str
    kind: str
    times: int | None = None
    probability: float | None = None
    seed: int = 0
    status: int = 503
    retry_after: float | None = None
    delay: float = 1.0
    hits: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.times is not None and self.probability is not None:
            raise ValueError("give times or probability, not both")
        if self.times is None and self.probability is None:
            self.times = 1
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("a status fault needs a 4xx or 5xx status")
        if self.kind == "status_after_commit" and not 500 <= self.status <= 599:
            # A 4xx says the request was refused; after the work is done only a 5xx is honest.
            raise ValueError("a status_after_commit fault needs a 5xx status")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        self._rng = random.Random(self.seed)

    @property
    def remaining(self) -> int | None:
        """How many more times a ``times`` fault fires; ``None`` for a probability fault."""
        return None if self.times is None else self.times - self.hits

    def matches(self, route: str) -> bool:
        return self.route == "*" or self.route == route

    def fire(self) -> bool:
        """Decide whether this matching request is hit, and count it if so."""
        if self.times is not None:
            hit = self.hits < self.times
        else:
            assert self.probability is not None
            hit = self._rng.random() < self.probability
        if hit:
            self.hits += 1
        return hit


class FaultPlan:
    """The faults in force, checked in the order they were injected; the first hit wins."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def pick(self, route: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(route) and fault.fire():
                return fault
        return None


# What a reverse proxy says when the origin is unreachable; deliberately not JSON.
def proxy_answer(status: int) -> bytes:
    """What a proxy or gateway in front of the API answers on its own: a status line's reason
    as plain text, with no error envelope and no code (say, a bare ``401 Unauthorized``)."""
    from http import HTTPStatus

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return f"{status} {reason}\n".encode()


PROXY_502: Final = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
