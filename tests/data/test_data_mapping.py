"""Mapping files: the examples/ custodian book loads and runs, and a bad mapping is named.

The example book is six of the demo's managers written in a custodian's layout (other file
and column names, Moody's ratings, percent coupons and weights, bp spreads, US dates,
liabilities as negative outflows, spelled-out sectors and tiers). Read through its mapping
file it must be exactly those managers' part of the demo.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fialloc import data, pipeline
from fialloc.cli import main
from fialloc.data import InputError
from fialloc.data.mapping import parse_mapping, read_mapping

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custodian_book"
MAPPING = EXAMPLE / "mapping.yaml"
MANAGERS = ["M01", "M02", "M04", "M11", "M12", "M24"]


@pytest.fixture(scope="module")
def example():
    return data.load(EXAMPLE, mapping=MAPPING)


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def test_example_is_the_demo_managers_part(example, demo):
    assert data.validate(EXAMPLE, mapping=MAPPING) == []
    sec = example.securities
    want = demo.securities.loc[sec.index]
    for column in ("issuer", "sector", "rating", "maturity", "frequency", "day_count"):
        assert sec[column].tolist() == want[column].tolist(), column
    assert sec["liquidity_tier"].tolist() == want["liquidity_tier"].tolist()
    np.testing.assert_allclose(sec["coupon"], want["coupon"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(sec["z_spread"], want["z_spread"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sec["issue_size"], want["issue_size"])
    assert set(sec["currency"]) == {"USD"}
    held = demo.holdings[demo.holdings["manager_id"].isin(MANAGERS)].reset_index(drop=True)
    assert (held["hedge_ratio"] == 0).all()  # US bonds: nothing to hedge, no column needed
    held = held.drop(columns="hedge_ratio")
    pd.testing.assert_frame_equal(example.holdings, held)
    share = demo.managers.loc[MANAGERS, "current_allocation"]
    np.testing.assert_allclose(example.current_weights, share / share.sum(), rtol=0, atol=1e-8)
    # The example's liabilities are all fixed flows: the demo's fixed flows plus its annuity
    # blocks' expected flows (carved out of the same run-off, to the cent).
    flows = demo.liability_flows
    np.testing.assert_allclose(
        example.liabilities["amount"], flows["amount"] * share.sum(), atol=0.015
    )
    assert example.liabilities["date"].tolist() == flows["date"].tolist()
    returns = demo.manager_returns[demo.manager_returns["manager_id"].isin(MANAGERS)]
    np.testing.assert_allclose(
        example.manager_returns["return"], returns["return"], rtol=0, atol=1e-12
    )


def test_example_runs_end_to_end(example):
    result = pipeline.run(example, n_paths=50, horizons=2, phases=1, frontier_points=2)
    weights = result.allocation.weights
    assert sorted(weights.index) == MANAGERS
    # The weights and the overlay's STRIPS (bought with cash) add up to the assets.
    strips = result.allocation.summary.get("overlay_strips", 0.0) / result.problem.assets
    assert abs(float(weights.sum()) + strips - 1.0) < 1e-6
    assert float(weights.min()) >= example.mandate.min_allocation - 1e-6


def test_cli_validates_and_runs_the_example(tmp_path, capsys):
    assert main(["validate", str(EXAMPLE), "--mapping", str(MAPPING)]) == 0
    assert "all inputs are valid" in capsys.readouterr().out
    assert main(["validate", str(EXAMPLE)]) == 2  # without the mapping it is not our layout
    assert "required file is missing" in capsys.readouterr().err
    args = ["run", "--data", str(EXAMPLE), "--mapping", str(MAPPING), "--out", str(tmp_path)]
    assert main([*args, "--paths", "50", "--horizons", "2", "--phases", "1"]) == 0
    assert "written" in capsys.readouterr().out


def test_mapping_without_data_is_a_usage_error(capsys):
    assert main(["run", "--mapping", str(MAPPING)]) == 2
    assert "--mapping adapts the files of --data DIR" in capsys.readouterr().err


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "book"
    shutil.copytree(EXAMPLE, target)
    return target


def _edit(path: Path, row: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)


def test_problems_name_the_users_file_line_and_column(copy):
    _edit(copy / "security_master.csv", 4, "Moody's Rating", "NR")
    _edit(copy / "security_master.csv", 6, "Maturity Date", "2031-09-30")
    _edit(copy / "security_master.csv", 7, "Sector", "Govt")
    _edit(copy / "accounts.csv", 0, "Weight (%)", "abc")
    found = {(p.file, p.row, p.column): p.message for p in data.validate(copy, mapping=MAPPING)}
    assert "not rated" in found["security_master.csv", 6, "Moody's Rating"]
    assert (
        "does not match the date format '%m/%d/%Y'"
        in found["security_master.csv", 8, "Maturity Date"]
    )
    assert "'Govt' is not a known sector" in found["security_master.csv", 9, "Sector"]
    assert "'abc' is not a number" in found["accounts.csv", 2, "Weight (%)"]


def test_unmapped_negative_liabilities_are_refused(copy):
    text = MAPPING.read_text().replace("    units: {amount: negated}", "")
    (copy / "mapping.yaml").write_text(text)
    problems = data.validate(copy, mapping=copy / "mapping.yaml")
    assert problems
    assert all(p.file == "liability_cashflows.csv" for p in problems)
    assert "units: {amount: negated}" in problems[0].message
    assert problems[0].column == "Cash Flow"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"tables": {"holding": {}}}, "mapping, column tables: unknown table 'holding'"),
        (
            {"tables": {"holdings": {"columns": {"Par": "face"}}}},
            "mapping, column tables.holdings: 'face' is not a column of holdings; its columns",
        ),
        (
            {"tables": {"securities": {"units": {"coupon": "percentage"}}}},
            "mapping, column tables.securities.units.coupon: Input should be 'decimal'",
        ),
        ({"tables": {"holdings": {"colums": {}}}}, "tables.holdings.colums: Extra inputs"),
        ([1, 2], "mapping: Input should be a valid dictionary"),
    ],
)
def test_bad_mappings_are_named(raw, expected):
    with pytest.raises(InputError) as info:
        parse_mapping(raw)
    assert any(expected in str(p) for p in info.value.problems), info.value.problems


def test_unreadable_mapping_file_names_the_line(tmp_path):
    bad = tmp_path / "map.yaml"
    bad.write_text("tables:\n  holdings:\n    columns: {a: b\n")
    with pytest.raises(InputError, match=r"map\.yaml: does not parse \(line \d+\)"):
        read_mapping(bad)
    assert data.validate(EXAMPLE, mapping=bad)[0].file == "map.yaml"
