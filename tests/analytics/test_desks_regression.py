import numpy as np
import pandas as pd
import pytest
from scipy.linalg import toeplitz

from fialloc.analytics.regression import (
    ar1_gls_fit,
    ar1_standard_errors,
    factor_regression,
    newey_west_lags,
    ols_fit,
)


def test_matches_closed_form_single_factor():
    idx = pd.period_range("2021-01", periods=6, freq="M")
    x = pd.DataFrame({"bbb": [0.01, -0.02, 0.03, 0.0, 0.02, -0.01]}, index=idx)
    y = pd.Series([0.012, -0.015, 0.031, 0.002, 0.019, -0.004], index=idx)
    r = factor_regression(y, x)
    xv, yv = x["bbb"].to_numpy(), y.to_numpy()
    beta = np.cov(xv, yv, ddof=1)[0, 1] / np.var(xv, ddof=1)
    alpha = yv.mean() - beta * xv.mean()
    assert r.betas["bbb"] == pytest.approx(beta, rel=1e-12)
    assert r.alpha == pytest.approx(alpha, rel=1e-10)
    resid = yv - alpha - beta * xv
    s2 = resid @ resid / 4
    se_beta = np.sqrt(s2 / ((xv - xv.mean()) ** 2).sum())
    assert r.beta_t["bbb"] == pytest.approx(beta / se_beta, rel=1e-10)
    assert r.r_squared == pytest.approx(1 - resid @ resid / ((yv - yv.mean()) ** 2).sum())


def test_beta_without_alpha_is_insignificant_and_alpha_with_skill_is_found():
    rng = np.random.default_rng(7)
    idx = pd.period_range("2020-01", periods=60, freq="M")
    f = pd.DataFrame(
        {"bbb": rng.normal(0.002, 0.015, 60), "dur": rng.normal(0, 0.01, 60)}, index=idx
    )
    beta_only = pd.Series(0.8 * f["bbb"] + rng.normal(0, 0.001, 60), index=idx)
    r = factor_regression(beta_only, f)
    assert r.betas["bbb"] == pytest.approx(0.8, abs=0.03)
    assert r.beta_p["bbb"] < 1e-6
    assert r.alpha_p > 0.05
    skilled = pd.Series(0.003 + rng.normal(0, 0.002, 60), index=idx)
    r2 = factor_regression(skilled, f)
    assert r2.alpha_p < 0.01
    assert r2.alpha_annual == pytest.approx(0.036, abs=0.01)


def test_rejects_misaligned_or_short_input():
    idx = pd.period_range("2020-01", periods=4, freq="M")
    f = pd.DataFrame({"a": [0.0, 0.1, 0.2, 0.3], "b": [1.0, 0.0, 1.0, 0.0]}, index=idx)
    with pytest.raises(ValueError, match="too few"):
        factor_regression(pd.Series([0.0, 0.1, 0.0, 0.1], index=idx), f)
    with pytest.raises(ValueError, match="same monthly index"):
        factor_regression(pd.Series([0.0] * 4), f)


@pytest.mark.parametrize("seed", range(20))
def test_newey_west_errors_match_statsmodels(seed):
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(24, 121))
    k = int(rng.integers(1, 5))
    idx = pd.RangeIndex(n)
    x = rng.normal(0, 0.01, (n, k))
    # Autocorrelated, heteroskedastic noise: where Newey-West and classical errors differ.
    e = np.convolve(rng.normal(0, 0.002, n + 2), [1.0, 0.6, 0.3])[2 : n + 2]
    e *= 1.0 + np.abs(x[:, 0]) * 50
    y = 0.001 + x @ rng.normal(0, 0.5, k) + e
    lags = newey_west_lags(n)
    fit = ols_fit(pd.DataFrame({"y": y}, index=idx), pd.DataFrame(x, index=idx), lags)
    design = sm.add_constant(x)
    corrected = sm.OLS(y, design).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
    )
    plain = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    np.testing.assert_allclose(fit["coef"][:, 0], corrected.params, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(fit["se"][:, 0], corrected.bse, rtol=1e-9)
    # statsmodels' default leaves out the small-sample factor n / (n - k - 1).
    np.testing.assert_allclose(fit["se"][:, 0] * np.sqrt((n - k - 1) / n), plain.bse, rtol=1e-9)
    np.testing.assert_allclose(fit["cov"][0], corrected.cov_params(), rtol=1e-9, atol=1e-18)


def test_newey_west_lag_rule():
    months = (12, 27, 28, 60, 99, 100, 120, 272, 273)
    assert [newey_west_lags(n) for n in months] == [2, 2, 3, 3, 3, 4, 4, 4, 5]
    with pytest.raises(ValueError, match="at least one month"):
        newey_west_lags(0)


def test_collinear_factors_are_refused_with_the_reason():
    idx = pd.RangeIndex(30)
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.01, 30)
    f = pd.DataFrame({"a": a, "b": 2.0 * a}, index=idx)
    with pytest.raises(ValueError, match="collinear"):
        factor_regression(pd.Series(rng.normal(0, 0.01, 30), index=idx), f)
    with pytest.raises(ValueError, match="lags must be"):
        ols_fit(pd.DataFrame({"y": a}, index=idx), f[["a"]], lags=30)


def _exact_ar1_se(design, r, phi):
    n, k = design.shape
    u = r[1:] - phi * r[:-1]
    s2 = (u @ u) / (n - k - 1) / (1 - phi**2)
    bread = np.linalg.inv(design.T @ design)
    cov = bread @ design.T @ (s2 * toeplitz(phi ** np.arange(n))) @ design @ bread
    return np.sqrt(np.diag(cov))


def _corrected_phi(r):
    n = len(r)
    return (n * (r[:-1] @ r[1:]) / (r[:-1] @ r[:-1]) + 1) / (n - 3)


@pytest.mark.parametrize("seed", range(20))
def test_ar1_errors_match_the_exact_covariance_built_by_hand(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(24, 121)), int(rng.integers(1, 5))
    design = np.column_stack([np.ones(n), rng.normal(0, 0.01, (n, k))])
    resid = rng.normal(0, 0.002, (n, 4))
    resid[:, 1] = np.convolve(rng.normal(0, 0.002, n + 5), np.ones(3), "same")[:n]
    # One series: its own bias-corrected autocorrelation, kept in [0, 0.9].
    for j in range(4):
        se, phi = ar1_standard_errors(design, resid[:, [j]])
        expected = min(max(_corrected_phi(resid[:, j]), 0.0), 0.9)
        assert phi[0] == pytest.approx(expected, abs=1e-12)
        np.testing.assert_allclose(
            se[:, 0], _exact_ar1_se(design, resid[:, j], expected), rtol=1e-9
        )
    # Four series: the estimates shrink towards their mean by empirical Bayes.
    raw = np.array([_corrected_phi(resid[:, j]) for j in range(4)])
    v = (1 - np.clip(raw, -0.9, 0.9) ** 2) / n
    tau2 = max(raw.var(ddof=1) - v.mean(), 0.0)
    expected = np.clip((tau2 * raw + v * raw.mean()) / (tau2 + v), 0.0, 0.9)
    se, phi = ar1_standard_errors(design, resid)
    np.testing.assert_allclose(phi, expected, atol=1e-12)
    for j in range(4):
        np.testing.assert_allclose(se[:, j], _exact_ar1_se(design, resid[:, j], phi[j]), rtol=1e-9)


def test_ar1_errors_cover_the_intercepts_spread_on_simulated_noise():
    # 2,000 series of 120 months with AR(1) noise (0.3): the mean AR(1) error is within 5%
    # of the intercept's actual spread; Newey-West with 4 lags falls short of it.
    rng = np.random.default_rng(9)
    n, draws, phi = 120, 2000, 0.3
    u = rng.standard_normal((n + 50, draws))
    e = np.zeros_like(u)
    for t in range(1, n + 50):
        e[t] = phi * e[t - 1] + u[t]
    factors = pd.DataFrame({"f": rng.normal(0, 1, n)})
    fit = ols_fit(pd.DataFrame(e[50:]), factors, lags=4)
    se, used = ar1_standard_errors(fit["design"], fit["resid"])
    actual = fit["coef"][0].std()
    assert np.mean(se[0]) == pytest.approx(actual, rel=0.05)
    assert np.mean(fit["se"][0]) < 0.95 * actual
    assert np.mean(used) == pytest.approx(phi, abs=0.03)


@pytest.mark.parametrize("seed", range(20))
def test_ar1_gls_matches_statsmodels_gls_with_the_ar1_covariance(seed):
    # Prais-Winsten whitening is GLS with the AR(1) covariance phi^|i-j| / (1 - phi^2):
    # coefficients and classical errors as statsmodels' GLS gives them; the Newey-West
    # covariance as statsmodels' HAC on the whitened data.
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(100 + seed)
    n, k, series = int(rng.integers(24, 121)), int(rng.integers(1, 4)), 3
    x = sm.add_constant(rng.normal(0, 0.01, (n, k)))
    phi = rng.uniform(-0.5, 0.8, series)
    y = x @ rng.normal(0, 0.5, (k + 1, series)) + rng.normal(0, 0.002, (n, series))
    lags = newey_west_lags(n)
    fit = ar1_gls_fit(x, y, phi, lags)
    assert fit["coef"].shape == (k + 1, series)
    for s in range(series):
        sigma = toeplitz(phi[s] ** np.arange(n)) / (1.0 - phi[s] ** 2)
        gls = sm.GLS(y[:, s], x, sigma=sigma).fit()
        np.testing.assert_allclose(fit["coef"][:, s], gls.params, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(fit["cov"][s], gls.cov_params(), rtol=1e-9, atol=1e-18)
        first = np.sqrt(1.0 - phi[s] ** 2)
        xs = np.vstack([first * x[:1], x[1:] - phi[s] * x[:-1]])
        ys = np.concatenate([[first * y[0, s]], y[1:, s] - phi[s] * y[:-1, s]])
        hac = sm.OLS(ys, xs).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
        )  # both with the small-sample factor n / (n - columns)
        np.testing.assert_allclose(
            fit["cov_newey_west"][s], hac.cov_params(), rtol=1e-9, atol=1e-18
        )
    assert (fit["dof"] == n - k - 1).all()
    assert (fit["dof_newey_west"] <= n - k - 1).all()


def test_ar1_gls_is_more_efficient_than_ols_under_persistent_noise():
    # 2,000 simulated series with AR(1) noise of autocorrelation 0.6 on white factors: the
    # GLS slope's spread is the exact (X' S^-1 X)^-1 and well under OLS's.
    rng = np.random.default_rng(5)
    n, phi, reps = 60, 0.6, 2_000
    x = np.column_stack([np.ones(n), rng.normal(0, 1.0, n)])
    shocks = rng.normal(0, 1.0, (n, reps))
    e = np.empty_like(shocks)
    e[0] = shocks[0] / np.sqrt(1 - phi * phi)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + shocks[t]
    y = x @ np.array([[0.0], [1.0]]) + e
    gls = ar1_gls_fit(x, y, np.full(reps, phi), 0)["coef"][1]
    ols = np.linalg.lstsq(x, y, rcond=None)[0][1]
    sigma = toeplitz(phi ** np.arange(n)) / (1 - phi * phi)
    exact = np.linalg.inv(x.T @ np.linalg.solve(sigma, x))[1, 1]
    assert gls.var() == pytest.approx(exact, rel=0.1)  # 2,000 draws: sd of a variance ~3%
    assert gls.var() < 0.75 * ols.var()


def test_ar1_gls_refuses_bad_shapes_and_autocorrelations():
    x = np.column_stack([np.ones(30), np.arange(30.0)])
    y = np.zeros((30, 2))
    with pytest.raises(ValueError, match="one autocorrelation per series"):
        ar1_gls_fit(x, y, np.zeros(3), 2)
    with pytest.raises(ValueError, match=r"in \(-1, 1\)"):
        ar1_gls_fit(x, y, np.array([0.2, 1.0]), 2)
    with pytest.raises(ValueError, match="lags from 0 to 29"):
        ar1_gls_fit(x, y, np.zeros(2), 30)
