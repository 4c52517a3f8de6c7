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
from fialloc.data.demo import BETA_LOADING, SKILL_ALPHA

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
    return data.demo(request.param), data.demo_truth(request.param)


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


def test_bbb_beta_managers_look_skilled_on_raw_excess_return():
    # On the default seed spreads tightened over the history, so BBB beta paid: ranked on raw
    # excess return the beta managers stand among the skilled ones, two of them on top.
    p, truth = data.demo(), data.demo_truth()
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


def test_no_other_manager_shows_alpha_or_strong_bbb_beta():
    p, truth = data.demo(), data.demo_truth()
    ex, bbb = _excess(p), _credit_factor(p, "BBB").to_numpy()
    planted = {*truth.bbb_beta_managers, *truth.skilled_managers}
    for m in ex.columns.difference(sorted(planted)):
        (_, beta), (t_alpha, _), r2 = _ols(ex[m].to_numpy(), bbb)
        assert abs(t_alpha) < 2.0, m
        assert beta < 0.2, m
        assert r2 < 0.2, m


def test_drift_shows_in_sleeve_characteristics_from_the_stated_month(book):
    p, truth = book
    ch = p.manager_characteristics
    assert ch is not None
    floors = {"duration": 0.1, "credit_notch": 0.25, "high_yield_share": 0.02}
    moved: dict[str, set[str]] = {}
    for column, floor in floors.items():
        table = ch.pivot(index="month", columns="manager_id", values=column).sort_index()
        base = table.iloc[:36]
        z = (table - base.mean()) / base.std(ddof=1).clip(lower=floor)
        late = z.iloc[-6:].abs().min()
        for m in late.index[late > 5.0]:
            moved.setdefault(m, set()).add(column)
        for m, start in truth.drifting_managers.items():
            before = z.loc[z.index < start, m].abs()
            assert before.iloc[-12:].max() < 4.0, (m, column)  # quiet before the start
    assert set(moved) == set(truth.drifting_managers)
    duration_drifter = next(m for m, cols in moved.items() if "duration" in cols)
    quality_drifter = next(m for m, cols in moved.items() if "high_yield_share" in cols)
    assert duration_drifter != quality_drifter
    assert "credit_notch" in moved[quality_drifter]


def test_drift_shows_in_the_return_regression(book):
    p, truth = book
    ex = _excess(p)
    rate_move = p.zero_history[10.0].diff().iloc[1:]
    hy_factor = _credit_factor(p, "BB")
    ch = p.manager_characteristics
    assert ch is not None
    last = ch[ch["month"] == ch["month"].max()].set_index("manager_id")
    first = ch[ch["month"] == ch["month"].min()].set_index("manager_id")
    for m, start in truth.drifting_managers.items():
        pre = ex.index < start
        post = ex.index >= ex.index[ex.index.get_loc(start) + 6]
        longer = last.loc[m, "duration"] - first.loc[m, "duration"] > 1.0
        factor = rate_move if longer else hy_factor
        (_, b_pre), _, _ = _ols(ex[m][pre].to_numpy(), factor[pre].to_numpy())
        (_, b_post), (_, t_post), _ = _ols(ex[m][post].to_numpy(), factor[post].to_numpy())
        if longer:  # longer than the benchmark: loses when rates rise
            assert b_post < -1.5 < b_pre, m
        else:  # into high yield: earns the high-yield factor
            assert b_post > 0.3 > b_pre, m
        assert abs(t_post) > 3.0, m
