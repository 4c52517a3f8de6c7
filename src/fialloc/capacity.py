"""Capacity planning from costs measured on the machine that will run fialloc.

A run's stages cost what their inputs make them cost: pricing and stresses grow with the
securities, the scenario stage with paths x horizons x securities (each held bond revalued on
each path at each horizon), the desks and the optimizer with managers and securities, the
robustness figures with paths x horizons x managers (one surplus path per sleeve). So each
stage's time is modelled as a non-negative linear function of its own size measures
(:data:`STAGE_DRIVERS`), and the peak memory as one of :data:`MEMORY_DRIVERS`.

:func:`calibrate` measures the coefficients here: it runs the whole pipeline on five generated
books (:data:`PROBE_SIZES`, chosen so each size measure varies on its own) in fresh processes,
timing each stage and reading the process's peak resident memory, and one of them again on a
local Dask cluster to measure what a cluster adds. :func:`predict` then gives, for any book
size, each stage's seconds and the peak memory in process, the time on N Dask workers, and the
smallest AWS Lambda memory size and Fargate task size that run it within a time limit.

What the predictions assume, so a planner knows what they mean:

- the target machine's cores are as fast as this machine's; the compiled kernels' stages
  (:data:`THREADED_STAGES`) use every core, the rest one;
- on Dask, the parallel stages (:data:`PARALLEL_STAGES`) split over the workers, each a single
  thread; the cluster's start and per-run overhead are the calibration's measurement;
- Lambda gives one vCPU per 1,769 MB of memory (up to 6 at 10,240 MB, AWS documentation);
  Fargate's task sizes are AWS's published CPU and memory pairs; the run needs its peak
  memory plus :data:`MEMORY_HEADROOM`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.optimize import nnls

from fialloc.data.schema import Problem
from fialloc.errors import InputError

__all__ = [
    "LAMBDA_MAX_MB",
    "MEMORY_DRIVERS",
    "PARALLEL_STAGES",
    "PROBE_SIZES",
    "STAGE_DRIVERS",
    "BookSize",
    "Calibration",
    "Measurement",
    "Prediction",
    "calibrate",
    "default_calibration_path",
    "fit",
    "measure",
    "predict",
    "read_calibration",
]


@dataclass(frozen=True)
class BookSize:
    """The size of a run: managers, securities, scenario paths and annual horizons."""

    managers: int
    securities: int
    paths: int
    horizons: int

    def __post_init__(self) -> None:
        limits = {
            "managers": (2, 10_000),
            "securities": (50, 1_000_000),
            "paths": (20, 1_000_000),
            "horizons": (2, 60),
        }
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                msg = (
                    f"BookSize: `{name}` must be an integer from {low:,} to {high:,}, got {value!r}"
                )
                raise ValueError(msg)

    def drivers(self) -> dict[str, float]:
        """Return the size measures the stage models are linear in."""
        m, s, ph = self.managers, self.securities, self.paths * self.horizons
        return {
            "M": float(m),
            "S": float(s),
            "PH": float(ph),
            "PHM": float(ph * m),
            "PHS": float(ph * s),
        }


#: Each stage's size measures: M managers, S securities, PH paths x horizons, PHM paths x
#: horizons x managers, PHS paths x horizons x securities. The scenario stage discounts each
#: payment date once per path and horizon and adds it into each holder (PH, PHM); PHS stays
#: for books whose securities pay on their own dates. "start" is the interpreter and imports,
#: "load" building and validating the inputs, "outputs" the response, the run folder and the
#: report.
STAGE_DRIVERS: Final[Mapping[str, tuple[str, ...]]] = {
    "start": (),
    "load": ("S",),
    "analytics": ("S",),
    "stresses": ("S",),
    "scenarios": ("PH", "PHM", "PHS"),
    "desks": ("M", "S"),
    "optimize": ("M", "S"),
    "robustness": ("PHM",),
    "plan": ("M", "S"),
    "outputs": ("M", "S"),
}
#: What the peak resident memory grows with (the book's flows, the sleeves' and holdings'
#: surplus paths).
MEMORY_DRIVERS: Final = ("S", "PHM", "PHS")
#: Stages the pipeline maps over a Dask cluster (stress scenarios, chunks of paths).
PARALLEL_STAGES: Final = ("stresses", "scenarios")
#: Stages whose work is in the compiled kernels, which use every core.
THREADED_STAGES: Final = ("analytics", "scenarios", "robustness")
#: Paths per Dask task (the pipeline's default chunk).
PATH_CHUNK: Final = 500
#: Memory asked beyond the measured peak (allocator slack, the service's own footprint).
MEMORY_HEADROOM: Final = 1.25
#: Five books in which each size measure varies on its own, then all together.
PROBE_SIZES: Final = (
    BookSize(8, 300, 200, 4),
    BookSize(48, 300, 200, 4),
    BookSize(8, 4000, 200, 4),
    BookSize(24, 300, 4000, 10),
    BookSize(24, 2000, 2000, 10),
)
LAMBDA_MIN_MB: Final = 128
LAMBDA_MAX_MB: Final = 10_240
LAMBDA_MB_PER_VCPU: Final = 1_769
LAMBDA_MAX_SECONDS: Final = 900.0
#: Fargate's task sizes: vCPU and the memory (GB) each allows.
FARGATE_SIZES: Final = (
    *((0.25, gb) for gb in (0.5, 1.0, 2.0)),
    *((0.5, float(gb)) for gb in range(1, 5)),
    *((1.0, float(gb)) for gb in range(2, 9)),
    *((2.0, float(gb)) for gb in range(4, 17)),
    *((4.0, float(gb)) for gb in range(8, 31)),
    *((8.0, float(gb)) for gb in range(16, 61, 4)),
    *((16.0, float(gb)) for gb in range(32, 121, 8)),
)


@dataclass(frozen=True)
class Measurement:
    """One measured run: seconds per stage (see :data:`STAGE_DRIVERS`) and peak memory (MB)."""

    size: BookSize
    seconds: dict[str, float]
    peak_mb: float
    workers: int | None = None

    @property
    def total(self) -> float:
        """Wall time of the whole run (seconds)."""
        return float(sum(self.seconds.values()))


@dataclass(frozen=True)
class Calibration:
    """Per-unit costs measured on one machine (coefficients of the stage and memory models)."""

    stages: dict[str, dict[str, float]]
    memory: dict[str, float]
    threads: int
    dask_start_s: float
    dask_overhead_s: float
    machine: dict[str, Any] = field(default_factory=dict)
    measurements: list[dict[str, Any]] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        """Write the calibration as JSON (atomically: a failed write leaves the old file)."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        temporary.replace(target)
        return target


def default_calibration_path() -> Path:
    """Where `fialloc capacity` keeps this machine's calibration (the user's cache folder)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "fialloc" / "capacity.json"


def read_calibration(path: str | Path) -> Calibration:
    """Read a calibration written by :meth:`Calibration.write`.

    Raises
    ------
    InputError
        Naming the file and what is wrong (unreadable, not JSON, a missing or bad field).
    """
    file = str(path)
    try:
        raw = json.loads(Path(path).expanduser().read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(file, None, None, f"cannot read a calibration: {exc}")]) from exc
    problems = []
    if not isinstance(raw, dict):
        raw = {}
        problems.append(Problem(file, None, None, "expected a JSON object"))
    stages = raw.get("stages")
    if not isinstance(stages, dict) or set(stages) != set(STAGE_DRIVERS):
        problems.append(Problem(file, None, "stages", f"needs the stages {list(STAGE_DRIVERS)}"))
    else:
        for stage, terms in stages.items():
            expected = {"intercept", *STAGE_DRIVERS[stage]}
            if not isinstance(terms, dict) or set(terms) != expected or not _finite(terms):
                msg = f"stage {stage!r} needs finite non-negative {sorted(expected)}"
                problems.append(Problem(file, None, "stages", msg))
    memory = raw.get("memory")
    expected = {"intercept", *MEMORY_DRIVERS}
    if not isinstance(memory, dict) or set(memory) != expected or not _finite(memory):
        problems.append(
            Problem(file, None, "memory", f"needs finite non-negative {sorted(expected)}")
        )
    for name in ("threads", "dask_start_s", "dask_overhead_s"):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            problems.append(
                Problem(file, None, name, f"needs a non-negative number, got {value!r}")
            )
    if problems or not isinstance(stages, dict) or not isinstance(memory, dict):
        raise InputError(problems)
    return Calibration(
        stages={k: {t: float(v) for t, v in terms.items()} for k, terms in stages.items()},
        memory={t: float(v) for t, v in memory.items()},
        threads=max(1, int(raw["threads"])),
        dask_start_s=float(raw["dask_start_s"]),
        dask_overhead_s=float(raw["dask_overhead_s"]),
        machine=dict(raw.get("machine") or {}),
        measurements=list(raw.get("measurements") or []),
    )


def _finite(terms: Mapping[str, Any]) -> bool:
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        for v in terms.values()
    )


def _probe(size: BookSize, workers: int | None) -> dict[str, Any]:
    """Run the pipeline on ``data.synthetic`` of `size` in this process (a fresh one)."""
    start = time.perf_counter()
    import fialloc.data as data
    from fialloc import pipeline, report, store
    from fialloc.distributed import open_executor
    from fialloc.results import build_response

    seconds = {"start": time.perf_counter() - start}
    begin = time.perf_counter()
    portfolio = data.synthetic(size.managers, size.securities, seed=1)
    seconds["load"] = time.perf_counter() - begin
    with open_executor(workers=workers) as executor:
        begin = time.perf_counter()
        result = pipeline.run(
            portfolio, n_paths=size.paths, horizons=size.horizons, executor=executor
        )
        run_seconds = time.perf_counter() - begin
    seconds.update(result.timings)
    if workers is not None:  # the cluster's start and hand-offs, outside the stages' clocks
        # (none left over when the desks' background time covered them: see pipeline.run)
        seconds["cluster"] = max(0.0, run_seconds - sum(result.timings.values()))
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        store.write_run(root, result, build_response(result), render=report.render_stored)
    seconds["outputs"] = time.perf_counter() - begin
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"seconds": seconds, "peak_mb": peak_mb}


def measure(size: BookSize, workers: int | None = None, timeout: float = 3600.0) -> Measurement:
    """Run the pipeline on a generated book of `size` in a fresh process and measure it.

    The wall time includes the interpreter's start and imports ("start"); the peak memory is
    the process's maximum resident set (the Dask workers' own memory is not included).

    Raises
    ------
    RuntimeError
        If the run fails or exceeds `timeout` seconds (its error output is in the message).
    """
    args = [str(v) for v in (size.managers, size.securities, size.paths, size.horizons)]
    command = [sys.executable, "-m", "fialloc.capacity", *args, str(workers or 0)]
    began = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        msg = f"capacity.measure: the run of {size} took more than {timeout:g} s"
        raise RuntimeError(msg) from exc
    wall = time.perf_counter() - began
    if done.returncode != 0:
        msg = f"capacity.measure: the run of {size} failed: {done.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = {k: float(v) for k, v in probe["seconds"].items()}
    # What the process spent outside the measured steps (interpreter start, exit) is start-up.
    seconds["start"] += max(0.0, wall - sum(seconds.values()))
    return Measurement(size, seconds, float(probe["peak_mb"]), workers)


def _nnls_fit(
    rows: Sequence[Mapping[str, float]], terms: Sequence[str], y: Sequence[float]
) -> dict[str, float]:
    """Non-negative least squares of `y` on an intercept and `terms`, in relative error.

    Each run's equation is divided by its own value, so a small book's stage weighs as much as
    a large one's (the fit is asked to be right in percent, as predictions are judged).
    """
    scale = np.maximum(np.asarray(y, dtype=float), 1e-9)
    design = np.array([[1.0, *(row[t] for t in terms)] for row in rows]) / scale[:, None]
    norms = np.maximum(np.abs(design).max(axis=0), 1e-300)
    coef, _ = nnls(design / norms, np.asarray(y, dtype=float) / scale)
    coef = coef / norms
    return {
        "intercept": float(coef[0]),
        **{t: float(c) for t, c in zip(terms, coef[1:], strict=True)},
    }


def fit(
    measurements: Sequence[Measurement], threads: int, dask: Measurement | None = None
) -> Calibration:
    """Fit the stage and memory models to measured runs (see the module docstring)."""
    runs = [m for m in measurements if m.workers is None]
    if len(runs) < 2:
        msg = f"capacity.fit: needs at least two in-process runs, got {len(runs)}"
        raise ValueError(msg)
    rows = [m.size.drivers() for m in runs]
    stages = {
        stage: _nnls_fit(rows, terms, [m.seconds.get(stage, 0.0) for m in runs])
        for stage, terms in STAGE_DRIVERS.items()
    }
    memory = _nnls_fit(rows, MEMORY_DRIVERS, [m.peak_mb for m in runs])
    start_s, overhead_s = 0.0, 0.0
    if dask is not None and dask.workers:
        start_s = max(0.0, dask.seconds.get("cluster", 0.0))
        alone = _stage_seconds(stages, dask.size)
        split = _parallel_seconds(alone, dask.size, dask.workers, threads)
        measured = sum(dask.seconds.get(s, 0.0) for s in PARALLEL_STAGES)
        overhead_s = max(0.0, measured - split)
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "calibrated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return Calibration(
        stages=stages,
        memory=memory,
        threads=threads,
        dask_start_s=start_s,
        dask_overhead_s=overhead_s,
        machine=machine,
        measurements=[
            {
                "size": asdict(m.size),
                "seconds": m.seconds,
                "peak_mb": m.peak_mb,
                "workers": m.workers,
            }
            for m in [*runs, *([dask] if dask is not None else [])]
        ],
    )


def calibrate(sizes: Sequence[BookSize] = PROBE_SIZES, dask_workers: int | None = 2) -> Calibration:
    """Measure this machine: the pipeline on each of `sizes`, then the last on a Dask cluster.

    Takes about a minute with the default sizes on a 2-core machine.
    """
    from fialloc.distributed import task_threads

    runs = [measure(size) for size in sizes]
    dask = measure(sizes[-1], workers=dask_workers) if dask_workers else None
    threads = task_threads() or os.cpu_count() or 1
    return fit(runs, threads, dask)


def _stage_seconds(stages: Mapping[str, Mapping[str, float]], size: BookSize) -> dict[str, float]:
    x = size.drivers()
    return {
        stage: terms["intercept"] + sum(c * x[t] for t, c in terms.items() if t != "intercept")
        for stage, terms in stages.items()
    }


def _parallel_seconds(
    alone: Mapping[str, float], size: BookSize, workers: int, threads: int
) -> float:
    """Seconds of the parallel stages on `workers` one-thread workers, before cluster overhead."""
    tasks = {"scenarios": math.ceil(size.paths / PATH_CHUNK), "stresses": workers}
    total = 0.0
    for stage in PARALLEL_STAGES:
        cpu = alone[stage] * (threads if stage in THREADED_STAGES else 1)
        total += cpu / max(1, min(workers, tasks[stage]))
    return total


@dataclass(frozen=True)
class Prediction:
    """What a run of `size` is predicted to take (seconds, MB) and where it fits."""

    size: BookSize
    stage_seconds: dict[str, float]
    seconds: float
    peak_mb: float
    workers: int | None
    cluster_seconds: float | None
    lambda_mb: int | None
    lambda_seconds: float | None
    fargate: tuple[float, float] | None
    fargate_seconds: float | None
    time_limit: float

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        out = asdict(self)
        out["fargate"] = (
            None
            if self.fargate is None
            else {"vcpu": self.fargate[0], "memory_gb": self.fargate[1]}
        )
        return out


def _seconds_on(alone: Mapping[str, float], vcpus: float, threads: int) -> float:
    """Seconds of a run on `vcpus` cores as fast as this machine's."""
    total = 0.0
    for stage, seconds in alone.items():
        if stage in THREADED_STAGES:
            total += seconds * threads / max(vcpus, 1e-9) if vcpus < threads else seconds
        else:
            total += seconds / min(1.0, vcpus)
    return total


def predict(
    calibration: Calibration,
    size: BookSize,
    workers: int | None = None,
    time_limit: float = LAMBDA_MAX_SECONDS,
) -> Prediction:
    """Predict a run's time and memory from a calibration, and size Lambda and Fargate for it.

    Parameters
    ----------
    calibration : Calibration
        This machine's costs (:func:`calibrate` or :func:`read_calibration`).
    size : BookSize
    workers : int, optional
        Also predict the wall time on this many Dask workers (single-threaded processes).
    time_limit : float
        Seconds the run must finish within on Lambda or Fargate (Lambda's own limit is 900).
    """
    if not math.isfinite(time_limit) or time_limit <= 0:
        msg = f"predict: `time_limit` must be a positive number of seconds, got {time_limit!r}"
        raise ValueError(msg)
    if workers is not None and (isinstance(workers, bool) or not 1 <= workers <= 10_000):
        msg = f"predict: `workers` must be from 1 to 10,000, got {workers!r}"
        raise ValueError(msg)
    alone = _stage_seconds(calibration.stages, size)
    x = size.drivers()
    memory = calibration.memory
    peak = memory["intercept"] + sum(c * x[t] for t, c in memory.items() if t != "intercept")
    threads = calibration.threads
    cluster = None
    if workers is not None:
        serial = sum(v for k, v in alone.items() if k not in PARALLEL_STAGES)
        cluster = (
            serial
            + _parallel_seconds(alone, size, workers, threads)
            + calibration.dask_start_s
            + calibration.dask_overhead_s
        )
    need_mb = peak * MEMORY_HEADROOM
    lambda_mb = lambda_s = None
    limit = min(time_limit, LAMBDA_MAX_SECONDS)
    for mb in range(max(LAMBDA_MIN_MB, math.ceil(need_mb)), LAMBDA_MAX_MB + 1):
        seconds = _seconds_on(alone, min(6.0, mb / LAMBDA_MB_PER_VCPU), threads)
        if seconds <= limit:
            lambda_mb, lambda_s = mb, seconds
            break
    fargate = fargate_s = None
    for vcpu, gb in FARGATE_SIZES:
        seconds = _seconds_on(alone, vcpu, threads)
        if gb * 1024 >= need_mb and seconds <= time_limit:
            fargate, fargate_s = (vcpu, gb), seconds
            break
    return Prediction(
        size=size,
        stage_seconds=alone,
        seconds=float(sum(alone.values())),
        peak_mb=float(peak),
        workers=workers,
        cluster_seconds=cluster,
        lambda_mb=lambda_mb,
        lambda_seconds=lambda_s,
        fargate=fargate,
        fargate_seconds=fargate_s,
        time_limit=time_limit,
    )


if __name__ == "__main__":  # the fresh process of `measure`
    m, s, p, h, w = (int(v) for v in sys.argv[1:6])
    print(json.dumps(_probe(BookSize(m, s, p, h), w or None)))
