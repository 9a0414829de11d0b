"""What the runner, the worker and every approach share: credentials, scenarios, probes.

Each approach module (``approach_*.py``) exposes the same functions:

- ``connect(base_url)``: an async context manager yielding that approach's client;
- ``warm_up(client)``: one small request, so lazy set-up and the first connection stay
  out of the timed section;
- ``get_events(client, event_ids, *, concurrency) -> int``: one small ``GET /events/{id}``
  each, at most ``concurrency`` in flight; returns the number of events;
- ``fetch_inventories(client, targets, *, concurrency) -> int``: one inventory call per
  ``(event_id, occurrence_id)``; returns the number of items;
- ``fetch_rate_codes(client, targets, codes, *, concurrency) -> int``: for each target, one
  inventory call per code, all codes of a target at once (``None`` is the default tier);
  returns the number of items;
- ``crawl_catalog(client, *, limit) -> int``: every event of every location, page by page;
  returns the number of events;
- ``stream_events(client, location_id, *, limit) -> int``: every event of one location, each
  looked at once and dropped; returns the number of events;
- ``collect_events(client, location_id, *, limit) -> int``: the same events, kept in one list
  until the end; returns its length.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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

#: The ten codes of ``rate-codes-10``: the default tier and nine configured on every event
#: (the sandbox is started with ``--rate-code bench-1 ... --rate-code bench-9``).
BENCH_CODES: Final[list[str | None]] = [None, *(f"bench-{n}" for n in range(1, 10))]

#: The ``_type`` the sandbox sends for every extra in the unknown-type scenarios.
UNKNOWN_TYPE: Final = "Bundle"

#: Every approach, and the baseline every ratio is taken against.
APPROACHES: Final = ("raw_structs", "raw_json", "httpx_pydantic", "sdk")
BASELINE: Final = "raw_structs"
#: ``sdk_before`` is the SDK of another commit (``run.py --before REV``), run the same way.
BEFORE: Final = "sdk_before"

LABELS: Final = {
    "raw_structs": "aiohttp + msgspec Structs (baseline)",
    "raw_json": "aiohttp + json.loads",
    "httpx_pydantic": "httpx + pydantic v2",
    "sdk": "ttg_async",
    "sdk_before": "ttg_async before",
}


@dataclass(frozen=True)
class Scenario:
    """One timed workload: the approach function to call and its keyword arguments."""

    name: str
    group: str  # which sandbox it runs on (see run.py's SANDBOXES)
    function: str
    kwargs: dict[str, object]
    requests: int
    description: str
    #: How many times the worker repeats the call back to back (times are per round).
    rounds: int = 1
    #: The approaches that run it (all, when empty).
    approaches: tuple[str, ...] = field(default=())


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


def memory_kib(name: str) -> int | None:
    """A line of ``/proc/self/status`` in KiB (``VmRSS``: now, ``VmHWM``: the peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_memory() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux >= 4.0); False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True
