"""Compare two saved profiles function by function: where does one spend more CPU?

    python benchmarks/run.py --profile small-seq --profile-out sdk.pstats
    python benchmarks/run.py --profile small-seq --approach raw_structs --profile-out raw.pstats
    python benchmarks/compare_profiles.py sdk.pstats raw.pstats [--calls 1000] [--top 25]

Prints both totals and the functions whose own time (``tottime``) is larger in the first
profile, per call of the scenario when ``--calls`` is given. The worker profiles in CPU time.
"""

from __future__ import annotations

import argparse
import os
import pstats
from typing import Any


def _own_times(path: str) -> tuple[dict[str, tuple[int, float]], float]:
    stats: Any = pstats.Stats(path)
    found: dict[str, tuple[int, float]] = {}
    for (filename, line, name), (_, ncalls, tottime, _, _) in stats.stats.items():
        key = f"{os.path.basename(filename)}:{line}({name})"
        found[key] = (ncalls, tottime)
    return found, float(stats.total_tt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--calls", type=int, default=1, help="divide by this many calls")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    a, total_a = _own_times(args.first)
    b, total_b = _own_times(args.second)
    unit, scale = ("us/call", 1e6 / args.calls) if args.calls > 1 else ("ms", 1e3)
    print(f"total: {total_a * scale:,.1f} against {total_b * scale:,.1f} {unit}")
    extra = sorted(
        ((a[k][1] - b.get(k, (0, 0.0))[1], k) for k in a), key=lambda item: item[0], reverse=True
    )
    print(f"| function | extra {unit} | calls (first) | calls (second) |")
    print("|---|--:|--:|--:|")
    for delta, key in extra[: args.top]:
        print(f"| `{key}` | {delta * scale:,.1f} | {a[key][0]} | {b.get(key, (0, 0))[0]} |")


if __name__ == "__main__":
    main()
