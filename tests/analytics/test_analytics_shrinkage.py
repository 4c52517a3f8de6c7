"""Empirical-Bayes shrinkage of alphas (normal-normal, adaptive): hand-worked cases, properties."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from fialloc.analytics.shrinkage import (
    adaptive_shrink,
    fit_mixture,
    mixture_posterior,
    prior_grid,
    shrink,
    shrink_alphas,
)


def test_three_managers_by_hand():
    # a = 3%, 1%, -1% a year, each with a 1% standard error. sum(a^2) = 11e-4, m - 2 = 1, so
    # tau^2 = 11e-4 - 1e-4 = 10e-4 and B = 1e-4 / 11e-4 = 1/11 for everyone: the posterior
    # keeps 10/11 of each estimate. Variance (Morris): 1e-4 (1 - (1/3)(1/11)) + 2 (1/11)^2 a^2.
    a = pd.Series([0.03, 0.01, -0.01], index=["A", "B", "C"])
    out = shrink_alphas(a, pd.Series(0.01, index=a.index))
    assert out.prior_sd == pytest.approx(np.sqrt(10e-4), rel=1e-12)
    assert out.managers == 3
    t = out.table
    np.testing.assert_allclose(t["shrinkage"], [1 / 11] * 3, rtol=1e-12)
    np.testing.assert_allclose(t["alpha_posterior"], [0.3 / 11, 0.1 / 11, -0.1 / 11], rtol=1e-12)
    var = 1e-4 * 32 / 33 + 2 / 121 * np.array([9e-4, 1e-4, 1e-4])
    np.testing.assert_allclose(t["alpha_posterior_sd"] ** 2, var, rtol=1e-12)
    # 1.11845730e-4 and 9.8622590e-5 worked out by hand from the line above.
    assert t["alpha_posterior_sd"]["A"] ** 2 == pytest.approx(1.11845730e-4, rel=1e-8)
    assert t["alpha_posterior_sd"]["B"] ** 2 == pytest.approx(9.8622590e-5, rel=1e-8)
    assert t["prob_alpha_positive"]["A"] == pytest.approx(
        stats.norm.cdf((0.3 / 11) / np.sqrt(1.11845730e-4)), rel=1e-7
    )
    assert t["prob_alpha_positive"]["B"] + t["prob_alpha_positive"]["C"] == pytest.approx(1.0)


def test_equal_errors_give_positive_part_james_stein():
    rng = np.random.default_rng(3)
    for m in (3, 5, 25, 60):
        a = pd.Series(rng.normal(0, 0.004, m))
        s = 0.003
        out = shrink_alphas(a, pd.Series(s, index=a.index))
        js = max(0.0, 1.0 - (m - 2) * s**2 / float(a @ a))
        np.testing.assert_allclose(out.table["alpha_posterior"], js * a, rtol=1e-10, atol=1e-15)


def test_no_spread_shrinks_fully_but_keeps_uncertainty():
    a = pd.Series([0.001, -0.001, 0.0005])
    out = shrink_alphas(a, pd.Series(0.01, index=a.index))
    assert out.prior_sd == 0.0
    assert (out.table["alpha_posterior"] == 0.0).all()
    assert (out.table["prob_alpha_positive"] == 0.5).all()
    np.testing.assert_allclose(
        out.table["alpha_posterior_sd"] ** 2, 2e-4 / 3 + 2 * a.to_numpy() ** 2, rtol=1e-12
    )


def test_fewer_than_three_managers_are_not_shrunk():
    a = pd.Series([0.02, -0.01])
    s = pd.Series([0.01, 0.005])
    out = shrink_alphas(a, s)
    assert out.prior_sd == np.inf
    np.testing.assert_allclose(out.table["alpha_posterior"], a)
    np.testing.assert_allclose(out.table["alpha_posterior_sd"], s)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one index"):
        shrink_alphas(pd.Series([0.01]), pd.Series([0.01], index=[5]))
    with pytest.raises(ValueError, match="positive"):
        shrink_alphas(pd.Series([0.01, 0.0, 0.0]), pd.Series([0.01, 0.0, 0.01]))
    with pytest.raises(ValueError, match="finite"):
        shrink_alphas(pd.Series([np.nan, 0.0, 0.0]), pd.Series([0.01, 0.01, 0.01]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(0.0005, 0.02)), min_size=1, max_size=40)
)
def test_posterior_lies_between_zero_and_the_estimate(pairs):
    a = pd.Series([p[0] for p in pairs])
    s = pd.Series([p[1] for p in pairs])
    t = shrink_alphas(a, s).table
    assert ((t["shrinkage"] >= 0) & (t["shrinkage"] <= 1)).all()
    assert (np.abs(t["alpha_posterior"]) <= np.abs(a) + 1e-15).all()
    assert (np.sign(t["alpha_posterior"]) * np.sign(a) >= 0).all()
    assert (t["alpha_posterior_sd"] > 0).all()
    assert ((t["prob_alpha_positive"] >= 0) & (t["prob_alpha_positive"] <= 1)).all()


# Adaptive shrinkage (point mass at 0 and normals; Stephens 2017).
# Hand-worked case: errors 1, grid {0, sqrt(3)}, so an estimate's density under the normal
# component over its density under the point mass is r(a) = N(a; 0, 4) / N(a; 0, 1)
# = exp(3 a^2 / 8) / 2: r = 1/2 at a = 0 and r = 4 at a^2 = 8 ln(8) / 3. Without a penalty
# the marginal likelihood in u = 1 - pi_0 is (1 - u / 2)(1 + 3 u), largest where
# -1/2 / (1 - u / 2) + 3 / (1 + 3 u) = 0: u = 5/6, pi_0 = 1/6.
HAND_A = np.array([0.0, np.sqrt(8.0 * np.log(8.0) / 3.0)])
HAND_S = np.ones(2)
HAND_GRID = np.array([0.0, np.sqrt(3.0)])


def test_mixture_proportions_by_hand():
    pi = fit_mixture(HAND_A, HAND_S, HAND_GRID, null_weight=1.0)
    np.testing.assert_allclose(pi, [1 / 6, 5 / 6], atol=1e-9)


def test_mixture_posterior_by_hand():
    # Posterior weight of the normal: (5/6)(1/2) / ((5/6)(1/2) + 1/6) = 5/7 at a = 0 and
    # (5/6) 4 / ((5/6) 4 + 1/6) = 20/21 at the second estimate. The normal component keeps
    # 1 - B = 3/4 of the estimate with variance 3/4, so the posterior mean is (20/21)(3/4) a
    # = (5/7) a, the shrinkage 2/7, P(alpha > 0) (20/21) Phi(a sqrt(3/4)) and 5/7 Phi(0).
    t = mixture_posterior(HAND_A, HAND_S, HAND_GRID, np.array([1 / 6, 5 / 6]))
    a = HAND_A[1]
    np.testing.assert_allclose(t["alpha_posterior"], [0.0, 5 / 7 * a], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t["shrinkage"], [5 / 7 * 1 / 4 + 2 / 7, 2 / 7], rtol=1e-12)
    var = [5 / 7 * 3 / 4, 20 / 21 * (3 / 4 + 9 / 16 * a * a) - (5 / 7 * a) ** 2]
    np.testing.assert_allclose(t["alpha_posterior_sd"] ** 2, var, rtol=1e-12)
    np.testing.assert_allclose(
        t["prob_alpha_positive"],
        [5 / 14, 20 / 21 * stats.norm.cdf(a * np.sqrt(0.75))],
        rtol=1e-12,
    )


def test_penalized_proportions_match_a_direct_maximisation():
    rng = np.random.default_rng(11)
    for m, null_weight in ((12, 10.0), (40, 10.0), (40, 1.0)):
        s = rng.uniform(0.003, 0.008, m)
        a = np.where(rng.random(m) < 0.25, rng.normal(0, 0.015, m), 0.0) + rng.normal(0, s)
        grid = prior_grid(a, s)
        pi = fit_mixture(a, s, grid, null_weight)
        lik = stats.norm.pdf(a[:, None], scale=np.sqrt(s[:, None] ** 2 + grid**2))

        def loss(z, lik=lik, null_weight=null_weight):
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            return -(np.log(lik @ p).sum() + (null_weight - 1) * np.log(p[0]))

        best = optimize.minimize(loss, np.zeros(len(grid)), method="BFGS", tol=1e-12)
        assert loss(np.log(np.maximum(pi, 1e-300))) <= best.fun + 1e-7
        assert pi.sum() == pytest.approx(1.0, abs=1e-12)
        assert (pi >= 0).all()


def test_grid_runs_from_a_tenth_of_the_smallest_error_by_root_two():
    a, s = np.array([0.02, -0.01, 0.0]), np.array([0.004, 0.005, 0.01])
    grid = prior_grid(a, s)
    assert grid[0] == 0.0
    assert grid[1] == pytest.approx(0.0004, rel=1e-12)
    np.testing.assert_allclose(grid[2:] / grid[1:-1], np.sqrt(2.0), rtol=1e-12)
    # The top reaches twice sqrt(max(a^2 - s^2)) = 2 sqrt(4e-4 - 1.6e-5), within one step.
    top = 2 * np.sqrt(4e-4 - 1.6e-5)
    assert top <= grid[-1] < np.sqrt(2.0) * top


def test_small_books_keep_the_normal_posterior():
    a = pd.Series([0.03, 0.01, -0.01], index=["A", "B", "C"])
    s = pd.Series(0.01, index=a.index)
    out = adaptive_shrink(a, s)
    pd.testing.assert_frame_equal(out.table, shrink_alphas(a, s).table)
    assert out.proportions is None
    pd.testing.assert_frame_equal(shrink(a, s, "adaptive").table, out.table)
    with pytest.raises(ValueError, match="prior must be one of"):
        shrink(a, s, "laplace")


def test_adaptive_prior_separates_few_skilled_from_many_null():
    # 30 null managers and 5 with 2% a year, errors 0.5%: the null managers' posteriors sit
    # much closer to 0 than under one normal prior, the skilled ones' closer to their truth.
    rng = np.random.default_rng(5)
    true = np.r_[np.zeros(30), np.full(5, 0.02)]
    s = pd.Series(np.full(35, 0.005))
    a = pd.Series(true + rng.normal(0, 0.005, 35))
    ash, normal = adaptive_shrink(a, s), shrink_alphas(a, s)
    assert ash.proportions is not None
    assert ash.proportions.iloc[0] > 0.5
    null_err = [np.abs(t.table["alpha_posterior"][:30]).mean() for t in (ash, normal)]
    skill_err = [np.abs(t.table["alpha_posterior"][30:] - 0.02).mean() for t in (ash, normal)]
    assert null_err[0] < 0.5 * null_err[1]
    assert skill_err[0] < skill_err[1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(0.0005, 0.02)), min_size=10, max_size=60)
)
def test_adaptive_posterior_lies_between_zero_and_the_estimate(pairs):
    a = pd.Series([p[0] for p in pairs])
    s = pd.Series([p[1] for p in pairs])
    out = adaptive_shrink(a, s)
    t = out.table
    assert out.proportions is not None
    assert out.proportions.sum() == pytest.approx(1.0, abs=1e-9)
    assert ((t["shrinkage"] >= 0) & (t["shrinkage"] <= 1 + 1e-12)).all()
    assert (np.abs(t["alpha_posterior"]) <= np.abs(a) + 1e-15).all()
    assert (np.sign(t["alpha_posterior"]) * np.sign(a) >= 0).all()
    assert (t["alpha_posterior_sd"] >= 0).all()
    assert ((t["prob_alpha_positive"] >= 0) & (t["prob_alpha_positive"] <= 1 + 1e-12)).all()
    np.testing.assert_allclose(t["alpha_posterior"], (1 - t["shrinkage"]) * a, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(0.0005, 0.02)), min_size=3, max_size=40)
)
def test_one_normal_component_is_the_normal_posterior(pairs):
    # Every grid point but one removed and pi_0 = 0: the prior is N(0, tau^2), and the
    # posterior is the normal-normal one at that tau (its sd without Morris's allowance for
    # estimating tau, which shrink_alphas adds).
    a = pd.Series([p[0] for p in pairs])
    s = pd.Series([p[1] for p in pairs])
    normal = shrink_alphas(a, s)
    tau = normal.prior_sd
    if tau == 0.0:
        return
    grid = np.array([tau])
    assert fit_mixture(a.to_numpy(), s.to_numpy(), grid)[0] == 1.0
    t = mixture_posterior(a.to_numpy(), s.to_numpy(), grid, np.ones(1))
    np.testing.assert_allclose(t["alpha_posterior"], normal.table["alpha_posterior"], atol=1e-15)
    np.testing.assert_allclose(t["shrinkage"], normal.table["shrinkage"], rtol=1e-12)
    b = normal.table["shrinkage"].to_numpy()
    sd = s.to_numpy() * np.sqrt(1 - b)
    np.testing.assert_allclose(t["alpha_posterior_sd"], sd, rtol=1e-10)
    np.testing.assert_allclose(
        t["prob_alpha_positive"], stats.norm.cdf(normal.table["alpha_posterior"] / sd), rtol=1e-10
    )


def test_the_mandate_names_exactly_the_priors_shrink_knows():
    # The mandate (an input) cannot import the analytics: its Literal is the one other copy.
    from typing import get_args

    from fialloc.analytics.shrinkage import PRIORS, SkillPrior
    from fialloc.data.mandate import Mandate

    assert get_args(Mandate.model_fields["skill_prior"].annotation) == PRIORS
    assert get_args(SkillPrior) == PRIORS
