"""The ``fialloc`` command end to end: outputs' content, reruns, bad input, runs, report."""

import io
import json
import re
import shutil
import sys
import types
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from fialloc import cli, pipeline, store
from fialloc.cli import main
from fialloc.formatting import unsigned_zero
from fialloc.results import build_response

# The demo run's paths and scenario seed: the session's demo run (conftest.demo_pipeline_run).
PATHS, SEED = "200", "3"
# Runs whose subject is not the path statistics: the smallest run the pipeline takes.
SMALL = ["--paths", "20", "--horizons", "2"]


def _only_run(root: Path) -> Path:
    runs = [p for p in root.iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


@pytest.fixture(scope="module")
def demo_cli_run(tmp_path_factory):
    """`fialloc run` on the demo (scenario seed 3): output root, run folder, what it printed."""
    root = tmp_path_factory.mktemp("cli")
    shown = io.StringIO()
    with redirect_stdout(shown):
        assert main(["run", "--out", str(root), "--paths", PATHS, "--seed", SEED]) == 0
    return root, _only_run(root), shown.getvalue()


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
    assert f"Glide path: {len(glide['cycles'])} cycle(s) of a quarter ({glide['reason']})" in flat


def test_demo_files_give_the_same_results_and_identical_reruns(tmp_path, demo_run, capsys):
    _, folder, _ = demo_run
    inputs = tmp_path / "inputs"
    assert main(["demo", "--write", str(inputs)]) == 0
    assert main(["validate", str(inputs)]) == 0
    for _ in range(2):
        assert main(["run", "--data", str(inputs), "--out", str(tmp_path / "o"), "--paths",
                     PATHS, "--seed", SEED]) == 0  # fmt: skip
    capsys.readouterr()
    a, b = sorted(p for p in (tmp_path / "o").iterdir() if p.is_dir())
    for name in ["results.json", *(f"tables/{t.name}" for t in (a / "tables").iterdir())]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # Written-out demo files run to the very same results as the built-in demo.
    assert (a / "results.json").read_bytes() == (folder / "results.json").read_bytes()
    manifest = json.loads((a / "manifest.json").read_text())
    assert set(manifest["inputs"]) >= {"holdings.csv", "securities.csv", "valuation.json"}
    assert manifest["source"] == str(inputs.resolve())


def test_mandate_file_and_flags_reach_the_optimizer(tmp_path, capsys):
    mandate = tmp_path / "mandate.yaml"
    mandate.write_text("max_shift: 0.03\nturnover: 0.08\n")
    args = ["run", "--out", str(tmp_path / "o"), *SMALL, "--mandate", str(mandate)]
    tenors = "0.25,0.5,1,2,3,5,7,10,20,30"
    assert main([*args, "--turnover", "0.06", "--key-tenors", tenors]) == 0
    shown = capsys.readouterr().out
    manifest = json.loads((_only_run(tmp_path / "o") / "manifest.json").read_text())
    assert manifest["parameters"]["mandate"]["max_shift"] == pytest.approx(0.03)
    assert manifest["parameters"]["mandate"]["turnover"] == pytest.approx(0.06)  # flag wins
    assert manifest["parameters"]["mandate"]["key_tenors"] == [float(t) for t in tenors.split(",")]
    results = json.loads((_only_run(tmp_path / "o") / "results.json").read_text())
    # Every key rate follows the setting, and the summary shows the gaps in years and $/bp.
    gaps = results["detailed_results"]["optimizer"]["key_rate_gaps"]
    assert [g["tenor"] for g in gaps][:2] == ["0.25y", "0.5y"]
    assert len(gaps) == 10
    assert "0.25y" in shown
    flat = " ".join(shown.split())  # the console wraps long labels
    assert "years, and $M per bp" in flat
    largest = max(abs(g["gap_before"]) for g in gaps)
    assert results["integrated_strategy"]["max_key_rate_gap_before"] == largest
    assert f"{largest:.2f}" in shown
    assert results["integrated_strategy"]["turnover"] <= 0.06 + 1e-6
    assert max(abs(r["change"]) for r in results["allocation_recommendations"]) <= 0.03 + 1e-6


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


def test_validate_lists_every_problem_across_files(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    main(["demo", "--write", str(inputs)])
    holdings = pd.read_csv(inputs / "holdings.csv", dtype=str)
    holdings.loc[0, "par"] = "-1"
    holdings.loc[5, "manager_id"] = "M99"
    holdings.to_csv(inputs / "holdings.csv", index=False)
    securities = pd.read_csv(inputs / "securities.csv", dtype=str)
    securities.loc[3, "coupon"] = "abc"
    securities.to_csv(inputs / "securities.csv", index=False)
    (inputs / "curve_quotes.csv").unlink()
    capsys.readouterr()
    assert main(["validate", str(inputs)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert any("curve_quotes.csv: required file is missing" in line for line in lines)
    assert any("securities.csv, row 5, column coupon" in line for line in lines)
    assert any("holdings.csv, row 2, column par" in line for line in lines)
    assert any("holdings.csv, row 7, column manager_id" in line and "M99" in line for line in lines)
    assert f"{len(lines)} problems found" in err
    assert "Traceback" not in err


def test_bad_input_is_one_line_per_problem_and_no_folder(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    main(["demo", "--write", str(inputs)])
    holdings = pd.read_csv(inputs / "holdings.csv", dtype=str)
    holdings.loc[0, "par"] = "-1"
    holdings.to_csv(inputs / "holdings.csv", index=False)
    capsys.readouterr()
    assert main(["run", "--data", str(inputs), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--data", "/nowhere"], "is not a directory"),
        (["run", "--mandate", "/nowhere.yaml"], "nowhere.yaml: cannot be read"),
        (["run", "--max-shift", "2"], "command-line flags, column max_shift"),
        (["run", "--key-tenors", "1,0.5"], "command-line flags, column key_tenors"),
        (["run", "--paths", "5"], "need 20 <= n_paths"),
        (["run", "--scheduler", "nowhere"], "missing port number in address"),
        (["run", "--model", "nosuch:x"], "unknown provider 'nosuch'"),
    ],
)
def test_bad_usage_is_a_clean_error(args, message, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path)] if args[0] == "run" else args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert store.complete_runs(str(tmp_path)) == []


def test_argument_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--paths", "many"])
    assert exc.value.code == 2
    assert "invalid int value" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", "--key-tenors", "1,5y"])
    assert exc.value.code == 2
    assert "is not a comma-separated list of tenors in years" in capsys.readouterr().err


def test_model_workers_and_serve_use_the_other_branches_modules(tmp_path, monkeypatch, capsys):
    """With fakes of fialloc.agents / distributed / service, the commands call them."""
    calls = {}

    class ModelConfig:
        @staticmethod
        def parse(text):
            calls["model"] = text
            return f"parsed {text}"

    def run_workflow(portfolio, *, model=None, progress=None, **run_kwargs):
        calls["workflow"] = (model, sorted(run_kwargs))
        run = pipeline.run(portfolio, progress=progress, n_paths=run_kwargs["n_paths"])
        return types.SimpleNamespace(run=run, response=build_response(run, model="fake"))

    @contextmanager
    def open_executor(workers=None, scheduler=None):
        calls["executor"] = (workers, scheduler)
        yield "the executor"

    def serve(host, port):
        calls["serve"] = (host, port)

    for name, attrs in (
        ("fialloc.agents", {"ModelConfig": ModelConfig, "run_workflow": run_workflow}),
        ("fialloc.distributed", {"open_executor": open_executor}),
        ("fialloc.service", {"serve": serve}),
    ):
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))
    args = ["run", "--out", str(tmp_path), *SMALL, "--model", "ollama:x@http://h:1"]
    assert main([*args, "--scheduler", "tcp://s:8786"]) == 0
    assert calls["model"] == "ollama:x@http://h:1"
    model, kwargs = calls["workflow"]
    assert model == "parsed ollama:x@http://h:1"
    assert "executor" in kwargs
    assert "n_paths" in kwargs
    assert calls["executor"] == (None, "tcp://s:8786")
    results = json.loads((_only_run(tmp_path) / "results.json").read_text())
    assert results["model"] == "fake"
    assert main(["serve", "--port", "9000"]) == 0
    assert calls["serve"] == ("127.0.0.1", 9000)
    capsys.readouterr()


def test_compute_runs_the_agents_in_place_of_the_desks(demo_portfolio):
    stages: list[str] = []
    run, response = cli.compute(demo_portfolio, "offline", {"n_paths": 50}, stages.append)
    assert stages == [*pipeline.STAGES[:4], "agents", *pipeline.STAGES[4:]]
    assert response.model == "offline"
    assert set(run.desks) <= set(response.detailed_results["agents"])
    assert run.parameters["n_paths"] == 50


def test_runs_go_to_any_fsspec_root(capsys):
    root = "memory://fialloc-test-cli"
    try:
        assert main(["run", "--out", root, "--paths", "50"]) == 0
        assert "memory:///fialloc-test-cli/" in capsys.readouterr().out
        assert main(["runs", "--root", root]) == 0
        assert "demo (seed 7)" in capsys.readouterr().out
        (run_id,) = [r.run_id for r in store.complete_runs(root)]
        assert main(["report", run_id, "--root", root, "-o", f"{root}/copy.html"]) == 0
        with (
            fsspec.open(f"{root}/copy.html", "rb") as copy,
            fsspec.open(f"{root}/{run_id}/report.html", "rb") as original,
        ):
            assert copy.read() == original.read()
    finally:
        fsspec.filesystem("memory").rm("/fialloc-test-cli", recursive=True)


def test_runs_of_a_missing_root_is_an_error_and_creates_nothing(tmp_path, capsys):
    assert main(["runs", "--root", str(tmp_path / "typo")]) == 2
    assert "no such output root" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_help_shows_defaults_and_no_markup(capsys):
    for command in ([], ["run"], ["demo"], ["serve"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = capsys.readouterr().out
        assert "``" not in out
        assert "`" not in out
        assert "(default: None)" not in out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "seed of the scenario paths (default: 0)" in out
    assert "--horizons YEARS" in out


def test_serve_on_a_busy_port_says_which_port(capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "choose another --port" in err


def test_a_model_that_fails_is_named_in_one_warning_line(tmp_path, capsys):
    # No ollama extra here, and nothing listens on port 9: the model fails, the analyst writes.
    args = [
        "run",
        "--out",
        str(tmp_path),
        *SMALL,
        "--model",
        "ollama:x@http://127.0.0.1:9",
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert "offline analyst" in line
    assert "ollama" in line
    results = json.loads((_only_run(tmp_path) / "results.json").read_text())
    assert results["integrated_strategy"]["model_fallback"]


def test_user_text_is_printed_as_text_never_as_markup(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    assert main(["demo", "--write", str(inputs)]) == 0
    managers = pd.read_csv(inputs / "managers.csv", dtype=str)
    managers.loc[:, "name"] = "[/bold] closing tag [link=http://x.invalid]here[/link]"
    managers.to_csv(inputs / "managers.csv", index=False)
    capsys.readouterr()
    args = ["run", "--data", str(inputs), "--out", str(tmp_path / "out"), *SMALL]
    assert main([*args, "--max-shift", "0.04"]) == 0
    out = capsys.readouterr().out
    assert "[/bold] closing tag" in out
    assert "Traceback" not in out


_INTERRUPT_DURING_IMPORT = """
import builtins, sys
real_import = builtins.__import__
def interrupting_import(name, *args, **kwargs):
    if name == "fialloc.cli":
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupting_import
from fialloc.console import main
sys.exit(main(["--help"]))
"""


def test_ctrl_c_while_the_command_line_loads_ends_quietly():
    """Ctrl-C during the second of imports gives exit 130 and one line, not a traceback."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_DURING_IMPORT],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted\n"
    assert "Traceback" not in done.stderr
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert 'fialloc = "fialloc.console:main"' in pyproject


def test_importing_the_package_loads_no_numeric_library():
    """The console script's first import is cheap, so Ctrl-C can be caught around the rest."""
    import subprocess

    probe = "import sys, fialloc.console; print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
