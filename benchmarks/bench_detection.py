"""Detection power of the skill and credit-beta verdicts on 50 generated books of 60 months
(and 50 more of 36 months), and the cost of the verdicts against statsmodels' Newey-West
regressions in the same run.

``pytest benchmarks/bench_detection.py -s`` prints the rates (desks and oracle, Wilson 95%
intervals) recorded in BENCHMARKS.md and rewrites the power curve the report's appendix
charts (``src/fialloc/report/detection_power.csv``); ``--benchmark-only`` runs the timings.
In a smoke run (``--benchmark-disable``) each study runs on the first :data:`SMOKE_BOOKS` of
its books: the machinery, the rates' consistency and whether the goals stay inside the small
study's intervals are checked (and on the 60-month books the test suite's checks of a 5-book
study), the power curve is not rewritten.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fialloc.analytics.context import DeskContext
from fialloc.analytics.detection import beta_rates_by_level, detection_rates, power_curve
from fialloc.analytics.drift import return_factors
from fialloc.analytics.evidence import BETA_LEVEL, evidence_table
from fialloc.analytics.regression import newey_west_lags, ols_fit
from fialloc.data.testbooks import generate_book
from fialloc.detection_study import run_detection_study

SEEDS = range(1000, 1050)
#: Books of 36 months, seeds no setting was chosen on.
SHORT_SEEDS = range(5000, 5050)
#: Books per study in a smoke run (``--benchmark-disable``).
SMOKE_BOOKS = 5
POWER_CSV = (
    Path(__file__).resolve().parents[1] / "src" / "fialloc" / "report" / "detection_power.csv"
)


@pytest.fixture(scope="module")
def smoke(request) -> bool:
    return bool(request.config.getoption("benchmark_disable"))


def _seeds(seeds: range, smoke: bool) -> range:
    return seeds[:SMOKE_BOOKS] if smoke else seeds


@pytest.fixture(scope="module")
def records(smoke) -> pd.DataFrame:
    return run_detection_study(_seeds(SEEDS, smoke), n_months=60)


def _check_skill_goals(rates: pd.DataFrame, smoke: bool) -> None:
    """The skill goals: within 0.1 of the oracle at IR >= 1.0 (and 0.8 at IR >= 1.5 at 60
    months). A full study must meet them; a smoke study's intervals must not rule them out."""
    desks, oracle = rates["desks"], rates["oracle"]
    at_1 = desks.loc["skill recall, IR >= 1.0"]
    for measure in rates.index:
        for who in (desks, oracle):
            if who.loc[measure, "count"] > 0:
                assert (
                    who.loc[measure, "low"] <= who.loc[measure, "rate"] <= who.loc[measure, "high"]
                )
    gap = oracle.loc["skill recall, IR >= 1.0", "rate"] - at_1["rate"]
    assert (oracle.loc["skill recall, IR >= 1.0", "rate"] - at_1["high"] if smoke else gap) <= 0.1


def _check_the_records(records: pd.DataFrame) -> None:
    """The test suite's checks of a 5-book, 60-month study (every size of study meets them)."""
    assert records.index.names == ["book", "manager_id"]
    assert (records["months"] == 60).all()
    rates = detection_rates(records)
    assert set(rates.columns.get_level_values(0)) == {"desks", "oracle"}
    for who in ("desks", "oracle"):
        r = rates[who]
        assert ((r["low"] <= r["rate"]) & (r["rate"] <= r["high"])).all()
        assert r.loc["beta false positives", "rate"] <= 0.1
    # The oracle knows the model and the noise: the desks cannot do much better on any book.
    gap = rates["desks"]["rate"] - rates["oracle"]["rate"]
    assert gap["skill recall, IR >= 1.0"] <= 0.25
    curve = power_curve(records)
    assert list(curve["ir_low"]) == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    assert curve["managers"].sum() == (records["kind"] == "skill").sum()
    # At the desks' own level the beta rates by level are the flags' rates; a looser test
    # finds at least as many, right and wrong.
    levels = beta_rates_by_level(records, (BETA_LEVEL, 0.05))
    for who, flag in (("desks", "beta_flag"), ("oracle", "oracle_beta")):
        assert levels.loc[BETA_LEVEL, f"{who}_recall"] == rates[who].loc["beta recall", "rate"]
        fp = rates[who].loc["beta false positives", "rate"]
        assert levels.loc[BETA_LEVEL, f"{who}_false_positives"] == fp
        assert (records[flag] <= (records[f"{'' if who == 'desks' else 'oracle_'}credit_p"]
                                  < BETA_LEVEL)).all()  # fmt: skip
        for measure in ("recall", "false_positives"):
            assert levels[f"{who}_{measure}"].is_monotonic_increasing
    # The bound knows the loadings' direction: by hand from the signals, above the oracle's
    # recall on average (five books: allow the oracle's luck a little room).
    signal = records.loc[records["kind"] == "beta", "beta_signal"].to_numpy()
    for level in (BETA_LEVEL, 0.05):
        by_hand = np.mean([stats.norm.sf(stats.norm.isf(level) - d) for d in signal])
        assert levels.loc[level, "bound_recall"] == pytest.approx(by_hand, rel=1e-12)
        assert levels.loc[level, "bound_recall"] >= levels.loc[level, "oracle_recall"] - 0.05


def test_detection_power_over_60_months(records, smoke):
    rates = detection_rates(records)
    curve = power_curve(records)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{records.index.get_level_values('book').nunique()} books, {len(records)} "
              "managers, 60 months")  # fmt: skip
        print(rates.round(3).to_string())
        print(curve.round(3).to_string())
        print(beta_rates_by_level(records).round(3).T.to_string())
    _check_skill_goals(rates, smoke)
    # The test suite's checks of a 5-book study are this study's (its first five books in a
    # smoke run): the suite ran the same study on other books.
    _check_the_records(records)
    desks = rates["desks"]
    # The goals: 0.8 at IR >= 1.5; beta false positives under 5%.
    at_15, false_beta = desks.loc["skill recall, IR >= 1.5"], desks.loc["beta false positives"]
    assert (at_15["high"] if smoke else at_15["rate"]) >= 0.8
    assert (false_beta["low"] if smoke else false_beta["rate"]) <= 0.05
    if not smoke:
        curve.round(4).to_csv(POWER_CSV, index=False)


def test_detection_power_over_36_months(smoke):
    records = run_detection_study(_seeds(SHORT_SEEDS, smoke), n_months=36)
    rates = detection_rates(records)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{len(_seeds(SHORT_SEEDS, smoke))} books, {len(records)} managers, 36 months")
        print(rates.round(3).to_string())
        print(beta_rates_by_level(records).round(3).T.to_string())
    _check_skill_goals(rates, smoke)


def test_detection_power_on_books_of_every_size(smoke):
    seeds = _seeds(range(2000, 2020), smoke)
    records = run_detection_study(seeds, n_months=None)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{len(seeds)} books of 10-60 managers and 36-120 months")
        print(detection_rates(records).round(3).to_string())
        print(beta_rates_by_level(records).round(3).T.to_string())


def test_beta_verdicts_on_other_held_out_books(smoke):
    # 40 more books of 60 months (4100-4139) on which no setting was chosen: the beta rates
    # by level beside the GLS oracle and the bound.
    seeds = _seeds(range(4100, 4140), smoke)
    records = run_detection_study(seeds, n_months=60)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{len(seeds)} books from 4100, {len(records)} managers, 60 months")
        print(beta_rates_by_level(records).round(3).T.to_string())


@pytest.fixture(scope="module")
def book():
    b = generate_book(7, n_managers=60, n_months=120)
    excess = b.portfolio.returns - b.portfolio.benchmark_returns
    factors = return_factors(DeskContext(b.portfolio))
    return excess.loc[factors.index], factors


def _statsmodels_alphas(excess: pd.DataFrame, factors: pd.DataFrame) -> np.ndarray:
    """Reference: one statsmodels OLS with Newey-West errors per manager."""
    import statsmodels.api as sm

    design = sm.add_constant(factors.to_numpy())
    lags = newey_west_lags(len(factors))
    out = []
    for m in excess.columns:
        fit = sm.OLS(excess[m].to_numpy(), design).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
        )
        out.append(fit.bse[0])
    return 12.0 * np.array(out)


@pytest.mark.benchmark(group="evidence: 60 managers, 120 months")
def test_fialloc_evidence_table(benchmark, book):
    excess, factors = book
    table = benchmark(evidence_table, excess, factors)
    # Its Newey-West part against the reference; alpha_se is at least that.
    newey_west = 12.0 * ols_fit(excess, factors, newey_west_lags(len(factors)))["se"][0]
    np.testing.assert_allclose(newey_west, _statsmodels_alphas(excess, factors), rtol=1e-9)
    assert (table["alpha_se"].to_numpy() >= newey_west - 1e-15).all()


@pytest.mark.benchmark(group="evidence: 60 managers, 120 months")
def test_statsmodels_newey_west_per_manager(benchmark, book):
    excess, factors = book
    benchmark(_statsmodels_alphas, excess, factors)
