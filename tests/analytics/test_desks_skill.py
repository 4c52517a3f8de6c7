"""Skill statistics: published and hand-worked cases, scipy agreement, persistence, bad input."""

import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fialloc.analytics import skill


def test_published_winner_loser_table_gives_chi_squared_1_193():
    # Winners/losers 234, 268, 269, 269: Pearson's statistic on [[WW, WL], [LW, LL]] without
    # continuity correction, one degree of freedom.
    out = skill.persistence_test(234, 268, 269, 269)
    assert out["chi2"] == pytest.approx(1.193, abs=5e-4)
    assert out["p_value"] == pytest.approx(0.275, abs=5e-4)
    # By hand: N (ad - bc)^2 / ((a + b)(c + d)(a + c)(b + d)), p from the chi-squared(1) tail.
    a, b, c, d = 234, 268, 269, 269
    n = a + b + c + d
    hand = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    assert out["chi2"] == pytest.approx(hand, rel=1e-12)
    assert out["p_value"] == pytest.approx(math.erfc(math.sqrt(hand / 2.0)), rel=1e-12)
    # Yates' correction would give 1.061: the published figure is the uncorrected statistic.
    yates = stats.chi2_contingency([[a, b], [c, d]], correction=True).statistic
    assert abs(out["chi2"] - yates) > 0.1
    assert out["cross_product_ratio"] == pytest.approx(a * d / (b * c), rel=1e-12)
    assert out["repeat_winner_share"] == pytest.approx(a / (a + b), rel=1e-12)


def test_persistence_test_refuses_an_empty_row_or_negative_counts():
    with pytest.raises(ValueError, match="no empty row or column"):
        skill.persistence_test(0, 0, 3, 4)
    with pytest.raises(ValueError, match=">= 0"):
        skill.persistence_test(-1, 2, 3, 4)


def test_track_record_by_hand_and_against_scipy():
    x = np.array([0.010, -0.005, 0.020, 0.000, 0.015, -0.010])
    rec = skill.track_record(x)
    mean = sum(x) / 6
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / 5)
    assert rec["mean_annual"] == pytest.approx(12 * mean, rel=1e-12)
    assert rec["tracking_error"] == pytest.approx(math.sqrt(12) * sd, rel=1e-12)
    assert rec["information_ratio"] == pytest.approx(math.sqrt(12) * mean / sd, rel=1e-12)
    # t = IR x sqrt(years) is the one-sample t-test of the mean against zero.
    assert rec["t_stat"] == pytest.approx(rec["information_ratio"] * math.sqrt(6 / 12), rel=1e-12)
    ttest = stats.ttest_1samp(x, 0.0)
    assert rec["t_stat"] == pytest.approx(ttest.statistic, rel=1e-12)
    assert rec["p_value"] == pytest.approx(ttest.pvalue, rel=1e-12)
    # Three months above zero (a flat month is not a hit): 3 of 6 is exactly even odds.
    assert rec["hits"] == 3
    assert rec["hit_rate"] == pytest.approx(0.5)
    assert rec["hit_p_value"] == pytest.approx(1.0)
    # Mean gain 0.015, mean loss 0.0075.
    assert rec["win_loss"] == pytest.approx(2.0, rel=1e-12)


def test_hit_rate_binomial_p_value_by_hand():
    x = np.array([0.001] * 9 + [-0.002])
    rec = skill.track_record(x)
    # Two-sided exact test of 9 hits in 10 against 1/2: 2 (C(10,9) + C(10,10)) / 2^10.
    assert rec["hit_p_value"] == pytest.approx(22 / 1024, rel=1e-12)
    assert rec["hit_p_value"] == pytest.approx(stats.binomtest(9, 10, 0.5).pvalue, rel=1e-12)
    assert math.isnan(skill.track_record(np.array([0.001, 0.002, 0.003]))["win_loss"])


def test_track_record_refuses_too_few_or_missing_months():
    with pytest.raises(ValueError, match="at least 3"):
        skill.track_record(np.array([0.01, 0.02]))
    with pytest.raises(ValueError, match="at least 3"):
        skill.track_record(np.array([0.01, np.nan, 0.02, 0.0]))


def test_holm_adjustment_by_hand():
    p = pd.Series([0.01, 0.04, 0.03, 0.005], index=list("abcd"))
    # Sorted: .005 x 4 = .02, .01 x 3 = .03, .03 x 2 = .06, .04 x 1 = .04 -> kept monotone .06.
    expected = pd.Series([0.03, 0.06, 0.06, 0.02], index=list("abcd"))
    pd.testing.assert_series_equal(skill.holm(p), expected)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        skill.holm(pd.Series([0.2, 1.5]))


def _months(n, start="2020-01-31"):
    return pd.date_range(start, periods=n, freq="ME").date


def test_skill_table_windows_and_correction():
    rng = np.random.default_rng(1)
    idx = _months(59)
    active = pd.DataFrame(
        {"good": 0.002 + rng.normal(0, 0.001, 59), "noise": rng.normal(0, 0.001, 59)}, index=idx
    )
    table = skill.skill_table(active)
    # 12 and 36 months, and the whole history (59 months) standing for 60.
    assert table.loc[("good", 60), "months"] == 59
    assert set(table.index.get_level_values("window")) == {12, 36, 60}
    for window in (12, 36):
        p = table.xs(window, level="window")["p_value"]
        pd.testing.assert_series_equal(
            table.xs(window, level="window")["p_holm"], skill.holm(p), check_names=False
        )
    assert table.loc[("good", 60), "significant"]
    assert not table.loc[("noise", 60), "significant"]
    with pytest.raises(ValueError, match="at least 3 months"):
        skill.skill_table(active, windows=(2,))


def test_skill_table_rows_are_each_managers_track_record():
    rng = np.random.default_rng(9)
    active = pd.DataFrame(
        rng.normal(0.0005, 0.002, (40, 3)), index=_months(40), columns=list("abc")
    )
    active.iloc[:15, 2] = np.nan  # a manager with a shorter history
    table = skill.skill_table(active)
    for (manager, window), row in table.iterrows():
        series = active[manager].dropna()
        expected = skill.track_record(series.iloc[-window:])
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-12, nan_ok=True), (manager, window, key)
    # c has 25 months: measured over 12 and over its whole history (standing for 36), not 60.
    assert table.loc[("c", 36), "months"] == 25
    assert ("c", 60) not in table.index


def test_selection_returns_remove_factor_beta():
    rng = np.random.default_rng(2)
    idx = _months(48)
    factor = pd.DataFrame({"credit": rng.normal(0.001, 0.01, 48)}, index=idx)
    alpha = 0.001 + rng.normal(0, 0.0005, 48)
    excess = pd.DataFrame({"beta": 0.9 * factor["credit"] + alpha}, index=idx)
    sel = skill.selection_returns(excess, factor)
    # What is left is the alpha and its noise, free of the factor.
    assert abs(np.corrcoef(sel["beta"], factor["credit"])[0, 1]) < 1e-10
    assert sel["beta"].mean() == pytest.approx(alpha.mean(), abs=2e-4)


def test_rolling_information_ratio_matches_the_track_record_of_each_window():
    rng = np.random.default_rng(8)
    active = pd.DataFrame({"m": rng.normal(0.001, 0.002, 30)}, index=_months(30))
    rolling = skill.rolling_information_ratio(active, 12)
    assert rolling["m"].iloc[:11].isna().all()
    for end in (12, 20, 30):
        expected = skill.track_record(active["m"].iloc[end - 12 : end])["information_ratio"]
        assert rolling["m"].iloc[end - 1] == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="at least 3"):
        skill.rolling_information_ratio(active, 2)


def test_bootstrap_is_seeded_and_brackets_the_sample():
    rng = np.random.default_rng(3)
    active = pd.DataFrame({"m": 0.001 + rng.normal(0, 0.002, 60)}, index=_months(60))
    a = skill.bootstrap_information_ratio(active, draws=500, seed=7)
    b = skill.bootstrap_information_ratio(active, draws=500, seed=7)
    pd.testing.assert_frame_equal(a, b)
    row = a.loc["m"]
    assert row["ir_low"] < row["ir"] < row["ir_high"]
    assert 0.0 <= row["share_not_positive"] <= 1.0
    with pytest.raises(ValueError, match="at least 100 draws"):
        skill.bootstrap_information_ratio(active, draws=10)


def test_persistence_table_counts_consecutive_winners_and_losers():
    # Four managers over three periods: a and b always win, c and d always lose.
    alphas = pd.DataFrame(
        {"a": [3.0, 3.0, 3.0], "b": [2.0, 2.0, 2.0], "c": [1.0, 1.0, 1.0], "d": [0.0, 0.0, 0.0]}
    )
    assert skill.persistence_table(alphas) == {"WW": 4, "WL": 0, "LW": 0, "LL": 4}
    flipped = alphas.copy()
    flipped.iloc[1] = flipped.iloc[1].to_numpy()[::-1]
    assert skill.persistence_table(flipped) == {"WW": 0, "WL": 4, "LW": 4, "LL": 0}
    reg = skill.alpha_persistence(alphas + np.array([[0.0], [0.1], [0.2]]))
    assert reg["slope"] == pytest.approx(1.0, abs=1e-9)
    assert reg["pairs"] == 8


def test_period_alphas_are_annualized_means_of_the_latest_full_periods():
    active = pd.DataFrame({"m": np.arange(30, dtype=float) / 1000}, index=_months(30))
    alphas = skill.period_alphas(active, period=12)
    # The 6 oldest months are left out; periods end at months 18 and 30.
    assert len(alphas) == 2
    for k, (lo, hi) in enumerate(pairwise([6, 18, 30])):
        assert alphas["m"].iloc[k] == pytest.approx(12 * np.arange(lo, hi).mean() / 1000)
    with pytest.raises(ValueError, match="two 12-month periods"):
        skill.period_alphas(active.iloc[:20])


def _frames(n=24):
    rng = np.random.default_rng(4)
    idx = _months(n)
    bench = pd.DataFrame(rng.normal(0.004, 0.01, (n, 2)), index=idx, columns=["A", "B"])
    returns = bench + rng.normal(0.0005, 0.001, (n, 2))
    return returns, bench


def test_check_return_history_gives_excess_returns():
    returns, bench = _frames()
    pd.testing.assert_frame_equal(skill.check_return_history(returns, bench), returns - bench)


def test_check_return_history_refuses_a_calendar_gap():
    returns, bench = _frames()
    with pytest.raises(ValueError, match=r"gap in the monthly history between 2020-05-31 and"):
        skill.check_return_history(returns.drop(returns.index[5]), bench)


def test_check_return_history_refuses_a_hole_in_one_managers_history():
    returns, bench = _frames()
    returns.iloc[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"manager B has no return for 2020-08-31"):
        skill.check_return_history(returns, bench)
    # A manager hired later (leading months missing) is fine.
    returns, bench = _frames()
    returns.iloc[:4, 1] = np.nan
    assert skill.check_return_history(returns, bench)["B"].notna().sum() == 20


def test_check_return_history_refuses_percent_returns():
    returns, bench = _frames()
    with pytest.raises(ValueError, match=r"look like percentages .* 0\.005 for 0\.5%"):
        skill.check_return_history(returns * 100, bench * 100)
    with pytest.raises(ValueError, match=r"total returns of .* look like percentages"):
        skill.check_return_history(returns * 100, bench)
    # A near-index manager: in percent its excess return is still small, its totals are not.
    index_like = bench + 1e-5
    with pytest.raises(ValueError, match=r"total returns of \['A', 'B'\] look like percentages"):
        skill.check_return_history(index_like * 100, bench * 100)


def test_check_return_history_refuses_a_missing_benchmark():
    returns, bench = _frames()
    with pytest.raises(ValueError, match=r"no benchmark returns for manager\(s\) \['B'\]"):
        skill.check_return_history(returns, bench[["A"]])
    bench.iloc[3, 0] = np.nan
    with pytest.raises(ValueError, match="benchmark return missing for manager A in 2020-04-30"):
        skill.check_return_history(returns, bench)
    with pytest.raises(ValueError, match="no monthly returns"):
        skill.check_return_history(returns.iloc[:0], bench)
