"""Bond prices, yields, spreads, durations and key-rate durations against QuantLib on random bonds.

Conventions are made to match in ``quantlib_helpers``; on top of them, yields compound at the
coupon frequency (zero-coupon bonds annually). Every check prints the calculated value, the
expected value and their difference on failure.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, bootstrap

qlh = pytest.importorskip("quantlib_helpers")
if TYPE_CHECKING:  # QuantLib's names for mypy; at run time the helpers' (skipped if missing)
    import QuantLib as ql
else:
    ql = qlh.ql
check = qlh.check

pytestmark = pytest.mark.reference

# Tolerances demanded by issue 2.
PRICE_RTOL = 1e-8  # dirty and clean prices, relative
ACCRUED_TOL = 1e-10  # per 100 face, absolute
YIELD_TOL = 1e-10  # decimals, absolute
Z_TOL = 1e-10  # decimals, absolute
DURATION_TOL = 1e-6  # years (Macaulay, modified, effective, key-rate), absolute
CONVEXITY_RTOL = 1e-6  # relative (convexities reach 1,600 years^2 at 40 years)

DAY_COUNTS = ("ACT/365F", "ACT/360", "ACT/ACT ISDA", "ACT/ACT ICMA", "30/360", "30E/360")
# Key tenors on whole days, so QuantLib's key dates fall exactly on fialloc's tenors.
KEY_DAYS = [round(t * 365) for t in (0.5, 1, 2, 3, 5, 7, 10, 20, 30)]
KEY_TENORS = [d / 365 for d in KEY_DAYS]
BUMP = 1e-4  # 1 bp, fialloc's default

BOND_CURVES = 8
BONDS_PER_CURVE = 40  # 320 random bonds


def bond_cases():
    rng = np.random.default_rng(31)
    valuations = [
        dt.date(2026, 1, 29),
        dt.date(2025, 5, 30),
        dt.date(2026, 3, 31),
        dt.date(2027, 12, 31),
        dt.date(2028, 2, 29),
        dt.date(2026, 10, 30),
    ] + [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 4000, 2)]
    specs = [
        ("log_linear", "standard"),  # bonds beyond 30y: flat-forward extrapolation
        ("natural_cubic", "dense"),
        ("log_linear", "long"),
        ("log_linear", "dense"),
        ("natural_cubic", "standard"),
        ("log_linear", "short"),  # most bonds beyond the 5y pillar
        ("natural_cubic", "dense"),
        ("log_linear", "sparse"),
    ]
    return [
        pytest.param(vd, interp, tenors, 7000 + k, id=f"{vd}-{interp}-{tenors}")
        for k, (vd, (interp, tenors)) in enumerate(zip(valuations, specs, strict=True))
    ]


def random_bonds(rng, valuation: dt.date, n: int) -> pd.DataFrame:
    """0.1 to 40 years, coupons 0-10% (some zero), every frequency and day count, month ends."""
    rows = []
    for i in range(n):
        freq = int(rng.choice([0, 1, 2, 4, 12], p=[0.15, 0.2, 0.35, 0.15, 0.15]))
        days = int(rng.integers(37, 40 * 365 + 1))  # 0.1 to 40 years
        maturity = valuation + dt.timedelta(days=days)
        roll = rng.random()
        if roll < 0.15:  # month end
            maturity = qlh.month_end_or(maturity.year, maturity.month, 31)
        elif roll < 0.3:  # the 29th-31st, clamped
            maturity = qlh.month_end_or(maturity.year, maturity.month, int(rng.integers(29, 32)))
        maturity = max(maturity, valuation + dt.timedelta(days=37))
        coupon = 0.0 if freq == 0 or rng.random() < 0.05 else float(rng.uniform(0.0, 0.10))
        rows.append(
            {
                "security_id": f"B{i:03d}",
                "coupon": coupon,
                "maturity": maturity,
                "frequency": freq,
                "day_count": str(rng.choice(DAY_COUNTS)),
                "face": float(rng.choice([1e5, 2.5e6, 1e7])),
            }
        )
    return pd.DataFrame(rows)


def random_book(valuation: dt.date, interpolation: str, tenor_set: str, seed: int, n: int):
    """A bootstrapped random curve, `n` random bonds and their random generator."""
    rng = np.random.default_rng(seed)
    quotes = qlh.random_quotes(rng, qlh.TENOR_SETS[tenor_set], True)
    curve = bootstrap(quotes, valuation, interpolation)
    frame = random_bonds(rng, valuation, n)
    return rng, curve, frame, BondBook.from_frame(frame, valuation)


def ql_z_spreads(bonds, clean_prices, base, settle) -> list[float]:
    """QuantLib's z-spread solver (continuous, Act/365F) on the given clean prices."""
    return [
        ql.BondFunctions.zSpread(
            bond,
            ql.BondPrice(float(clean), ql.BondPrice.Clean),
            base.currentLink(),
            ql.Actual365Fixed(),
            ql.Continuous,
            ql.NoFrequency,
            settle,
            1e-14,
            1000,
        )
        for bond, clean in zip(bonds, clean_prices, strict=True)
    ]


class QuantLibRisk:
    """One QuantLib pricing chain per curve: base -> key-rate tents -> z-spread -> engine."""

    def __init__(self, curve, valuation: dt.date) -> None:
        self.base = qlh.discount_curve(curve, valuation)
        self.tents = [ql.SimpleQuote(0.0) for _ in KEY_DAYS]
        self.z = ql.SimpleQuote(0.0)
        tented = qlh.tented(self.base, valuation, KEY_DAYS, self.tents)
        self.engine = ql.DiscountingBondEngine(qlh.spreaded(tented, self.z))

    def analytics(self, bond, z: float) -> dict[str, float | list[float]]:
        bond.setPricingEngine(self.engine)
        self.z.setValue(z)
        dirty = bond.dirtyPrice()
        self.z.setValue(z - BUMP)
        down = bond.dirtyPrice()
        self.z.setValue(z + BUMP)
        up = bond.dirtyPrice()
        self.z.setValue(z)
        krd = []
        for tent in self.tents:
            tent.setValue(-BUMP)
            k_down = bond.dirtyPrice()
            tent.setValue(BUMP)
            k_up = bond.dirtyPrice()
            tent.setValue(0.0)
            krd.append((k_down - k_up) / (2 * BUMP * dirty))
        return {
            "dirty": dirty,
            "clean": bond.cleanPrice(),
            "accrued": bond.accruedAmount(),
            "effective_duration": (down - up) / (2 * BUMP * dirty),
            "effective_convexity": (down + up - 2 * dirty) / (BUMP**2 * dirty),
            "krd": krd,
        }


def ql_yield_risk(bond, row, dirty: float, settle: ql.Date, other_yield: float) -> dict:
    dc = qlh.day_counter(row["day_count"])
    freq = qlh.FREQ[row["frequency"]] if row["frequency"] else ql.Annual
    other = ql.InterestRate(other_yield, dc, ql.Compounded, freq)
    y = ql.BondFunctions.bondYield(
        bond, ql.BondPrice(dirty, ql.BondPrice.Dirty), dc, ql.Compounded, freq, settle, 1e-14, 1000
    )
    rate = ql.InterestRate(y, dc, ql.Compounded, freq)
    return {
        "ytm": y,
        "macaulay": ql.BondFunctions.duration(bond, rate, ql.Duration.Macaulay, settle),
        "modified": ql.BondFunctions.duration(bond, rate, ql.Duration.Modified, settle),
        "convexity": ql.BondFunctions.convexity(bond, rate, settle),
        "bpv": ql.BondFunctions.basisPointValue(bond, rate, settle),
        "clean_at_yield": ql.BondFunctions.cleanPrice(bond, other, settle),
    }


@pytest.mark.parametrize(("valuation", "interpolation", "tenor_set", "seed"), bond_cases())
def test_bonds_match_quantlib(valuation, interpolation, tenor_set, seed):
    rng, curve, frame, book = random_book(
        valuation, interpolation, tenor_set, seed, BONDS_PER_CURVE
    )
    z = rng.uniform(-0.005, 0.04, len(frame))
    other_yields = rng.uniform(-0.005, 0.12, len(frame))
    ours = book.analyze(curve, z_spread=z, key_tenors=KEY_TENORS)

    qlh.set_evaluation_date(valuation)
    settle = qlh.qdate(valuation)
    chain = QuantLibRisk(curve, valuation)
    ref: dict[str, list] = {}
    bonds = []
    for i, row in frame.iterrows():
        bond = qlh.bond(row, valuation)
        bonds.append(bond)
        values = chain.analytics(bond, float(z[i]))
        values.update(ql_yield_risk(bond, row, values["dirty"], settle, other_yields[i]))
        for key, value in values.items():
            ref.setdefault(key, []).append(value)

    labels = [
        f"{r.security_id}: {r.coupon:.4%} {r.frequency}x {r.day_count} to {r.maturity}, "
        f"valued {valuation}, z {zi:.5f}"
        for r, zi in zip(frame.itertuples(), z, strict=True)
    ]
    check("dirty price", ours.dirty_price, ref["dirty"], PRICE_RTOL, rel=True, labels=labels)
    check("clean price", ours.clean_price, ref["clean"], PRICE_RTOL, rel=True, labels=labels)
    check("accrued", ours.accrued, ref["accrued"], ACCRUED_TOL, labels=labels)
    check("yield", ours.ytm, ref["ytm"], YIELD_TOL, labels=labels)
    check("Macaulay duration", ours.macaulay_duration, ref["macaulay"], DURATION_TOL, labels=labels)
    check("modified duration", ours.modified_duration, ref["modified"], DURATION_TOL, labels=labels)
    check("convexity", ours.convexity, ref["convexity"], CONVEXITY_RTOL, rel=True, labels=labels)
    # QuantLib's basis-point value is the second-order change per 100 face for +1 bp,
    # -D P h + C P h^2 / 2; fialloc's dv01 is the first-order D P h (per position), so the
    # convexity term QuantLib adds is taken off before comparing.
    first_order = -np.asarray(ref["bpv"]) + 0.5 * np.multiply(ref["convexity"], ref["dirty"]) * 1e-8
    check("dv01 per 100 face", ours.dv01 / book.face * 100.0, first_order, 1e-12, labels=labels)
    check(
        "effective duration",
        ours.effective_duration,
        ref["effective_duration"],
        DURATION_TOL,
        labels=labels,
    )
    # QuantLib's second difference of prices loses ~1e-13 / 1e-8 to cancellation.
    check(
        "effective convexity",
        ours.effective_convexity,
        ref["effective_convexity"],
        1e-4,
        rel=True,
        labels=labels,
    )
    check(
        "key-rate durations",
        ours.krd,
        ref["krd"],
        DURATION_TOL,
        labels=[f"{lab}, key {t:.4f}y" for lab in labels for t in KEY_TENORS],
    )

    # Prices from a given yield (the other direction of the yield solve).
    at_yield = book.analyze(curve, yield_=other_yields, key_tenors=KEY_TENORS)
    check(
        "clean price from yield",
        at_yield.clean_price,
        ref["clean_at_yield"],
        PRICE_RTOL,
        rel=True,
        labels=[f"{lab}, yield {y:.5f}" for lab, y in zip(labels, other_yields, strict=True)],
    )

    # z-spread round trip: from QuantLib's clean price back to the spread that produced it.
    back = book.analyze(curve, clean_price=np.asarray(ref["clean"]), key_tenors=KEY_TENORS)
    check("z-spread from QuantLib clean price", back.z_spread, z, Z_TOL, labels=labels)
    check("yield from QuantLib clean price", back.ytm, ref["ytm"], YIELD_TOL, labels=labels)
    # ... and QuantLib's z-spread solver on fialloc's clean price.
    ql_z = ql_z_spreads(bonds, ours.clean_price, chain.base, settle)
    check("QuantLib z-spread from fialloc clean price", ql_z, z, Z_TOL, labels=labels)


def test_z_spreads_from_market_prices_match_quantlib():
    # Clean prices drawn at random, not from a spread: the implied spreads reach far outside
    # the -0.5%..4% of the round trips above (deep discount and premium long bonds).
    valuation = dt.date(2026, 11, 30)
    rng, curve, frame, book = random_book(valuation, "log_linear", "long", 5, 30)
    clean = rng.uniform(80, 110, len(frame))
    ours = book.analyze(curve, clean_price=clean)
    qlh.set_evaluation_date(valuation)
    bonds = [qlh.bond(row, valuation) for _, row in frame.iterrows()]
    ref = ql_z_spreads(bonds, clean, qlh.discount_curve(curve, valuation), qlh.qdate(valuation))
    check("z-spread from a market price", ours.z_spread, ref, Z_TOL, labels=list(frame.security_id))


def test_enough_random_bonds():
    assert BOND_CURVES * BONDS_PER_CURVE >= 200
    assert len(bond_cases()) == BOND_CURVES
