"""Turns the runner's samples into ratios, the Markdown tables, the target checks, the JSON
file and the chart. Pure functions of the samples, apart from writing the files."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _common import BASELINE, BEFORE, LABELS, Scenario


@dataclass
class Sample:
    seconds: float
    count: int
    cpu: float
    server_cpu: float | None
    peak_mb: float | None


#: scenario -> approach -> one sample per run (index = run number, so pairs line up).
Results = dict[str, dict[str, list[Sample]]]


@dataclass(frozen=True)
class Spread:
    """The median of paired ratios, with their min and max (or of plain values)."""

    median: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}-{self.high:.2f})"


def spread(values: Sequence[float]) -> Spread | None:
    values = [v for v in values if v == v]  # drop NaN
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values), len(values))


def paired(
    a: Sequence[Sample], b: Sequence[Sample], value: Callable[[Sample], float | None]
) -> Spread | None:
    """``value(a[i]) / value(b[i])`` for every run ``i`` both have: the pairs of one run."""
    ratios = []
    for x, y in zip(a, b, strict=False):
        vx, vy = value(x), value(y)
        if vx is not None and vy is not None and vy > 0:
            ratios.append(vx / vy)
    return spread(ratios)


def _cpu(s: Sample) -> float:
    return s.cpu


def _wall(s: Sample) -> float:
    return s.seconds


def _peak(s: Sample) -> float | None:
    return s.peak_mb


def problems(plan: Sequence[Scenario], results: Results) -> list[str]:
    """Scenarios whose approaches disagree on what they fetched, or fetched nothing."""
    found = []
    for scenario in plan:
        counts = {s.count for samples in results[scenario.name].values() for s in samples}
        if len(counts) != 1 or 0 in counts or -1 in counts:
            found.append(f"{scenario.name}: counts differ or are empty: {sorted(counts)}")
    return found


def table(plan: Sequence[Scenario], results: Results) -> str:
    rows = [
        "| scenario | approach | wall ms | client CPU ms | CPU us/req | CPU x baseline "
        "| wall x baseline | peak RSS growth MB | sandbox CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario in plan:
        by_approach = results[scenario.name]
        base = by_approach.get(BASELINE)
        for approach, samples in by_approach.items():
            wall = statistics.median(s.seconds for s in samples)
            cpu = statistics.median(s.cpu for s in samples)
            peaks = [s.peak_mb for s in samples if s.peak_mb is not None]
            server = [s.server_cpu / s.seconds for s in samples if s.server_cpu]
            cpu_x = wall_x = "-"
            if base is not None and approach != BASELINE:
                cpu_x = str(paired(samples, base, _cpu) or "-")
                wall_x = str(paired(samples, base, _wall) or "-")
            peak = f"{statistics.median(peaks):,.1f}" if peaks else "-"
            busy = f"{100 * statistics.median(server):.0f} %" if server else "n/a"
            rows.append(
                f"| {scenario.name} | {approach} | {1000 * wall:,.1f} | {1000 * cpu:,.1f} "
                f"| {1e6 * cpu / scenario.requests:,.0f} | {cpu_x} | {wall_x} | {peak} | {busy} |"
            )
    return "\n".join(rows)


@dataclass(frozen=True)
class Target:
    name: str
    value: Spread | None
    limit: float
    above: bool  # True: the value must be at least the limit; False: at most

    @property
    def holds(self) -> bool | None:
        if self.value is None:
            return None
        return self.value.median >= self.limit if self.above else self.value.median <= self.limit

    def line(self) -> str:
        sign = ">=" if self.above else "<="
        verdict = {True: "holds", False: "MISSED", None: "not measured"}[self.holds]
        shown = "-" if self.value is None else str(self.value)
        return f"| {self.name} | {shown} | {sign} {self.limit:g} | {verdict} |"


def targets(results: Results) -> list[Target]:
    """The issue's targets, each from pairs of one run: median (min-max)."""

    def get(scenario: str, approach: str) -> list[Sample]:
        return results.get(scenario, {}).get(approach, [])

    def cpu_x(scenario: str) -> Spread | None:
        return paired(get(scenario, "sdk"), get(scenario, BASELINE), _cpu)

    peaks = [s.peak_mb for s in get("stream-1m", "sdk") if s.peak_mb is not None]
    return [
        Target("small calls, sequential (CPU x baseline)", cpu_x("small-seq"), 1.10, False),
        Target("inventory, known tags (CPU x baseline)", cpu_x("inventory-seq"), 1.10, False),
        Target(
            "inventory, one unknown _type (CPU x baseline)",
            cpu_x("inventory-unknown-seq"),
            1.15,
            False,
        ),
        Target("32 concurrent tasks (CPU x baseline)", cpu_x("small-c32"), 1.10, False),
        Target(
            "32 concurrent tasks, throughput x httpx + pydantic",
            paired(get("small-c32", "httpx_pydantic"), get("small-c32", "sdk"), _wall),
            3.0,
            True,
        ),
        Target("streaming 1,000,000 events, peak RSS growth (MB)", spread(peaks), 50.0, False),
        Target(
            "collect() of 1,000,000 events, peak RSS before / now",
            paired(get("collect-1m", BEFORE), get("collect-1m", "sdk"), _peak),
            2.0,
            True,
        ),
        Target(
            "10 rate codes at 20 ms, wall x 1 code",
            paired(get("rate-codes-10", "sdk"), get("rate-codes-1", "sdk"), _wall),
            1.2,
            False,
        ),
    ]


def targets_table(found: Sequence[Target]) -> str:
    rows = ["| target | measured: median (min-max) | limit | verdict |", "|---|--:|--:|---|"]
    return "\n".join(rows + [t.line() for t in found])


def write_json(
    path: Path, meta: dict[str, Any], plan: Sequence[Scenario], results: Results
) -> None:
    document = {
        **meta,
        "scenarios": [
            {
                "name": s.name,
                "description": s.description,
                "requests": s.requests,
                "rounds": s.rounds,
                "samples": {a: [asdict(x) for x in xs] for a, xs in results[s.name].items()},
            }
            for s in plan
        ],
        "targets": [
            {
                "name": t.name,
                "limit": t.limit,
                "at_least": t.above,
                "value": None if t.value is None else asdict(t.value),
                "holds": t.holds,
            }
            for t in targets(results)
        ],
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def write_chart(path: Path, plan: Sequence[Scenario], results: Results, title: str) -> bool:
    """Client CPU against the baseline per scenario, and peak memory of the 1M-event runs."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    timed = [s for s in plan if not s.name.endswith("-1m")]
    memory = [s for s in plan if s.name.endswith("-1m")]
    approaches = [a for a in LABELS if any(a in results[s.name] for s in plan) and a != BASELINE]
    # One colour per approach in both panels.
    palette = ("tab:blue", "tab:grey", "tab:orange", "tab:green", "tab:red")
    colours = dict(zip(LABELS, palette, strict=True))
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 1]}, squeeze=False
    )
    left, right = axes[0]
    width = 0.8 / max(1, len(approaches))
    for k, approach in enumerate(approaches):
        xs, ys, lows, highs = [], [], [], []
        for i, scenario in enumerate(timed):
            by = results[scenario.name]
            if approach not in by or BASELINE not in by:
                continue
            r = paired(by[approach], by[BASELINE], _cpu)
            if r is None:
                continue
            xs.append(i + (k - (len(approaches) - 1) / 2) * width)
            ys.append(r.median)
            lows.append(r.median - r.low)
            highs.append(r.high - r.median)
        left.bar(
            xs,
            ys,
            width,
            yerr=[lows, highs],
            capsize=2,
            label=LABELS[approach],
            color=colours[approach],
        )
    left.axhline(1.0, color="black", linewidth=0.8)
    left.axhline(1.1, color="grey", linewidth=0.8, linestyle="--", label="target 1.10")
    left.set_xticks(range(len(timed)), [s.name for s in timed], rotation=30, ha="right")
    left.set_ylabel("client CPU x aiohttp + msgspec Structs (median, min-max)")
    left.set_yscale("log")
    left.legend(fontsize=8)
    names = [a for a in LABELS if any(a in results[s.name] for s in memory)]
    for k, approach in enumerate(names):
        xs, ys = [], []
        for i, scenario in enumerate(memory):
            peaks = [x.peak_mb for x in results[scenario.name].get(approach, []) if x.peak_mb]
            if peaks:
                xs.append(i + (k - (len(names) - 1) / 2) * (0.8 / len(names)))
                ys.append(statistics.median(peaks))
        right.bar(xs, ys, 0.8 / max(1, len(names)), label=LABELS[approach], color=colours[approach])
    right.set_xticks(range(len(memory)), [s.name for s in memory])
    right.set_ylabel("peak RSS growth, MB (median)")
    if names:
        right.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
