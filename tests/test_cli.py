import json

import pandas as pd
import pytest

from fialloc.cli import main


def test_run_on_the_demo_writes_results(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "out")]) == 0
    shown = capsys.readouterr().out
    assert "Key-rate durations" in shown
    assert "ny7_pop_up" in shown
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["summary"]
    assert summary["assets"] == pytest.approx(40e9, rel=1e-6)
    assert summary["liabilities"] == pytest.approx(36e9, rel=1e-6)
    assert summary["liability_duration"] > summary["asset_duration"]
    gaps = pd.read_csv(tmp_path / "out" / "krd_gaps.csv", index_col=0)
    assert gaps.loc["krd_30y", "gap"] < -1.0
    stresses = pd.read_csv(tmp_path / "out" / "stresses.csv", index_col=0)
    assert stresses.loc["parallel_up_100", "assets_change"] < 0
    fan = pd.read_csv(tmp_path / "out" / "surplus_paths.csv", index_col=0)
    assert len(fan) == 10
    assert (fan["p05"] <= fan["median"]).all()
    assert (fan["median"] <= fan["p95"]).all()
    assert fan["shortfall_probability"].between(0, 1).all()
    assert "Surplus across 1,000 G2++ paths" in shown
    desks = json.loads((tmp_path / "out" / "desks.json").read_text())
    beta = {f["subject"] for f in desks["credit"]["findings"] if f["code"] == "credit_beta"}
    assert beta == {"M06", "M16", "M17"}
    assert "Desk findings" in shown
    managers = pd.read_csv(tmp_path / "out" / "managers.csv", index_col=0)
    assert len(managers) == 25
    assert managers["weight"].sum() == pytest.approx(1.0)


def test_written_demo_validates_and_runs_to_the_same_numbers(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    assert main(["demo", "--write", str(inputs)]) == 0
    assert main(["validate", str(inputs)]) == 0
    assert main(["run", "--data", str(inputs), "--out", str(tmp_path / "a")]) == 0
    assert main(["run", "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text())["summary"]
    b = json.loads((tmp_path / "b" / "summary.json").read_text())["summary"]
    assert a == b
    capsys.readouterr()


def test_bad_inputs_give_one_line_per_problem_and_no_traceback(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    main(["demo", "--write", str(inputs)])
    holdings = pd.read_csv(inputs / "holdings.csv", dtype=str)
    holdings.loc[0, "par"] = "-1"
    holdings.loc[5, "manager_id"] = "M99"
    holdings.to_csv(inputs / "holdings.csv", index=False)
    capsys.readouterr()
    assert main(["validate", str(inputs)]) == 1
    out = capsys.readouterr().out
    assert "holdings.csv, row 0, column par" in out
    assert "1 problem(s) found" in out  # cross-table checks wait until each table is valid
    assert main(["run", "--data", str(inputs), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("error:") == 1
    assert not (tmp_path / "o").exists()


def test_missing_directory_is_a_clean_error(tmp_path, capsys):
    assert main(["run", "--data", str(tmp_path / "nowhere")]) == 2
    assert "is not a directory" in capsys.readouterr().err
