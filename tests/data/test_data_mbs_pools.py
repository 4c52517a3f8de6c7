"""The optional mbs_pools table: read from files like any other, every problem named by file, row
and column, and held pools' risk measures option-adjusted in the run's analytics."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from fialloc.data import InputError, from_tables, validate
from fialloc.data.demo import DEMO_VALUATION


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


def test_the_written_demo_reads_back_its_pools(demo, demo_read_back):
    again = demo_read_back
    assert again.mbs_pools is not None
    assert demo.mbs_pools is not None
    assert again.mbs_valuation is not None
    assert demo.mbs_valuation is not None
    pd.testing.assert_frame_equal(
        again.mbs_pools.reset_index(drop=True), demo.mbs_pools.reset_index(drop=True)
    )
    np.testing.assert_allclose(again.mbs_valuation.oas, demo.mbs_valuation.oas, rtol=0, atol=1e-12)


def _pool_problems(tmp_path, demo_dir, edit) -> list[str]:
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    pools = pd.read_csv(target / "mbs_pools.csv", dtype=str, keep_default_na=False)
    edit(pools)
    pools.to_csv(target / "mbs_pools.csv", index=False)
    return [str(p) for p in validate(target)]


def _expect(problems, expected):
    # Rows are the CSV file's line numbers: data row i is line i + 2.
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)


def test_pool_values_are_checked_by_column(tmp_path, demo_dir):
    def edit(pools):
        pools.loc[1, "wam"] = "12.5"
        pools.loc[2, "prepayment"] = "fast"
        pools.loc[6, "wac"] = "5.5"
        pools.loc[7, "wam"] = "0"
        pools.loc[8, "age"] = "601"

    _expect(
        _pool_problems(tmp_path, demo_dir, edit),
        [
            "mbs_pools.csv, row 3, column wam: 12.5 is not a whole number",
            "mbs_pools.csv, row 4, column prepayment:",
            "mbs_pools.csv, row 8, column wac: 5.5 looks like a percentage",
            "mbs_pools.csv, row 9, column wam: 0.0 must be >= 1",
            "mbs_pools.csv, row 10, column age: 601.0 must be <= 600",
        ],
    )


def test_pool_rows_are_checked_against_each_other_and_the_master(tmp_path, demo_dir):
    def edit(pools):
        pools.loc[0, "net_coupon"] = "0.09"  # above its wac
        pools.loc[3, "security_id"] = "TRE0000"  # a Treasury, not a pool
        pools.loc[4, "security_id"] = "NOPE"
        pools.loc[5, ["prepayment", "speed"]] = ["cpr", "6"]  # a percent, not a CPR

    _expect(
        _pool_problems(tmp_path, demo_dir, edit),
        [
            "mbs_pools.csv, row 2, column net_coupon: 0.09 is above the pool's wac",
            "mbs_pools.csv, row 5, column security_id: 'TRE0000' is in sector 'treasury'",
            "mbs_pools.csv, row 6, column security_id: 'NOPE' has no row in the security master",
            "mbs_pools.csv, row 7, column speed: 6 is not a CPR",
        ],
    )


def test_without_pools_securitized_bonds_keep_their_scheduled_risk(demo, demo_inputs):
    tables = demo_inputs
    tables.pop("mbs_pools")
    tables.pop("pool_factors")
    plain = from_tables(tables, DEMO_VALUATION)
    assert plain.mbs_valuation is None
    ids = demo.mbs_valuation.ids
    rows = plain.book.security_ids.get_indexer(ids)
    # Same prices (the vendor's), different risk: the pools' durations are option-adjusted.
    np.testing.assert_array_equal(
        plain.analytics.dirty_price[rows], demo.analytics.dirty_price[rows]
    )
    pooled = demo.analytics.effective_duration[rows]
    np.testing.assert_array_equal(pooled, demo.mbs_valuation.effective_duration)
    assert np.all(pooled < plain.analytics.effective_duration[rows])  # amortizing and prepaying
    others = np.setdiff1d(np.arange(len(plain.book)), rows)
    np.testing.assert_array_equal(plain.analytics.krd[others], demo.analytics.krd[others])


def test_demo_pools_price_at_their_drawn_spread_and_are_negatively_convex(demo):
    mbs = demo.mbs_valuation
    z = demo.securities.set_index("security_id").loc[list(mbs.ids), "z_spread"].to_numpy()
    # The vendor price is the model value at an OAS of the drawn spread, on the same paths.
    np.testing.assert_allclose(mbs.oas, z, rtol=0, atol=1e-9)
    assert np.all(mbs.std_error < 0.1)
    assert (mbs.effective_convexity < 0).mean() > 0.8


def test_a_pool_table_for_an_unknown_book_is_refused_clearly(demo, demo_inputs):
    tables = demo_inputs
    tables["mbs_pools"] = tables["mbs_pools"].assign(wam=0)
    with pytest.raises(InputError, match="mbs_pools, row 0, column wam"):
        from_tables(tables, DEMO_VALUATION)


def _factor_problems(tmp_path, demo_dir, edit) -> list[str]:
    target = tmp_path / "inputs"
    shutil.copytree(demo_dir, target)
    factors = pd.read_csv(target / "pool_factors.csv", dtype=str, keep_default_na=False)
    edit(factors)
    factors.to_csv(target / "pool_factors.csv", index=False)
    return [str(p) for p in validate(target)]


def test_pool_factors_read_back_and_are_checked_by_row(tmp_path, demo, demo_dir, demo_read_back):
    again = demo_read_back
    assert again.pool_factors is not None
    assert len(again.pool_factors) == len(demo.pool_factors)

    def edit(factors):
        factors.loc[5, "security_id"] = "TRE0000"  # not a pool
        factors.loc[6, "factor"] = "1.5"

    _expect(
        _factor_problems(tmp_path / "a", demo_dir, edit),
        [
            "pool_factors.csv, row 7, column security_id: 'TRE0000' has no row in mbs_pools",
            "pool_factors.csv, row 8, column factor: 1.5 must be <= 1",
        ],
    )
    first = demo.pool_factors["security_id"].iloc[0]

    def rise(factors):
        factors.loc[1, "factor"] = "0.99"  # above the month before's: pools only pay down

    _expect(
        _factor_problems(tmp_path / "b", demo_dir, rise),
        [f"pool_factors.csv, row 3, column factor: 0.99 for {first} at"],
    )
