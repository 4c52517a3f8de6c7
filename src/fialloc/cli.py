"""The ``fialloc`` command line: run the main job, store and compare runs, render reports."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from fialloc import __version__
from fialloc.console import INTERRUPTED
from fialloc.errors import DistributedError, UsageError
from fialloc.formatting import change_bp, count, dollars, money, num, pct, unsigned_zero
from fialloc.mc_estimators import DEFAULT_PATHS

if TYPE_CHECKING:
    from fialloc.data import Portfolio
    from fialloc.pipeline import RunResult
    from fialloc.results import RunResponse

__all__ = ["build_parser", "main"]

#: Where ``run`` writes and ``runs``/``report`` look by default.
DEFAULT_ROOT: Final = "fialloc-out"
#: The summary's width limit (columns).
WIDTH: Final = 100
#: Mandate fields settable by flag: flag name, field, help.
MANDATE_FLAGS: Final = (
    ("--max-shift", "max_shift", "largest change of one manager's weight (decimal)"),
    ("--turnover", "turnover", "largest one-way turnover (decimal)"),
    ("--target-yield", "target_yield", "least asset yield (decimal)"),
    ("--max-tracking-error", "max_tracking_error", "largest surplus tracking error (decimal)"),
)
#: Help of ``--mapping`` (run and validate).
MAPPING_HELP: Final = (
    "YAML file mapping another layout of the files (names, values, units, date formats) to "
    "fialloc's tables; see the README"
)


def _portfolio(args: argparse.Namespace) -> tuple[Portfolio, str, dict[str, int]]:
    """Return the inputs with the mandate overrides applied, their description and seeds."""
    from fialloc import data
    from fialloc.data.loaders import exit_manager_problems
    from fialloc.data.mandate_files import parse_mandate, read_mandate
    from fialloc.errors import InputError

    if args.mapping is not None and args.data is None:
        msg = "--mapping adapts the files of --data DIR; give the directory too"
        raise UsageError(msg)
    if args.data is not None:
        portfolio = data.load(args.data, mapping=args.mapping)
        source, seeds = str(Path(args.data).resolve()), {}
    else:
        portfolio = data.demo(args.demo_seed)
        source, seeds = f"demo (seed {args.demo_seed})", {"demo_seed": args.demo_seed}
    mandate = read_mandate(args.mandate) if args.mandate else portfolio.mandate
    flags: dict[str, Any] = {
        field: getattr(args, field)
        for _, field, _ in MANDATE_FLAGS
        if getattr(args, field) is not None
    }
    if args.exit:
        flags["exit_managers"] = tuple(args.exit)
    if args.key_tenors is not None:
        flags["key_tenors"] = args.key_tenors
    if flags:
        mandate = parse_mandate({**mandate.model_dump(), **flags}, source="command-line flags")
    managers = set(portfolio.managers.index)
    problems = exit_manager_problems(tuple(args.exit or ()), managers, "--exit")
    if args.mandate:
        exits = read_mandate(args.mandate).exit_managers
        problems += exit_manager_problems(exits, managers, Path(args.mandate).name)
    if problems:
        raise InputError(problems)
    if mandate != portfolio.mandate:
        # A new key tenor must be in the history's rates: the run checks (run_requirements).
        portfolio = dataclasses.replace(portfolio, mandate=mandate)
    return portfolio, source, seeds


@contextmanager
def _executor(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Where heavy work runs, as extra keyword arguments of the run (none: in-process)."""
    if args.workers is None and args.scheduler is None:
        yield {}
        return
    from fialloc.distributed import open_executor

    with open_executor(workers=args.workers, scheduler=args.scheduler) as executor:
        yield {"executor": executor}


def compute(
    portfolio: Portfolio,
    model: str,
    run_kwargs: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> tuple[RunResult, RunResponse]:
    """Run the main job: the pipeline with the agents' workflow as its desks.

    Parameters
    ----------
    portfolio : Portfolio
        Validated inputs.
    model : str
        The agents' model (``"offline"``, ``"bedrock:<model-id>"``...; see
        ``fialloc.agents.ModelConfig.parse``).
    run_kwargs : dict
        Keyword arguments of :func:`fialloc.pipeline.run` (paths, seed, executor...).
    progress : callable, optional
        Called with each stage's name as it starts.

    Raises
    ------
    ValueError
        If the model setting cannot be parsed or the inputs cannot be run.
    """
    from fialloc.agents import ModelConfig, run_workflow

    flow = run_workflow(portfolio, model=ModelConfig.parse(model), progress=progress, **run_kwargs)
    return flow.run, flow.response


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # Piped output gets the summary alone (no bar, no blank line where it was).
        disable=not console.is_terminal,
    )


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from fialloc import pipeline, report, store
    from fialloc.agents import ModelConfig

    run_kwargs: dict[str, Any] = {
        "n_paths": args.paths,
        "scenario_seed": args.seed,
        "horizons": args.horizons,
        "phases": args.phases,
        "covariance": args.covariance,
    }
    # Settings no book could run with are refused before the book is read or built.
    pipeline.check_settings(args.paths, args.horizons, args.covariance)
    ModelConfig.parse(args.model)
    steps = ("load", *pipeline.STAGES, "agents", "store")
    with _progress(console) as bar:
        task = bar.add_task("loading inputs", total=len(steps))
        portfolio, source, seeds = _portfolio(args)
        done = ["load"]

        def advance(stage: str) -> None:
            bar.update(task, completed=len(done), description=f"{stage}")
            done.append(stage)

        with _executor(args) as executor:
            result, response = compute(portfolio, args.model, run_kwargs | executor, advance)
        bar.update(task, completed=len(steps) - 1, description="writing results and report")
        record = store.write_run(
            str(args.out),
            result,
            response,
            inputs=args.data,
            source=source,
            seeds=seeds,
            render=report.render_stored,
        )
        bar.update(task, completed=len(steps))
    _summary(console, response, record.manifest, record.url)
    fallback = response.integrated_strategy.get("model_fallback")
    if fallback:
        Console(stderr=True).print(
            f"warning: the offline analyst wrote the analyses: {fallback}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return 0


def _summary(console: Console, response: RunResponse, manifest: dict[str, Any], url: str) -> None:
    """Headline before/after, key-rate gaps, objective, limits, weight changes, plan, folder."""
    s = response.integrated_strategy
    console.print(
        f"[bold]fialloc {__version__}[/bold] {escape(manifest['source'])}, valuation "
        f"{s['valuation_date']}: assets {money(s['assets'])}, surplus {money(s['surplus'])}, "
        f"{s['n_paths']:,} scenario paths (scenario seed {s['scenario_seed']})",
        highlight=False,
    )
    _before_after(console, s)
    _overlay_positions(console, response, s)
    if s.get("spread_sources"):
        console.print(s["spread_sources"], highlight=False, markup=False)
    for finding in response.detailed_results.get("duration", {}).get("findings", []):
        if finding["code"] == "currency_exposure":  # the desk's words on other currencies
            console.print(f"Currencies: {finding['message']}", highlight=False, markup=False)
    optimizer = response.detailed_results["optimizer"]
    _key_rate_gaps(console, optimizer["key_rate_gaps"])
    _objective_terms(console, optimizer["objective"])
    _open_limits(console, optimizer["constraints"])
    _weight_changes(console, response)
    _plan_lines(console, response.implementation_plan)
    console.print(
        f"Run {manifest['run_id']} written (report.html, results.json, tables/, manifest.json) to",
        highlight=False,
    )
    # The folder on a line of its own, unwrapped, so that it can be copied whole.
    console.print(f"  {url}", highlight=False, soft_wrap=True)


def _before_after(console: Console, s: dict[str, Any]) -> None:
    """Print the headline table (path statistics with their intervals) and the claims."""
    from fialloc.mc_estimators import Z95
    from fialloc.results import claim_text

    head = Table(
        box=box.SIMPLE_HEAD,
        title="Before and after (path statistics ± their 95% interval)",
        title_justify="left",
    )
    without = s.get("without_overlay")
    after = ("without overlay", "with overlay") if without else ("recommended",)
    for col in ("", "current", *after):
        head.add_column(col, justify="left" if not col else "right")
    horizon = f"{s['horizon_years']:g}y"
    rows: tuple[tuple[str, str, Callable[[float], str]], ...] = (
        ("asset yield", "yield", pct),
        ("surplus tracking error", "tracking_error", pct),
        ("largest key-rate gap (years)", "max_key_rate_gap", num),
        ("largest key-rate gap ($ per bp)", "max_key_rate_gap_dv01", dollars),
        ("long-end gap |20y|+|30y| (years)", "long_end_gap", num),
    )
    for label, key, fmt in rows:
        before, value = s[f"{key}_before"], s[f"{key}_after"]
        shown = change_bp(before, value) if fmt is pct else fmt(value)
        middle = [fmt(without[f"{key}_after"])] if without else []
        head.add_row(label, fmt(before), *middle, shown)
    for label, key in (
        (f"P(surplus < 0) at {horizon}", "shortfall_probability"),
        (f"expected shortfall 95% at {horizon}", "expected_shortfall_95"),
    ):
        middle = [_path_value(key, without[f"{key}_after"])] if without else []
        head.add_row(
            label,
            f"{_path_value(key, s[f'{key}_before'])} ± "
            f"{_path_value(key, Z95 * s[f'{key}_before_se'], True)}",
            *middle,
            f"{_path_value(key, s[f'{key}_after'])} ± "
            f"{_path_value(key, Z95 * s[f'{key}_after_se'], True)}",
        )
    console.print(head)
    # The before/after claims: paired on the same paths, in words that follow the interval.
    for label, key in (
        (f"P(surplus < 0) at {horizon}", "shortfall_probability"),
        (f"expected shortfall (worst 5%) at {horizon}", "expected_shortfall_95"),
    ):
        console.print(f"  {claim_text(s, key, label)}", highlight=False)


def _overlay_positions(console: Console, response: RunResponse, s: dict[str, Any]) -> None:
    """Print the duration overlay's positions and margins, when the recommendation holds one."""
    positions = response.detailed_results.get("overlay", {}).get("positions", [])
    if not positions:
        return
    overlay = Table(
        box=box.SIMPLE_HEAD,
        title=(
            f"Duration overlay: initial margin {money(s['overlay_initial_margin'])}, "
            f"worst-stress variation margin {money(s['overlay_variation_margin'])}"
        ),
        title_justify="left",
    )
    for col in ("instrument", "position", "contracts", "DV01", "carry a year"):
        overlay.add_column(col, justify="left" if col == "instrument" else "right")
    for p in positions:
        overlay.add_row(
            escape(str(p["instrument"])),
            money(p["position"]),
            "" if p["contracts"] is None else f"{p['contracts']:+,.0f}",
            dollars(p["dv01"]),
            money(p["carry"]),
        )
    console.print(overlay)


def _key_rate_gaps(console: Console, gap_rows: list[dict[str, Any]]) -> None:
    """Print the key-rate gaps against the liabilities, in years and $M per bp."""
    # One gap definition (duration_gaps.key_rate_gap): the headline's largest gap is in here.
    gaps = Table(
        box=box.SIMPLE_HEAD,
        title="Key-rate gaps against the liabilities (assets' KRD minus liabilities' scaled "
        "by L/A; years, and $M per bp)",
        title_justify="left",
    )
    gaps.add_column("")
    for r in gap_rows:
        gaps.add_column(str(r["tenor"]), justify="right")
    for label, col in (
        ("current (years)", "gap_before"),
        ("recommended (years)", "gap_after"),
        ("tolerance (years)", "tolerance"),
    ):
        gaps.add_row(label, *(unsigned_zero(f"{r[col]:+.2f}") for r in gap_rows))
    for label, col in (
        ("current ($M per bp)", "dv01_before"),
        ("recommended ($M per bp)", "dv01_after"),
    ):
        gaps.add_row(label, *(unsigned_zero(f"{r[col] / 1e6:+,.2f}") for r in gap_rows))
    console.print(gaps)


def _objective_terms(console: Console, objective: list[dict[str, Any]]) -> None:
    """Print the objective's terms a year, current and recommended, in bp and $M."""
    terms = Table(
        box=box.SIMPLE_HEAD,
        title="Objective a year (bp of assets and $M)",
        title_justify="left",
    )
    for col in ("term", "current bp", "recommended bp", "change bp", "change $M"):
        terms.add_column(col, justify="left" if col == "term" else "right")
    for r in objective:
        terms.add_row(
            escape(str(r["term"])),
            unsigned_zero(f"{r['before_bp']:+.1f}"),
            unsigned_zero(f"{r['after_bp']:+.1f}"),
            unsigned_zero(f"{r['change_bp']:+.1f}"),
            unsigned_zero(f"{r['change'] / 1e6:+,.1f}"),
        )
    console.print(terms)


def _open_limits(console: Console, constraints: list[dict[str, Any]]) -> None:
    """Print the limits the recommendation does not meet, if any."""
    open_limits = [r for r in constraints if r["status"] != "met"]
    if open_limits:
        limits = Table(
            box=box.SIMPLE_HEAD,
            title=f"Limits not met ({len(open_limits)}): constraints_met is false",
            title_justify="left",
        )
        for col in ("limit", "current", "recommended", "limit value", "status"):
            limits.add_column(col, justify="left" if col in ("limit", "status") else "right")
        for r in open_limits:

            def show(v: float, unit: str = r["unit"]) -> str:
                return pct(v) if unit == "share" else num(v)

            limits.add_row(
                escape(str(r["constraint"])),
                show(r["before"]),
                show(r["value"]),
                f"{r['sense']} {show(r['limit'])}",
                str(r["status"]),
            )
        console.print(limits)


def _weight_changes(console: Console, response: RunResponse) -> None:
    """Print the managers whose weight moves, largest increase first."""
    from fialloc.results import HOLD_BELOW

    moves = [r for r in response.allocation_recommendations if abs(r.change) >= HOLD_BELOW]
    changes = Table(
        box=box.SIMPLE_HEAD, title=f"Weight changes ({len(moves)} managers)", title_justify="left"
    )
    for col in ("manager", "name", "current", "recommended", "change", "amount"):
        changes.add_column(col, justify="left" if col in ("manager", "name") else "right")
    for r in sorted(moves, key=lambda r: r.change, reverse=True):
        changes.add_row(
            escape(r.manager_id),
            escape(r.name[:28]),
            pct(r.current_weight),
            pct(r.recommended_weight),
            unsigned_zero(f"{r.change:+.2%}"),
            ("+" if r.change_amount > 0 else "") + money(r.change_amount),
        )
    console.print(changes)


def _plan_lines(console: Console, plan: dict[str, Any]) -> None:
    """Print the plan's phases and cost, and the glide path when there is one."""
    console.print(
        f"Plan: {len(plan['phases'])} phases of {plan['phase_days']} trading days "
        f"({plan['reason']}), cost {money(plan['total_cost'])}.",
        highlight=False,
        markup=False,
    )
    if plan.get("glide_path"):
        glide = plan["glide_path"]
        console.print(
            f"Glide path: {count(len(glide['cycles']), 'cycle')} of a quarter ({glide['reason']}).",
            highlight=False,
            markup=False,
        )


def _path_value(key: str, value: float, spread: bool = False) -> str:
    """Format a path statistic: a probability in percent or money (half-widths unsigned)."""
    if key == "shortfall_probability":
        return pct(value, 1)
    return money(abs(value) if spread else value)


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from fialloc import data

    target = Path(args.write)
    if target.is_dir() and any(target.iterdir()) and not args.force:
        msg = f"demo: {target} is not empty; choose an empty directory or add --force to overwrite"
        raise UsageError(msg)
    path = data.write_demo(str(target), seed=args.demo_seed)
    console.print(f"Demo inputs written to {path} (see SCHEMA.md there for every column)")
    return 0


def _cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from fialloc import data

    problems = data.validate(args.directory, mapping=args.mapping)
    if problems:
        err = Console(stderr=True)
        for problem in problems:
            err.print(f"error: {problem}", highlight=False, soft_wrap=True, markup=False)
        found = count(len(problems), "problem")
        err.print(f"{found} found in {args.directory}", highlight=False, markup=False)
        return 2
    console.print(f"{args.directory}: all inputs are valid", highlight=False)
    return 0


def _cmd_capacity(args: argparse.Namespace, console: Console) -> int:
    import json

    from fialloc import capacity

    path = args.calibration or capacity.default_calibration_path()
    try:
        size = capacity.BookSize(args.managers, args.securities, args.paths, args.horizons)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.calibrate or not Path(path).expanduser().exists():
        if not args.calibrate:
            msg = f"no calibration at {path}: measure this machine with --calibrate (a minute)"
            raise UsageError(msg)
        console.print("Measuring this machine (the pipeline on five small books)...")
        capacity.calibrate().write(path)
        console.print(f"Calibration written to {path}", highlight=False)
    calibration = capacity.read_calibration(path)
    try:
        found = capacity.predict(calibration, size, args.workers, args.time_limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        console.print_json(json.dumps(found.as_dict()))
        return 0
    table = Table(box=box.SIMPLE, title=f"{size.managers} managers, {size.securities:,} "
                  f"securities, {size.paths:,} paths x {size.horizons} horizons")  # fmt: skip
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in found.stage_seconds.items():
        table.add_row(stage, num(seconds, 2))
    table.add_row("total", num(found.seconds, 1))
    console.print(table)
    lines = [f"peak memory {found.peak_mb:,.0f} MB in process"]
    if found.cluster_seconds is not None:
        lines.append(f"{found.cluster_seconds:,.1f} s on {found.workers} Dask workers")
    lines.append(
        f"Lambda: {found.lambda_mb:,} MB ({found.lambda_seconds:,.0f} s)"
        if found.lambda_mb is not None
        else f"Lambda: does not fit (10,240 MB, {min(args.time_limit, 900.0):g} s)"
    )
    lines.append(
        f"Fargate: {found.fargate[0]:g} vCPU, {found.fargate[1]:g} GB "
        f"({found.fargate_seconds or 0.0:,.0f} s)"
        if found.fargate is not None
        else f"Fargate: no task size finishes within {args.time_limit:g} s"
    )
    for line in lines:
        console.print(line, highlight=False, markup=False)
    console.print(f"calibration: {path}", highlight=False, markup=False)
    return 0


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    import fsspec

    from fialloc import report, store

    stored = store.read_run(args.run, args.root)
    html = report.render_stored(stored)
    target = args.output or f"{stored.record.url}/{store.REPORT}"
    with fsspec.open(str(target), "w", encoding="utf-8") as f:
        f.write(html)
    console.print(f"Report of run {stored.record.run_id} written to {target}", highlight=False)
    return 0


def _cmd_runs(args: argparse.Namespace, console: Console) -> int:
    import fsspec

    from fialloc.catalog import Catalog

    fs, base = fsspec.core.url_to_fs(args.root)
    if not fs.isdir(base):
        msg = f"{args.root}: no such output root (see `fialloc run --out`)"
        raise UsageError(msg)
    with Catalog(args.root) as catalog:
        for line in catalog.damaged:
            Console(stderr=True).print(f"warning: {line}", markup=False, highlight=False)
        if args.action == "diff":
            return _print_diff(console, catalog, args.a, args.b)
        runs = catalog.runs()
    if runs.empty:
        console.print(f"No runs in {args.root}", highlight=False)
        return 0
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"Runs in {args.root}",
        title_justify="left",
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("run", "time (UTC)", "source", "seed", "yield", "TE", "P(short)"):
        table.add_column(col, justify="left" if col in ("run", "source") else "right", no_wrap=True)
    for r in runs.to_dict("records"):

        def move(key: str, fmt: str, r: dict[Any, Any] = r) -> str:
            return f"{fmt.format(r[f'{key}_before'])}→{fmt.format(r[f'{key}_after'])}"

        table.add_row(
            str(r["run_id"]),
            str(r["created"])[:16].replace("T", " "),
            escape(_clip(str(r["source"]), 14)),
            str(r["scenario_seed"]),
            move("yield", "{:.2%}").replace("%→", "→"),
            move("tracking_error", "{:.2%}").replace("%→", "→"),
            move("shortfall_probability", "{:.1%}").replace("%→", "→"),
        )
    console.print(table)
    return 0


def _clip(text: str, width: int) -> str:
    """Return the end of `text` (a path's end says most) in at most `width` characters."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _print_diff(console: Console, catalog: Any, a: str, b: str) -> int:
    diff = catalog.diff(a, b)
    title = f"Weights: a = {diff.a}, b = {diff.b}"
    weights = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for col in ("manager", "current a", "recommended a", "current b", "recommended b", "b - a"):
        weights.add_column(col, justify="left" if col == "manager" else "right")

    for mid, r in diff.weights.iterrows():
        weights.add_row(
            escape(str(mid)),
            pct(r["current_a"]),
            pct(r["recommended_a"]),
            pct(r["current_b"]),
            pct(r["recommended_b"]),
            unsigned_zero(f"{r['recommended_change']:+.2%}"),
        )
    console.print(weights)
    risk = Table(box=box.SIMPLE_HEAD, title="Risk and return", title_justify="left")
    for col in ("measure", "a", "b", "b - a"):
        risk.add_column(col, justify="left" if col == "measure" else "right")
    for measure, r in diff.risk.iterrows():
        name = str(measure)
        if name in ("assets", "surplus"):
            cells = [money(r["a"]), money(r["b"]), money(r["change"])]
        elif "gap" in name:
            cells = [num(r["a"], 3), num(r["b"], 3), unsigned_zero(f"{r['change']:+.3f}")]
        else:
            change = unsigned_zero(f"{r['change'] * 1e4:+.1f}") + " bp"
            cells = [pct(r["a"], 3), pct(r["b"], 3), change]
        label = name.replace("_", " ").replace(" 95", " 95%")
        risk.add_row(label, *cells)
    console.print(risk)
    return 0


def _cmd_serve(args: argparse.Namespace, console: Console) -> int:
    try:
        from fialloc.service import serve
    except ImportError:
        msg = "serve: the service is not available in this installation"
        raise UsageError(msg) from None
    _check_port_free(args.host, args.port)
    console.print(f"Serving on http://{args.host}:{args.port} (Ctrl-C to stop)", highlight=False)
    serve(host=args.host, port=args.port)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, in words, before the server starts."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        msg = f"serve: cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        raise UsageError(msg) from None


def _tenors(text: str) -> tuple[float, ...]:
    """Comma-separated key tenors in years, e.g. ``0.25,0.5,1,2``."""
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        msg = f"{text!r} is not a comma-separated list of tenors in years, e.g. 0.25,0.5,1,2"
        raise argparse.ArgumentTypeError(msg) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"must be a positive whole number, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Show an option's default where it has one (not for options that are off or unset)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``fialloc`` command."""
    helpful = _HelpWithDefaults
    parser = argparse.ArgumentParser(
        prog="fialloc",
        description=(__doc__ or "").replace("``", ""),
        formatter_class=helpful,
    )
    parser.add_argument("--version", action="version", version=f"fialloc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    _add_run(sub)
    _add_demo_and_validate(sub)
    _add_report_and_runs(sub)
    _add_capacity(sub)
    serve = sub.add_parser("serve", help="start the service locally", formatter_class=helpful)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.set_defaults(func=_cmd_serve)
    return parser


_Subcommands = argparse._SubParsersAction  # the type `add_subparsers` returns


def _add_run(sub: _Subcommands[argparse.ArgumentParser]) -> None:
    """Add ``run``: the main job, its inputs, paths, horizons, mandate flags and cluster."""
    helpful = _HelpWithDefaults
    run = sub.add_parser(
        "run", help="run the main job (the built-in demo book by default)", formatter_class=helpful
    )
    run.add_argument(
        "--data", type=Path, help="directory of input files (see: fialloc demo --help)"
    )
    run.add_argument("--mapping", type=Path, metavar="FILE", help=MAPPING_HELP)
    run.add_argument("--out", default=DEFAULT_ROOT, help="output root: a directory or fsspec URL")
    run.add_argument("--paths", type=int, default=DEFAULT_PATHS, help="G2++ scenario paths")
    run.add_argument("--seed", type=int, default=0, help="seed of the scenario paths")
    run.add_argument("--demo-seed", type=int, default=7, help="seed of the demo book")
    run.add_argument(
        "--horizons", type=_positive, default=10, metavar="YEARS",
        help="furthest scenario horizon: the surplus is measured each year up to it",
    )  # fmt: skip
    run.add_argument("--phases", type=_positive, default=3, help="implementation phases")
    run.add_argument(
        "--covariance", choices=("history", "scenarios"), default="history",
        help="where the optimizer's factor covariance comes from",
    )  # fmt: skip
    run.add_argument("--mandate", type=Path, help="mandate overrides (YAML or JSON file)")
    for flag, field, text in MANDATE_FLAGS:
        run.add_argument(flag, dest=field, type=float, help=text)
    run.add_argument("--exit", action="append", metavar="MANAGER", help="manager to exit")
    run.add_argument(
        "--key-tenors", type=_tenors, metavar="YEARS",
        help="key rates of every key-rate duration and gap, e.g. 0.25,0.5,1,2,3,5,7,10,20,30",
    )  # fmt: skip
    run.add_argument("--model", default="offline", help="agents' model, e.g. bedrock:<model-id>")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, help="run heavy maps on a local Dask cluster")
    where.add_argument("--scheduler", help="run heavy maps on an existing Dask scheduler")
    run.set_defaults(func=_cmd_run)


def _add_demo_and_validate(sub: _Subcommands[argparse.ArgumentParser]) -> None:
    """Add ``demo`` (write the demo's input files) and ``validate`` (check a directory)."""
    helpful = _HelpWithDefaults
    demo = sub.add_parser("demo", help="write the demo inputs as files", formatter_class=helpful)
    demo.add_argument(
        "--write", type=Path, required=True, metavar="DIR",
        help="directory to write the input files and their SCHEMA.md into",
    )  # fmt: skip
    demo.add_argument("--demo-seed", "--seed", type=int, default=7, help="seed of the demo book")
    demo.add_argument(
        "--force", action="store_true", help="write into a directory that is not empty"
    )
    demo.set_defaults(func=_cmd_demo)

    validate = sub.add_parser("validate", help="check a directory of inputs, list every problem")
    validate.add_argument("directory", type=Path, help="directory of input files")
    validate.add_argument("--mapping", type=Path, metavar="FILE", help=MAPPING_HELP)
    validate.set_defaults(func=_cmd_validate)


def _add_report_and_runs(sub: _Subcommands[argparse.ArgumentParser]) -> None:
    """Add ``report`` (re-render a stored run) and ``runs`` (list runs, ``runs diff A B``)."""
    helpful = _HelpWithDefaults
    rep = sub.add_parser("report", help="re-render a stored run's report", formatter_class=helpful)
    rep.add_argument("run", help="run folder, URL, or run id (prefix) in --root")
    rep.add_argument("--root", default=DEFAULT_ROOT, help="output root to look run ids up in")
    rep.add_argument("--output", "-o", help="where to write (default: the run's report.html)")
    rep.set_defaults(func=_cmd_report)

    runs = sub.add_parser(
        "runs", help="list stored runs, or compare two (runs diff A B)", formatter_class=helpful
    )
    runs.add_argument("--root", default=DEFAULT_ROOT, help="output root")
    runs.set_defaults(func=_cmd_runs, action="list")
    runs_sub = runs.add_subparsers(dest="action")
    diff = runs_sub.add_parser("diff", help="compare two runs' allocations and risk")
    diff.add_argument("a", help="run id (or unique prefix)")
    diff.add_argument("b", help="run id (or unique prefix)")
    # SUPPRESS keeps `runs --root R diff A B` from being reset to the default here.
    diff.add_argument("--root", default=argparse.SUPPRESS, help="output root")


def _add_capacity(sub: _Subcommands[argparse.ArgumentParser]) -> None:
    """Add ``capacity``: predict a run's time, memory and Lambda or Fargate size."""
    helpful = _HelpWithDefaults
    cap = sub.add_parser(
        "capacity",
        help="predict a run's time and memory, and its Lambda or Fargate size, from measured costs",
        formatter_class=helpful,
    )
    cap.add_argument("--managers", type=_positive, default=25, help="managers in the book")
    cap.add_argument("--securities", type=_positive, default=600, help="securities in the book")
    cap.add_argument("--paths", type=_positive, default=DEFAULT_PATHS, help="G2++ paths")
    cap.add_argument("--horizons", type=_positive, default=10, metavar="YEARS", help="horizons")
    cap.add_argument("--workers", type=_positive, help="also predict on this many Dask workers")
    cap.add_argument(
        "--time-limit", type=float, default=900.0, metavar="SECONDS",
        help="the run must finish within this on Lambda or Fargate",
    )  # fmt: skip
    cap.add_argument(
        "--calibration", type=Path, metavar="FILE",
        help="this machine's measured costs (default: the user's cache folder)",
    )  # fmt: skip
    cap.add_argument(
        "--calibrate", action="store_true",
        help="measure this machine first (about a minute) and write the calibration file",
    )  # fmt: skip
    cap.add_argument("--json", action="store_true", help="print the prediction as JSON")
    cap.set_defaults(func=_cmd_capacity)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fialloc`` console script; returns the exit code.

    0 on success, 2 for bad usage or inputs (one line per problem on standard error), 130
    when interrupted.
    """
    from fialloc.errors import InputError

    args = build_parser().parse_args(argv)
    console = Console()
    if console.width > WIDTH or not console.is_terminal:
        console = Console(width=WIDTH)
    err = Console(stderr=True)

    def fail(lines: Sequence[object]) -> int:
        for line in lines:
            err.print(f"error: {line}", highlight=False, soft_wrap=True, markup=False)
        return 2

    try:
        code: int = args.func(args, console)
    except InputError as exc:
        return fail(exc.problems)
    except (ValueError, OSError, DistributedError) as exc:
        return fail([exc])
    except KeyboardInterrupt:
        err.print("interrupted")
        return INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
