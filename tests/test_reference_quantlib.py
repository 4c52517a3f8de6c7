"""fialloc against QuantLib (an independent reference) on random curves and random bonds.

Everything QuantLib needs is built here from QuantLib's own date arithmetic (tenors, schedules,
day counters), never from fialloc's schedule code, so the two sides share only the inputs.

Conventions made to match (no holiday calendar anywhere):

- curves: Act/365F times; deposits are ``DepositRateHelper`` (simple rate, Act/365F, no fixing
  days); par swaps and par bonds are ``FixedRateBondHelper`` priced at 100 on a backward,
  unadjusted schedule without end-of-month rule (swap coupons Act/365F, par bonds
  ActualActual(ISMA)).
- bonds: a coupon bond's schedule starts at the regular coupon date on or before the valuation
  date (fialloc keeps no issue date, so the first period is regular); settlement is the
  valuation date; the z-spread is continuously compounded on Act/365F
  (``ZeroSpreadedTermStructure``); yields compound at the coupon frequency, zero-coupon bonds
  annually; key-rate tents are linear zero-spreads between whole-day key dates
  (``PiecewiseZeroSpreadedTermStructure``, flat outside), which is fialloc's tent.

Known convention differences, avoided by construction and not tested:

- beyond its last node QuantLib's natural cubic zero curve extends the last cubic, fialloc holds
  the instantaneous forward flat; natural cubic curves are compared inside their nodes only;
- QuantLib's spline bootstrap often fails to bracket a root across a long last gap (30y to 50y),
  so spline curves use tenor sets without one.

Every check prints the calculated value, the expected value and their difference on failure.
The largest differences seen are collected in ``MAX_DIFFS``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fialloc import BondBook, Curve, bootstrap

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.reference

# Tolerances demanded by issue 2.
DF_TOL = 1e-12  # discount factors, absolute
PRICE_RTOL = 1e-8  # dirty and clean prices, relative
ACCRUED_TOL = 1e-10  # per 100 face, absolute
YIELD_TOL = 1e-10  # decimals, absolute
Z_TOL = 1e-10  # decimals, absolute
DURATION_TOL = 1e-6  # years (Macaulay, modified, effective, key-rate), absolute
CONVEXITY_RTOL = 1e-6  # relative (convexities reach 1,600 years^2 at 40 years)

MAX_DIFFS: dict[str, float] = {}

QL_FREQ = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly, 12: ql.Monthly}
TENOR_UNITS = {"D": ql.Days, "W": ql.Weeks, "M": ql.Months, "Y": ql.Years}
DAY_COUNTS = ("ACT/365F", "30/360", "ACT/ACT ICMA")
# Key tenors on whole days, so QuantLib's key dates fall exactly on fialloc's tenors.
KEY_DAYS = [round(t * 365) for t in (0.5, 1, 2, 3, 5, 7, 10, 20, 30)]
KEY_TENORS = [d / 365 for d in KEY_DAYS]
BUMP = 1e-4  # 1 bp, fialloc's default


def check(name, calculated, expected, tol, *, rel=False, labels=None):
    """Assert max |calculated - expected| (relative if `rel`) <= tol; report the worst case."""
    calc = np.atleast_1d(np.asarray(calculated, dtype=np.float64)).ravel()
    exp = np.atleast_1d(np.asarray(expected, dtype=np.float64)).ravel()
    assert calc.shape == exp.shape, f"{name}: {calc.shape} calculated vs {exp.shape} expected"
    diff = np.abs(calc - exp)
    if rel:
        diff = diff / np.maximum(np.abs(exp), 1e-300)
    worst = int(np.argmax(diff))
    MAX_DIFFS[name] = max(MAX_DIFFS.get(name, 0.0), float(diff[worst]))
    where = f" ({labels[worst]})" if labels is not None else f" (entry {worst})"
    assert diff[worst] <= tol, (
        f"{name}{where}: calculated {calc[worst]!r}, expected {exp[worst]!r}, "
        f"difference {calc[worst] - exp[worst]:.3e}{' relative ' if rel else ' '}"
        f"{diff[worst]:.3e} > tolerance {tol:g}"
    )


def qdate(d: dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def pydate(d: ql.Date) -> dt.date:
    return dt.date(d.year(), d.month(), d.dayOfMonth())


def period(tenor: str) -> ql.Period:
    return ql.Period(int(tenor[:-1]), TENOR_UNITS[tenor[-1]])


def backward_schedule(start: ql.Date, end: ql.Date, freq: int) -> ql.Schedule:
    return ql.Schedule(
        start,
        end,
        ql.Period(QL_FREQ[freq]),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )


def ql_day_counter(name: str) -> ql.DayCounter:
    return {
        "ACT/365F": ql.Actual365Fixed(),
        "30/360": ql.Thirty360(ql.Thirty360.BondBasis),
        "ACT/ACT ICMA": ql.ActualActual(ql.ActualActual.ISMA),
    }[name]


def month_end_or(year: int, month: int, day: int) -> dt.date:
    """`day` of the month, or the month's last day when the month is shorter."""
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


# ---- curves -----------------------------------------------------------------------------------

_DENSE_SHORT = ["1W", "1M", "2M", "3M", "6M", "9M", "1Y", "18M", "2Y", "3Y", "4Y", "5Y", "6Y"]
_DENSE_LONG = ["7Y", "8Y", "9Y", "10Y", "12Y", "15Y", "20Y", "25Y", "30Y", "40Y"]
TENOR_SETS = {
    "standard": ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y"],
    "sparse": ["3M", "6M", "1Y", "2Y", "5Y", "10Y", "30Y"],
    "dense": [*_DENSE_SHORT, *_DENSE_LONG],
    "long": ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "15Y", "20Y", "30Y", "50Y"],
    "short": ["2W", "1M", "3M", "6M", "1Y", "2Y", "3Y", "4Y", "5Y"],
}
# QuantLib's spline bootstrap cannot bracket the 30y-50y gap of "long" (module docstring).
SPLINE_SETS = ("standard", "sparse", "dense", "short")


def random_quotes(rng, tenors: list[str], with_par_bonds: bool) -> list[dict]:
    """Quotes at levels within 0.5%-8%: deposits below 1Y, then swaps and par bonds."""
    level = rng.uniform(0.005, 0.08)
    rates = np.clip(level + np.cumsum(rng.normal(0.0, 0.004, len(tenors))), 0.005, 0.08)
    quotes = []
    for tenor, rate in zip(tenors, rates, strict=True):
        rate = float(np.round(rate, 6))
        months = {"D": 0, "W": 0, "M": 1, "Y": 12}[tenor[-1]] * int(tenor[:-1])
        if months < 12:
            quotes.append({"kind": "deposit", "tenor": tenor, "rate": rate})
        elif with_par_bonds and rng.random() < 0.4:
            freq = int(rng.choice([1, 2, 4]))
            quotes.append({"kind": "par_bond", "tenor": tenor, "rate": rate, "frequency": freq})
        else:
            freq = int(rng.choice([1, 2, 4, 12]))
            quotes.append({"kind": "swap", "tenor": tenor, "rate": rate, "frequency": freq})
    return quotes


def ql_helpers(quotes: list[dict], valuation: dt.date) -> list:
    vd = qdate(valuation)
    helpers = []
    for q in quotes:
        rate = ql.QuoteHandle(ql.SimpleQuote(q["rate"]))
        if q["kind"] == "deposit":
            helpers.append(
                ql.DepositRateHelper(
                    rate,
                    period(q["tenor"]),
                    0,
                    ql.NullCalendar(),
                    ql.Unadjusted,
                    False,
                    ql.Actual365Fixed(),
                )
            )
            continue
        maturity = vd + period(q["tenor"])
        schedule = backward_schedule(vd, maturity, q["frequency"])
        dc = ql.Actual365Fixed() if q["kind"] == "swap" else ql.ActualActual(ql.ActualActual.ISMA)
        helpers.append(
            ql.FixedRateBondHelper(
                ql.QuoteHandle(ql.SimpleQuote(100.0)),
                0,
                100.0,
                schedule,
                [q["rate"]],
                dc,
                ql.Unadjusted,
                100.0,
            )
        )
    return helpers


def curve_cases():
    rng = np.random.default_rng(2026_02)
    # Month ends (incl. 29 Feb), the 29th-31st and ordinary days.
    pinned = [
        dt.date(2024, 2, 29),
        dt.date(2025, 8, 31),
        dt.date(2026, 4, 30),
        dt.date(2027, 1, 31),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 29),
        dt.date(2026, 5, 30),
    ]
    cases = []
    for k in range(14):
        if k < len(pinned):
            valuation = pinned[k]
        else:
            valuation = month_end_or(
                int(rng.integers(2020, 2035)),
                int(rng.integers(1, 13)),
                int(rng.choice([1, 10, 15, 28, 29, 30, 31])),
            )
        interpolation = "log_linear" if k % 2 == 0 else "natural_cubic"
        names = list(TENOR_SETS) if interpolation == "log_linear" else list(SPLINE_SETS)
        tenor_set = names[(k // 2) % len(names)]
        cases.append(
            pytest.param(
                interpolation,
                valuation,
                tenor_set,
                k % 3 != 2,  # par bonds in two cases of three
                int(rng.integers(2**31)),
                id=f"{interpolation}-{tenor_set}-{valuation}",
            )
        )
    return cases


@pytest.mark.parametrize(
    ("interpolation", "valuation", "tenor_set", "with_par_bonds", "seed"), curve_cases()
)
def test_bootstrap_matches_quantlib(interpolation, valuation, tenor_set, with_par_bonds, seed):
    rng = np.random.default_rng(seed)
    quotes = random_quotes(rng, TENOR_SETS[tenor_set], with_par_bonds)
    ours = bootstrap(quotes, valuation, interpolation)

    ql.Settings.instance().evaluationDate = qdate(valuation)
    accurate = ql.IterativeBootstrap(1e-15)
    helpers = ql_helpers(quotes, valuation)
    if interpolation == "log_linear":
        ref = ql.PiecewiseLogLinearDiscount(
            qdate(valuation), helpers, ql.Actual365Fixed(), accurate
        )
    else:
        ref = ql.PiecewiseNaturalCubicZero(qdate(valuation), helpers, ql.Actual365Fixed(), accurate)

    # Same pillars: each instrument's last payment date, on Act/365F.
    ref_pillars = np.array([ref.timeFromReference(d) for d in ref.dates()[1:]])
    check(f"{interpolation} pillar times", ours.pillar_times, ref_pillars, 0.0)

    inside = np.sort(rng.uniform(0.0, ours.pillar_times[-1], 200))
    for label, t in (("pillars", ours.pillar_times), ("random times", inside)):
        check(
            f"{interpolation} discount factors at {label}",
            ours.discount(t),
            [ref.discount(float(x)) for x in t],
            DF_TOL,
            labels=[f"t={x:.6f}y, {valuation}, {tenor_set}" for x in t],
        )
    positive = inside[inside > 1e-3]
    check(
        f"{interpolation} zero rates at random times",
        ours.zero_rate(positive),
        [ref.zeroRate(float(x), ql.Continuous).rate() for x in positive],
        DF_TOL,
        labels=[f"t={x:.6f}y" for x in positive],
    )


def random_node_curve(rng, valuation: dt.date, n: int):
    """Random whole-day nodes and log discount factors (forwards may turn negative)."""
    days = np.sort(rng.choice(np.arange(1, 40 * 365), n, replace=False))
    times = days / 365.0
    forwards = rng.uniform(-0.01, 0.09, n)
    log_dfs = -np.cumsum(forwards * np.diff(np.concatenate([[0.0], times])))
    dates = [qdate(valuation)] + [qdate(valuation + dt.timedelta(days=int(d))) for d in days]
    return times, log_dfs, dates


@pytest.mark.parametrize("seed", range(4))
def test_log_linear_curve_matches_quantlib_discount_curve(seed):
    rng = np.random.default_rng(100 + seed)
    valuation = month_end_or(2025 + seed, 1 + 3 * seed, 31)
    times, log_dfs, dates = random_node_curve(rng, valuation, int(rng.integers(2, 25)))
    ours = Curve(times, log_dfs, "log_linear", valuation)
    ref = ql.DiscountCurve(dates, [1.0, *np.exp(log_dfs)], ql.Actual365Fixed())
    ref.enableExtrapolation()

    # inside the nodes, on them, and beyond the last (flat forward on both sides)
    t = np.concatenate(
        [[0.0], times, np.sort(rng.uniform(0, times[-1], 300)), times[-1] + [0.5, 7.0, 25.0]]
    )
    check(
        "log-linear Curve vs DiscountCurve: discount factors",
        ours.discount(t),
        [ref.discount(float(x), True) for x in t],
        DF_TOL,
        labels=[f"t={x:.6f}y" for x in t],
    )
    positive = t[t > 0]
    check(
        "log-linear Curve vs DiscountCurve: zero rates",
        ours.zero_rate(positive),
        [ref.zeroRate(float(x), ql.Continuous, ql.NoFrequency, True).rate() for x in positive],
        DF_TOL,
        labels=[f"t={x:.6f}y" for x in positive],
    )
    # Instantaneous forwards mid-segment: QuantLib differences over [t - 5e-5, t + 5e-5], exact
    # for a log-linear segment as long as the window stays inside it.
    knots = np.concatenate([[0.0], times])
    mids = 0.5 * (knots[:-1] + knots[1:])
    mids = mids[np.diff(knots) > 2e-4]
    check(
        "log-linear Curve vs DiscountCurve: forwards",
        ours.forward_rate(mids),
        [ref.forwardRate(float(x), float(x), ql.Continuous, ql.NoFrequency).rate() for x in mids],
        1e-9,
        labels=[f"t={x:.6f}y" for x in mids],
    )


@pytest.mark.parametrize("seed", range(3))
def test_natural_cubic_curve_matches_quantlib_inside_nodes(seed):
    rng = np.random.default_rng(200 + seed)
    valuation = dt.date(2026, 2, 28) + dt.timedelta(days=int(37 * seed))
    times, log_dfs, dates = random_node_curve(rng, valuation, int(rng.integers(3, 20)))
    ours = Curve(times, log_dfs, "natural_cubic", valuation)
    zeros = -log_dfs / times
    ref = ql.NaturalCubicZeroCurve(dates, [zeros[0], *zeros], ql.Actual365Fixed())
    t = np.concatenate([times, np.sort(rng.uniform(0, times[-1], 300))])
    check(
        "natural cubic Curve vs NaturalCubicZeroCurve: discount factors",
        ours.discount(t),
        [ref.discount(float(x)) for x in t],
        DF_TOL,
        labels=[f"t={x:.6f}y" for x in t],
    )


# ---- bonds ------------------------------------------------------------------------------------

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
    rows = []
    for i in range(n):
        freq = int(rng.choice([0, 1, 2, 4, 12], p=[0.15, 0.2, 0.35, 0.15, 0.15]))
        days = int(rng.integers(37, 40 * 365 + 1))  # 0.1 to 40 years
        maturity = valuation + dt.timedelta(days=days)
        roll = rng.random()
        if roll < 0.15:  # month end
            maturity = month_end_or(maturity.year, maturity.month, 31)
        elif roll < 0.3:  # the 29th-31st, clamped
            maturity = month_end_or(maturity.year, maturity.month, int(rng.integers(29, 32)))
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


def ql_bond(row, valuation: dt.date):
    """QuantLib bond equal to a fialloc row, face 100, settling on the valuation date."""
    maturity = qdate(row["maturity"])
    if row["frequency"] == 0:
        return ql.ZeroCouponBond(
            0, ql.NullCalendar(), 100.0, maturity, ql.Unadjusted, 100.0, qdate(valuation)
        )
    months = 12 // row["frequency"]
    k = 1
    while maturity - ql.Period(k * months, ql.Months) > qdate(valuation):
        k += 1
    start = maturity - ql.Period(k * months, ql.Months)  # regular coupon date on or before
    schedule = backward_schedule(start, maturity, row["frequency"])
    assert all(schedule.isRegular(j) for j in range(1, len(schedule)))
    return ql.FixedRateBond(0, 100.0, schedule, [row["coupon"]], ql_day_counter(row["day_count"]))


def ql_curve(curve: Curve, valuation: dt.date):
    """QuantLib curve through fialloc's pillars (whole days) with the same interpolation."""
    days = np.rint(curve.pillar_times * 365.0).astype(int)
    assert np.array_equal(days / 365.0, curve.pillar_times)
    dates = [qdate(valuation)] + [qdate(valuation + dt.timedelta(days=int(d))) for d in days]
    if curve.interpolation == "log_linear":
        ts = ql.DiscountCurve(dates, [1.0, *np.exp(curve.log_dfs)], ql.Actual365Fixed())
    else:
        zeros = -curve.log_dfs / curve.pillar_times
        ts = ql.NaturalCubicZeroCurve(dates, [zeros[0], *zeros], ql.Actual365Fixed())
    ts.enableExtrapolation()
    return ts


class QuantLibRisk:
    """One QuantLib pricing chain per curve: base -> key-rate tents -> z-spread -> engine."""

    def __init__(self, curve: Curve, valuation: dt.date) -> None:
        self.base = ql.YieldTermStructureHandle(ql_curve(curve, valuation))
        self.tents = [ql.SimpleQuote(0.0) for _ in KEY_DAYS]
        key_dates = [qdate(valuation + dt.timedelta(days=d)) for d in KEY_DAYS]
        tented = ql.PiecewiseZeroSpreadedTermStructure(
            self.base,
            [ql.QuoteHandle(q) for q in self.tents],
            key_dates,
            ql.Continuous,
            ql.NoFrequency,
            ql.Actual365Fixed(),
        )
        tented.enableExtrapolation()
        self.z = ql.SimpleQuote(0.0)
        spreaded = ql.ZeroSpreadedTermStructure(
            ql.YieldTermStructureHandle(tented),
            ql.QuoteHandle(self.z),
            ql.Continuous,
            ql.NoFrequency,
            ql.Actual365Fixed(),
        )
        spreaded.enableExtrapolation()
        self.engine = ql.DiscountingBondEngine(ql.YieldTermStructureHandle(spreaded))

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
    dc = ql_day_counter(row["day_count"])
    freq = QL_FREQ[row["frequency"]] if row["frequency"] else ql.Annual
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
    rng = np.random.default_rng(seed)
    curve = bootstrap(random_quotes(rng, TENOR_SETS[tenor_set], True), valuation, interpolation)
    frame = random_bonds(rng, valuation, BONDS_PER_CURVE)
    z = rng.uniform(-0.005, 0.04, len(frame))
    other_yields = rng.uniform(-0.005, 0.12, len(frame))
    book = BondBook.from_frame(frame, valuation)
    ours = book.analyze(curve, z_spread=z, key_tenors=KEY_TENORS)

    ql.Settings.instance().evaluationDate = qdate(valuation)
    settle = qdate(valuation)
    chain = QuantLibRisk(curve, valuation)
    ref: dict[str, list] = {}
    bonds = []
    for i, row in frame.iterrows():
        bond = ql_bond(row, valuation)
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
    ql_z = [
        ql.BondFunctions.zSpread(
            bond,
            ql.BondPrice(float(ours.clean_price[i]), ql.BondPrice.Clean),
            chain.base.currentLink(),
            ql.Actual365Fixed(),
            ql.Continuous,
            ql.NoFrequency,
            settle,
            1e-14,
            1000,
        )
        for i, bond in enumerate(bonds)
    ]
    check("QuantLib z-spread from fialloc clean price", ql_z, z, Z_TOL, labels=labels)


def test_enough_random_bonds():
    assert BOND_CURVES * BONDS_PER_CURVE >= 200
    assert len(bond_cases()) == BOND_CURVES
