"""The results store: one folder per run under an output root (a local path or an fsspec URL).

A run folder holds ``results.json`` (the :class:`~fialloc.results.RunResponse`, whose JSON Schema
ships as ``fialloc/schemas/results.schema.json``), every table as Parquet under ``tables/``,
``report.html`` and, written last, ``manifest.json`` (run id, time, input file hashes,
parameters, seeds, package versions, headline numbers). A folder without a manifest is an
unfinished run and is ignored. On a local disk the whole folder is written under a hidden
temporary sibling and renamed into place, so it appears complete or not at all; on object
stores (``s3://``, ``memory://``...) the manifest is the completion marker.

Results files depend only on the inputs and the parameters: the run time lives in the
manifest alone, so the same inputs and seeds give byte-identical ``results.json`` and Parquet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import platform
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem

from fialloc.results import RunResponse

if TYPE_CHECKING:
    from fialloc.pipeline import Robustness, RunResult
    from fialloc.plan import ImplementationPlan

__all__ = [
    "MANIFEST",
    "RESULTS",
    "RunRecord",
    "StoredRun",
    "StoredTables",
    "complete_runs",
    "find_run",
    "input_hashes",
    "read_response",
    "read_run",
    "results_schema",
    "run_tables",
    "write_run",
]

MANIFEST: Final = "manifest.json"
RESULTS: Final = "results.json"
REPORT: Final = "report.html"
TABLES: Final = "tables"
#: Clock readings (seconds) in each agent's result; kept out of ``results.json``.
CLOCK_KEYS: Final = ("started", "finished")
#: Packages whose versions the manifest records.
VERSIONED: Final = (
    "fialloc", "numpy", "pandas", "scipy", "cvxpy", "pyarrow", "pydantic", "plotly", "jinja2",
)  # fmt: skip


@dataclass(frozen=True)
class RunRecord:
    """Where a stored run lives and what its manifest says.

    Attributes
    ----------
    run_id : str
        The folder's name under the root.
    url : str
        The folder (a local path or an fsspec URL).
    manifest : dict
        The content of ``manifest.json``.
    """

    run_id: str
    url: str
    manifest: dict[str, Any]


class StoredTables(Mapping[str, pd.DataFrame]):
    """A run's Parquet tables by file stem, each decoded when first read.

    A report reads a few of a run's 80-odd tables; decoding all of them took a quarter of the
    time of writing a run.
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._files = dict(files)
        self._decoded: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._decoded:
            self._decoded[name] = pd.read_parquet(io.BytesIO(self._files[name]))
        return self._decoded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


@dataclass(frozen=True)
class StoredRun:
    """A stored run read back: its response, tables and manifest."""

    record: RunRecord
    response: RunResponse
    tables: Mapping[str, pd.DataFrame]


def results_schema() -> str:
    """Return the JSON Schema of ``results.json`` as text, generated from :class:`RunResponse`.

    The package ships it as ``fialloc/schemas/results.schema.json``; a test checks the file
    equals this text.
    """
    return json.dumps(RunResponse.model_json_schema(), indent=1, sort_keys=True) + "\n"


def run_tables(run: RunResult) -> dict[str, pd.DataFrame]:
    """Every table of a run, by file stem (``desk_<desk>_<table>`` for the desks' tables).

    Column names are strings; indexes are kept (Parquet stores them). With the mandate in the
    manifest, the ``problem_*`` tables (the optimizer's inputs: factor covariance, per-manager
    exposures and vectors, sector mixes, the liabilities' exposures and the totals; with a
    duration overlay its instruments per unit, ``problem_overlay_instruments``, and their value
    change in each stress, ``problem_overlay_stress_changes``) and the positions
    (``weights``; ``overlay_units``, per unit of assets) recompute every constraint (the
    overlay's limits, margins, carry and the gaps net of it too) and the tracking error, and
    ``robustness_surplus`` (each allocation's
    surplus on every path, float32) with ``robustness_states`` (float32) and
    ``robustness_state_covariance`` recomputes every path statistic; with an overlay,
    ``robustness_overlay`` (float32) is the part of each surplus path its overlay adds, so the
    statistics recompute without it too.
    """
    tables = {
        "securities": run.securities,
        "spread_sources": run.portfolio.spread_sources.rename_axis("security_id"),
        "managers": run.managers,
        "liabilities": run.liabilities,
        "krd_gaps": run.gaps,
        "stresses": run.stresses.summary(),
        "stress_by_manager": run.stress_by_manager,
        "surplus_paths": run.surplus_paths,
        "weights": _weights(run),
        "robustness_paths": run.robustness.paths,
        "robustness_comparisons": run.robustness.comparisons,
        "robustness_tracking_error": run.robustness.tracking_error,
        "robustness_stresses": run.robustness.stresses,
        "frontier": run.frontier,
        "optimizer_constraints": run.allocation.constraints,
        "optimizer_exposures": run.allocation.exposures,
        "optimizer_objective": run.allocation.objective,
        "optimizer_gaps": run.allocation.gaps,
        **_plan_tables(run.plan),
        **_problem_tables(run),
        **_path_tables(run.robustness),
    }
    for desk in run.desks.values():
        for name, table in desk.tables.items():
            tables[f"desk_{desk.desk}_{name}"] = table
    return {name: _string_columns(t) for name, t in tables.items()}


def _weights(run: RunResult) -> pd.DataFrame:
    """Each allocation's manager weights (columns: current, recommended, least_shortfall...)."""
    return pd.DataFrame(
        {
            "current": run.problem.current,
            "recommended": run.allocation.weights,
            "least_shortfall": run.robust_allocation.weights,
            **(
                {}
                if run.allocation_without_overlay is None
                else {"recommended_without_overlay": run.allocation_without_overlay.weights}
            ),
        }
    ).rename_axis("manager_id")


def _plan_tables(plan: ImplementationPlan) -> dict[str, pd.DataFrame]:
    """Return the plan's phases and, when computed, its cost coefficients and glide path."""
    return {
        "plan_costs": plan.costs,
        "plan_trades": plan.trades,
        "plan_weights": plan.weights,
        **(
            {}
            if plan.cost_coefficients is None
            else {"plan_cost_coefficients": plan.cost_coefficients.rename_axis("manager_id")}
        ),
        **(
            {}
            if plan.glide is None
            else {
                "plan_glide_cycles": plan.glide.cycles,
                "plan_glide_weights": plan.glide.weights.rename_axis("manager_id"),
                **(
                    {}
                    if plan.glide.overlay is None
                    else {"plan_glide_overlay": plan.glide.overlay.rename_axis("instrument_id")}
                ),
            }
        ),
    }


def _problem_tables(run: RunResult) -> dict[str, pd.DataFrame]:
    """Return the optimizer's inputs (``problem_*``) and an overlay's instruments and units."""
    pb = run.problem
    per_manager = pb.exposures.join(
        pd.DataFrame(
            {
                "residual_vol": pb.residual_vol,
                "yield": pb.yields,
                "expected_loss": pb.expected_loss,
                "alpha": pb.alpha,
                "trading_cost": pb.trading_cost,
                "trading_impact": pb.trading_impact,
                "tradable_share": pb.tradable_share,
                **{f"hqla_{level}": pb.hqla[level] for level in pb.hqla.columns},
                "illiquid_share": pb.illiquid_share,
                "notch": pb.notch,
                "current_weight": pb.current,
            }
        )
    ).rename_axis("manager_id")
    overlay = run.overlay_inputs
    overlay_tables = (
        {}
        if overlay is None
        else {
            "problem_overlay_instruments": overlay.instruments.rename_axis("instrument_id"),
            "problem_overlay_stress_changes": overlay.stress_changes.rename_axis("scenario"),
            "overlay_units": pd.DataFrame(
                {
                    name: result.overlay_units(overlay.instruments.index)
                    for name, result in (
                        ("recommended", run.allocation),
                        ("least_shortfall", run.robust_allocation),
                    )
                },
                index=overlay.instruments.index.rename("instrument_id"),
            ),
        }
    )
    return {
        "problem_factor_covariance": pb.covariance.rename_axis("factor"),
        "problem_managers": per_manager,
        "problem_sectors": pb.sectors.rename_axis("manager_id"),
        "problem_liability": pb.liability.rename("per_unit_of_value")
        .rename_axis("factor")
        .to_frame(),
        "problem_totals": pd.DataFrame({"assets": [pb.assets], "liabilities": [pb.liabilities]}),
        **overlay_tables,
    }


def _path_tables(robustness: Robustness) -> dict[str, pd.DataFrame]:
    """Every allocation's surplus per path, the control variates and the overlay's part."""
    return {
        # Single precision: a surplus of $10B is kept to about $1,000.
        "robustness_surplus": robustness.surplus.astype("float32"),
        "robustness_states": robustness.states.astype("float32"),
        "robustness_state_covariance": robustness.state_covariance,
        **(
            {}
            if robustness.overlay is None
            else {"robustness_overlay": robustness.overlay.astype("float32")}
        ),
    }


def _string_columns(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out.columns = [str(c) for c in out.columns]
    # Only object columns can mix types; a Series built per column to ask cost ~30 ms a run.
    mixable = [col for col, kind in out.dtypes.items() if pd.api.types.is_object_dtype(kind)]
    for col in mixable:
        # Parquet needs one type per column: mixed object columns are stored as text.
        if len({type(v) for v in out[col] if v is not None}) > 1:
            out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out


def input_hashes(directory: str | Path | None) -> dict[str, str]:
    """SHA-256 of every input file in `directory` (file name to hex digest; empty for none)."""
    if directory is None:
        return {}
    root = Path(directory)
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(root.iterdir())
        if f.is_file()
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _parquet_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def _headline(response: RunResponse, source: str) -> dict[str, Any]:
    s = response.integrated_strategy
    return {
        "source": source,
        "valuation_date": s["valuation_date"],
        "model": response.model,
        **{
            k: s[k]
            for k in (
                "assets",
                "surplus",
                "yield_before",
                "yield_after",
                "tracking_error_before",
                "tracking_error_after",
                "shortfall_probability_before",
                "shortfall_probability_after",
                "max_key_rate_gap_before",
                "max_key_rate_gap_after",
                "turnover",
            )
        },
    }


def write_run(
    root: str,
    run: RunResult,
    response: RunResponse,
    *,
    inputs: str | Path | None = None,
    source: str = "demo",
    seeds: Mapping[str, int] | None = None,
    render: Callable[[StoredRun], str] | None = None,
    now: dt.datetime | None = None,
) -> RunRecord:
    """Write one run's folder under `root` atomically.

    The runs catalog (:class:`fialloc.catalog.Catalog`) adds the run from its manifest when it
    is next opened.

    Parameters
    ----------
    root : str
        Output root: a local directory or an fsspec URL (``s3://bucket/prefix``,
        ``memory://runs``...). Created when missing.
    run : RunResult
        From :func:`fialloc.pipeline.run`.
    response : RunResponse
        The run's response (``results.json``).
    inputs : str or Path, optional
        The directory of input files, hashed into the manifest (none for the demo).
    source : str
        What the inputs were, in words (``"demo (seed 7)"``, a path).
    seeds : mapping of str to int, optional
        Seeds beyond the scenario seed (the demo book's), recorded in the manifest.
    render : callable, optional
        Renders the report from the stored run (see :func:`fialloc.report.render_stored`);
        the report is left out when not given.
    now : datetime, optional
        The run's time (UTC; default the current time).

    Returns
    -------
    RunRecord
        The new run's id, folder and manifest.

    Raises
    ------
    ValueError
        If `root` is empty; OSError if it cannot be written (no complete-looking folder is
        left behind).
    """
    if not str(root).strip():
        msg = "write_run: the output root is empty"
        raise ValueError(msg)
    fs, base = fsspec.core.url_to_fs(str(root))
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    run_id = f"{when:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    local = isinstance(fs, LocalFileSystem)
    final = f"{base.rstrip('/')}/{run_id}"
    target = f"{base.rstrip('/')}/.tmp-{run_id}" if local else final
    manifest = _manifest(run_id, when, run, response, inputs, source, seeds)
    try:
        _write_contents(
            fs, target, RunRecord(run_id, _url(fs, final), manifest), run, response, render
        )
        if local:
            fs.mv(target, final, recursive=True)
    except BaseException:
        if fs.exists(target):
            fs.rm(target, recursive=True)
        raise
    return RunRecord(run_id, _url(fs, final), manifest)


def _manifest(
    run_id: str,
    when: dt.datetime,
    run: RunResult,
    response: RunResponse,
    inputs: str | Path | None,
    source: str,
    seeds: Mapping[str, int] | None,
) -> dict[str, Any]:
    """Return a run's manifest, its files still to list (see :func:`write_run`)."""
    return {
        "run_id": run_id,
        "created": when.isoformat(timespec="microseconds"),  # orders runs of one second
        "source": source,
        "inputs": input_hashes(inputs),
        "parameters": {
            **run.parameters,
            "mandate": run.portfolio.mandate.model_dump(mode="json"),
        },
        "seeds": {"scenario_seed": run.parameters.get("scenario_seed"), **(seeds or {})},
        "versions": _versions(),
        "headline": _headline(response, source),
        "timings": dict(response.timings or run.timings),
        "files": {},
    }


def _write_contents(
    fs: fsspec.AbstractFileSystem,
    target: str,
    record: RunRecord,
    run: RunResult,
    response: RunResponse,
    render: Callable[[StoredRun], str] | None,
) -> None:
    """Write a run's results, tables, report and (last) manifest into the folder `target`."""
    fs.makedirs(f"{target}/{TABLES}", exist_ok=True)
    files: dict[str, str] = {}

    def put(name: str, data: bytes) -> None:
        fs.pipe_file(f"{target}/{name}", data)
        files[name] = hashlib.sha256(data).hexdigest()

    results = (_timeless(response).model_dump_json(indent=1) + "\n").encode()
    put(RESULTS, results)
    encoded: dict[str, bytes] = {}
    for name, table in run_tables(run).items():
        encoded[name] = _parquet_bytes(table)
        put(f"{TABLES}/{name}.parquet", encoded[name])
    # The report reads what was stored, so re-rendering a stored run gives the same file.
    stored = StoredTables(encoded)
    if render is not None:
        html = render(StoredRun(record, RunResponse.model_validate_json(results), stored))
        put(REPORT, html.encode())
    record.manifest["files"] = dict(sorted(files.items()))
    # The manifest goes last: its presence marks the folder complete.
    fs.pipe_file(f"{target}/{MANIFEST}", (json.dumps(record.manifest, indent=1) + "\n").encode())


def _timeless(response: RunResponse) -> RunResponse:
    """Return the response without clock readings, which differ between identical runs.

    The stage timings and each agent's ``started``/``finished`` (the response's timings hold
    them too) go to the manifest, so ``results.json`` depends on the inputs alone.
    """
    detailed = dict(response.detailed_results)
    agents = detailed.get("agents")
    if isinstance(agents, dict):
        detailed["agents"] = {
            name: {k: v for k, v in result.items() if k not in CLOCK_KEYS}
            if isinstance(result, dict)
            else result
            for name, result in agents.items()
        }
    return response.model_copy(update={"timings": {}, "detailed_results": detailed})


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def complete_runs(root: str, damaged: list[str] | None = None) -> list[RunRecord]:
    """Every complete run under `root` (folders with a manifest), oldest first.

    A run whose manifest cannot be read is left out; its folder and the reason are appended
    to `damaged` when given, so one broken run never hides the others.
    """
    fs, base = fsspec.core.url_to_fs(str(root))
    if not fs.exists(base):
        return []
    out = []
    for entry in fs.ls(base, detail=True):
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        if entry["type"] != "directory" or name.startswith("."):
            continue
        path = f"{base.rstrip('/')}/{name}/{MANIFEST}"
        if fs.exists(path):
            try:
                manifest = json.loads(fs.cat_file(path))
                if not isinstance(manifest, dict):
                    msg = "not a JSON object"
                    raise ValueError(msg)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                if damaged is not None:
                    damaged.append(f"{name}: unreadable {MANIFEST} ({exc})")
                continue
            out.append(RunRecord(name, _url(fs, f"{base.rstrip('/')}/{name}"), manifest))
    return sorted(out, key=lambda r: (str(r.manifest.get("created", "")), r.run_id))


def stale_temporaries(root: str, older_than: dt.timedelta = dt.timedelta(hours=1)) -> list[str]:
    """Remove the hidden ``.tmp-*`` folders of runs killed while being written; return them.

    Only folders untouched for `older_than` are removed, so a run being written by another
    process keeps its folder. Object-store roots write in place and have none.
    """
    fs, base = fsspec.core.url_to_fs(str(root))
    if not isinstance(fs, LocalFileSystem) or not Path(base).is_dir():
        return []
    cutoff = dt.datetime.now().timestamp() - older_than.total_seconds()
    removed = []
    for folder in sorted(Path(base).glob(".tmp-*")):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def find_run(reference: str, root: str | None = None) -> RunRecord:
    """Find a complete run: a run folder's path or URL, or a run id (or unique prefix) in `root`.

    Raises
    ------
    ValueError
        If no complete run matches, or a prefix matches several runs.
    """
    fs, path = fsspec.core.url_to_fs(reference)
    if fs.exists(f"{path.rstrip('/')}/{MANIFEST}"):
        manifest = json.loads(fs.cat_file(f"{path.rstrip('/')}/{MANIFEST}"))
        return RunRecord(str(manifest["run_id"]), _url(fs, path.rstrip("/")), manifest)
    if root is None:
        msg = f"{reference}: not a complete run folder (no {MANIFEST})"
        raise ValueError(msg)
    hits = [r for r in complete_runs(root) if r.run_id.startswith(reference)]
    if len(hits) != 1:
        what = "no run" if not hits else f"{len(hits)} runs"
        msg = f"{reference}: {what} with that id in {root}"
        raise ValueError(msg)
    return hits[0]


def read_response(url: str) -> RunResponse:
    """Read a run folder's ``results.json`` (a local path or fsspec URL).

    Raises
    ------
    ValueError
        If it does not match the schema (pydantic's ValidationError is a ValueError).
    """
    fs, path = fsspec.core.url_to_fs(url)
    return RunResponse.model_validate_json(fs.cat_file(f"{path.rstrip('/')}/{RESULTS}"))


def read_run(reference: str, root: str | None = None) -> StoredRun:
    """Read a stored run back (see :func:`find_run` for `reference` and `root`).

    Raises
    ------
    ValueError
        If the run cannot be found or its ``results.json`` does not match the schema.
    """
    record = find_run(reference, root)
    fs, path = fsspec.core.url_to_fs(record.url)
    response = read_response(record.url)
    tables: dict[str, bytes] = {}
    for name in sorted(record.manifest.get("files", {})):
        if name.startswith(f"{TABLES}/") and name.endswith(".parquet"):
            stem = name.removeprefix(f"{TABLES}/").removesuffix(".parquet")
            tables[stem] = fs.cat_file(f"{path}/{name}")
    return StoredRun(record, response, StoredTables(tables))
