"""The report: self-contained, every section present, commentary from agents or findings."""

import re
from importlib import resources

import pandas as pd
import pytest

from fialloc import report, store
from fialloc.results import build_response


@pytest.fixture(scope="module")
def stored(tmp_path_factory, demo_pipeline_run):
    root = tmp_path_factory.mktemp("report-runs")
    result, _ = demo_pipeline_run
    record = store.write_run(str(root), result, build_response(result), render=report.render_stored)
    return store.read_run(record.url)


CHARTS = (  # the performance desk's chart comes with that desk (see the test below)
    "chart-detection-power",
    "chart-krd-profile",
    "chart-gap-change",
    "chart-weights",
    "chart-frontier",
    "chart-stress-scenarios",
    "chart-stress-managers",
    "chart-surplus-fan",
    "chart-skill",
    "chart-credit",
    "chart-currencies",  # the demo's global manager holds four other currencies
    "chart-curve",
    "chart-liquidity",
)


def test_the_stored_report_renders_again_identically(stored):
    html = report.render(stored.record.url)
    with open(f"{stored.record.url}/report.html", encoding="utf-8") as f:
        assert f.read() == html


def test_the_report_is_self_contained(stored):
    html = report.render_stored(stored)
    # No element loads anything from elsewhere: no src= or stylesheet links, no @import/url().
    assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*\bhref=", html)
    assert "@import" not in html
    assert "fonts.googleapis" not in html
    assert html.count("<script") >= len(CHARTS) + 1  # plotly.js inlined, then each chart


def test_every_chart_and_section_is_there(stored):
    html = report.render_stored(stored)
    for chart in CHARTS:
        assert f'id="{chart}"' in html, chart
    for section in ("summary", "duration", "allocation", "stresses", "scenarios", "attribution",
                    "skill", "credit", "currencies", "curve", "liquidity", "plan", "run",
                    "appendix"):  # fmt: skip
        assert f'<section id="{section}">' in html, section
    s = stored.response.integrated_strategy
    assert f"{s['yield_before']:.2%}" in html
    assert f"{s['yield_after']:.2%}" in html
    assert stored.record.run_id in html
    assert stored.record.manifest["versions"]["numpy"] in html


def test_the_demo_attribution_is_charted_and_its_absence_said(stored):
    assert 'id="chart-attribution"' in report.render_stored(stored)
    performance = dict(stored.response.detailed_results["performance"])
    performance["tables"] = {
        k: v for k, v in performance["tables"].items() if not k.startswith("attribution_")
    }
    html = report.render_stored(_with(stored, performance=performance))
    assert 'id="chart-attribution-na"' in html
    assert "no holdings history, so no attribution, in the detailed results" in html


def test_commentary_comes_from_findings_without_agents(stored):
    html = report.render_stored(stored)
    assert "Commentary (duration desk findings)" in html
    gap = stored.response.detailed_results["duration"]["findings"][0]["message"]
    assert gap.replace("'", "&#39;") in html


def _with(stored, **detailed):
    response = stored.response.model_copy(
        update={"detailed_results": {**stored.response.detailed_results, **detailed}}
    )
    return store.StoredRun(stored.record, response, stored.tables)


def test_agents_analyses_replace_the_findings(stored):
    agents = {
        "credit": {"analysis": "Credit beta explains M06, M16 and M17.", "model": "offline"},
        "curve": {"analysis": "2s5s is 9.9 bp.", "model": "m", "unverified_numbers": ["9.9"]},
    }
    html = report.render_stored(_with(stored, agents=agents))
    assert "Commentary (offline)" in html
    assert "Credit beta explains M06, M16 and M17." in html
    assert "Commentary (duration desk findings)" in html  # no duration agent ran
    assert "not found in the engine's results: 9.9</p>" in html


def test_an_attribution_desk_is_charted_per_manager_and_effect(stored):
    # The attribution desk's linked_effects, as its to_dict() records: effects add up to the
    # active return; curve_* and spread_* are breakdowns of the curve and spread effects.
    linked = []
    for portfolio, scale in (("M01", 1.0), ("M02", -0.5), ("TOTAL", 0.2)):
        for window in (1, 12, 60):
            effects = {"income": 0.01 * scale, "duration": -0.002, "credit_spread": 0.003,
                       "selection": 0.001 * window, "residual": 1e-6}  # fmt: skip
            linked.append(
                {"portfolio": portfolio, "window": window, "months": float(window),
                 "return": 0.05, "benchmark_return": 0.05 - sum(effects.values()),
                 "active_return": sum(effects.values()), **effects,
                 "curve_10y": -0.001, "spread_A": 0.002, "spread_sector_financial": 0.003}
            )  # fmt: skip
    desk = {"desk": "performance", "findings": [], "tables": {"attribution_linked_effects": linked}}
    html = report.render_stored(_with(stored, performance=desk))
    assert 'id="chart-attribution"' in html
    assert "chart-attribution-na" not in html
    fig = report.charts.attribution({"performance": desk})
    names = ["income", "duration", "credit_spread", "selection", "residual"]
    assert [t.name for t in fig.data] == names * 3  # one set per window
    shown = [t for t in fig.data if t.visible]
    assert [t.name for t in shown] == names
    assert list(shown[0].x) == ["M01", "M02", "TOTAL"]
    assert list(shown[0].y) == pytest.approx([1.0, -0.5, 0.2])
    assert list(shown[3].y) == pytest.approx([1.2, 1.2, 1.2])  # the 12-month window
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert labels == ["1 month", "12 months", "60 months"]
    assert report.charts.attribution({"performance": {"tables": {}}}) is None


def test_a_bare_response_renders_with_what_it_has(stored):
    html = report.render(stored.response)
    assert 'id="chart-stress-managers-na"' in html  # that table lives in the store only
    assert 'id="chart-krd-profile"' in html
    assert "without a stored run" in html


def test_the_liquidity_ladder_shows_capacity_buffer_and_redemptions(stored):
    fig = report.charts.liquidity_ladder(stored.response.detailed_results)
    regimes = [t.name for t in fig.data]
    assert regimes[0] == "normal"
    assert len(regimes) == 3
    texts = [a.text for a in fig.layout.annotations]
    assert "HQLA buffer (normal)" in texts
    assert "20% redemption" in texts


def test_the_performance_desk_scores_are_charted_with_its_flags(stored):
    scores = [
        {"manager_id": "M01", "blended_ir": 0.9, "consistent_skill": True, "beta_only": False,
         "drift": True, "skill_score": 0.9},
        {"manager_id": "M02", "blended_ir": 0.1, "consistent_skill": False, "beta_only": True,
         "drift": False, "skill_score": -1.0},
        {"manager_id": "M03", "blended_ir": -0.2, "consistent_skill": False, "beta_only": False,
         "drift": False, "skill_score": 0.0},
    ]  # fmt: skip
    finding = {"code": "style_drift", "severity": "watch", "subject": "M01",
               "message": "M01 drifted from core toward long credit", "metrics": {}}  # fmt: skip
    desk = {"desk": "performance", "findings": [finding], "tables": {"scores": scores}}
    fig = report.charts.skill_scores({"performance": desk})
    bars = {t.name: list(t.x) for t in fig.data}
    assert bars == {"consistent skill": ["M01"], "beta only": ["M02"], "no flag": ["M03"]}
    html = report.render_stored(_with(stored, performance=desk))
    assert 'id="chart-skill-scores"' in html
    assert "Commentary (performance desk findings)" in html
    assert "M01 drifted from core toward long credit" in html  # in the commentary and flags
    assert report.charts.skill_scores({}) is None


def test_the_appendix_charts_the_shipped_power_curve_for_desks_and_oracle():
    fig = report.charts.detection_power()
    assert [t.name for t in fig.data] == ["fialloc", "oracle"]
    table = pd.read_csv(resources.files("fialloc.report").joinpath("detection_power.csv"))
    assert list(fig.data[0].x) == list(table["mid"])
    assert list(fig.data[0].y) == pytest.approx(list(100.0 * table["desks"]))
    assert table["ir_low"].min() == 0.25
    assert table["ir_high"].max() == 2.0
    assert ((table["desks_low"] <= table["desks"]) & (table["desks"] <= table["desks_high"])).all()


def test_the_report_states_monte_carlo_intervals_and_the_plans_reasons(stored):
    html = report.render_stored(stored)
    s = stored.response.integrated_strategy
    assert f"{s['n_paths']:,} G2++ paths, scenario seed {s['scenario_seed']}" in html
    assert "&plusmn;" in html
    words = {"better": "improves", "worse": "worsens"}
    assert words.get(s["expected_shortfall_95_verdict"], "shows no clear change") in html
    plan = stored.response.implementation_plan
    assert plan["reason"] in html.replace("&#39;", "'")
    assert "Glide path" in html
    assert plan["glide_path"]["reason"] in html.replace("&#39;", "'")


def test_a_run_stored_before_the_error_bars_still_renders(stored):
    strategy = {
        k: v
        for k, v in stored.response.integrated_strategy.items()
        if not k.endswith(("_se", "_verdict", "_low", "_high")) and "_change" not in k
        and k not in ("n_paths", "scenario_seed")
    }  # fmt: skip
    plan = {k: v for k, v in stored.response.implementation_plan.items()
            if k not in ("reason", "glide_path")}  # fmt: skip
    old = stored.response.model_copy(
        update={"integrated_strategy": strategy, "implementation_plan": plan}
    )
    html = report.render(old)
    assert "&plusmn;" not in html
    assert f"{strategy['shortfall_probability_before']:.1%}" in html


def test_the_overlay_is_shown_with_and_without(stored):
    html = report.render_stored(stored)
    d = stored.response.detailed_results
    s = stored.response.integrated_strategy
    assert '<section id="overlay">' in html
    assert 'id="chart-overlay-gaps"' in html
    assert "recommended without overlay" in html
    assert "recommended with overlay" in html
    # Every position held is listed, and the long-end gap with and without.
    for position in d["overlay"]["positions"]:
        assert f'<td class="text">{position["instrument"]}</td>' in html
    assert f"{s['long_end_gap_after']:.2f}" in html
    assert f"{s['without_overlay']['long_end_gap_after']:.2f}" in html
    assert "overlay swap_30y" in html  # its first-phase trade in the plan
    # A mandate without an overlay keeps the two-column summary and no overlay section.
    bare = stored.response.model_copy(
        update={
            "integrated_strategy": {**s, "without_overlay": None},
            "detailed_results": {k: v for k, v in d.items() if k != "overlay"},
        }
    )
    html = report.render(bare)
    assert '<section id="overlay">' not in html
    assert "recommended without overlay" not in html
