"""How often the allocation's decisions are right: the engine's moves on 40 generated books
beside the oracle's (the same optimizer with each manager's true alpha) and those without skill
evidence (:mod:`fialloc.decision_study`; issues 15 and 16).

``pytest benchmarks/bench_decisions.py -s`` (or ``--benchmark-only``) runs the study on the
books of :data:`SEEDS` (10-60 managers, 36-120 months, drawn per book; no setting was chosen
on them), times it once and prints the tables recorded in BENCHMARKS.md. In a smoke run
(``--benchmark-disable``) it runs on the first :data:`SMOKE_BOOKS` books and checks the
machinery only.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from fialloc.decision_study import (
    ALLOCATIONS,
    decision_rates,
    gain_and_regret,
    manager_group,
    regret_terms,
    run_decision_study,
    weight_changes,
)

#: Books no setting was chosen on (the detection studies use 1000-1049, 2000-2019, 4100-4139
#: and 5000-5049).
SEEDS = range(6000, 6040)
#: Books in a smoke run (``--benchmark-disable``).
SMOKE_BOOKS = 3
#: The run's scenario paths and seed (as ``fialloc run --paths 200 --seed 3``).
PATHS, SCENARIO_SEED = 200, 3
#: The true objective at the oracle's weights may fall below another allocation's by the
#: solver's tolerance and the program's tangent approximation of market impact (money a year
#: on $40B: 0.0025 bp).
VALUE_TOLERANCE = 1e4


@pytest.fixture(scope="module")
def smoke(request) -> bool:
    return bool(request.config.getoption("benchmark_disable"))


def _print(study_seconds: float, cpu: float, study) -> None:
    records, books = study.records, study.books
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(
            f"\n{len(books)} books (seeds {books.index.min()}-{books.index.max()}), "
            f"{len(records)} managers, {books['months'].min():.0f}-{books['months'].max():.0f} "
            f"months, {books['managers'].min():.0f}-{books['managers'].max():.0f} managers; "
            f"{PATHS} paths, scenario seed {SCENARIO_SEED}; {study_seconds:.0f} s wall, "
            f"{cpu:.0f} s CPU, load average {os.getloadavg()[0]:.1f}"
        )
        print(manager_group(records).value_counts().to_string())
        print(decision_rates(records).round(3).to_string())
        print(weight_changes(records).round(1).to_string())
        print(gain_and_regret(books).round(3).to_string())
        print(regret_terms(books).round(3).to_string())
        print(pd.crosstab(records["engine_direction"], records["oracle_direction"]).to_string())
        print(f"{len(study.failures)} runs stopped:")
        print(study.failures.to_string())


def test_decisions_on_generated_books(benchmark, smoke):
    seeds = SEEDS[:SMOKE_BOOKS] if smoke else SEEDS
    start, cpu = time.perf_counter(), time.process_time()
    study = benchmark.pedantic(
        run_decision_study,
        args=(seeds,),
        kwargs={"n_paths": PATHS, "scenario_seed": SCENARIO_SEED},
        rounds=1,
        iterations=1,
    )
    _print(time.perf_counter() - start, time.process_time() - cpu, study)
    records, books = study.records, study.books
    assert sorted([*books.index, *study.failures.index]) == list(seeds)
    assert len(records) == books["managers"].sum()
    # The oracle maximizes the objective with the true alphas: no allocation beats it there.
    for who in ALLOCATIONS:
        assert (books["oracle_value"] >= books[f"{who}_value"] - VALUE_TOLERANCE).all()
    rates = decision_rates(records)
    shares = rates[[*ALLOCATIONS, *(f"{w}_{e}" for w in ALLOCATIONS for e in ("low", "high"))]]
    assert np.nanmin(shares.to_numpy()) >= 0.0
    assert np.nanmax(shares.to_numpy()) <= 1.0
    assert (rates.xs("agrees with oracle", level="measure")["oracle"] == 1.0).all()
