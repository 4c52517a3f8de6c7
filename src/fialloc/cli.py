"""The ``fialloc`` command line: run the main job, write or validate inputs."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fialloc import __version__

__all__ = ["main"]


def _money(x: float) -> str:
    return f"${x / 1e9:,.2f}B"


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from fialloc import data, pipeline
    from fialloc.distributed import open_executor

    start = time.perf_counter()
    with console.status("Loading inputs..."):
        portfolio = data.load(args.data) if args.data else data.demo(args.seed)
    with (
        console.status("Pricing, risk and stresses..."),
        open_executor(args.workers, args.scheduler) as executor,
    ):
        result = pipeline.run(
            portfolio, n_paths=args.paths, scenario_seed=args.scenario_seed, executor=executor
        )
    elapsed = time.perf_counter() - start
    s = result.summary()
    source = args.data or f"built-in demo (seed {args.seed})"
    console.print(
        f"[bold]fialloc {__version__}[/bold]: {source}, valuation {portfolio.valuation_date}"
    )
    console.print(
        f"Assets {_money(s['assets'])}, liabilities {_money(s['liabilities'])}, surplus "
        f"{_money(s['surplus'])}; asset yield {s['asset_yield']:.2%}, duration "
        f"{s['asset_duration']:.2f}y vs liabilities {s['liability_duration']:.2f}y"
    )
    gaps = Table(
        title="Key-rate durations: assets vs liabilities (years, liabilities scaled to assets)"
    )
    for col in ("tenor", "assets", "liabilities", "gap", "gap $/bp", "material"):
        gaps.add_column(col, justify="right")
    for tenor, row in result.gaps.iterrows():
        gaps.add_row(
            str(tenor).removeprefix("krd_"),
            f"{row['asset_krd']:.2f}",
            f"{row['liability_krd']:.2f}",
            f"{row['gap']:+.2f}",
            f"{row['gap_dv01'] / 1e6:+,.2f}M",
            "yes" if row["material"] else "",
        )
    console.print(gaps)
    stress = Table(title="Stress scenarios (full repricing)")
    for col in ("scenario", "assets", "liabilities", "surplus change"):
        stress.add_column(col, justify="right")
    for name, row in result.stresses.summary().iterrows():
        stress.add_row(
            str(name),
            _money(row["assets"]),
            _money(row["liabilities"]),
            f"{row['surplus_change'] / 1e9:+,.2f}B",
        )
    console.print(stress)
    fan = Table(title=f"Surplus across {args.paths:,} G2++ paths (cash reinvested on each path)")
    for col in ("horizon", "p05", "median", "p95", "P(surplus < 0)", "ES 95%"):
        fan.add_column(col, justify="right")
    for horizon, row in result.surplus_paths.iterrows():
        fan.add_row(
            f"{horizon:g}y",
            _money(row["p05"]),
            _money(row["median"]),
            _money(row["p95"]),
            f"{row['shortfall_probability']:.1%}",
            _money(row["expected_shortfall_95"]),
        )
    console.print(fan)
    desk_table = Table(title="Desk findings")
    for col in ("desk", "finding", "subject", "what the engine found"):
        desk_table.add_column(col, overflow="fold")
    for name, desk in result.desks.items():
        for finding in desk.findings:
            if finding.severity != "info" or finding.code.endswith("alpha"):
                desk_table.add_row(name, finding.code, finding.subject, finding.message)
    console.print(desk_table)
    managers = Table(title="Managers")
    for col in ("id", "name", "style", "weight", "yield", "duration", "krd 20y", "krd 30y"):
        managers.add_column(col, justify="right" if col not in ("name", "style") else "left")
    for mid, row in result.managers.iterrows():
        managers.add_row(
            str(mid),
            row["name"],
            row["style"],
            f"{row['weight']:.1%}",
            f"{row['ytm']:.2%}",
            f"{row['effective_duration']:.2f}",
            f"{row['krd_20y']:.2f}",
            f"{row['krd_30y']:.2f}",
        )
    console.print(managers)
    out = result.write(args.out)
    console.print(f"Results written to {out} in {elapsed:.2f}s")
    return 0


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from fialloc import data

    path = data.write_demo(args.write, seed=args.seed)
    console.print(f"Demo inputs written to {path} (see SCHEMA.md there for every column)")
    return 0


def _cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from fialloc import data

    problems = data.validate(args.directory)
    for problem in problems:
        console.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        console.print(f"{len(problems)} problem(s) found")
        return 1
    console.print(f"{args.directory}: all inputs are valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``fialloc`` command."""
    parser = argparse.ArgumentParser(prog="fialloc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fialloc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the main job (the built-in demo book by default)")
    run.add_argument("--data", type=Path, help="directory of input files (see `fialloc demo`)")
    run.add_argument("--out", type=Path, default=Path("fialloc-out"), help="results directory")
    run.add_argument("--seed", type=int, default=7, help="seed of the demo book")
    run.add_argument("--paths", type=int, default=1000, help="G2++ scenario paths")
    run.add_argument("--scenario-seed", type=int, default=0, help="seed of the scenario paths")
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="run on a local Dask cluster of N processes"
    )
    where.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask scheduler (tcp://...)")
    run.set_defaults(func=_cmd_run)
    demo = sub.add_parser("demo", help="write the demo inputs as files")
    demo.add_argument("--write", type=Path, required=True, metavar="DIR")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=_cmd_demo)
    validate = sub.add_parser("validate", help="check a directory of inputs, list every problem")
    validate.add_argument("directory", type=Path)
    validate.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fialloc`` console script; returns the exit code."""
    from fialloc.data import InputError
    from fialloc.distributed import DistributedError

    args = build_parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    try:
        code: int = args.func(args, console)
    except InputError as exc:
        for problem in exc.problems:
            err.print(f"error: {problem}", highlight=False, soft_wrap=True)
        return 2
    except (ValueError, OSError, DistributedError) as exc:
        err.print(f"error: {exc}", highlight=False, soft_wrap=True)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
