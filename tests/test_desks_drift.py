"""Style drift: holdings-based drift with its start month, and returns-based style breaks."""

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.analytics import drift
from fialloc.analytics.context import DeskContext
from fialloc.analytics.regression import factor_regression
from fialloc.schedule import add_months


@pytest.fixture(scope="module")
def ctx():
    return DeskContext(data.demo())


@pytest.fixture(scope="module")
def truth():
    return data.demo_truth()


def test_holdings_drift_finds_the_planted_drifters_and_when(ctx, truth):
    found = drift.holdings_drift(ctx)
    managers = set(found.index.get_level_values("manager_id"))
    assert managers == set(truth.drifting_managers)
    for (manager, _), row in found.iterrows():
        planted = truth.drifting_managers[manager]
        assert add_months(planted, -2) <= row["start"] <= add_months(planted, 2)
        assert abs(row["zscore"]) > drift.DRIFT_THRESHOLD
    # M22 moved into high yield and down in quality, M23 out in duration.
    assert set(found.loc["M22"].index) == {"credit quality", "high yield share"}
    assert set(found.loc["M23"].index) == {"duration"}
    assert found.loc[("M23", "duration"), "change"] == pytest.approx(2.5, abs=0.3)
    # Against the other core managers too.
    assert (found["style_zscore"].abs() > drift.DRIFT_THRESHOLD).all()


def test_holdings_drift_threshold_is_the_knob(ctx):
    # A threshold no move reaches flags nobody; arguments are checked.
    assert drift.holdings_drift(ctx, threshold=100.0).empty
    with pytest.raises(ValueError, match="threshold > 0"):
        drift.holdings_drift(ctx, threshold=0.0)


def _factor_frame(n, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-01-31", periods=n, freq="ME").date
    return pd.DataFrame(
        {"duration": rng.normal(0, 0.002, n), "credit": rng.normal(0.001, 0.006, n)}, index=idx
    )


def test_style_break_finds_a_planted_change_of_loading():
    f = _factor_frame(60)
    rng = np.random.default_rng(1)
    beta = np.where(np.arange(60) >= 40, 2.0, 0.0)
    y = pd.Series(beta * f["duration"] + rng.normal(0, 0.0003, 60), index=f.index)
    out = drift.style_break(y, f)
    assert abs(out["break_index"] - 40) <= 1
    assert out["p_value"] < 1e-6
    assert out["duration_before"] == pytest.approx(0.0, abs=0.15)
    assert out["duration_after"] == pytest.approx(2.0, abs=0.15)
    steady = pd.Series(0.5 * f["credit"] + rng.normal(0, 0.0003, 60), index=f.index)
    assert drift.style_break(steady, f)["p_value"] > 0.05
    with pytest.raises(ValueError, match="too few"):
        drift.style_break(steady.iloc[:10], f.iloc[:10])


def test_rolling_betas_track_a_constant_loading():
    f = _factor_frame(40, seed=3)
    y = pd.Series(0.7 * f["credit"] - 1.5 * f["duration"] + 0.0002, index=f.index)
    betas = drift.rolling_betas(y, f, window=24)
    assert len(betas) == 17
    np.testing.assert_allclose(betas["credit"], 0.7, atol=1e-9)
    np.testing.assert_allclose(betas["duration"], -1.5, atol=1e-9)
    np.testing.assert_allclose(betas["alpha_annual"], 0.0024, atol=1e-10)
    assert drift.rolling_betas(y.iloc[:10], f.iloc[:10], window=24).empty
    with pytest.raises(ValueError, match="too short"):
        drift.rolling_betas(y, f, window=4)


def test_rolling_betas_agree_with_one_regression_per_window():
    f = _factor_frame(36, seed=5)
    rng = np.random.default_rng(6)
    y = pd.Series(0.4 * f["credit"] + rng.normal(0.0005, 0.001, 36), index=f.index)
    betas = drift.rolling_betas(y, f, window=12)
    for end in (12, 20, 36):
        span = f.index[end - 12 : end]
        reg = factor_regression(y.loc[span], f.loc[span])
        row = betas.loc[span[-1]]
        np.testing.assert_allclose(row[list(f.columns)], reg.betas, rtol=1e-7, atol=1e-9)
        assert row["alpha_annual"] == pytest.approx(reg.alpha_annual, rel=1e-7, abs=1e-12)


def test_rolling_betas_show_when_the_demo_drifter_lengthened(ctx, truth):
    f = drift.return_factors(ctx)
    betas = drift.rolling_betas(ctx.excess_returns["M23"], f, window=12)
    planted = truth.drifting_managers["M23"]
    before = betas.loc[[m for m in betas.index if m < planted], "duration"]
    assert before.abs().max() < 1.0
    assert betas["duration"].iloc[-1] > 2.0


def test_style_position_compares_with_the_same_style(ctx):
    table = drift.style_position(ctx)
    styles = ctx.managers["style"]
    assert table.loc["M03", "peers"] == (styles == "core").sum() - 1
    assert table.loc["M04", "peers"] == 0  # the only core-plus manager compares with itself
    assert table.loc["M04", "duration_vs_style"] == 0.0
    core = styles.index[styles == "core"]
    assert table.loc[core, "duration_style"].nunique() == 1
    assert table.loc["M07", "high_yield_share"] == pytest.approx(1.0)
    assert (table["sector_overweight"] >= -1e-12).all()
