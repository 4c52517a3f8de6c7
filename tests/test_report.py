"""The report: self-contained, every section present, commentary from agents or findings."""

import re

import pytest

import fialloc.data as data
from fialloc import pipeline, report, store
from fialloc.results import build_response


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-runs")
    result = pipeline.run(data.demo(), n_paths=200, scenario_seed=2)
    record = store.write_run(str(root), result, build_response(result), render=report.render_stored)
    return store.read_run(record.url)


CHARTS = (
    "chart-krd-profile",
    "chart-gap-change",
    "chart-weights",
    "chart-frontier",
    "chart-stress-scenarios",
    "chart-stress-managers",
    "chart-surplus-fan",
    "chart-skill",
    "chart-credit",
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
                    "skill", "credit", "curve", "liquidity", "plan", "run"):  # fmt: skip
        assert f'<section id="{section}">' in html, section
    s = stored.response.integrated_strategy
    assert f"{s['yield_before']:.2%}" in html
    assert f"{s['yield_after']:.2%}" in html
    assert stored.record.run_id in html
    assert stored.record.manifest["versions"]["numpy"] in html


def test_without_attribution_the_section_says_not_available(stored):
    html = report.render_stored(stored)
    assert 'id="chart-attribution-na"' in html
    assert "no attribution desk in the detailed results" in html


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
    }
    html = report.render_stored(_with(stored, agents=agents))
    assert "Commentary (offline)" in html
    assert "Credit beta explains M06, M16 and M17." in html
    assert "Commentary (duration desk findings)" in html  # no duration agent ran


def test_an_attribution_desk_is_charted_per_manager_and_effect(stored):
    effects = [
        {"manager_id": "M01", "income": 0.01, "duration": -0.002, "selection": 0.001},
        {"manager_id": "M02", "income": 0.012, "duration": 0.001, "selection": -0.003},
    ]
    for row in effects:
        row["total"] = row["income"] + row["duration"] + row["selection"]
    desk = {"desk": "attribution", "findings": [], "tables": {"linked_12m": effects}}
    html = report.render_stored(_with(stored, attribution=desk))
    assert 'id="chart-attribution"' in html
    assert "chart-attribution-na" not in html
    fig = report.charts.attribution({"attribution": desk})
    assert [t.name for t in fig.data] == ["income", "duration", "selection"]
    assert list(fig.data[0].y) == pytest.approx([1.0, 1.2])


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
