"""Turn pytest-benchmark results into the ratio tables of BENCHMARKS.md.

Usage: ``python benchmarks/ratios.py run1.json [run2.json ...]``. Within each group every
entry whose name contains ``fialloc`` (or ``demo``) is ours; every other entry is a reference
(QuantLib, numpy) and is compared with each of ours by median time: "faster by" is the
reference's median over ours, so 100x means fialloc takes 1% of the reference's time. With
several runs (the machine is shared, timings drift between runs) the table shows each run's
ratio and their median; times are the median over runs of each run's mean, median and min.
Ratios of the minimum times are also shown: on a shared machine they move least between runs.

The same table is printed at the end of every ``pytest benchmarks --benchmark-only`` session
(see ``conftest.py``).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping

# One run: group -> implementation -> (mean, median, min) in seconds.
Run = Mapping[str, Mapping[str, tuple[float, float, float]]]


def run_from_json(path: str) -> Run:
    """Read one ``--benchmark-json`` file."""
    with open(path) as fh:
        data = json.load(fh)
    return run_from_records(
        (b["group"], b["name"], b["stats"]["mean"], b["stats"]["median"], b["stats"]["min"])
        for b in data["benchmarks"]
    )


def run_from_records(records: Iterable[tuple[str | None, str, float, float, float]]) -> Run:
    """Group ``(group, test name, mean, median, min)`` records by group and implementation."""
    groups: dict[str, dict[str, tuple[float, float, float]]] = defaultdict(dict)
    for group, name, mean, median, fastest in records:
        g = group or "(no group)"
        short = name.removeprefix("test_").removeprefix(f"{g}_")
        groups[g][short] = (mean, median, fastest)
    return groups


def _ours(name: str) -> bool:
    return "fialloc" in name or "demo" in name


def table(runs: list[Run]) -> str:
    """Markdown table of times and speed-ups per group, over one or more runs."""
    lines = [
        "| group | implementation | mean | median | min "
        "| fialloc is faster by (medians) | (mins) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    groups: dict[str, None] = {}
    for run in runs:
        groups.update(dict.fromkeys(run))
    for group in groups:
        present = [run[group] for run in runs if group in run]
        names = {n for run in present for n in run}
        stat = [
            {n: statistics.median(r[n][i] for r in present if n in r) for n in names}
            for i in range(3)
        ]
        ours = sorted((n for n in names if _ours(n)), key=stat[1].__getitem__)
        for name in sorted(names, key=stat[1].__getitem__):
            by_median, by_min = [], []
            if not _ours(name):
                for mine in ours:
                    both = [r for r in present if name in r and mine in r]
                    label = f" vs {mine}" if len(ours) > 1 else ""
                    by_median.append(_ratios([r[name][1] / r[mine][1] for r in both]) + label)
                    by_min.append(_ratios([r[name][2] / r[mine][2] for r in both], False) + label)
            times = " | ".join(_fmt(s[name]) for s in stat)
            lines.append(
                f"| {group} | {name} | {times} | {'; '.join(by_median)} | {'; '.join(by_min)} |"
            )
    return "\n".join(lines)


def _ratios(per_run: list[float], show_runs: bool = True) -> str:
    if not per_run:
        return ""
    mid = f"**{statistics.median(per_run):,.1f}x**"
    if len(per_run) == 1 or not show_runs:
        return mid
    runs = " / ".join(f"{r:,.1f}" for r in per_run)
    return f"{mid} ({runs})"


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds:,.2f} s"


if __name__ == "__main__":
    print(table([run_from_json(p) for p in sys.argv[1:]]))
