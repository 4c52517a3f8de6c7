"""Two steps of `fialloc run` reshaped for speed, each against the formula it replaced.

- Flows banked on the paths (`G2Paths.banked`, the demo's 27 sleeves on one 500-path chunk of
  120 months, 10 annual horizons): a running sum kept at the horizons, against the
  paths x months x holders cumulative array. Bitwise equal.
- Desk tables as JSON records (`desks.result.to_records`, every table of the demo's desks):
  column by column, against pandas' row records with each value converted. Equal records.
- The demo's multi-currency sleeves on one 500-path chunk of 120 months, 10 annual horizons
  (`currency_paths.asset_paths`: six blocks of bonds and linkers, three FX hedges): each
  month's cash banked in a running sum, against every block's paths x months x managers array
  and their cumulative sum. Bitwise equal.
"""

import numpy as np
import pytest
from currency_paths_reference import sleeves_cumulative

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.currency_paths import (
    asset_paths,
    book_scenario,
)
from fialloc.desks import run_desks
from fialloc.desks.result import json_value, to_records
from fialloc.scenarios import G2pp


@pytest.fixture(scope="module")
def demo():
    return data.demo()


@pytest.fixture(scope="module")
def sleeves_on_paths(demo):
    paths = G2pp(demo.curve).simulate(500, np.arange(1, 121) / 12.0, seed=0)
    face = demo.sleeve_weights.to_numpy() * demo.manager_values.to_numpy()[:, None]
    return paths, demo.book.layout, face / 100.0, np.arange(1.0, 11.0)


def _banked_cumulative(paths, layout, holdings, horizons):
    """The former formula: every month's cumulative sum, then the horizons' months."""
    units = np.atleast_2d(holdings)
    cols = paths.columns(horizons)
    stream = np.repeat(np.arange(len(layout.offsets) - 1), np.diff(layout.offsets))
    bucket = np.searchsorted(paths.times, layout.times, side="left")
    inside = bucket < len(paths.times)
    cash = np.zeros((len(paths.times), units.shape[0]))
    np.add.at(cash, bucket[inside], (units[:, stream[inside]] * layout.amounts[inside]).T)
    grown = np.einsum("pk,kh->pkh", paths.discount, cash).cumsum(axis=1)[:, cols, :]
    return grown / paths.discount[:, cols, None]


@pytest.mark.benchmark(group="banked flows (27 sleeves, 500 paths x 120 months)")
def test_banked_fialloc(benchmark, sleeves_on_paths):
    paths, layout, holdings, horizons = sleeves_on_paths
    out = benchmark(paths.banked, layout, holdings, horizons)
    assert np.array_equal(out, _banked_cumulative(paths, layout, holdings, horizons))


@pytest.mark.benchmark(group="banked flows (27 sleeves, 500 paths x 120 months)")
def test_banked_cumulative_array_reference(benchmark, sleeves_on_paths):
    out = benchmark(_banked_cumulative, *sleeves_on_paths)
    assert out.shape == (500, 10, len(sleeves_on_paths[2]))


@pytest.fixture(scope="module")
def desk_tables(demo):
    results = run_desks(DeskContext(demo))
    return [table for result in results.values() for table in result.tables.values()]


def _row_records(tables):
    return [
        [
            {str(k): json_value(v) for k, v in row.items()}
            for row in t.reset_index().to_dict("records")
        ]
        for t in tables
    ]


@pytest.mark.benchmark(group="desk tables to records (the demo's desks)")
def test_records_fialloc(benchmark, desk_tables):
    out = benchmark(lambda: [to_records(t) for t in desk_tables])
    assert out == _row_records(desk_tables)


@pytest.mark.benchmark(group="desk tables to records (the demo's desks)")
def test_records_pandas_rows_reference(benchmark, desk_tables):
    out = benchmark(_row_records, desk_tables)
    assert len(out) == len(desk_tables)


@pytest.fixture(scope="module")
def multi_currency_chunk(demo):
    scenario = book_scenario(demo, G2pp(demo.curve))
    paths = scenario.generator.simulate(500, np.arange(1, 121) / 12.0, 0)
    return scenario, paths, np.arange(1.0, 11.0)


@pytest.mark.benchmark(group="multi-currency sleeves (the demo, 500 paths x 120 months)")
def test_asset_paths_fialloc(benchmark, multi_currency_chunk):
    out = benchmark(asset_paths, *multi_currency_chunk)
    assert np.array_equal(out, sleeves_cumulative(*multi_currency_chunk))


@pytest.mark.benchmark(group="multi-currency sleeves (the demo, 500 paths x 120 months)")
def test_asset_paths_cumulative_array_reference(benchmark, multi_currency_chunk):
    out = benchmark(sleeves_cumulative, *multi_currency_chunk)
    assert out.shape == (500, 10, multi_currency_chunk[0].hedged.shape[0])
