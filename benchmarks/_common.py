"""What the runner, the worker and every approach share: credentials, scenarios, CPU probes.

Each approach module (``approach_*.py``) exposes the same functions:

- ``connect(base_url)``: an async context manager yielding that approach's client;
- ``warm_up(client)``: one small request, so lazy set-up and the first connection stay
  out of the timed section;
- ``crawl_catalog(client, *, limit, concurrency) -> int``: every event of every location,
  through limit/offset pages; returns the number of events;
- ``fetch_inventories(client, targets, *, concurrency) -> int``: one inventory call per
  ``(event_id, occurrence_id)``; returns the number of items;
- ``fetch_rate_codes(client, targets, codes, *, concurrency) -> int``: one inventory call per
  target and code (``None`` is the default tier); returns the number of items;
- ``get_events(client, event_ids, *, concurrency) -> int``: one small ``GET /events/{id}``
  each; returns the number of events.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

API_KEY: Final = "sk_test_bench"
RETAILER: Final = "bench"
PLATFORM: Final = "api"
API: Final = "/api/v3"

#: The headers the API requires on every call, as a hand-written client would send them.
HEADERS: Final = {
    "X-TT-API-Key": API_KEY,
    "X-TT-Retailer": RETAILER,
    "X-TT-Platform": PLATFORM,
    "Accept": "application/json",
}

#: The connection pool size of every approach (the SDK's default ``max_connections``).
MAX_CONNECTIONS: Final = 64

#: The rate codes the sandbox seeds; an event whose 0-based index is a multiple of 30 has all.
RATE_CODES: Final[list[str | None]] = [None, "campaign-may", "MEMBERS", "VIP-PLUS"]

APPROACHES: Final = ("raw_json", "raw_msgspec", "sdk")
BASELINE: Final = "raw_json"


@dataclass(frozen=True)
class Scenario:
    """One timed workload: the approach function to call and its keyword arguments."""

    name: str
    function: str
    kwargs: dict[str, object]
    requests: int
    description: str
    #: How many times the worker repeats the call back to back (times are per round).
    rounds: int = 1


_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of another process (all its threads), or ``None`` off Linux.

    Read from ``/proc/<pid>/task/*/schedstat`` (nanoseconds) where the kernel provides it,
    else from ``/proc/<pid>/stat`` (user plus system time, in clock ticks of 10 ms, too coarse
    for a run of a few tens of milliseconds).
    """
    try:
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                total += int(stat.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
