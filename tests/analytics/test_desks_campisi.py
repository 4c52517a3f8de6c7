"""Campisi effects: exact sums for random books and moves, and sector allocation vs selection."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc.analytics.campisi import ACTIVE_EFFECTS, campisi
from fialloc.bonds import BondBook
from fialloc.curves import DEFAULT_KEY_TENORS, Curve
from fialloc.holdings_revaluation import SecurityEffects, effect_names, revalue_history
from fialloc.schedule import add_months

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

START = dt.date(2024, 6, 30)


@hypothesis.given(
    seed=st.integers(0, 2**32 - 1),
    n_bonds=st.integers(1, 8),
    n_months=st.integers(2, 5),
    n_portfolios=st.integers(1, 3),
    history_tenors=st.sampled_from([DEFAULT_KEY_TENORS, (0.25, 1.0, 4.0, 15.0, 40.0)]),
)
@hypothesis.settings(max_examples=25, deadline=None)
def test_effects_add_up_to_the_total_for_random_books_and_moves(
    seed, n_bonds, n_months, n_portfolios, history_tenors
):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "security_id": [f"B{i}" for i in range(n_bonds)],
            "coupon": rng.choice([0.0, 0.02, 0.045, 0.07], n_bonds),
            "maturity": [
                add_months(START, int(rng.integers(n_months + 1, 360))) for _ in range(n_bonds)
            ],
            "frequency": rng.choice([1, 2, 4], n_bonds),
            "day_count": rng.choice(["ACT/365F", "30/360"], n_bonds),
            "face": 100.0,
        }
    )
    frame.loc[frame["coupon"] == 0.0, "frequency"] = 0
    frame.loc[frame["coupon"] == 0.0, "day_count"] = "ACT/365F"
    months = [add_months(START, k) for k in range(n_months)]
    book = BondBook.from_frame(frame, START)
    tenors = np.asarray(history_tenors)
    zeros = 0.03 + np.cumsum(rng.normal(0, 0.002, (n_months, len(tenors))), axis=0)
    systematic = 0.01 + np.cumsum(rng.normal(0, 0.001, (n_months, n_bonds)), axis=0)
    spreads = systematic + np.cumsum(rng.normal(0, 0.0005, (n_months, n_bonds)), axis=0)
    sec = revalue_history(book, months, tenors, zeros, spreads, systematic)
    assert sec.names == effect_names()
    ratings = list(rng.choice(["AA", "BBB", "BB"], n_bonds))
    sectors = list(rng.choice(["financial", "industrial"], n_bonds))
    w = rng.dirichlet(np.ones(n_bonds), (n_months - 1, n_portfolios))
    b = rng.dirichlet(np.ones(n_bonds), (n_months - 1, n_portfolios))
    out = campisi(sec, w, b, ratings, sectors)
    named = out.values[:, :, : len(ACTIVE_EFFECTS)].sum(axis=2)
    assert np.abs(named - out.active_return).max() < 1e-12
    # The residual is the curve move the key rates miss: zero when history tenors are keys.
    if tuple(tenors) == DEFAULT_KEY_TENORS:
        assert np.abs(out.effect("residual")).max() < 1e-12
    # The rolled-forward cash flows price like a book built afresh at each month-end.
    for k in range(1, n_months - 1):
        curve = Curve(np.array([1.0, 50.0]), np.zeros(2), "log_linear", months[k], tenors, zeros[k])
        fresh = BondBook.from_frame(frame, months[k]).dirty_prices(curve, spreads[k])
        np.testing.assert_allclose(sec.start_price[k], fresh, rtol=1e-12)


def _effects(specific: list[float]) -> SecurityEffects:
    names = effect_names((2.0,))
    e = np.zeros((1, len(specific), len(names)))
    e[0, :, names.index("spread_specific")] = specific
    e[0, :, names.index("income")] = 0.003
    return SecurityEffects(
        [dt.date(2025, 1, 31), dt.date(2025, 2, 28)],
        [f"S{i}" for i in range(len(specific))],
        np.full((1, len(specific)), 100.0),
        e,
        names,
        np.zeros(1),
    )


def test_sector_allocation_and_selection_by_hand():
    # Sector F: bonds 0 (+20 bp) and 1 (-10 bp); sector I: bonds 2 (+5 bp) and 3 (0).
    sec = _effects([0.0020, -0.0010, 0.0005, 0.0])
    w = np.array([[[0.5, 0.1, 0.2, 0.2]]])
    b = np.array([[[0.2, 0.3, 0.25, 0.25]]])
    out = campisi(sec, w, b, ["A"] * 4, ["F", "F", "I", "I"])
    rb_f = (0.2 * 0.0020 - 0.3 * 0.0010) / 0.5
    rb_i = 0.25 * 0.0005 / 0.5
    rw_f = (0.5 * 0.0020 - 0.1 * 0.0010) / 0.6
    rw_i = 0.2 * 0.0005 / 0.4
    allocation = (0.6 - 0.5) * rb_f + (0.4 - 0.5) * rb_i
    selection = 0.6 * (rw_f - rb_f) + 0.4 * (rw_i - rb_i)
    assert out.effect("sector_allocation")[0, 0] == pytest.approx(allocation, abs=1e-16)
    assert out.effect("selection")[0, 0] == pytest.approx(selection, abs=1e-16)
    assert out.effect("income")[0, 0] == pytest.approx(0.0, abs=1e-16)  # same carry everywhere
    assert out.effect("residual")[0, 0] == pytest.approx(0.0, abs=1e-16)
    assert out.columns[: len(ACTIVE_EFFECTS)] == ACTIVE_EFFECTS


def test_a_sector_outside_the_benchmark_is_all_allocation():
    sec = _effects([0.0030, 0.0010])
    out = campisi(sec, np.array([[[0.5, 0.5]]]), np.array([[[0.0, 1.0]]]), ["A", "A"], ["X", "Y"])
    assert out.effect("sector_allocation")[0, 0] == pytest.approx(0.5 * 0.0030 - 0.5 * 0.0010)
    assert out.effect("selection")[0, 0] == pytest.approx(0.0, abs=1e-16)


def test_campisi_refuses_weights_that_do_not_sum_to_one():
    sec = _effects([0.0, 0.0])
    with pytest.raises(ValueError, match=r"`weights` of portfolio 0 in period 0 sum to 0\.9"):
        campisi(sec, np.array([[[0.5, 0.4]]]), np.array([[[0.5, 0.5]]]), ["A"] * 2, ["X"] * 2)
    with pytest.raises(ValueError, match="non-negative"):
        campisi(sec, np.array([[[1.5, -0.5]]]), np.array([[[0.5, 0.5]]]), ["A"] * 2, ["X"] * 2)
    with pytest.raises(ValueError, match="2 ratings and 1 sectors"):
        campisi(sec, np.array([[[0.5, 0.5]]]), np.array([[[0.5, 0.5]]]), ["A"] * 2, ["X"])
