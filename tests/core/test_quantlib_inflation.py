"""Linker prices, index ratios and real yields against QuantLib's CPIBond on random bonds.

Each case draws a valuation date, a CPI history ending one or two months before it, a
zero-coupon inflation curve from the last published month (QuantLib's ``ZeroInflationCurve``,
linear in time), a nominal curve (log-linear discount factors) and linkers with random real
coupons, maturities, frequencies, day counts, observation lags (2, 3 or 8 months) and
interpolation (``linear``: QuantLib's ``CPI.Linear``; ``flat``: ``CPI.Flat``). QuantLib's CPI
bond has no deflation floor, so these linkers have none (the floor is checked by hand in
``test_inflation.py``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc.curves import Curve
from fialloc.inflation import BreakevenCurve, LinkerBook, cpi_fixings, reference_cpi
from fialloc.schedule import add_months

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql
check = qlh.check

pytestmark = pytest.mark.reference

PRICE_RTOL = 1e-8  # invoice dirty and clean prices, relative (issue 17)
ACCRUED_TOL = 1e-10  # per 100 face
RATIO_TOL = 1e-12  # index ratio
YIELD_TOL = 1e-8  # real yield, decimals (issue 17)
CASES = 12
LINKERS_PER_CASE = 25  # 300 random linkers
DAY_COUNTS = ("ACT/ACT ICMA", "ACT/365F", "30/360", "ACT/ACT ISDA")
INTERPOLATION = {"linear": ql.CPI.Linear, "flat": ql.CPI.Flat}


def _case(seed: int):
    rng = np.random.default_rng(seed)
    vd = dt.date(2022, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2500)))
    last = add_months(vd.replace(day=1), -int(rng.integers(1, 3)))
    months = [add_months(last, -k) for k in range(150, -1, -1)]
    levels = 200.0 * np.exp(np.cumsum(rng.normal(0.002, 0.003, len(months))))
    history = pd.DataFrame({"index": "USCPI", "month": months, "value": levels})
    fixings = cpi_fixings(history, "USCPI")
    pillars = tuple(add_months(last, 12 * y) for y in (1, 2, 3, 5, 7, 10, 15, 20, 30, 45))
    rates = rng.uniform(-0.005, 0.04, len(pillars))
    curve = BreakevenCurve("USCPI", fixings, last, pillars, rates)
    days = np.array([30, 182, 365, 730, 1826, 3652, 7305, 10957, 16436])
    nominal = Curve.from_zero_rates(days / 365.0, rng.uniform(0.0, 0.06, len(days)), vd)
    rows = []
    for k in range(LINKERS_PER_CASE):
        maturity = vd + dt.timedelta(days=int(rng.integers(40, 30 * 365)))
        rows.append(
            {
                "security_id": f"L{k}",
                "coupon": float(rng.choice([0.0, rng.uniform(0.001, 0.04)])),
                "maturity": maturity,
                "frequency": int(rng.choice([1, 2])),
                "day_count": str(rng.choice(DAY_COUNTS)),
                "face": 100.0,
                "index": "USCPI",
                "base_cpi": float(rng.uniform(150.0, 260.0)),
                "lag_months": int(rng.choice([2, 3, 8])),
                "interpolation": str(rng.choice(["linear", "flat"])),
                "floor": False,
            }
        )
    return vd, history, curve, nominal, pd.DataFrame(rows)


def _quantlib(vd, history, curve, nominal):
    qlh.set_evaluation_date(vd)
    dates = [qlh.qdate(curve.base_month)] + [qlh.qdate(p) for p in curve.pillars]
    zc = ql.ZeroInflationCurve(
        qlh.qdate(vd),
        dates,
        [float(curve.rates[0]), *curve.rates.tolist()],
        ql.Monthly,
        ql.Actual365Fixed(),
    )
    handle = ql.ZeroInflationTermStructureHandle(zc)
    index = ql.USCPI(handle)
    # Fixings are global in QuantLib: clear the previous case's.
    index.clearFixings()
    for month, value in zip(history["month"], history["value"], strict=True):
        index.addFixing(qlh.qdate(month), float(value), True)
    return index, qlh.discount_curve(nominal, vd)


def _ql_bonds(row, vd, index, discount):
    maturity = qlh.qdate(row["maturity"])
    months = 12 // row["frequency"]
    k = 1
    while maturity - ql.Period(k * months, ql.Months) > qlh.qdate(vd):
        k += 1
    sch = qlh.schedule(maturity - ql.Period(k * months, ql.Months), maturity, row["frequency"])
    dc = qlh.day_counter(row["day_count"])
    lag = ql.Period(int(row["lag_months"]), ql.Months)
    how = INTERPOLATION[row["interpolation"]]
    linker = ql.CPIBond(
        0, 100.0, False, row["base_cpi"], lag, index, how, sch, [row["coupon"]], dc, ql.Unadjusted
    )
    linker.setPricingEngine(ql.DiscountingBondEngine(discount))
    real = ql.FixedRateBond(0, 100.0, sch, [row["coupon"]], dc)
    ratio = ql.CPI.laggedFixing(index, qlh.qdate(vd), lag, how) / row["base_cpi"]
    return linker, real, ratio, dc


@pytest.mark.parametrize("seed", range(CASES))
def test_linkers_match_quantlib_cpi_bond(seed: int) -> None:
    vd, history, curve, nominal, frame = _case(seed)
    index, discount = _quantlib(vd, history, curve, nominal)
    ours = LinkerBook.from_frame(frame, vd).analyze(nominal, {"USCPI": curve})
    dirty, clean, accrued, ratios, real_yields = [], [], [], [], []
    for _, row in frame.iterrows():
        linker, real, ratio, dc = _ql_bonds(row, vd, index, discount)
        dirty.append(linker.dirtyPrice())
        clean.append(linker.cleanPrice())
        accrued.append(linker.accruedAmount())
        ratios.append(ratio)
        freq = qlh.FREQ[row["frequency"]]
        real_clean = linker.cleanPrice() / ratio
        price = ql.BondPrice(real_clean, ql.BondPrice.Clean)
        real_yields.append(
            real.bondYield(price, dc, ql.Compounded, freq, qlh.qdate(vd), 1e-14, 200)
        )
    labels = list(frame["security_id"])
    check("index ratio", ours["index_ratio"], ratios, RATIO_TOL, rel=True, labels=labels)
    check("dirty price", ours["dirty_price"], dirty, PRICE_RTOL, rel=True, labels=labels)
    check("clean price", ours["clean_price"], clean, PRICE_RTOL, rel=True, labels=labels)
    accrued_ours = ours["dirty_price"] - ours["clean_price"]
    check("accrued", accrued_ours, accrued, ACCRUED_TOL, labels=labels)
    check("real yield", ours["real_yield"], real_yields, YIELD_TOL, labels=labels)


@pytest.mark.parametrize("seed", range(4))
def test_reference_cpi_matches_quantlib_lagged_fixing(seed: int) -> None:
    vd, history, curve, nominal, _ = _case(100 + seed)
    index, _ = _quantlib(vd, history, curve, nominal)
    rng = np.random.default_rng(seed)
    dates = [vd + dt.timedelta(days=int(d)) for d in rng.integers(0, 40 * 365, 200)]
    for how, ql_how in INTERPOLATION.items():
        for lag in (2, 3, 8):
            ours = reference_cpi(dates, curve, lag, how)  # type: ignore[arg-type]
            period = ql.Period(lag, ql.Months)
            theirs = [ql.CPI.laggedFixing(index, qlh.qdate(d), period, ql_how) for d in dates]
            check(f"reference CPI ({how}, lag {lag})", ours, theirs, 1e-12, rel=True)


@pytest.mark.parametrize("seed", range(6))
def test_breakevens_from_linker_prices_reprice_them_in_quantlib(seed: int) -> None:
    # Prices from a random "true" curve; the bootstrapped curve, handed to QuantLib's
    # ZeroInflationCurve, must give QuantLib CPIBond prices equal to the quoted ones.
    vd, history, curve, nominal, frame = _case(seed)
    rng = np.random.default_rng(100 + seed)
    lag, how = int(rng.choice([2, 3, 8])), str(rng.choice(["linear", "flat"]))
    frame = frame.assign(lag_months=lag, interpolation=how, floor=bool(rng.integers(0, 2)))
    # One linker per reference month: maturities a year or more apart.
    years = np.cumsum(rng.uniform(1.0, 3.0, 10))
    frame = frame.iloc[:10].assign(
        maturity=[vd + dt.timedelta(days=int(365 * y) + int(rng.integers(0, 28))) for y in years]
    )
    true = LinkerBook.from_frame(frame, vd).analyze(nominal, {"USCPI": curve})
    book = LinkerBook.from_frame(frame, vd)
    fixings = cpi_fixings(history, "USCPI")
    boot = BreakevenCurve.from_linkers(book, true["real_clean_price"], nominal, fixings, "USCPI")
    assert boot.base_month == fixings.index[-1]
    ours = book.analyze(nominal, {"USCPI": boot})
    labels = list(frame["security_id"])
    check("fialloc reprice", ours["real_clean_price"], true["real_clean_price"], 1e-10,
          rel=True, labels=labels)  # fmt: skip
    if frame["floor"].iloc[0]:
        return  # QuantLib's CPI bond has no deflation floor
    index, discount = _quantlib(vd, history, boot, nominal)
    dirty, real_clean = [], []
    for _, row in frame.iterrows():
        linker, _, ratio, _ = _ql_bonds(row, vd, index, discount)
        dirty.append(linker.dirtyPrice())
        real_clean.append(linker.cleanPrice() / ratio)
    check("QuantLib dirty", ours["dirty_price"], dirty, PRICE_RTOL, rel=True, labels=labels)
    check("QuantLib real clean", true["real_clean_price"], real_clean, PRICE_RTOL, rel=True,
          labels=labels)  # fmt: skip


def test_breakevens_from_linker_prices_refuse_what_they_cannot_fit() -> None:
    vd, history, _, nominal, frame = _case(0)
    fixings = cpi_fixings(history, "USCPI")
    frame = frame.iloc[:3].assign(
        lag_months=3,
        interpolation="linear",
        maturity=[vd + dt.timedelta(days=d) for d in (400, 800, 1200)],
    )
    book = LinkerBook.from_frame(frame, vd)
    with pytest.raises(ValueError, match="positive prices"):
        BreakevenCurve.from_linkers(book, [100.0, -1.0, 100.0], nominal, fixings, "USCPI")
    mixed = LinkerBook.from_frame(frame.assign(lag_months=[3, 3, 8]), vd)
    with pytest.raises(ValueError, match="mix observation lags"):
        BreakevenCurve.from_linkers(mixed, [100.0] * 3, nominal, fixings, "USCPI")
    month = add_months(vd.replace(day=1), 14)
    same = frame.assign(
        maturity=[month.replace(day=10), month.replace(day=20), vd + dt.timedelta(days=1200)]
    )
    with pytest.raises(ValueError, match="own pillar"):
        BreakevenCurve.from_linkers(
            LinkerBook.from_frame(same, vd), [100.0] * 3, nominal, fixings, "USCPI"
        )
    with pytest.raises(ValueError, match="no inflation rate"):
        BreakevenCurve.from_linkers(book, [100.0, 1e5, 100.0], nominal, fixings, "USCPI")
