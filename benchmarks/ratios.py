"""Turn a pytest-benchmark JSON file into the ratio table of BENCHMARKS.md.

Usage: ``python benchmarks/ratios.py results.json``. Within each group the fialloc entry
(names containing ``fialloc``; the fastest of them) is compared with every other entry by
median time.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def table(path: str) -> str:
    """Return a markdown table of median times and speed-up ratios per benchmark group."""
    with open(path) as fh:
        data = json.load(fh)
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        name = bench["name"].removeprefix("test_").removeprefix(f"{bench['group']}_")
        groups[bench["group"]][name] = bench["stats"]["median"]
    lines = ["| group | implementation | median | fialloc is faster by |", "|---|---|---:|---:|"]
    for group, times in groups.items():
        ours = min((v for k, v in times.items() if "fialloc" in k or "demo" in k), default=None)
        for name, median in sorted(times.items(), key=lambda kv: kv[1]):
            ours_row = "fialloc" in name or "demo" in name
            ratio = "" if ours_row or ours is None else f"{median / ours:,.1f}x"
            lines.append(f"| {group} | {name} | {_fmt(median)} | {ratio} |")
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds:,.2f} s"


if __name__ == "__main__":
    print(table(sys.argv[1]))
