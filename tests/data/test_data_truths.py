"""The demo's planted truths are really in its data, found here by plain least squares.

These checks are independent of the desks: they regress the demo's monthly excess returns on
factor returns built from its own market history, and scan its sleeve characteristics, so a
desk that misses a planted truth fails against data known to contain it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.benchmark_characteristics import benchmark_characteristics
from fialloc.data.demo_universe import (
    BETA_LOADING,
    CHARACTERISTIC_NOISE,
    DRIFT_NOTCHES,
    DRIFT_RAMP,
    DRIFT_SIZE,
    SKILL_ALPHA,
)
from fialloc.schedule import add_months

SEEDS = (7, 1, 2)


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, t-statistics and R^2 of y on [1, x]."""
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = len(y) - design.shape[1]
    cov = resid @ resid / dof * np.linalg.inv(design.T @ design)
    r2 = 1.0 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    return coef, coef / np.sqrt(np.diag(cov)), float(r2)


def _credit_factor(p: data.Portfolio, letter: str) -> pd.Series:
    """Monthly credit excess return of a rating with the book's own spread duration."""
    return DeskContext(p).credit_factor(letter)


def _excess(p: data.Portfolio) -> pd.DataFrame:
    return (p.returns - p.benchmark_returns).sort_index().iloc[1:]


@pytest.fixture(scope="module", params=SEEDS)
def book(request):
    if request.param == 7:  # the session's demo, built once for every test module
        return request.getfixturevalue("demo_portfolio"), request.getfixturevalue("demo_truth")
    tables, truth = data.demo_tables(request.param)
    return data.from_tables(tables, data.DEMO_VALUATION), truth


def test_truth_names_known_managers(book):
    p, truth = book
    ids = set(p.managers["manager_id"])
    groups = [
        set(truth.bbb_beta_managers),
        set(truth.skilled_managers),
        set(truth.drifting_managers),
    ]
    assert [len(g) for g in groups] == [3, 3, 2]
    assert set().union(*groups) <= ids
    assert sum(len(g) for g in groups) == len(set().union(*groups))  # disjoint
    months = set(p.returns.index)
    for start in truth.drifting_managers.values():
        assert start in months
        assert start > p.returns.index[12]  # a year of clean history before the drift


def test_bbb_beta_managers_have_beta_and_no_alpha(book):
    p, truth = book
    ex, bbb = _excess(p), _credit_factor(p, "BBB").to_numpy()
    for m in truth.bbb_beta_managers:
        (_, beta), (t_alpha, t_beta), r2 = _ols(ex[m].to_numpy(), bbb)
        assert beta == pytest.approx(BETA_LOADING, abs=0.05), m
        assert t_beta > 8, m
        assert r2 > 0.6, m
        assert abs(t_alpha) < 2.5, m


def test_bbb_beta_managers_look_skilled_on_raw_excess_return(demo_portfolio, demo_truth):
    # On the default seed spreads tightened over the history, so BBB beta paid: ranked on raw
    # excess return the beta managers stand among the skilled ones, two of them on top.
    p, truth = demo_portfolio, demo_truth
    top = _excess(p).mean().nlargest(6).index
    assert set(top) == {*truth.bbb_beta_managers, *truth.skilled_managers}
    assert set(top[:2]) <= set(truth.bbb_beta_managers)


def test_skilled_managers_have_significant_alpha_not_beta(book):
    p, truth = book
    ex, bbb = _excess(p), _credit_factor(p, "BBB").to_numpy()
    # Realistic strength: 72 bp a year against 15 bp of monthly noise, t about 3 over 60
    # months; any one manager's realized t wanders by about 1 around that.
    t_alphas = []
    for m in truth.skilled_managers:
        (alpha, _), (t_alpha, t_beta), _ = _ols(ex[m].to_numpy(), bbb)
        t_alphas.append(t_alpha)
        assert 1.0 < t_alpha < 5.0, m
        assert 12 * alpha == pytest.approx(12 * SKILL_ALPHA, abs=0.005), m
        assert abs(t_beta) < 2.5, m
    assert 2.5 < np.mean(t_alphas) < 3.6


def test_no_other_manager_shows_alpha_or_strong_bbb_beta(demo_portfolio, demo_truth):
    p, truth = demo_portfolio, demo_truth
    ex, bbb = _excess(p), _credit_factor(p, "BBB").to_numpy()
    planted = {*truth.bbb_beta_managers, *truth.skilled_managers}
    for m in ex.columns.difference(sorted(planted)):
        (_, beta), (t_alpha, _), r2 = _ols(ex[m].to_numpy(), bbb)
        assert abs(t_alpha) < 2.0, m
        assert beta < 0.2, m
        assert r2 < 0.2, m


def _active(p: data.Portfolio, manager: str, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """A manager's characteristics less its benchmark's (the engine's one definition).

    `benchmarks` is ``benchmark_characteristics(p)``, computed once per test, not per manager.
    """
    ch = p.manager_characteristics
    assert ch is not None
    own = ch[ch["manager_id"] == manager].set_index("month").sort_index()
    bench = benchmarks.loc[str(p.managers.loc[manager, "benchmark"])]
    return own[["duration", "credit_notch", "high_yield_share"]] - bench.reindex(own.index)


def test_drift_shows_in_sleeve_characteristics_from_the_stated_month(book):
    # Realistic strength: one to two standard deviations of the sleeves' month-to-month
    # wander, reached over DRIFT_RAMP months, in the active series (the manager less its
    # benchmark: both move with rates and roll-down). Before/after means by plain numpy.
    p, truth = book
    column = {"M22": "high_yield_share", "M23": "duration"}
    noise = CHARACTERISTIC_NOISE
    benchmarks = benchmark_characteristics(p)
    for m, start in truth.drifting_managers.items():
        own = _active(p, m, benchmarks)
        series = own[column[m]]
        before = series[series.index < start]
        after = series[series.index >= add_months(start, DRIFT_RAMP - 1)]
        moved = after.mean() - before.mean()
        size = DRIFT_SIZE[m]
        assert 1.0 <= size / noise[column[m]] <= 2.0
        # The difference of means has a standard error of about a third of the noise's sd.
        assert abs(moved - size) < 0.6 * size, (m, moved)
        if m == "M22":  # its rating falls with its high yield
            notch = own["credit_notch"]
            lift = notch[notch.index >= start].mean() - notch[notch.index < start].mean()
            assert lift > 0.5 * DRIFT_NOTCHES, lift


def test_drift_is_too_small_to_show_in_returns_alone(book):
    # The planted loadings (0.4 years more duration; 2% more high yield) are in the returns,
    # but a realistic drift is not provable from a year of returns: the post-drift regression
    # agrees with the planted loading within its noise. That is why drift is read from the
    # sleeves' characteristics.
    p, truth = book
    ex = _excess(p)
    rate_move = p.zero_history[10.0].diff().iloc[1:]
    hy_factor = _credit_factor(p, "BB")
    for m, start in truth.drifting_managers.items():
        post = ex.index >= add_months(start, DRIFT_RAMP - 1)
        factor, planted = (rate_move, -DRIFT_SIZE[m]) if m == "M23" else (hy_factor, DRIFT_SIZE[m])
        (_, b_post), (_, t_post), _ = _ols(ex[m][post].to_numpy(), factor[post].to_numpy())
        se = abs(b_post / t_post)
        assert abs(b_post - planted) < 3.0 * se, m


def test_sleeve_characteristics_move_with_rates_as_their_benchmarks_do(book):
    # A sleeve's reported duration rides rates and roll-down with its benchmark's: the
    # absolute series moves by far more than the planted wander, the active one does not.
    p, truth = book
    ch = p.manager_characteristics
    assert ch is not None
    steady = [m for m in p.managers.index if m not in truth.drifting_managers]
    moved, wander = [], []
    benchmarks = benchmark_characteristics(p)
    for m in steady:
        own = ch[ch["manager_id"] == m].set_index("month").sort_index()["duration"]
        active = _active(p, m, benchmarks)["duration"]
        moved.append(own.max() - own.min())
        wander.append(active.std())
    # Every benchmark's constituents age five years: durations shorten by years, with rates.
    assert np.median(moved) > 1.5
    assert np.median(wander) < 2.0 * CHARACTERISTIC_NOISE["duration"]
