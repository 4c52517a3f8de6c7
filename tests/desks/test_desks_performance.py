"""Performance desk on the demo book: beta is told from skill, drift is dated, scores feed the
optimizer; bad return histories are refused.
"""

import json
import re

import numpy as np
import pandas as pd
import pytest

from fialloc.analytics import drift
from fialloc.analytics.context import DeskContext
from fialloc.data.demo_universe import BETA_LOADING, DEMO_VALUATION
from fialloc.data.loaders import from_tables
from fialloc.desks import performance
from fialloc.desks.result import DeskResult
from fialloc.schedule import add_months


@pytest.fixture(scope="module")
def portfolio(demo_portfolio):
    return demo_portfolio


@pytest.fixture(scope="module")
def result(portfolio):
    return performance.analyze(DeskContext(portfolio))


@pytest.fixture(scope="module")
def truth(demo_truth):
    return demo_truth


def _subjects(result, code):
    return {f.subject for f in result.findings_of(code)}


def test_bbb_beta_managers_show_credit_beta_and_no_alpha(result, truth):
    assert _subjects(result, "credit_beta") == set(truth.bbb_beta_managers)
    evidence = performance.manager_evidence(result)
    for manager in truth.bbb_beta_managers:
        assert evidence.loc[manager, "beta_credit_bbb"] == pytest.approx(BETA_LOADING, abs=0.1)
        assert evidence.loc[manager, "t_credit_bbb"] > 5.0
        assert not evidence.loc[manager, "skill_flag"]


def test_skilled_managers_are_found_at_the_fdr_and_nobody_else(result, truth):
    assert _subjects(result, "significant_skill") == set(truth.skilled_managers)
    evidence = performance.manager_evidence(result)
    skilled = evidence.loc[list(truth.skilled_managers)]
    # Realistic strength: Newey-West t about 3, not significant after Holm's correction for
    # every one of them, found at a 10% false discovery rate.
    assert (skilled["alpha_t"] < 5.0).all()
    assert (skilled["alpha_q"] <= 0.10).all()
    others = evidence.drop(index=list(truth.skilled_managers))
    assert (others["alpha_q"] > 0.10).all()
    # Unproven managers still carry their shrunk posterior alpha, never a flat zero.
    assert (others["alpha_posterior"] != 0.0).all()
    assert (np.abs(others["alpha_posterior"]) < np.abs(others["alpha"])).all()


def test_drifting_managers_are_flagged_with_their_start(result, truth):
    assert _subjects(result, "style_drift") == set(truth.drifting_managers)
    verdicts = result.tables["drift"]
    assert set(verdicts.index[verdicts["drifted"]]) == set(truth.drifting_managers)
    for manager, planted in truth.drifting_managers.items():
        row = verdicts.loc[manager]
        assert add_months(planted, -2) <= row["start"] <= add_months(planted, 2)
        assert row["start_low"] <= planted <= row["start_high"]
    flags = drift.drift_flags(verdicts)
    assert (result.tables["scores"]["drift"] == flags.reindex(result.tables["scores"].index)).all()
    # The returns-based break is reported beside, for every manager, and decides nothing.
    loadings = result.tables["factor_loadings"]
    assert loadings["break_p"].between(0.0, 1.0).all()
    assert (loadings["break_reason"] == "").all()


def test_skill_scores_are_posterior_irs_less_beta_and_drift_penalties(result, truth):
    scores = performance.skill_scores(result)
    evidence = performance.manager_evidence(result)
    posterior_ir = evidence["alpha_posterior"] / evidence["residual_vol"]
    assert (scores[list(truth.skilled_managers)] > 0.5).all()
    assert (scores[list(truth.bbb_beta_managers)] == -performance.BETA_PENALTY).all()
    for manager in truth.drifting_managers:
        assert scores[manager] == pytest.approx(
            posterior_ir[manager] - performance.DRIFT_PENALTY, rel=1e-12
        )
    planted = {*truth.skilled_managers, *truth.bbb_beta_managers, *truth.drifting_managers}
    rest = scores.drop(index=list(planted))
    np.testing.assert_allclose(rest, posterior_ir[rest.index], rtol=1e-12)
    # Skill found ranks above any unproven manager.
    assert scores[list(truth.skilled_managers)].min() > rest.max()
    with pytest.raises(ValueError, match="performance desk's result"):
        performance.skill_scores(DeskResult(desk="credit"))


def test_skill_scores_from_a_context_match_the_result(portfolio, result):
    pd.testing.assert_series_equal(
        performance.skill_scores(DeskContext(portfolio)), performance.skill_scores(result)
    )
    vols = performance.residual_vols(result)
    loadings = result.tables["factor_loadings"]
    assert vols["M16"] < 0.005  # BBB beta explains nearly all of its excess return
    assert vols["M16"] == pytest.approx(loadings.loc["M16", "residual_vol_annual"])


def test_tilts_move_weight_from_beta_and_drift_to_skill_within_the_mandate(
    portfolio, result, truth
):
    m = portfolio.mandate
    recs = {r.subject: r for r in result.recommendations}
    cut = {s for s, r in recs.items() if r.weight_change < 0}
    added = {s for s, r in recs.items() if r.weight_change > 0}
    assert cut == {*truth.bbb_beta_managers, *truth.drifting_managers}
    assert added == set(truth.skilled_managers)
    changes = np.array([r.weight_change for r in recs.values()])
    assert changes.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.abs(changes).max() <= m.max_shift + 1e-12
    assert changes[changes > 0].sum() <= m.turnover + 1e-12
    summary = result.summary
    assert 0.0 < summary["tilt_shift_scale"] <= 1.0
    assert summary["tilt_yield_after"] >= min(m.target_yield, summary["tilt_yield_before"]) - 1e-12
    drift = abs(summary["tilt_notch_after"] - summary["tilt_notch_before"])
    assert drift <= m.max_rating_drift + 1e-12
    assert summary["tilt_max_sector_increase"] <= m.max_sector_overweight + 1e-12
    w = portfolio.current_weights
    for s, r in recs.items():
        assert m.min_allocation - 1e-12 <= w[s] + r.weight_change <= m.max_allocation + 1e-12
        assert r.rationale


def test_every_quoted_number_is_in_the_metrics_and_the_result_is_json(result):
    for finding in result.findings:
        assert finding.metrics
        assert all(np.isfinite(v) for v in finding.metrics.values())
    persistence = result.findings_of("skill_persistence")[0]
    table = result.tables["persistence"]["value"]
    assert persistence.metrics["chi2"] == pytest.approx(table["chi2"])
    n = len(result.tables["scores"])
    assert table[["WW", "WL", "LW", "LL"]].sum() == n * (persistence.metrics["periods"] - 1)
    rolling = result.tables["rolling_betas"]
    assert rolling.index.names == ["month", "manager"]
    assert rolling.loc[rolling.index[-1][0]].shape == (n, 4)  # last month: every manager
    doc = json.loads(json.dumps(result.to_dict()))
    assert set(doc["tables"]["rolling_betas"][0]) == {"month", "manager", *rolling.columns}
    assert doc["desk"] == "performance"
    assert {"skill", "persistence", "drift", "peers", "scores"} <= set(doc["tables"])


def _renderings(value):
    formats = (".0f", ".1f", "+.1f", ".2f", "+.2f", ".3f", ".4f")
    out = {format(value, f) for f in formats}
    return out | {format(value, f) for f in (".0%", "+.2%", ".2%")}


def test_every_number_in_a_message_comes_from_its_metrics(result):
    for finding in result.findings:
        # Dates and manager ids are names; the 12-month period and 95% level are the desk's
        # fixed conventions.
        text = re.sub(r"\d{4}-\d{2}-\d{2}|\bM\d+\b", "", finding.message)
        text = text.replace("12-month", "").replace("95% interval", "interval")
        shown = set().union(*(_renderings(v) for v in finding.metrics.values()))
        for number in re.findall(r"[+-]?\d+(?:\.\d+)?%?", text):
            assert number in shown, (finding.code, finding.subject, number, finding.message)


def test_peers_rank_managers_within_their_style(result):
    peers = result.tables["peers"]
    # M05 leads the IG credit managers; a style of one has no peer median.
    assert peers.loc["M05", "rank_in_style"] == 1
    assert peers.loc["M05", "ir_vs_peers"] > 1.0
    assert np.isnan(peers.loc["M04", "peer_median_ir"])
    assert peers.loc["M04", "peers"] == 0


def test_persistence_without_both_winners_and_losers_is_reported_as_unknown():
    # One manager is never above the median of one: no winners, so no test and no finding.
    alphas = pd.DataFrame({"only": [0.01, 0.02, 0.03]})
    table, finding = performance._persistence(alphas)
    assert finding is None
    assert table.loc["LL", "value"] == 2
    assert np.isnan(table.loc["chi2", "value"])


def _tables_with(tables, change):
    tables = dict(tables)
    tables["manager_returns"] = change(tables["manager_returns"])
    return tables


def test_a_gap_in_the_return_history_is_refused(demo_tables_and_truth):
    tables = _tables_with(
        demo_tables_and_truth[0],
        lambda r: r.drop(r.index[(r["manager_id"] == "M07").to_numpy()][10]),
    )
    # The loader refuses it (validate sees what run sees), naming the manager and the months.
    with pytest.raises(ValueError, match=r"M07: a gap of 1 month between 2022-07-30"):
        from_tables(tables, DEMO_VALUATION)


def test_percent_returns_are_refused(demo_tables_and_truth):
    tables = _tables_with(
        demo_tables_and_truth[0],
        lambda r: r.assign(
            **{"return": r["return"] * 100, "benchmark_return": r["benchmark_return"] * 100}
        ),
    )
    with pytest.raises(ValueError, match="look like percentages; use decimals"):
        from_tables(tables, DEMO_VALUATION)


def test_a_manager_without_a_benchmark_is_refused(demo_tables_and_truth):
    tables = _tables_with(
        demo_tables_and_truth[0],
        lambda r: r.assign(benchmark_return=r["benchmark_return"].where(r.index != 5)),
    )
    with pytest.raises(ValueError, match="benchmark_return: value is missing"):
        from_tables(tables, DEMO_VALUATION)


def test_a_short_history_scores_nobody(demo_tables_and_truth):
    tables = _tables_with(
        demo_tables_and_truth[0], lambda r: r[r["month"] >= sorted(r["month"].unique())[-12]]
    )
    result = performance.analyze(DeskContext(from_tables(tables, DEMO_VALUATION)))
    assert _subjects(result, "short_history") == {"portfolio"}
    assert (performance.skill_scores(result) == 0.0).all()
    assert (performance.residual_vols(result) > 0.0).all()


def test_a_manager_whose_break_cannot_be_estimated_says_why_and_the_others_are_judged():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2020-01-31", periods=40, freq="ME").date
    factors = pd.DataFrame(
        {
            "duration": rng.normal(0, 0.002, 40),
            "credit_bbb": rng.normal(0, 0.005, 40),
            "credit_hy": rng.normal(0, 0.008, 40),
        },
        index=idx,
    )
    excess = pd.DataFrame({"A": rng.normal(0, 0.001, 40), "B": rng.normal(0, 0.001, 40)}, index=idx)
    excess.loc[idx[:30], "B"] = np.nan  # ten months of record
    table = performance._loadings(excess, factors)
    assert np.isnan(table.loc["B", "break_p"])
    assert np.isnan(table.loc["B", "break_p_holm"])
    assert "10 months is too few" in table.loc["B", "break_reason"]
    assert table.loc["A", "break_reason"] == ""
    # Holm over the one manager judged: its own p-value.
    assert table.loc["A", "break_p_holm"] == table.loc["A", "break_p"]
