"""The ``fialloc`` command end to end on the demo: outputs' content, reruns, runs, report.

The commands' options, refusals and start-up are in test_cli_options.py.
"""

import io
import json
import re
import shutil
from contextlib import redirect_stdout

import pandas as pd
import pytest
from run_folders import only_run

from fialloc.cli import main
from fialloc.formatting import unsigned_zero

# The demo run's paths and scenario seed: the session's demo run (conftest.demo_pipeline_run).
PATHS, SEED = "200", "3"

# The commands' demo book is the session's (conftest.commands_share_the_demo).
pytestmark = pytest.mark.usefixtures("commands_share_the_demo")


@pytest.fixture(scope="module")
def demo_cli_run(tmp_path_factory, commands_share_the_demo):
    """`fialloc run` on the demo (scenario seed 3): output root, run folder, what it printed."""
    root = tmp_path_factory.mktemp("cli")
    shown = io.StringIO()
    with redirect_stdout(shown):
        assert main(["run", "--out", str(root), "--paths", PATHS, "--seed", SEED]) == 0
    return root, only_run(root), shown.getvalue()


@pytest.fixture(scope="module")
def demo_run(demo_cli_run, demo_pipeline_run):
    """`fialloc run` on the demo, and the same run through the pipeline for reference."""
    root, folder, _ = demo_cli_run
    reference = demo_pipeline_run[0]
    assert reference.parameters["n_paths"] == int(PATHS)
    assert reference.parameters["scenario_seed"] == int(SEED)
    return root, folder, reference


def test_run_on_the_demo_writes_the_pipelines_numbers(demo_run):
    _root, folder, reference = demo_run
    results = json.loads((folder / "results.json").read_text())
    s = results["integrated_strategy"]
    for key, value in reference.allocation.summary.items():
        assert s[key] == value, key
    at_10y = reference.robustness.paths.xs(10.0, level="horizon")
    assert s["shortfall_probability_before"] == at_10y.loc["current", "shortfall_probability"]
    assert s["shortfall_probability_after"] == at_10y.loc["recommended", "shortfall_probability"]
    assert s["plan_cost"] == reference.plan.total_cost
    weights = {
        r["manager_id"]: r["recommended_weight"] for r in results["allocation_recommendations"]
    }
    assert weights == reference.allocation.weights.to_dict()
    phases = results["implementation_plan"]["phases"]
    assert len(phases) == len(reference.plan.costs)
    assert phases[0]["impact_cost"] == reference.plan.costs["impact_cost"].iloc[0]
    stresses = {r["scenario"]: r for r in results["detailed_results"]["robustness"]["stresses"]}
    assert (
        stresses["parallel_up_100"]["recommended"]
        == (reference.robustness.stresses.loc["parallel_up_100", "recommended"])
    )
    s = results["integrated_strategy"]
    assert s["assets"] == pytest.approx(40e9, rel=1e-6)
    assert s["tracking_error_after"] < s["tracking_error_before"]
    beta = {
        f["subject"]
        for f in results["detailed_results"]["credit"]["findings"]
        if f["code"] == "credit_beta"
    }
    assert beta == {"M06", "M16", "M17"}
    gaps = pd.read_parquet(folder / "tables" / "krd_gaps.parquet")
    assert gaps.loc["krd_30y", "gap"] == reference.gaps.loc["krd_30y", "gap"] < -1.0
    fan = pd.read_parquet(folder / "tables" / "surplus_paths.parquet")
    assert len(fan) == 10
    assert (fan["p05"] <= fan["median"]).all()
    assert (fan["median"] <= fan["p95"]).all()
    managers = pd.read_parquet(folder / "tables" / "managers.parquet")
    assert len(managers) == 27
    assert managers["weight"].sum() == pytest.approx(1.0)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["source"] == "demo (seed 7)"
    assert manifest["seeds"] == {"scenario_seed": int(SEED), "demo_seed": 7}
    assert manifest["parameters"]["n_paths"] == 200
    assert manifest["inputs"] == {}
    assert (folder / "report.html").stat().st_size > 1_000_000  # plotly.js inlined


def test_run_is_catalogued_and_listed(demo_run, capsys):
    root, folder, _ = demo_run
    capsys.readouterr()
    assert main(["runs", "--root", str(root)]) == 0
    shown = capsys.readouterr().out
    assert folder.name in shown
    results = json.loads((folder / "results.json").read_text())["integrated_strategy"]
    assert f"{results['yield_before']:.2%}".rstrip("%") in shown
    assert f"{results['shortfall_probability_after']:.1%}" in shown
    # The scenario seed (3) has its column after the source, apart from the demo book's seed.
    assert re.search(rf"demo \(seed 7\)\s+{SEED}\s+\d", shown)


def test_summary_fits_100_columns_and_names_the_outputs(demo_cli_run):
    _, folder, shown = demo_cli_run
    assert f"\n  {folder}\n" in shown  # the output folder, whole, on its own line
    assert max(len(line) for line in shown.splitlines() if str(folder) not in line) <= 100
    assert "written (report.html, results.json, tables/, manifest.json) to" in shown
    for heading in ("Before and after", "Key-rate gaps", "Weight changes", "P(surplus < 0)"):
        assert heading in shown
    recs = json.loads((folder / "results.json").read_text())["allocation_recommendations"]
    biggest = max(recs, key=lambda r: abs(r["change"]))
    assert f"  {biggest['manager_id']}  " in shown  # the largest recommended move
    assert "Duration overlay" in shown
    assert "with overlay" in shown
    # The duration desk's words on the global manager's currencies.
    assert "Currencies: 3.0% of the assets are in EUR, GBP, JPY, CAD" in " ".join(shown.split())
    # The Monte Carlo lines: path count and seed, intervals, claims that follow the interval.
    results = json.loads((folder / "results.json").read_text())
    s = results["integrated_strategy"]
    flat = " ".join(shown.split())
    assert f"{int(PATHS)} scenario paths (scenario seed {SEED})" in flat
    assert f"{s['shortfall_probability_before']:.1%} ± " in flat
    for key in ("shortfall_probability", "expected_shortfall_95"):
        words = {"better": "improves", "worse": "worsens"}.get(
            s[f"{key}_verdict"], "shows no clear change"
        )
        assert (s[f"{key}_change_low"] > 0 or s[f"{key}_change_high"] < 0) == (
            words != "shows no clear change"
        )
        assert words in flat
    # The plan says how many phases and cycles, and why.
    plan = results["implementation_plan"]
    assert f"Plan: {len(plan['phases'])} phases of 10 trading days ({plan['reason']})" in flat
    glide = plan["glide_path"]
    cycles = {1: "1 cycle"}.get(len(glide["cycles"]), f"{len(glide['cycles'])} cycles")
    assert f"Glide path: {cycles} of a quarter ({glide['reason']})" in flat


def test_demo_files_give_the_same_results_and_identical_reruns(tmp_path, demo_run, capsys):
    _, folder, _ = demo_run
    inputs = tmp_path / "inputs"
    assert main(["demo", "--write", str(inputs)]) == 0
    assert main(["validate", str(inputs)]) == 0
    assert main(["run", "--data", str(inputs), "--out", str(tmp_path / "o"), "--paths",
                 PATHS, "--seed", SEED]) == 0  # fmt: skip
    capsys.readouterr()
    a = only_run(tmp_path / "o")
    # Written-out demo files rerun the built-in demo's run (same paths and seed, another
    # process state) to the very same bytes: results and every table.
    tables = sorted(t.name for t in (a / "tables").iterdir())
    assert tables == sorted(t.name for t in (folder / "tables").iterdir())
    for name in ["results.json", *(f"tables/{t}" for t in tables)]:
        assert (a / name).read_bytes() == (folder / name).read_bytes(), name
    manifest = json.loads((a / "manifest.json").read_text())
    assert set(manifest["inputs"]) >= {"holdings.csv", "securities.csv", "valuation.json"}
    assert manifest["source"] == str(inputs.resolve())


def test_runs_diff_compares_two_runs(tmp_path, demo_cli_run, capsys):
    out = str(tmp_path)
    _, first, _ = demo_cli_run  # a copy of the demo's run, to compare a second run with
    shutil.copytree(first, tmp_path / first.name)
    args = ["run", "--out", out, "--paths", PATHS, "--seed", SEED, "--max-shift", "0.02"]
    assert main(args) == 0
    a, b = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    capsys.readouterr()
    assert main(["runs", "--root", out, "diff", a, b]) == 0
    shown = capsys.readouterr().out
    assert "Weights: a =" in shown
    assert "Risk and return" in shown
    recs = {}
    for name in (a, b):
        results = json.loads((tmp_path / name / "results.json").read_text())
        recs[name] = {r["manager_id"]: r for r in results["allocation_recommendations"]}
    for mid in recs[a]:
        line = next(x for x in shown.splitlines() if x.strip().startswith(mid))
        ra, rb = recs[a][mid], recs[b][mid]
        expected = [ra["current_weight"], ra["recommended_weight"], rb["current_weight"],
                    rb["recommended_weight"]]  # fmt: skip
        assert line.split()[1:5] == [f"{w:.2%}" for w in expected], line
        change = rb["recommended_weight"] - ra["recommended_weight"]
        assert line.split()[5] == unsigned_zero(f"{change:+.2%}"), line  # no "-0.00%"
    # The tighter shift limit moves no manager by more than 2%; the looser one does.
    assert max(abs(r["change"]) for r in recs[b].values()) <= 0.02 + 1e-6
    assert max(abs(r["change"]) for r in recs[a].values()) > 0.02 + 1e-6
    assert main(["runs", "diff", a, "nope", "--root", out]) == 2
    assert "nope: no run with that id" in capsys.readouterr().err


def test_report_rerenders_a_stored_run_identically(demo_run, tmp_path, capsys):
    root, folder, _ = demo_run
    target = tmp_path / "again.html"
    assert main(["report", folder.name[:10], "--root", str(root), "-o", str(target)]) == 0
    assert target.read_bytes() == (folder / "report.html").read_bytes()
    assert main(["report", str(folder), "-o", str(target)]) == 0
    assert target.read_bytes() == (folder / "report.html").read_bytes()
    capsys.readouterr()
    assert main(["report", "missing", "--root", str(root)]) == 2
    assert "missing: no run with that id" in capsys.readouterr().err
