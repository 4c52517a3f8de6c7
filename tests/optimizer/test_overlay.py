"""The overlay's instruments against QuantLib and hand-worked cases.

Swaps: fialloc's receiver swaps (annual Act/365F fixed leg, overnight floating leg on the same
curve) against QuantLib's ``OvernightIndexedSwap`` on random curves, maturities and fixed rates:
NPV, fair rate and key-rate DV01s (QuantLib's by central differences under its own key-rate
tents). STRIPS against ``ZeroCouponBond``. Futures: the conversion factor and the CTD-DV01-over-
CF convention by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc import bootstrap
from fialloc.curves import Curve
from fialloc.data.futures import conversion_factor, default_futures
from fialloc.overlay import OverlayMarket, overlay_universe, swap_risk
from fialloc.scenarios import G2pp

qlh = pytest.importorskip("quantlib_helpers")
if TYPE_CHECKING:  # QuantLib's names for mypy; at run time the helpers' (skipped if missing)
    import QuantLib as ql
else:
    ql = qlh.ql
check = qlh.check

# Key tenors on whole days, so QuantLib's key dates fall exactly on fialloc's tenors.
KEY_DAYS = [round(t * 365) for t in (0.5, 1, 2, 3, 5, 7, 10, 20, 30)]
KEY_TENORS = tuple(d / 365 for d in KEY_DAYS)
BUMP = 1e-4
NPV_TOL = 1e-10  # per unit notional
RATE_TOL = 1e-10  # decimals
DV01_TOL = 1e-9  # per unit notional per bp (DV01s reach 2e-3)
CURVES = 8
SWAPS_PER_CURVE = 25  # 200 random swaps


def random_curve(seed: int) -> tuple[np.random.Generator, dt.date, Curve]:
    rng = np.random.default_rng(seed)
    valuation = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 1500)))
    quotes = qlh.random_quotes(rng, qlh.TENOR_SETS["standard"], True)
    return rng, valuation, bootstrap(quotes, valuation)


class QuantLibChain:
    """Base curve -> key-rate tents -> OIS / zero-bond engines."""

    def __init__(self, curve: Curve, valuation: dt.date) -> None:
        qlh.set_evaluation_date(valuation)
        self.valuation = valuation
        base = qlh.discount_curve(curve, valuation)
        self.tents = [ql.SimpleQuote(0.0) for _ in KEY_DAYS]
        self.handle = qlh.tented(base, valuation, KEY_DAYS, self.tents)
        self.index = ql.OvernightIndex(
            "ON", 0, ql.USDCurrency(), ql.NullCalendar(), ql.Actual365Fixed(), self.handle
        )
        self.swap_engine = ql.DiscountingSwapEngine(self.handle)
        self.bond_engine = ql.DiscountingBondEngine(self.handle)

    def swap(self, maturity: dt.date, rate: float) -> ql.OvernightIndexedSwap:
        sch = qlh.schedule(self.valuation, maturity, 1)
        swap = ql.OvernightIndexedSwap(
            ql.Swap.Receiver, 1.0, sch, rate, ql.Actual365Fixed(), self.index
        )
        swap.setPricingEngine(self.swap_engine)
        return swap

    def key_dv01(self, value) -> list[float]:
        """Value change for a 1 bp fall of each tent, by central differences."""
        out = []
        for tent in self.tents:
            tent.setValue(-BUMP)
            down = value()
            tent.setValue(BUMP)
            up = value()
            tent.setValue(0.0)
            out.append((down - up) / 2.0)
        return out


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(CURVES))
def test_swaps_match_quantlib_ois(seed):
    rng, valuation, curve = random_curve(seed)
    chain = QuantLibChain(curve, valuation)
    months = rng.integers(6, 12 * 30 + 1, SWAPS_PER_CURVE)
    whole = rng.random(SWAPS_PER_CURVE) < 0.5
    months[whole] = 12 * np.maximum(months[whole] // 12, 1)
    maturities = [qlh.pydate(qlh.qdate(valuation) + ql.Period(int(m), ql.Months)) for m in months]
    fixed = rng.uniform(0.0, 0.08, SWAPS_PER_CURVE)
    ours = swap_risk(curve, maturities, fixed, key_tenors=KEY_TENORS)
    par = swap_risk(curve, maturities, key_tenors=KEY_TENORS)
    swaps = [chain.swap(m, float(k)) for m, k in zip(maturities, fixed, strict=True)]
    labels = [f"{m} at {k:.4f}" for m, k in zip(maturities, fixed, strict=True)]
    check("npv", ours["npv"], [s.NPV() for s in swaps], NPV_TOL, labels=labels)
    check("fair rate", ours["par_rate"], [s.fairRate() for s in swaps], RATE_TOL, labels=labels)
    check("par swap npv", par["npv"], np.zeros(len(maturities)), NPV_TOL, labels=labels)
    # Annuity: the fixed leg's value per unit of rate.
    check(
        "annuity",
        ours["annuity"],
        [s.fixedLegBPS() / 1e-4 for s in swaps],
        1e-10,
        rel=True,
        labels=labels,
    )
    keys = [c for c in ours.columns if c.startswith("krd_")]
    expected = np.array([chain.key_dv01(s.NPV) for s in swaps])
    check("key-rate dv01", ours[keys].to_numpy() * 1e-4, expected, DV01_TOL, labels=None)
    check("dv01", ours["dv01"], expected.sum(axis=1), DV01_TOL, labels=labels)


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(4))
def test_universe_swaps_and_strips_match_quantlib(seed):
    _, valuation, curve = random_curve(100 + seed)
    chain = QuantLibChain(curve, valuation)
    market = OverlayMarket(strips_tenors=(1.0, 2.0, 5.0, 10.0, 20.0, 30.0))
    universe = overlay_universe(curve, market, key_tenors=KEY_TENORS)
    t = universe.table
    keys = universe.key_columns
    for inst, row in t[t["kind"] == "swap"].iterrows():
        maturity = row["maturity"]
        swap = chain.swap(maturity, float(row["rate"]))
        check(f"{inst} par rate", row["rate"], swap.fairRate(), RATE_TOL)
        check(f"{inst} value", row["value"], swap.NPV(), NPV_TOL)
        check(f"{inst} dv01", row[keys].to_numpy(float) * 1e-4, chain.key_dv01(swap.NPV), DV01_TOL)
    for inst, row in t[t["kind"] == "strips"].iterrows():
        maturity = qlh.qdate(row["maturity"])
        bond = ql.ZeroCouponBond(
            0, ql.NullCalendar(), 100.0, maturity, ql.Unadjusted, 100.0, qlh.qdate(valuation)
        )
        bond.setPricingEngine(chain.bond_engine)
        price = bond.dirtyPrice()
        # One unit is 1 of market value: exposures are the zero bond's, per unit of price.
        check(f"{inst} value", row["value"], 1.0, 1e-12)
        expected = np.array(chain.key_dv01(bond.dirtyPrice)) / price
        check(f"{inst} dv01", row[keys].to_numpy(float) * 1e-4, expected, DV01_TOL)
        zero_yield = (100.0 / price) ** (1.0 / row["tenor"]) - 1.0
        check(f"{inst} yield", row["rate"], zero_yield, 1e-4, rel=True)


def test_enough_random_swaps():
    assert CURVES * SWAPS_PER_CURVE >= 200


def test_conversion_factor_hand_worked():
    dec = dt.date(2026, 12, 1)
    # A 6% bond prices at par at the 6% factor yield, whatever its term.
    assert conversion_factor(0.06, dt.date(2036, 12, 15), dec) == 1.0
    # 4%, exactly 20 half-years: 0.02 * (1 - 1.03**-20) / 0.03 + 1.03**-20 = 0.851225.
    assert conversion_factor(0.04, dt.date(2036, 12, 1), dec) == 0.8512
    # 4%, 10 years and 4 months: first coupon in 4/6 of a period, accrued 2/6 of a coupon;
    # rounded down to a quarter it is 10 years and 3 months (3/6 of a period).
    v = 1 / 1.03
    dirty = v**0.5 * (0.02 * sum(v**k for k in range(21)) + v**20)
    assert conversion_factor(0.04, dt.date(2037, 4, 15), dec) == round(dirty - 0.01, 4)
    assert conversion_factor(0.04, dt.date(2037, 4, 15), dec, round_months=1) == round(
        v ** (4 / 6) * (0.02 * sum(v**k for k in range(21)) + v**20) - 0.02 * 2 / 6, 4
    )
    with pytest.raises(ValueError, match="round_months"):
        conversion_factor(0.04, dt.date(2037, 4, 15), dec, round_months=2)
    with pytest.raises(ValueError, match="not after"):
        conversion_factor(0.04, dt.date(2026, 12, 15), dec)


def test_futures_dv01_is_ctd_dv01_over_cf_by_hand():
    """Flat 4% continuous curve: CTD DV01 = sum of t * flow * exp(-0.04 t) * 1e-4 (per 100)."""
    vd = dt.date(2026, 9, 30)
    curve = Curve.flat(0.04, vd)
    futures = default_futures(vd).iloc[[5]].assign(conversion_factor=0.75)
    universe = overlay_universe(
        curve, OverlayMarket(swap_tenors=(), strips_tenors=(), futures=futures)
    )
    row = universe.table.loc["future_UB"]
    times, amounts = universe.book.layout.stream(0)
    ctd_dv01 = float(np.sum(times * amounts * np.exp(-0.04 * times))) * 1e-4 / 100.0
    assert row["dv01"] == pytest.approx(ctd_dv01 / 0.75, rel=1e-5)  # central vs analytic
    ctd_value = float(np.sum(amounts * np.exp(-0.04 * times))) / 100.0
    assert row["value"] == pytest.approx(0.0, abs=1e-15)
    # Without a futures price the implied repo is the simple forward rate to delivery (no
    # coupon before it), so the carry is the CTD's yield less that rate.
    td = (futures["delivery"].iloc[0] - vd).days / 365.0
    repo = (np.exp(0.04 * td) - 1.0) / td
    assert row["carry"] == pytest.approx((row["rate"] - repo) * ctd_value / 0.75, rel=1e-9)
    # A futures price one point above fair raises the implied repo by CF / dirty / time.
    fair_price = (ctd_value * 100 * np.exp(0.04 * td) - _accrued_at(futures)) / 0.75
    rich = overlay_universe(
        curve,
        OverlayMarket(
            swap_tenors=(), strips_tenors=(), futures=futures.assign(futures_price=fair_price + 1)
        ),
    ).table.loc["future_UB"]
    assert row["carry"] - rich["carry"] == pytest.approx(
        0.75 / (ctd_value * 100) / td * ctd_value / 0.75, rel=1e-6
    )
    assert row["contract_size"] == 100_000.0
    assert row["initial_margin"] == pytest.approx(7_000.0 / 100_000.0)


def _accrued_at(futures: pd.DataFrame) -> float:
    from fialloc.bonds import BondBook

    r = futures.iloc[0]
    book = BondBook.from_frame(
        [
            {
                "security_id": "ctd",
                "coupon": r["ctd_coupon"],
                "maturity": r["ctd_maturity"],
                "frequency": 2,
                "day_count": "ACT/ACT ICMA",
                "face": 100.0,
            }
        ],
        r["delivery"],
    )
    return float(book.accrued[0])


def test_path_values_are_martingales_under_the_bank_account():
    """Discounted at the path's bank account, every instrument's value has today's mean.

    A par swap is worth 0, a future 0, a STRIPS unit 1: ``E[D(h) V(h)] = V(0)`` within four
    Monte Carlo standard errors, once the known grid effect is taken out: a flow paid before
    the horizon is banked from the end of its grid month, so its deflated mean is
    ``amount * P(0, month end)`` rather than ``amount * P(0, t)``.
    """
    vd = dt.date(2026, 9, 30)
    curve = bootstrap(
        [
            {"kind": "deposit", "tenor": "6M", "rate": 0.04},
            {"kind": "swap", "tenor": "2Y", "rate": 0.038},
            {"kind": "swap", "tenor": "10Y", "rate": 0.041},
            {"kind": "swap", "tenor": "30Y", "rate": 0.044},
        ],
        vd,
    )
    universe = overlay_universe(curve)
    model = G2pp(curve)
    grid = np.arange(1, 12 * 5 + 1) / 12.0
    horizons = [1.0, 5.0]
    paths = model.simulate(4000, grid, seed=3)
    values = universe.path_values(model, paths, horizons)
    deflated = values * paths.discount[:, paths.columns(horizons)][:, :, None]
    mean = deflated.mean(axis=0)
    se = deflated.std(axis=0, ddof=1) / np.sqrt(paths.n_paths)
    expected = np.empty_like(mean)
    for j in range(len(universe.ids)):
        times, amounts = universe.book.layout.stream(j)
        for k, h in enumerate(horizons):
            paid = times <= h
            month_end = grid[np.searchsorted(grid, times[paid], side="left")]
            late = amounts[paid] @ (curve.discount(times[paid]) - curve.discount(month_end))
            expected[k, j] = universe.table["value"].iloc[j] - late * universe.scale[j]
    assert np.all(np.abs(mean - expected) <= 4 * se + 1e-6), (mean - expected) / se


def test_bad_overlay_inputs_name_where():
    vd = dt.date(2026, 9, 30)
    curve = Curve.flat(0.04, vd)
    with pytest.raises(ValueError, match="not key tenors"):
        overlay_universe(curve, OverlayMarket(swap_tenors=(4.0,)))
    with pytest.raises(ValueError, match="missing column"):
        overlay_universe(curve, OverlayMarket(futures=default_futures(vd).drop(columns="delivery")))
    bad = default_futures(vd)
    bad.loc[2, "conversion_factor"] = -1.0
    with pytest.raises(ValueError, match=r"row 2 \(TY\), column conversion_factor"):
        overlay_universe(curve, OverlayMarket(futures=bad))
    bad = default_futures(vd)
    bad.loc[1, "delivery"] = vd
    with pytest.raises(ValueError, match=r"row 1 \(FV\): need valuation date"):
        overlay_universe(curve, OverlayMarket(futures=bad))
    with pytest.raises(ValueError, match="valuation date"):
        overlay_universe(Curve.flat(0.04))
    with pytest.raises(ValueError, match="row 0: 2026-09-30 is not after"):
        swap_risk(curve, [vd])
    with pytest.raises(ValueError, match="fixed_rates row 0"):
        swap_risk(curve, [dt.date(2030, 1, 1)], [4.5])
    with pytest.raises(ValueError, match="swap_margin_move"):
        overlay_universe(curve, OverlayMarket(swap_margin_move=float("nan")))


def test_book_from_layout_validates():
    from fialloc.bonds import BondBook
    from fialloc.layout import CashflowLayout

    vd = dt.date(2026, 9, 30)
    layout = CashflowLayout.from_streams([[1.0, 2.0], [0.5]], [[4.0, 104.0], [100.0]])
    book = BondBook.from_layout(["a", "b"], layout, vd)
    flat = Curve.flat(0.03, vd)
    assert book.dirty_prices(flat) == pytest.approx(
        [4 * np.exp(-0.03) + 104 * np.exp(-0.06), 100 * np.exp(-0.015)], rel=1e-14
    )
    with pytest.raises(ValueError, match="one unique id per stream"):
        BondBook.from_layout(["a", "a"], layout, vd)
    with pytest.raises(ValueError, match=r"stream 1 \(b\)"):
        BondBook.from_layout(
            ["a", "b"], CashflowLayout.from_streams([[1.0], [0.0]], [[1.0], [1.0]]), vd
        )


@settings(max_examples=40, deadline=None)
@given(
    level=st.floats(0.005, 0.08),
    slope=st.floats(-0.02, 0.03),
    months=st.integers(6, 360),
    fixed=st.floats(0.0, 0.1),
)
def test_swap_value_is_linear_in_its_fixed_rate(level, slope, months, fixed):
    """NPV(K) = NPV(par) + (K - par) * annuity, and DV01 is the fixed bond's at any K."""
    vd = dt.date(2026, 9, 30)
    curve = Curve.from_zero_rates([0.5, 10.0, 40.0], [level, level + slope / 2, level + slope], vd)
    maturity = vd + dt.timedelta(days=round(months * 30.44))
    at_k = swap_risk(curve, [maturity], [fixed]).iloc[0]
    at_par = swap_risk(curve, [maturity]).iloc[0]
    assert at_par["npv"] == pytest.approx(0.0, abs=1e-13)
    assert at_k["npv"] == pytest.approx((fixed - at_k["par_rate"]) * at_k["annuity"], abs=1e-12)
    # A receiver gains when rates fall, more the higher its fixed rate (more fixed cash flows).
    assert at_k["dv01"] > 0
    assert (at_k["dv01"] >= at_par["dv01"] - 1e-15) == (fixed >= at_par["par_rate"])
