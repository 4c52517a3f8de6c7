"""Foreign bonds in the base currency, FX hedges and currency stresses, worked by hand.

A two-manager book on flat curves: manager A holds a USD bond and a EUR bond hedged 60%,
manager B a GBP bond unhedged. Every figure is recomputed here from the curves and the
definitions of :mod:`fialloc.analytics.currency_exposure` (market value at spot, FX exposure
the unhedged share, hedge carry ``(F / S - 1) / tenor`` with ``F`` by covered parity, hedge
key rates ``+-h tenor`` at the forward's tenor) and compared to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from currency_book import BASIS, HEDGE, RATES, SPOTS, VD, book_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc.analytics.context import DeskContext
from fialloc.analytics.currency_exposure import HEDGE_TENOR, hedged_shares
from fialloc.bonds import BondBook
from fialloc.curve_set import CurveSet
from fialloc.curves import Curve
from fialloc.data import from_tables
from fialloc.data.demo import DEMO_VALUATION, synthetic_tables
from fialloc.data.demo_global import GLOBAL_MANAGER, HEDGE_RATIOS
from fialloc.stresses import load_scenarios, stress_portfolio


@pytest.fixture(scope="module")
def book():
    return from_tables(book_tables(), VD)


def flat(ccy: str) -> Curve:
    return Curve.from_zero_rates([1.0, 30.0], [RATES[ccy]] * 2, VD)


def test_bonds_are_priced_off_their_own_curve_and_valued_at_spot(book):
    a = book.analytics.to_frame()
    for sid, ccy, face in (("U1", "USD", 6e8), ("E1", "EUR", 4e8), ("G1", "GBP", 5e8)):
        row = book.securities.loc[[sid]].assign(face=face)
        price = BondBook.from_frame(row, VD).dirty_prices(flat(ccy))[0]
        assert a.loc[sid, "dirty_price"] == pytest.approx(price, abs=1e-10)
        spot = SPOTS.get(ccy, 1.0)
        assert a.loc[sid, "market_value"] == pytest.approx(price / 100 * face * spot, rel=1e-12)
    assert book.total_assets == pytest.approx(a["market_value"].sum(), rel=1e-14)
    assert book.curve_set.spot("GBP") == pytest.approx(SPOTS["GBP"], rel=1e-15)


def test_exposures_hedges_and_carry_by_hand(book):
    ctx = DeskContext(book)
    sec, m = ctx.securities, ctx.managers
    mv = sec["market_value"]
    share_e = mv["E1"] / (mv["U1"] + mv["E1"])
    # Foreign bonds carry no base key-rate duration; their own curve's in their columns.
    assert sec.loc["E1", "krd_10y"] == 0.0
    assert sec.loc["E1", ["krd_EUR_5y", "krd_EUR_7y", "krd_EUR_10y"]].sum() > 5.0
    assert sec.loc["U1", "krd_EUR_10y"] == 0.0
    # FX exposure: the unhedged share of the sleeve.
    assert m.loc["A", "fx_EUR"] == pytest.approx((1 - HEDGE) * share_e, abs=1e-14)
    assert m.loc["B", "fx_GBP"] == pytest.approx(1.0, abs=1e-14)
    assert m.loc["A", "hedged_share"] == pytest.approx(HEDGE * share_e, abs=1e-14)
    # Carry of selling EUR 3 months forward on flat curves with the basis: closed form.
    carry = math.expm1((RATES["USD"] - RATES["EUR"] - BASIS["EUR"]) * HEDGE_TENOR) / HEDGE_TENOR
    assert book.curve_set.hedge_carry("EUR") == pytest.approx(carry, rel=1e-12)
    ytm = (mv["U1"] * sec.loc["U1", "ytm"] + mv["E1"] * sec.loc["E1", "ytm"]) / mv[
        ["U1", "E1"]
    ].sum()
    assert m.loc["A", "ytm"] == pytest.approx(ytm + HEDGE * share_e * carry, abs=1e-14)
    # The forward is long a 3-month base zero and short a EUR one: the first key tenor's tent.
    base_krd = mv["U1"] / mv[["U1", "E1"]].sum() * sec.loc["U1", "krd_0.5y"]
    assert m.loc["A", "krd_0.5y"] == pytest.approx(
        base_krd + HEDGE * share_e * HEDGE_TENOR, abs=1e-14
    )
    own = share_e * sec.loc["E1", "krd_EUR_0.5y"]
    assert m.loc["A", "krd_EUR_0.5y"] == pytest.approx(
        own - HEDGE * share_e * HEDGE_TENOR, abs=1e-14
    )


def test_by_currency_adds_up(book):
    table = DeskContext(book).by_currency
    assert list(table.index) == ["USD", "EUR", "GBP"]
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-14)
    assert table.loc["EUR", "hedged_value"] == pytest.approx(
        HEDGE * table.loc["EUR", "market_value"], rel=1e-12
    )
    assert table.loc["GBP", "fx_exposure"] == pytest.approx(table.loc["GBP", "share"], rel=1e-12)
    assert table.loc["USD", "fx_exposure"] == 0.0


def test_fx_and_currency_rate_stresses_by_hand(book):
    scenarios = load_scenarios(
        [
            {"name": "base"},
            {"name": "fx_down_15", "fx_shifts_pct": {"foreign": -15}},
            {"name": "eur_up_50", "currency_rate_shifts_bp": {"EUR": {"1": 50}}},
            {"name": "gbp_fx_up_10", "fx_shifts_pct": {"GBP": 10}},
        ]
    )
    r = stress_portfolio(book, scenarios)
    values = r.asset_values
    mv = book.analytics.to_frame()["market_value"]
    change = values - values.loc["base"]
    np.testing.assert_allclose(change.loc["fx_down_15", ["E1", "G1"]], -0.15 * mv[["E1", "G1"]])
    assert change.loc["fx_down_15", "U1"] == 0.0
    # The hedge: short EUR forward for 60% of E1's value, struck today at F0.
    cs = book.curve_set
    units = HEDGE * mv["E1"] / SPOTS["EUR"]
    f0 = float(cs.fx_forward("EUR", HEDGE_TENOR))
    pay = math.exp(-RATES["USD"] * HEDGE_TENOR)
    hedge = r.hedge_values["A"]
    assert hedge["base"] == 0.0
    assert hedge["fx_down_15"] == pytest.approx(units * f0 * 0.15 * pay, rel=1e-12)
    assert hedge["gbp_fx_up_10"] == 0.0
    # EUR rates +50 bp: the EUR bond repriced on the moved curve, at spot.
    row = book.securities.loc[["E1"]].assign(face=4e8)
    moved = BondBook.from_frame(row, VD).dirty_prices(flat("EUR").shifted(50.0))[0]
    assert values.loc["eur_up_50", "E1"] == pytest.approx(moved / 100 * 4e8 * 1.10, rel=1e-12)
    eur_moved = cs.curve("EUR", "ois").shifted(50.0)
    f1 = (
        SPOTS["EUR"]
        * float(eur_moved.discount(HEDGE_TENOR))
        * math.exp(-BASIS["EUR"] * HEDGE_TENOR)
        / math.exp(-RATES["USD"] * HEDGE_TENOR)
    )
    assert hedge["eur_up_50"] == pytest.approx(units * (f0 - f1) * pay, rel=1e-10)
    summary = r.summary()
    assert summary.loc["fx_down_15", "assets_change"] == pytest.approx(
        change.loc["fx_down_15"].sum() + hedge["fx_down_15"], rel=1e-12
    )
    assert summary.loc["fx_down_15", "liabilities_change"] == 0.0  # owed in the base


@settings(max_examples=60, deadline=None)
@given(
    r_d=st.floats(-0.01, 0.08),
    r_f=st.floats(-0.01, 0.08),
    basis=st.floats(-0.01, 0.01),
    spot=st.floats(0.001, 500.0),
    t=st.floats(0.0, 30.0),
)
def test_fx_forward_is_covered_parity_on_flat_curves(r_d, r_f, basis, spot, t):
    curves = {
        ("USD", "government"): Curve.from_zero_rates([1.0], [r_d], VD),
        ("JPY", "government"): Curve.from_zero_rates([1.0], [r_f], VD),
    }
    cs = CurveSet(VD, "USD", curves, {"JPY": spot}, {"JPY": basis})
    expected = spot * math.exp((r_d - r_f - basis) * t)
    assert float(cs.fx_forward("JPY", t)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("managers", "securities", "seed"), [(10, 300, 1), (30, 900, 2), (50, 2000, 3)]
)
def test_generated_books_with_a_global_sleeve(managers, securities, seed):
    # Any size and seed: the global sleeve's FX exposure is its unhedged share, and an FX
    # shock moves the book by the unhedged value less the hedges' gain.
    tables, truth = synthetic_tables(managers, securities, seed, global_sleeve=True)
    book = from_tables(tables, DEMO_VALUATION)
    ctx = DeskContext(book)
    g = truth.global_manager
    assert g == GLOBAL_MANAGER
    sec = ctx.securities
    own = book.market_values.loc[g]
    for ccy, h in HEDGE_RATIOS.items():
        mine = (sec["currency"] == ccy).reindex(own.index).to_numpy()
        share = own[mine].sum() / own.sum()
        assert ctx.managers.loc[g, f"fx_{ccy}"] == pytest.approx((1 - h) * share, abs=1e-12)
    assert book.current_weights.sum() == pytest.approx(1.0, abs=1e-12)
    others = ctx.managers.drop(index=g)
    assert (others[[c for c in others.columns if c.startswith("fx_")]] == 0).all().all()
    r = stress_portfolio(
        book, load_scenarios([{"name": "base"}, {"name": "fx", "fx_shifts_pct": {"foreign": -15}}])
    )
    hedged = hedged_shares(book).mul(book.manager_values, axis=0).sum()
    unhedged = (
        sum(own[(sec["currency"] == c).reindex(own.index).to_numpy()].sum() for c in HEDGE_RATIOS)
        - hedged.sum()
    )
    change = r.summary().loc["fx", "assets_change"]
    hedge_gain = r.hedge_values.loc["fx"].sum()
    assert change == pytest.approx(-0.15 * (unhedged + hedged.sum()) + hedge_gain, rel=1e-9)
    # The forwards pay back the hedged value's fall to within the forward's discounting.
    assert hedge_gain == pytest.approx(0.15 * hedged.sum(), rel=0.02)
