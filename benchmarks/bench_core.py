"""Pricing-core benchmarks: fialloc vs QuantLib-Python vs vectorized numpy, same problem, one run.

Groups: ``bootstrap`` (13 instruments), ``exp`` (the kernels' exponential on the price pass's
19,373 arguments, against ``np.exp``), ``price`` (500 bonds), ``krd`` (9 key rates, central
differences, for the 500 bonds and a 60-year monthly liability stream), ``analytics`` (the
500 bonds' full table: prices, yields, durations, convexity, KRDs), ``shift300``
(full repricing under +-300 bp) and ``curve form: ...`` (building a curve from discount
factors, zero rates, par yields or quotes, against QuantLib).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import KEY_DAYS, KEY_TENORS, QUOTES, VALUATION
from scipy.optimize import brentq

from fialloc import Curve, _core, bootstrap
from fialloc.curves import read_quotes
from fialloc.layout import CashflowLayout

ql = pytest.importorskip("QuantLib")
qlh = pytest.importorskip("quantlib_helpers")
H = 1e-4


qdate = qlh.qdate


# ---- numpy: what a user would write with the same formulas ---------------------------------


class NumpyBook:
    """Flattened flows priced with np.interp on log discount factors, np.exp and reduceat."""

    def __init__(self, layout: CashflowLayout, z):
        self.t, self.a = layout.times, layout.amounts
        self.starts = layout.offsets[:-1]
        counts = np.diff(layout.offsets)
        self.zt = np.repeat(np.asarray(z, dtype=float), counts) * self.t

    @staticmethod
    def log_df(curve, t):
        knots = np.concatenate([[0.0], curve.pillar_times])
        ldf = np.concatenate([[0.0], curve.log_dfs])
        out = np.interp(t, knots, ldf)
        f_last = -(ldf[-1] - ldf[-2]) / (knots[-1] - knots[-2])
        beyond = t > knots[-1]
        out[beyond] = ldf[-1] - f_last * (t[beyond] - knots[-1])
        return out

    def prices(self, curve, extra=None):
        x = self.log_df(curve, self.t) - self.zt
        if extra is not None:
            x = x - extra * self.t
        return np.add.reduceat(self.a * np.exp(x), self.starts)

    def krd(self, curve, key_tenors):
        p0 = self.prices(curve)
        out = np.empty((len(p0), len(key_tenors)))
        k = np.asarray(key_tenors)
        for j in range(len(k)):
            values = np.zeros(len(k))
            values[j] = H
            s = np.interp(self.t, k, values)
            out[:, j] = (self.prices(curve, -s) - self.prices(curve, s)) / (2 * H * p0)
        return out


def numpy_bootstrap(quotes, valuation):
    """Sequential log-linear bootstrap with scipy's brentq, one pillar at a time."""
    knots, ldf = [0.0], [0.0]
    for q in read_quotes(quotes, valuation):
        t, a = map(np.asarray, q.flows(valuation))

        def residual(x, t=t, a=a):
            return float(a @ np.exp(np.interp(t, [*knots, t[-1]], [*ldf, x]))) - 1.0

        root = brentq(residual, -2.0 * t[-1], 0.5 * t[-1], xtol=1e-15)
        knots.append(float(t[-1]))
        ldf.append(root)
    return np.array(knots[1:]), np.array(ldf[1:])


# ---- QuantLib --------------------------------------------------------------------------


class QuantLibBook:
    """The same bonds in QuantLib, repriced through quote changes (observer recalculation)."""

    def __init__(self, problem):
        qlh.set_evaluation_date(VALUATION)
        self.shift = ql.SimpleQuote(0.0)
        shifted = qlh.spreaded(qlh.discount_curve(problem.curve, VALUATION), self.shift)
        self.bumps = [ql.SimpleQuote(0.0) for _ in KEY_DAYS]
        self.handle = qlh.tented(shifted, VALUATION, KEY_DAYS, self.bumps)
        self.bonds = []
        for i, row in problem.frame.iterrows():
            bond = qlh.bond(row, VALUATION)
            engine = ql.DiscountingBondEngine(qlh.spreaded(self.handle, float(problem.z[i])))
            bond.setPricingEngine(engine)
            self.bonds.append(bond)
        self.rows = [row for _, row in problem.frame.iterrows()]
        self.leg = [
            ql.SimpleCashFlow(float(a), qdate(d))
            for d, a in zip(problem.liabilities.dates, problem.liabilities.amounts, strict=True)
        ]
        self._toggle = False

    def prices(self):
        return np.array([b.dirtyPrice() for b in self.bonds])

    def liability_pv(self):
        return ql.CashFlows.npv(self.leg, self.handle, False, qdate(VALUATION), qdate(VALUATION))

    def reprice(self):
        # A changed quote is what forces QuantLib to recalculate; 1e-16 changes no digit we check.
        self._toggle = not self._toggle
        self.shift.setValue(1e-16 if self._toggle else 0.0)
        return self.prices()

    def krd(self):
        p0 = self.reprice()
        l0 = self.liability_pv()
        out, lout = np.empty((len(p0), len(self.bumps))), np.empty(len(self.bumps))
        for j, q in enumerate(self.bumps):
            q.setValue(-H)
            down, ldown = self.prices(), self.liability_pv()
            q.setValue(H)
            up, lup = self.prices(), self.liability_pv()
            q.setValue(0.0)
            out[:, j] = (down - up) / (2 * H * p0)
            lout[j] = (ldown - lup) / (2 * H * l0)
        return out, lout

    def bond_krd(self):
        p0 = self.reprice()
        out = np.empty((len(p0), len(self.bumps)))
        for j, q in enumerate(self.bumps):
            q.setValue(-H)
            down = self.prices()
            q.setValue(H)
            up = self.prices()
            q.setValue(0.0)
            out[:, j] = (down - up) / (2 * H * p0)
        return p0, out

    def analytics(self):
        """What ``BondBook.analytics`` computes: prices, yields, durations, convexity, KRDs."""
        dirty, krd = self.bond_krd()
        settle = qdate(VALUATION)
        ytm, macaulay, modified, convexity = (np.empty(len(dirty)) for _ in range(4))
        for i, (bond, row) in enumerate(zip(self.bonds, self.rows, strict=True)):
            dc = qlh.day_counter(row["day_count"])
            freq = qlh.FREQ[row["frequency"]] if row["frequency"] else ql.Annual
            price = ql.BondPrice(float(dirty[i]), ql.BondPrice.Dirty)
            y = ql.BondFunctions.bondYield(bond, price, dc, ql.Compounded, freq, settle, 1e-14, 100)
            rate = ql.InterestRate(y, dc, ql.Compounded, freq)
            ytm[i] = y
            macaulay[i] = ql.BondFunctions.duration(bond, rate, ql.Duration.Macaulay, settle)
            modified[i] = ql.BondFunctions.duration(bond, rate, ql.Duration.Modified, settle)
            convexity[i] = ql.BondFunctions.convexity(bond, rate, settle)
        return dirty, ytm, macaulay, modified, convexity, krd

    def shift300(self):
        self.shift.setValue(0.03)
        up = self.prices()
        self.shift.setValue(-0.03)
        down = self.prices()
        self.shift.setValue(0.0)
        return up, down


@pytest.fixture(scope="module")
def qlbook(problem):
    return QuantLibBook(problem)


@pytest.fixture(scope="module")
def npbook(problem):
    return NumpyBook(problem.book.layout, problem.z)


def _close(a, b, rtol, what):
    a, b = np.asarray(a), np.asarray(b)
    worst = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))
    assert worst < rtol, f"{what}: worst relative difference {worst:.2e} >= {rtol:g}"


# ---- bootstrap ------------------------------------------------------------------------


@pytest.mark.benchmark(group="bootstrap")
def test_bootstrap_fialloc_requote(benchmark, problem):
    # Like QuantLib below: instruments built once, a quote changes, the curve is re-solved.
    rates = np.array([q["rate"] for q in QUOTES])
    curve = benchmark(problem.curve.requote, rates)
    _close(curve.log_dfs, problem.curve.log_dfs, 1e-14, "bootstrap")


@pytest.mark.benchmark(group="bootstrap")
def test_bootstrap_fialloc_from_quotes(benchmark, problem):
    # Parsing, schedules and accruals included.
    curve = benchmark(bootstrap, QUOTES, VALUATION)
    _close(curve.log_dfs, problem.curve.log_dfs, 1e-14, "bootstrap")


@pytest.mark.benchmark(group="bootstrap")
def test_bootstrap_quantlib_from_quotes(benchmark, problem):
    # Like fialloc's bootstrap(quotes): rate helpers and schedules built, the curve solved.
    def run():
        qlh.set_evaluation_date(VALUATION)
        helpers = qlh.rate_helpers(QUOTES, VALUATION)
        curve = ql.PiecewiseLogLinearDiscount(qdate(VALUATION), helpers, ql.Actual365Fixed())
        curve.discount(1.0)
        return curve

    curve = benchmark(run)
    _close(
        [curve.discount(float(x)) for x in problem.curve.pillar_times],
        np.exp(problem.curve.log_dfs),
        1e-11,
        "QuantLib bootstrap from quotes",
    )


@pytest.mark.benchmark(group="bootstrap")
def test_bootstrap_numpy(benchmark, problem):
    _, ldf = benchmark(numpy_bootstrap, QUOTES, VALUATION)
    _close(ldf, problem.curve.log_dfs, 1e-12, "numpy bootstrap")


@pytest.mark.benchmark(group="bootstrap")
def test_bootstrap_quantlib(benchmark, problem):
    qlh.set_evaluation_date(VALUATION)
    quotes: list = []
    helpers = qlh.rate_helpers(QUOTES, VALUATION, quotes)
    curve = ql.PiecewiseLogLinearDiscount(qdate(VALUATION), helpers, ql.Actual365Fixed())
    first = quotes[0]
    base = first.value()
    state = {"flip": False}

    def run():
        state["flip"] = not state["flip"]
        first.setValue(base + (1e-16 if state["flip"] else 0.0))  # forces a new bootstrap
        return curve.discount(1.0)

    benchmark(run)
    t = problem.curve.pillar_times
    _close(
        [curve.discount(float(x)) for x in t],
        np.exp(problem.curve.log_dfs),
        1e-11,
        "QuantLib bootstrap",
    )


# ---- pricing ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="price")
def test_price_fialloc(benchmark, problem, npbook):
    prices = benchmark(problem.book.dirty_prices, problem.curve, problem.z)
    _close(prices, npbook.prices(problem.curve), 1e-12, "price vs numpy")


@pytest.mark.benchmark(group="price")
def test_price_numpy(benchmark, problem, npbook):
    prices = benchmark(npbook.prices, problem.curve)
    _close(prices, problem.book.dirty_prices(problem.curve, problem.z), 1e-12, "numpy price")


@pytest.mark.benchmark(group="price")
def test_price_quantlib(benchmark, problem, qlbook):
    prices = benchmark(qlbook.reprice)
    _close(prices, problem.book.dirty_prices(problem.curve, problem.z), 1e-8, "QuantLib price")


# ---- the kernels' exponential ----------------------------------------------------------


@pytest.fixture(scope="module")
def exp_args(problem, npbook):
    """The price pass's arguments: ln P(0, t) - z t of every flow of the book."""
    return npbook.log_df(problem.curve, npbook.t) - npbook.zt


def _exp_within_ulps(got, x):
    # Both are within about half an ulp of exp(x) (ours: 0.56 ulp on [-12, 1], tests/core).
    want = np.exp(x)
    assert np.all(np.abs(got - want) <= 2 * np.spacing(want)), "exp_values vs np.exp"


@pytest.mark.benchmark(group="exp")
def test_exp_fialloc(benchmark, exp_args):
    _exp_within_ulps(benchmark(_core.exp_values, exp_args), exp_args)


@pytest.mark.benchmark(group="exp")
def test_exp_numpy(benchmark, exp_args):
    _exp_within_ulps(_core.exp_values(exp_args), exp_args)
    benchmark(np.exp, exp_args)


# ---- key-rate durations ----------------------------------------------------------------


def _fialloc_krd(problem):
    bonds = problem.book.curve_risk(problem.curve, problem.z, key_tenors=KEY_TENORS)
    liabilities = problem.liabilities.curve_risk(problem.curve, key_tenors=KEY_TENORS)
    return bonds.krd, liabilities.krd[0]


@pytest.mark.benchmark(group="krd")
def test_krd_fialloc(benchmark, problem, npbook):
    krd, lkrd = benchmark(_fialloc_krd, problem)
    _close(krd, npbook.krd(problem.curve, KEY_TENORS), 1e-6, "KRD vs numpy")
    assert lkrd.sum() > 5.0  # a 60-year stream has real long-end exposure


@pytest.mark.benchmark(group="krd")
def test_krd_numpy(benchmark, problem, npbook):
    liab = NumpyBook(problem.liabilities.layout, [0.0])

    def run():
        return npbook.krd(problem.curve, KEY_TENORS), liab.krd(problem.curve, KEY_TENORS)

    krd, lkrd = benchmark(run)
    ours, lours = _fialloc_krd(problem)
    _close(krd, ours, 1e-6, "numpy KRD")
    _close(lkrd[0], lours, 1e-6, "numpy liability KRD")


@pytest.mark.benchmark(group="krd")
def test_krd_quantlib(benchmark, problem, qlbook):
    krd, lkrd = benchmark.pedantic(qlbook.krd, rounds=3, iterations=1)
    ours, lours = _fialloc_krd(problem)
    _close(krd, ours, 1e-6, "QuantLib KRD")
    _close(lkrd, lours, 1e-6, "QuantLib liability KRD")


# ---- the full analytics table ----------------------------------------------------------


def _check_analytics(frame, reference, what):
    dirty, ytm, macaulay, modified, convexity, krd = reference
    _close(frame["dirty_price"], dirty, 1e-8, f"{what}: dirty price")
    _close(frame["ytm"], ytm, 1e-9, f"{what}: yield")
    _close(frame["macaulay_duration"], macaulay, 1e-8, f"{what}: Macaulay duration")
    _close(frame["modified_duration"], modified, 1e-8, f"{what}: modified duration")
    _close(frame["convexity"], convexity, 1e-7, f"{what}: convexity")
    _close(frame.filter(like="krd_").to_numpy(), krd, 1e-6, f"{what}: KRD")


@pytest.mark.benchmark(group="analytics")
def test_analytics_fialloc(benchmark, problem, qlbook):
    frame = benchmark(
        problem.book.analytics, problem.curve, z_spread=problem.z, key_tenors=KEY_TENORS
    )
    _check_analytics(frame, qlbook.analytics(), "analytics vs QuantLib")


@pytest.mark.benchmark(group="analytics")
def test_analytics_quantlib(benchmark, problem, qlbook):
    reference = benchmark.pedantic(qlbook.analytics, rounds=3, iterations=1)
    ours = problem.book.analytics(problem.curve, z_spread=problem.z, key_tenors=KEY_TENORS)
    _check_analytics(ours, reference, "QuantLib analytics")


# ---- +-300 bp full repricing -----------------------------------------------------------


def _fialloc_shift(problem):
    up = problem.book.dirty_prices(problem.curve.shifted(300.0), problem.z)
    down = problem.book.dirty_prices(problem.curve.shifted(-300.0), problem.z)
    return up, down


@pytest.mark.benchmark(group="shift300")
def test_shift300_fialloc(benchmark, problem, npbook):
    up, down = benchmark(_fialloc_shift, problem)
    _close(up, npbook.prices(problem.curve, 0.03), 1e-12, "+300 vs numpy")
    _close(down, npbook.prices(problem.curve, -0.03), 1e-12, "-300 vs numpy")


@pytest.mark.benchmark(group="shift300")
def test_shift300_numpy(benchmark, problem, npbook):
    up, _ = benchmark(
        lambda: (npbook.prices(problem.curve, 0.03), npbook.prices(problem.curve, -0.03))
    )
    _close(up, _fialloc_shift(problem)[0], 1e-12, "numpy +300")


@pytest.mark.benchmark(group="shift300")
def test_shift300_quantlib(benchmark, problem, qlbook):
    up, down = benchmark(qlbook.shift300)
    ours = _fialloc_shift(problem)
    _close(up, ours[0], 1e-8, "QuantLib +300")
    _close(down, ours[1], 1e-8, "QuantLib -300")


# ---- building each curve form ------------------------------------------------------------
# Each pair builds the same curve from scratch and reads one discount factor (which makes
# QuantLib calculate): fialloc from points or quotes, QuantLib with the matching class. The
# points are the problem curve's 13 pillars; the par yields are 13 semiannual par bonds.

PAR_TENORS = ["6M", "1Y", "2Y", "3Y", "4Y", "5Y", "7Y", "10Y", "12Y", "15Y", "20Y", "25Y", "30Y"]
PAR_YIELDS = [0.041, 0.0405, 0.039, 0.0385, 0.0387, 0.039, 0.04, 0.0415, 0.042, 0.043, 0.044,
              0.0445, 0.0445]  # fmt: skip


def _node_dates(problem):
    days = np.rint(problem.curve.pillar_times * 365.0).astype(int)
    return [qdate(VALUATION)] + [qdate(VALUATION) + int(d) for d in days]


def _ql_nodes(kind, problem):
    dates = _node_dates(problem)
    t, ldf = problem.curve.pillar_times, problem.curve.log_dfs
    zeros = list(-ldf / t)
    if kind == "discount_factor":
        return ql.DiscountCurve(dates, [1.0, *np.exp(ldf)], ql.Actual365Fixed())
    cls = ql.ZeroCurve if kind == "linear_zero" else ql.NaturalCubicZeroCurve
    return cls(dates, [zeros[0], *zeros], ql.Actual365Fixed())


def _ql_bootstrap(kind, helpers):
    # Solved to 1e-14, near fialloc's 1e-15 (QuantLib's default stops at 1e-12).
    classes = {
        "par_yield": lambda *a: ql.PiecewiseLogLinearDiscount(*a),
        "linear_zero": lambda *a: ql.PiecewiseLinearZero(*a),
        "monotone_convex": lambda *a: ql.PiecewiseConvexMonotoneForward(
            *a, ql.ConvexMonotone(0.0, 1.0, False)
        ),
    }
    accurate = ql.IterativeBootstrap(1e-14)
    return classes[kind](qdate(VALUATION), helpers, ql.Actual365Fixed(), accurate)


def _fialloc_build(kind, problem):
    t, ldf = problem.curve.pillar_times, problem.curve.log_dfs
    if kind == "discount_factor":
        curve = Curve.from_discount_factors(t, np.exp(ldf), VALUATION)
    elif kind in ("linear_zero_points", "natural_cubic_points"):
        curve = Curve.from_zero_rates(t, -ldf / t, VALUATION, kind.removesuffix("_points"))
    elif kind == "par_yield":
        curve = Curve.from_par_yields(PAR_TENORS, PAR_YIELDS, VALUATION)
    else:
        curve = bootstrap(QUOTES, VALUATION, kind)
    curve.discount(1.0)
    return curve


def _quantlib_build(kind, problem):
    qlh.set_evaluation_date(VALUATION)
    if kind in ("discount_factor", "linear_zero_points", "natural_cubic_points"):
        curve = _ql_nodes(kind.removesuffix("_points"), problem)
    elif kind == "par_yield":
        quotes = [
            {"kind": "par_bond", "tenor": t, "rate": r}
            for t, r in zip(PAR_TENORS, PAR_YIELDS, strict=True)
        ]
        curve = _ql_bootstrap("par_yield", qlh.rate_helpers(quotes, VALUATION))
    else:
        curve = _ql_bootstrap(kind, qlh.rate_helpers(QUOTES, VALUATION))
    curve.discount(1.0)
    return curve


CURVE_FORMS = {
    "discount_factor": "discount factors, log-linear",
    "linear_zero_points": "zero rates, linear",
    "natural_cubic_points": "zero rates, natural cubic",
    "par_yield": "13 par yields, log-linear",
    "linear_zero": "13 quotes, linear zero",
    "monotone_convex": "13 quotes, monotone convex",
}


@pytest.mark.parametrize("kind", list(CURVE_FORMS))
def test_curve_form_fialloc(benchmark, problem, kind):
    benchmark.group = f"curve form: {CURVE_FORMS[kind]}"
    ours = benchmark(_fialloc_build, kind, problem)
    ref = _quantlib_build(kind, problem)
    t = np.linspace(0.0, ours.pillar_times[-1], 400)
    _close(ours.discount(t), [ref.discount(float(x)) for x in t], 1e-12, f"{kind} vs QuantLib")


@pytest.mark.parametrize("kind", list(CURVE_FORMS))
def test_curve_form_quantlib(benchmark, problem, kind):
    benchmark.group = f"curve form: {CURVE_FORMS[kind]}"
    benchmark(_quantlib_build, kind, problem)
