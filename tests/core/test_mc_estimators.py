"""Monte Carlo statistics with standard errors: coverage on problems with a known answer."""

from functools import cache

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from fialloc.mc_estimators import Z95, Controls, estimate

STATS = [("mean", None), ("below_zero", None), ("quantile", 0.05), ("quantile", 0.5),
         ("expected_shortfall", 0.05)]  # fmt: skip
COV = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 0.5]])


def _outcomes(rng, n, noise):
    """Skewed outcomes, mostly linear in Gaussian states with a known law, and the states."""
    z = rng.multivariate_normal(np.zeros(3), COV, size=n)
    x = 1.5 + z @ np.array([1.0, -0.5, 0.8]) - 0.3 * z[:, 0] ** 2 + noise * rng.standard_normal(n)
    return x, z


@cache
def _reference():
    return _outcomes(np.random.default_rng(0), 4_000_000, 0.3)[0]


def _truth(kind, level):
    x = _reference()
    if kind == "mean":
        return x.mean()
    if kind == "below_zero":
        return (x < 0).mean()
    q = np.quantile(x, level)
    return q if kind == "quantile" else q + np.minimum(x - q, 0).mean() / level


@pytest.mark.parametrize("controlled", [False, True])
@pytest.mark.parametrize(("kind", "level"), STATS)
def test_95_percent_intervals_cover_the_truth_95_percent_of_the_time(kind, level, controlled):
    truth = _truth(kind, level)
    rng = np.random.default_rng(1)
    hits, reps = 0, 400
    for _ in range(reps):
        x, z = _outcomes(rng, 2000, 0.3)  # the default path count
        e = estimate(x, kind, level, controls=Controls(z, COV) if controlled else None)
        hits += e.low <= truth <= e.high
    # 400 repetitions: the coverage's own standard error is 1.1 points.
    assert 0.91 <= hits / reps <= 0.985, hits / reps


@pytest.mark.parametrize(("kind", "level"), STATS)
def test_standard_errors_match_the_spread_across_seeds_and_controls_shrink_them(kind, level):
    rng = np.random.default_rng(2)
    plain, controlled = [], []
    for _ in range(300):
        x, z = _outcomes(rng, 2000, 0.1)
        plain.append(estimate(x, kind, level))
        controlled.append(estimate(x, kind, level, controls=Controls(z, COV)))
    for found in (plain, controlled):
        spread = np.std([e.value for e in found], ddof=1)
        ratio = spread / np.mean([e.se for e in found])
        # The median's kernel-density standard error is conservative by design (up to 1/0.7).
        assert 0.7 <= ratio <= 1.2, (kind, ratio)
    shrink = np.mean([e.se for e in controlled]) / np.mean([e.se for e in plain])
    # The outcomes' curvature in the states is what the linear controls cannot remove.
    assert shrink < 0.8, shrink


def test_an_outcome_linear_in_the_states_is_known_exactly():
    rng = np.random.default_rng(3)
    z = rng.multivariate_normal(np.zeros(3), COV, size=500)
    beta = np.array([2.0, -1.0, 0.5])
    x = 0.7 + z @ beta
    scale = np.sqrt(beta @ COV @ beta)
    a = 0.05
    exact = {
        ("mean", None): 0.7,
        ("below_zero", None): stats.norm.cdf(-0.7 / scale),
        ("quantile", a): 0.7 + scale * stats.norm.ppf(a),
        ("expected_shortfall", a): 0.7 - scale * stats.norm.pdf(stats.norm.ppf(a)) / a,
    }
    for (kind, level), value in exact.items():
        e = estimate(x, kind, level, controls=Controls(z, COV))
        assert e.value == pytest.approx(value, rel=1e-9, abs=1e-12), kind
        assert e.se < 1e-9, kind


def test_expected_shortfall_is_the_mean_of_the_worst_outcomes():
    x = np.arange(1.0, 41.0)  # 5% of 40 paths: the worst two, 1 and 2
    assert estimate(x, "expected_shortfall", 0.05).value == pytest.approx(1.5, rel=1e-12)
    e = estimate(x, "below_zero")
    assert e.value == 0.0
    assert e.se == 0.0


def test_paired_differences_cancel_common_noise_and_cover_the_truth():
    rng = np.random.default_rng(4)
    hits, ratios = 0, []
    for _ in range(300):
        x, _ = _outcomes(rng, 1000, 0.3)
        y = x + 0.05 + 0.02 * rng.standard_normal(1000)  # a small change on the same paths
        a, b = estimate(y, "mean"), estimate(x, "mean")
        d = a.minus(b)
        hits += d.low <= 0.05 <= d.high
        ratios.append(d.se / np.hypot(a.se, b.se))
    assert 0.91 <= hits / 300 <= 0.985
    assert np.mean(ratios) < 0.05
    assert d.high - d.low == pytest.approx(2 * Z95 * d.se)


@pytest.mark.parametrize(
    ("x", "kind", "level", "match"),
    [
        (np.ones(3), "mean", None, "at least 4"),
        (np.array([1.0, np.nan, 2.0, 3.0]), "mean", None, "finite"),
        (np.ones(10), "quantile", None, "level"),
        (np.ones(10), "expected_shortfall", 1.0, "level"),
    ],
)
def test_bad_inputs_are_refused(x, kind, level, match):
    with pytest.raises(ValueError, match=match):
        estimate(x, kind, level)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(40, 400),
    scale=st.floats(1e-3, 1e9),
    shift=st.floats(-1e10, 1e10),
    controlled=st.booleans(),
)
def test_estimates_move_with_the_unit_and_origin_of_the_outcomes(seed, n, scale, shift, controlled):
    # A statistic in money is the same statistic in millions, or relative to another origin.
    rng = np.random.default_rng(seed)
    x, z = _outcomes(rng, n, 0.5)
    controls = Controls(z, COV) if controlled else None
    for kind, level in [s for s in STATS if s[0] != "below_zero"]:
        base = estimate(x, kind, level, controls=controls)
        moved = estimate(scale * x + shift, kind, level, controls=controls)
        tol = 1e-7 * (scale * (abs(base.value) + base.se + 1.0) + abs(shift))
        assert moved.value == pytest.approx(scale * base.value + shift, abs=tol), kind
        assert moved.se == pytest.approx(scale * base.se, rel=1e-6, abs=tol), kind
        assert base.minus(base).value == 0.0
        assert base.minus(base).se == 0.0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 30),
    n=st.integers(40, 3000),
    collinear=st.booleans(),
)
@example(seed=736948, k=23, n=258, collinear=True)
def test_control_regression_is_least_squares(seed, k, n, collinear):
    # The control regression (eigen-decomposition of the scaled normal equations) against
    # numpy's SVD least squares on random designs: correlated states on scales from 1e-4 to
    # 1e2 (as the rate states and log links are), and with a state that is an exact linear
    # combination of others (a link without volatility), which both leave out. The fitted
    # values and the prediction's variance agree to 1e-9 of the outcomes' scale.
    from fialloc.mc_estimators import _least_squares

    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(k, k)) + 3.0 * np.eye(k)
    z = rng.normal(size=(n, k)) @ mix * 10.0 ** rng.uniform(-4, 2, k)
    if collinear and k >= 3:
        z[:, -1] = z[:, 0] - 2.0 * z[:, 1]
    v = 5.0 + z @ rng.normal(size=k) + rng.normal(size=n) * rng.uniform(0.01, 10)
    intercept, slopes = _least_squares(z, v)
    design = np.column_stack([np.ones(n), z])
    coef = np.linalg.lstsq(design, v, rcond=None)[0]
    scale = np.abs(v).max()
    assert np.abs(intercept + z @ slopes - design @ coef).max() <= 1e-9 * scale
    cov = np.cov(z.T).reshape(k, k)
    # The reference's variance from its fitted values: with a collinear state its
    # minimum-norm slopes make the quadratic form cancel to about 1e-9 (seed 736948 below).
    ours, theirs = slopes @ cov @ slopes, float(np.var(z @ coef[1:], ddof=1))
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12 * scale**2)


def test_z95_is_scipys_normal_quantile_to_the_bit():
    from scipy import special

    assert float(special.ndtri(0.975)) == Z95
