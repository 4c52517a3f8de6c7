"""The report in a real headless browser: Chromium from Debian's packages, driven by Playwright.

The test uses the ``chromium`` on the PATH (or ``FIALLOC_CHROMIUM``) and installs nothing:
``.ci/run`` installs Debian's ``chromium``; without it the test is skipped with the reason.
Playwright downloads no browser. The screenshot goes to ``FIALLOC_TEST_ARTIFACTS`` when set,
else to pytest's temporary directory.
"""

import os
import shutil
from pathlib import Path

import pytest

from fialloc import report, store
from fialloc.results import build_response


@pytest.fixture(scope="session")
def chromium():
    path = os.environ.get("FIALLOC_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.skip(
            "no Chromium: install Debian's chromium (`apt-get install chromium`, as .ci/run "
            "does) or set FIALLOC_CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    where = os.environ.get("FIALLOC_TEST_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, demo_pipeline_run):
    root = tmp_path_factory.mktemp("browser-runs")
    result, _ = demo_pipeline_run
    record = store.write_run(str(root), result, build_response(result), render=report.render_stored)
    return Path(record.url) / "report.html"


def test_the_report_loads_without_errors_and_every_chart_renders(browser, report_file, artifacts):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems, requests = [], []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report_file.as_uri(), wait_until="load")
    page.wait_for_function(
        "[...document.querySelectorAll('.plotly-graph-div')]"
        ".every(d => d.querySelector('svg.main-svg'))",
        timeout=30_000,
    )
    charts = page.eval_on_selector_all(
        ".plotly-graph-div",
        # Drawn marks: bar and scatter points, lines and fills, heatmap images.
        "divs => divs.map(d => [d.id, d.querySelectorAll("
        "'svg.main-svg .point, svg.main-svg path.js-line, svg.main-svg path.js-fill,"
        " svg.main-svg image').length, d.getBoundingClientRect().height,"
        " d.querySelector('svg.main-svg').getBoundingClientRect().right,"
        " d.parentElement.getBoundingClientRect().right])",
    )
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    page.close()
    assert problems == []
    assert requests == [report_file.as_uri()]  # nothing fetched besides the file itself
    assert len(charts) >= 11  # 12 with the performance desk
    for div_id, drawn, height, right, column_right in charts:
        assert drawn > 0, f"{div_id} drew nothing"
        assert height > 100, f"{div_id} has no height"
        assert right <= column_right + 1, f"{div_id} overflows its column (under the commentary)"
    assert (artifacts / "report.png").stat().st_size > 50_000
