"""The desks on the demo book, after pricing (issue goal: well under one second), and the
performance desk against a plain numpy computation of its core statistics in the same run.
"""

import numpy as np
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.analytics.drift import return_factors
from fialloc.desks import performance, run_desks


@pytest.fixture(scope="module")
def ctx():
    ctx = DeskContext(data.demo())
    _ = ctx.securities, ctx.managers, ctx.liabilities, ctx.excess_returns  # pricing done once
    return ctx


@pytest.mark.benchmark(group="desks")
def test_all_desks_on_the_demo_book(benchmark, ctx):
    results = benchmark(run_desks, ctx)
    assert {f.subject for f in results["credit"].findings_of("credit_beta")} == set(
        data.demo_truth().bbb_beta_managers
    )


def _numpy_skill_core(excess: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Reference: one least squares for all managers, then selection IRs over three windows.

    The irreducible part of the performance desk (no bootstrap, break search, drift, peers or
    tables): returns the annual information ratios, windows (12, 36, all) by manager.
    """
    design = np.column_stack([np.ones(len(factors)), factors])
    coef, *_ = np.linalg.lstsq(design, excess, rcond=None)
    selection = excess - factors @ coef[1:]
    out = []
    for k in (12, 36, len(selection)):
        x = selection[-k:]
        out.append(np.sqrt(12.0) * x.mean(axis=0) / x.std(axis=0, ddof=1))
    return np.array(out)


@pytest.mark.benchmark(group="performance")
def test_performance_desk_on_the_demo_book(benchmark, ctx):
    result = benchmark(performance.analyze, ctx)
    assert {f.subject for f in result.findings_of("significant_skill")} == set(
        data.demo_truth().skilled_managers
    )


@pytest.mark.benchmark(group="performance")
def test_performance_reference_numpy_core(benchmark, ctx):
    factors = return_factors(ctx)
    excess = ctx.excess_returns.loc[factors.index]
    irs = benchmark(_numpy_skill_core, excess.to_numpy(), factors.to_numpy())
    desk = performance.analyze(ctx).tables["skill"]["information_ratio"].unstack("window")
    np.testing.assert_allclose(irs.T, desk.loc[excess.columns].to_numpy(), rtol=1e-9)
