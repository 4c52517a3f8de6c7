"""The pools' horizon regression is fitted once a run and passed down: a fit at some horizons
taken from a fit at more (``regression_at``) is bitwise the fit at those alone, and a
regression at other horizons than the paths' is refused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc.curves import Curve
from fialloc.mbs import MbsPools, horizon_values
from fialloc.option_paths import pool_paths, pool_regression, regression_at
from fialloc.scenarios import G2pp

VALUATION = dt.date(2026, 11, 24)


def _pools(rng: np.random.Generator, n: int) -> MbsPools:
    wac = rng.uniform(0.03, 0.075, n)
    return MbsPools.from_frame(
        pd.DataFrame(
            {
                "security_id": [f"P{i}" for i in range(n)],
                "wac": wac,
                "net_coupon": wac - 0.005,
                "wam": rng.integers(13, 361, n),
                "age": rng.integers(0, 120, n),
                "factor": rng.uniform(0.2, 1.0, n),
            }
        )
    )


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31), pools=st.integers(1, 5), data=st.data())
def test_a_fit_at_fewer_horizons_is_the_slice_of_a_fit_at_more(
    seed: int, pools: int, data: st.DataObject
) -> None:
    rng = np.random.default_rng(seed)
    tenors = [0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30, 50]
    zeros = rng.uniform(0.02, 0.05) + np.cumsum(rng.normal(0, 0.002, len(tenors)))
    g2 = G2pp(Curve.from_zero_rates(tenors, zeros, valuation_date=VALUATION))
    book = _pools(rng, pools)
    oas = rng.uniform(0.0, 0.01, pools)
    every = np.array([1.0, 2.0, 5.0, 10.0])
    some = np.array(sorted(data.draw(st.sets(st.sampled_from(list(every)), min_size=1))))
    whole = horizon_values(book, g2, every, oas, n_paths=200, seed=seed % 7)
    alone = horizon_values(book, g2, some, oas, n_paths=200, seed=seed % 7)
    sliced = regression_at(whole, some)
    np.testing.assert_array_equal(sliced.horizons, alone.horizons)
    for name in ("value_coefficients", "dv_coefficients", "residual_std"):
        assert np.array_equal(getattr(sliced, name), getattr(alone, name)), name
    with pytest.raises(ValueError, match="not all among"):
        regression_at(whole, [3.0])


def test_the_run_passes_its_regression_and_a_mismatch_is_refused(demo_portfolio) -> None:
    p = demo_portfolio
    model = G2pp(p.curve)
    fitted = pool_regression(p, model, [1.0, 2.0], seed=3)
    assert fitted is not None
    groups = np.full(len(p.book.security_ids), -1)
    given_fit = pool_paths(p, model, [1.0, 2.0], 3, groups, fitted)
    own_fit = pool_paths(p, model, [1.0, 2.0], 3, groups)
    assert given_fit is not None
    assert own_fit is not None
    assert given_fit.horizon is fitted
    assert np.array_equal(own_fit.horizon.value_coefficients, fitted.value_coefficients)
    with pytest.raises(ValueError, match="regression is at"):
        pool_paths(p, model, [1.0, 3.0], 3, groups, fitted)
