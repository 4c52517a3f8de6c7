import json

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.data import InputError, Mandate, load, validate


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def test_demo_is_a_realistic_general_account(demo):
    assert len(demo.managers) == 27  # 25 US managers, a global one and a TIPS one
    assert demo.holdings["security_id"].nunique() >= 500
    assert (demo.holdings.groupby("security_id").size() > 1).sum() > 50  # shared securities
    assert demo.total_assets == pytest.approx(40e9, rel=1e-6)
    assert demo.current_weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        demo.manager_values / demo.total_assets, demo.current_weights, rtol=1e-6
    )
    dates = demo.liabilities["date"]
    assert (max(dates) - demo.valuation_date).days / 365 > 59
    assert len(demo.returns) == 60
    assert set(demo.managers["style"]) >= {
        "long_government",
        "core",
        "ig_credit",
        "high_yield",
        "structured",
        "short_duration",
    }


def test_demo_under_matches_the_long_end(demo, demo_truth):
    a = demo.analytics
    mv = a.market_value
    assets = (a.krd * mv[:, None]).sum(axis=0)
    lia = demo.liability_stream.analyze(demo.curve)
    liabilities = lia.krd[0] * lia.market_value[0]
    tenors = list(a.key_tenors)
    for tenor in demo_truth.long_end_gap_tenors:
        j = tenors.index(tenor)
        assert assets[j] < 0.7 * liabilities[j]


def test_demo_is_deterministic_and_seeded():
    (a, _), (b, _), (c, _) = data.demo_tables(3), data.demo_tables(3), data.demo_tables(4)
    pd.testing.assert_frame_equal(a["holdings"], b["holdings"])
    assert not a["holdings"].equals(c["holdings"])


def test_written_files_load_to_the_same_portfolio(demo, demo_dir, demo_read_back):
    again = demo_read_back
    assert again.valuation_date == demo.valuation_date
    for name in ("holdings", "liabilities", "manager_returns", "curve_quotes"):
        pd.testing.assert_frame_equal(
            getattr(again, name).reset_index(drop=True),
            getattr(demo, name).reset_index(drop=True),
            check_dtype=False,
        )
    np.testing.assert_array_equal(again.analytics.dirty_price, demo.analytics.dirty_price)
    assert again.mandate == demo.mandate
    assert (demo_dir / "SCHEMA.md").read_text().startswith("# fialloc input files")


def _broken(tmp_path, demo_dir, table, edit):
    target = tmp_path / "inputs"
    target.mkdir()
    for f in demo_dir.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    frame = pd.read_csv(target / f"{table}.csv", dtype=str, keep_default_na=False)
    edit(frame)
    frame.to_csv(target / f"{table}.csv", index=False)
    return target


@pytest.mark.parametrize(
    ("table", "edit", "expected"),
    [
        (
            "holdings",
            lambda f: f.pop("par"),
            "holdings.csv, column par: required column is missing",
        ),
        (
            "holdings",
            lambda f: f.loc.__setitem__((3, "par"), "-5"),
            "holdings.csv, row 5, column par: -5.0 must be > 0",
        ),
        (
            "holdings",
            lambda f: f.loc.__setitem__((2, "security_id"), "NOPE"),
            "holdings.csv, row 4, column security_id: 'NOPE' has no row in the security master",
        ),
        (
            "holdings",
            lambda f: f.loc.__setitem__((1, "manager_id"), "M99"),
            "holdings.csv, row 3, column manager_id: unknown manager id 'M99'",
        ),
        (
            "securities",
            lambda f: f.loc.__setitem__((5, "security_id"), f.loc[4, "security_id"]),
            "securities.csv, row 7, column security_id: duplicate key",
        ),
        (
            "securities",
            lambda f: f.loc.__setitem__((7, "maturity"), "30/09/2031"),
            "securities.csv, row 9, column maturity: '30/09/2031' is not a date in YYYY-MM-DD",
        ),
        (
            "securities",
            lambda f: f.loc.__setitem__((8, "rating"), "Baa4"),
            "securities.csv, row 10, column rating: 'Baa4' is not a rating",
        ),
        (
            "securities",
            lambda f: f.loc.__setitem__((9, "coupon"), "5.25"),
            "securities.csv, row 11, column coupon: 5.25 looks like a percentage",
        ),
        (
            "managers",
            lambda f: f.loc.__setitem__((0, "current_allocation"), "0.05"),
            "managers.csv, column current_allocation: allocations sum to 0.974800",
        ),
        (
            "manager_returns",
            lambda f: f.__setitem__("return", (f["return"].astype(float) * 100).astype(str)),
            "manager_returns.csv, column return: monthly returns look like percentages",
        ),
    ],
)
def test_bad_inputs_name_file_row_and_column(tmp_path, demo_dir, table, edit, expected):
    target = _broken(tmp_path, demo_dir, table, edit)
    problems = [str(p) for p in validate(target)]
    assert any(expected in p for p in problems), problems
    with pytest.raises(InputError, match="problem"):
        load(target)


def test_every_problem_is_listed_not_only_the_first(tmp_path, demo_dir):
    def edit(f):
        f.loc[1, "par"] = "-1"
        f.loc[4, "par"] = "abc"

    problems = validate(_broken(tmp_path, demo_dir, "holdings", edit))
    assert {(p.row, p.column) for p in problems} == {(3, "par"), (6, "par")}  # CSV lines


def test_malformed_json_and_missing_files(tmp_path, demo_dir):
    target = _broken(tmp_path, demo_dir, "spreads", lambda f: None)
    (target / "mandate.json").write_text('{"turnover": 0.1,,}')
    (target / "liabilities.csv").unlink()
    problems = [str(p) for p in validate(target)]
    assert any(p.startswith("mandate.json: not valid JSON (line 1") for p in problems)
    assert any(p.startswith("liabilities.csv: required file is missing") for p in problems)


def test_mandate_defaults_and_validation():
    m = Mandate()
    assert (m.min_allocation, m.max_allocation, m.turnover, m.max_shift) == (0.01, 0.20, 0.10, 0.05)
    assert (m.target_yield, m.max_tracking_error, m.liquidity_buffer, m.max_illiquid) == (
        0.045,
        0.08,
        0.10,
        0.30,
    )
    assert m.objective.liability_matching == 0.35
    with pytest.raises(ValueError, match=r"min_allocation 0\.3 is above max_allocation 0\.2"):
        Mandate(min_allocation=0.3)
    with pytest.raises(ValueError, match="extra"):
        Mandate.model_validate(json.loads('{"turnvoer": 0.1}'))
