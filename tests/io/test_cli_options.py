"""The ``fialloc`` command's options and refusals: mandate and flags, bad input and usage,
models, workers and serve, output roots, help, user text and start-up.

Each test makes its own (smallest) run; the demo run's outputs are in test_cli.py.
"""

import json
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from run_folders import only_run

from fialloc import cli, pipeline, store
from fialloc.cli import main
from fialloc.results import build_response

# Runs whose subject is not the path statistics: the smallest run the pipeline takes.
SMALL = ["--paths", "20", "--horizons", "2"]

# The commands' demo book is the session's (conftest.commands_share_the_demo).
pytestmark = pytest.mark.usefixtures("commands_share_the_demo")


def test_mandate_file_and_flags_reach_the_optimizer_and_user_text_prints_as_text(tmp_path, capsys):
    # One run serves both subjects (a run is seconds of fixed cost): the mandate file and
    # flags, and managers' names that look like console markup.
    inputs = tmp_path / "inputs"
    assert main(["demo", "--write", str(inputs)]) == 0
    managers = pd.read_csv(inputs / "managers.csv", dtype=str)
    managers.loc[:, "name"] = "[/bold] closing tag [link=http://x.invalid]here[/link]"
    managers.to_csv(inputs / "managers.csv", index=False)
    mandate = tmp_path / "mandate.yaml"
    mandate.write_text("max_shift: 0.03\nturnover: 0.08\n")
    capsys.readouterr()
    args = ["run", "--data", str(inputs), "--out", str(tmp_path / "o"), *SMALL]
    tenors = "0.25,0.5,1,2,3,5,7,10,20,30"
    flags = ["--mandate", str(mandate), "--turnover", "0.06", "--key-tenors", tenors]
    assert main([*args, *flags]) == 0
    shown = capsys.readouterr().out
    assert "[/bold] closing tag" in shown
    assert "Traceback" not in shown
    manifest = json.loads((only_run(tmp_path / "o") / "manifest.json").read_text())
    assert manifest["parameters"]["mandate"]["max_shift"] == pytest.approx(0.03)
    assert manifest["parameters"]["mandate"]["turnover"] == pytest.approx(0.06)  # flag wins
    assert manifest["parameters"]["mandate"]["key_tenors"] == [float(t) for t in tenors.split(",")]
    results = json.loads((only_run(tmp_path / "o") / "results.json").read_text())
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


def test_model_workers_and_serve_use_the_other_branches_modules(
    tmp_path, monkeypatch, capsys, demo_pipeline_run
):
    """With fakes of fialloc.agents / distributed / service, the commands call them."""
    calls = {}

    class ModelConfig:
        @staticmethod
        def parse(text):
            calls["model"] = text
            return f"parsed {text}"

    def run_workflow(portfolio, *, model=None, progress=None, **run_kwargs):
        calls["workflow"] = (model, sorted(run_kwargs))
        # The fake's run is the session's demo run: what the command does with a run is
        # test_cli.py's subject, not this test's.
        run = demo_pipeline_run[0]
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
    results = json.loads((only_run(tmp_path) / "results.json").read_text())
    assert results["model"] == "fake"
    assert main(["serve", "--port", "9000"]) == 0
    assert calls["serve"] == ("127.0.0.1", 9000)
    capsys.readouterr()


def test_compute_runs_the_agents_in_place_of_the_desks(demo_portfolio):
    stages: list[str] = []
    run, response = cli.compute(demo_portfolio, "offline", {"n_paths": 20}, stages.append)
    assert stages == [*pipeline.STAGES[:4], "agents", *pipeline.STAGES[4:]]
    assert response.model == "offline"
    assert set(run.desks) <= set(response.detailed_results["agents"])
    assert run.parameters["n_paths"] == 20


def test_runs_go_to_any_fsspec_root_and_a_failed_model_is_one_warning_line(capsys):
    # One run serves both subjects (a run is seconds of fixed cost): an fsspec output root,
    # and a model that fails. No ollama extra here, and nothing listens on port 9: the model
    # fails, the analyst writes.
    root = "memory://fialloc-test-cli"
    try:
        model = ["--model", "ollama:x@http://127.0.0.1:9"]
        assert main(["run", "--out", root, *SMALL, *model]) == 0
        shown = capsys.readouterr()
        assert "memory:///fialloc-test-cli/" in shown.out
        (line,) = [x for x in shown.err.splitlines() if x.startswith("warning:")]
        assert "offline analyst" in line
        assert "ollama" in line
        assert main(["runs", "--root", root]) == 0
        assert "demo (seed 7)" in capsys.readouterr().out
        (run_id,) = [r.run_id for r in store.complete_runs(root)]
        with fsspec.open(f"{root}/{run_id}/results.json", "rt") as stored:
            assert json.load(stored)["integrated_strategy"]["model_fallback"]
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
    assert 'fialloc = "fialloc.console:script"' in pyproject  # which calls main


def test_importing_the_package_loads_no_numeric_library():
    """The console script's first import is cheap, so Ctrl-C can be caught around the rest."""
    import subprocess

    probe = "import sys, fialloc.console; print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--paths", "5"], "need 20 <= n_paths"),
        (["--horizons", "99"], "2 <= horizons <= 60"),
        (["--model", "nosuch"], "unknown provider 'nosuch'"),
    ],
)
def test_settings_no_book_could_run_with_are_refused_before_the_book_is_built(
    tmp_path, capsys, monkeypatch, flags, message
):
    # A refusal that waited for the demo's build (or a directory's load) cost a user seconds.
    import fialloc.data as data

    def built(*args, **kwargs):
        msg = "the book was built before the settings were checked"
        raise AssertionError(msg)

    monkeypatch.setattr(data, "demo", built)
    monkeypatch.setattr(data, "load", built)
    assert main(["run", "--out", str(tmp_path), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
