"""Bond prices, yields, durations and key-rate durations against QuantLib on random bonds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, bootstrap
from fialloc.schedule import backward_dates

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql

pytestmark = pytest.mark.reference

N_CURVES = 6
BONDS_PER_CURVE = 40  # 240 random bonds in all
DAY_COUNTS = ["ACT/365F", "30/360", "ACT/ACT ICMA"]


def _random_valuation(rng) -> dt.date:
    year, month = int(rng.integers(2020, 2031)), int(rng.integers(1, 13))
    day = int(rng.choice([1, 15, 28, 29, 30, 31]))
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


def _random_curve(rng, valuation):
    level = rng.uniform(0.01, 0.07)
    tenors = ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y", "50Y"]
    rates = level + np.cumsum(rng.normal(0, 0.002, len(tenors)))
    quotes = [
        {"kind": "deposit" if t[-1] == "M" else "swap", "tenor": t, "rate": float(r)}
        for t, r in zip(tenors, rates, strict=True)
    ]
    return bootstrap(quotes, valuation)


def _random_bonds(rng, valuation, n):
    rows = []
    for i in range(n):
        freq = int(rng.choice([0, 1, 2, 2, 4, 12]))
        days = int(rng.integers(40, 40 * 365))
        maturity = valuation + dt.timedelta(days=days)
        if rng.random() < 0.3:  # month-end maturities exercise the 30/360 and clamping rules
            maturity = (maturity.replace(day=28) + dt.timedelta(days=4)).replace(
                day=1
            ) - dt.timedelta(days=1)
            maturity = max(maturity, valuation + dt.timedelta(days=10))
        rows.append(
            {
                "security_id": f"B{i}",
                "coupon": 0.0 if freq == 0 else float(np.round(rng.uniform(0.0, 0.10), 5)),
                "maturity": maturity,
                "frequency": freq,
                "day_count": str(rng.choice(DAY_COUNTS))
                if freq
                else str(rng.choice(["ACT/365F", "30/360"])),
                "face": 100.0,
            }
        )
    return pd.DataFrame(rows)


def _cases():
    rng = np.random.default_rng(20261124)
    cases = []
    for k in range(N_CURVES):
        valuation = _random_valuation(rng)
        cases.append(
            pytest.param(valuation, int(rng.integers(0, 2**31)), id=f"curve{k}-{valuation}")
        )
    return cases


def _report(name, ours, ref, tol, rel=False):
    ours, ref = np.asarray(ours), np.asarray(ref)
    diff = np.abs(ours - ref) / (np.abs(ref) if rel else 1.0)
    worst = int(np.argmax(diff))
    assert diff[worst] <= tol, (
        f"{name}: calculated {ours[worst]!r}, expected {ref[worst]!r}, "
        f"difference {diff[worst]:.3e} > tolerance {tol:g} (bond {worst})"
    )
    return float(diff.max())


@pytest.mark.parametrize(("valuation", "seed"), _cases())
def test_bonds_match_quantlib(valuation, seed):
    rng = np.random.default_rng(seed)
    curve = _random_curve(rng, valuation)
    frame = _random_bonds(rng, valuation, BONDS_PER_CURVE)
    z = rng.uniform(0.0, 0.03, len(frame))
    key_days = [182, 365, 730, 1095, 1826, 2557, 3652, 7305, 10957]
    key_tenors = [d / 365.0 for d in key_days]
    book = BondBook.from_frame(frame, valuation)
    ours = book.analyze(curve, z_spread=z, key_tenors=key_tenors)

    qlh.set_evaluation_date(valuation)
    base = qlh.discount_curve(curve, valuation)
    ref = {k: [] for k in ("dirty", "accrued", "ytm", "mac", "mod", "conv", "eff", "krd")}
    h = 1e-4
    for i, row in frame.iterrows():
        freq = row["frequency"]
        first = backward_dates(row["maturity"], 12 // freq, valuation)[0] if freq else valuation
        bond = qlh.bond(row, valuation, first)

        def price(handle, bond=bond):
            bond.setPricingEngine(ql.DiscountingBondEngine(handle))
            return bond.dirtyPrice()

        dirty = price(qlh.spreaded(base, z[i]))
        dc = qlh.day_counter(row["day_count"])
        comp_freq = qlh.FREQ[freq] if freq else ql.Annual
        settle = qlh.qdate(valuation)
        ytm = ql.BondFunctions.bondYield(
            bond,
            ql.BondPrice(dirty, ql.BondPrice.Dirty),
            dc,
            ql.Compounded,
            comp_freq,
            settle,
            1e-14,
            1000,
        )
        rate = ql.InterestRate(ytm, dc, ql.Compounded, comp_freq)
        ref["dirty"].append(dirty)
        ref["accrued"].append(bond.accruedAmount(settle))
        ref["ytm"].append(ytm)
        ref["mac"].append(ql.BondFunctions.duration(bond, rate, ql.Duration.Macaulay, settle))
        ref["mod"].append(ql.BondFunctions.duration(bond, rate, ql.Duration.Modified, settle))
        ref["conv"].append(ql.BondFunctions.convexity(bond, rate, settle))
        down, up = price(qlh.spreaded(base, z[i] - h)), price(qlh.spreaded(base, z[i] + h))
        ref["eff"].append((down - up) / (2 * h * dirty))
        krd = []
        for k in range(len(key_days)):
            down = price(qlh.spreaded(qlh.tent_bumped(base, valuation, key_days, k, -h), z[i]))
            up = price(qlh.spreaded(qlh.tent_bumped(base, valuation, key_days, k, h), z[i]))
            krd.append((down - up) / (2 * h * dirty))
        ref["krd"].append(krd)

    _report("dirty price", ours.dirty_price, ref["dirty"], 1e-8, rel=True)
    _report("accrued", ours.accrued, ref["accrued"], 1e-10)
    _report(
        "clean price",
        ours.clean_price,
        np.array(ref["dirty"]) - np.array(ref["accrued"]),
        1e-8,
        rel=True,
    )
    _report("yield", ours.ytm, ref["ytm"], 1e-10)
    _report("Macaulay duration", ours.macaulay_duration, ref["mac"], 1e-6)
    _report("modified duration", ours.modified_duration, ref["mod"], 1e-6)
    _report("convexity", ours.convexity, ref["conv"], 1e-6, rel=True)
    _report("effective duration", ours.effective_duration, ref["eff"], 1e-6)
    _report("key-rate durations", ours.krd.ravel(), np.array(ref["krd"]).ravel(), 1e-6)


def test_z_spread_round_trip_matches_quantlib():
    valuation = dt.date(2026, 11, 30)
    rng = np.random.default_rng(5)
    curve = _random_curve(rng, valuation)
    frame = _random_bonds(rng, valuation, 30)
    book = BondBook.from_frame(frame, valuation)
    clean = rng.uniform(80, 110, len(frame))
    ours = book.analyze(curve, clean_price=clean)
    qlh.set_evaluation_date(valuation)
    base = qlh.discount_curve(curve, valuation)
    for i, row in frame.iterrows():
        freq = row["frequency"]
        first = backward_dates(row["maturity"], 12 // freq, valuation)[0] if freq else valuation
        bond = qlh.bond(row, valuation, first)
        z = ql.BondFunctions.zSpread(
            bond,
            ql.BondPrice(clean[i], ql.BondPrice.Clean),
            base.currentLink(),
            ql.Actual365Fixed(),
            ql.Continuous,
            ql.NoFrequency,
            qlh.qdate(valuation),
            1e-14,
            1000,
        )
        assert ours.z_spread[i] == pytest.approx(z, abs=1e-10), (row.to_dict(), ours.z_spread[i], z)
