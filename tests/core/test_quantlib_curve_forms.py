"""Curve forms, interpolations and extrapolations against QuantLib (an independent reference).

Which QuantLib object each fialloc curve is checked against:

- ``log_linear``: ``DiscountCurve``; bootstrap ``PiecewiseLogLinearDiscount``;
- ``linear_zero``: ``ZeroCurve`` (linear on continuous zero rates); ``PiecewiseLinearZero``;
- ``natural_cubic``: ``NaturalCubicZeroCurve`` inside the nodes; ``PiecewiseNaturalCubicZero``;
- ``monotone_convex``: QuantLib's ``ConvexMonotoneInterpolation`` with quadraticity 0,
  monotonicity 1 and no forced positivity is exactly Hagan and West's 2006 monotone convex
  method (its defaults 0.3/0.7/positive blend in a quadratic and the positivity amendment, which
  fialloc does not use). Python QuantLib exposes that interpolation's forwards but not its
  integral, so discount factors are checked against a quadrature of QuantLib's forwards, and the
  bootstrap against ``PiecewiseConvexMonotoneForward`` with ``ConvexMonotone(0, 1, False)``.

Extrapolation: QuantLib's curves (natural cubic zero curves included, in QuantLib 1.44)
extrapolate with a flat instantaneous forward, as fialloc's ``flat_forward`` does; for monotone
convex the forward beyond is checked against QuantLib's forward at the last node. ``flat_zero``
is checked against a QuantLib ``ZeroCurve`` that holds the last zero rate out to 150 years.

Every check prints the calculated value, the expected value and their difference on failure.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings

import numpy as np
import pytest

from fialloc import Curve
from fialloc.curves import (
    DEFAULT_KEY_TENORS,
    INTERPOLATIONS,
    bootstrap,
    curve_from_points,
    read_quotes,
    tent_overlay,
)

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql
check = qlh.check
integrate = pytest.importorskip("scipy.integrate")

pytestmark = pytest.mark.reference

NODE_TOL = 1e-13  # the same nodes interpolated by both libraries: discount factors, zero rates
QUAD_TOL = 1e-12  # discount factors against a quadrature of QuantLib's forwards
BOOT_TOL = 1e-12  # bootstrapped discount factors (each library solves to 1e-14 or better)
BUMP_TOL = 1e-12  # bumped discount factors


def random_nodes(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole-day nodes within 40 years and log discount factors (forwards in [-1%, 9%])."""
    days = np.sort(rng.choice(np.arange(1, 40 * 365), n, replace=False))
    times = days / 365.0
    forwards = rng.uniform(-0.01, 0.09, n)
    return times, -np.cumsum(forwards * np.diff(np.concatenate([[0.0], times])))


def ql_dates(valuation: dt.date, times: np.ndarray) -> list:
    return [qlh.qdate(valuation + dt.timedelta(days=int(d))) for d in np.rint(times * 365.0)]


def ql_node_curve(interpolation: str, valuation: dt.date, times, log_dfs):
    """QuantLib term structure through the nodes, or None for monotone convex (see module doc)."""
    dates = [qlh.qdate(valuation), *ql_dates(valuation, times)]
    zeros = -log_dfs / times
    if interpolation == "log_linear":
        ts = ql.DiscountCurve(dates, [1.0, *np.exp(log_dfs)], ql.Actual365Fixed())
    elif interpolation == "linear_zero":
        ts = ql.ZeroCurve(dates, [zeros[0], *zeros], ql.Actual365Fixed())
    elif interpolation == "natural_cubic":
        ts = ql.NaturalCubicZeroCurve(dates, [zeros[0], *zeros], ql.Actual365Fixed())
    else:
        return None
    ts.enableExtrapolation()
    return ts


def hagan_west(times, log_dfs):
    """QuantLib's monotone convex forwards through the nodes and their integral, -ln P."""
    forwards = -np.diff(np.concatenate([[0.0], log_dfs])) / np.diff(np.concatenate([[0.0], times]))
    knots = [0.0, *times]
    interp = ql.ConvexMonotoneInterpolation(
        ql.Array(knots), ql.Array([forwards[0], *forwards]), 0.0, 1.0, False
    )

    def forward(t: float) -> float:
        return interp(float(t), True)

    def minus_log_discount(t: float) -> float:
        # Both libraries reprice the nodes by construction (the forward's correction integrates
        # to zero over each gap), so integrate only from the node before t.
        i = int(np.searchsorted(times, t, side="right"))
        start, base = knots[i], (-log_dfs[i - 1] if i > 0 else 0.0)
        # The forward may turn sharply near where its quadratic changes form; 64 slices keep
        # the adaptive rule from stepping over that.
        edges = np.linspace(start, t, 65)
        with warnings.catch_warnings():  # the check judges the accuracy
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            part = sum(
                integrate.quad(forward, a, b, epsabs=1e-17, epsrel=1e-15)[0]
                for a, b in itertools.pairwise(edges)
            )
        return base + part

    return forward, minus_log_discount


def node_cases():
    return [
        pytest.param(interp, seed, id=f"{interp}-{seed}")
        for interp in INTERPOLATIONS
        for seed in range(4)
    ]


@pytest.mark.parametrize(("interpolation", "seed"), node_cases())
def test_node_curve_matches_quantlib(interpolation, seed):
    rng = np.random.default_rng(300 + 17 * seed + len(interpolation))
    valuation = qlh.month_end_or(2024 + seed, 2 + 3 * seed, 31)
    times, log_dfs = random_nodes(rng, int(rng.integers(1 if seed == 0 else 3, 25)))
    ours = Curve(times, log_dfs, interpolation, valuation)
    inside = np.concatenate([[0.0], times, np.sort(rng.uniform(0.0, times[-1], 300))])
    beyond = times[-1] + np.array([0.25, 3.0, 17.0, 45.0])
    labels = [f"t={x:.6f}y" for x in inside]
    ref = ql_node_curve(interpolation, valuation, times, log_dfs)
    if ref is None:  # monotone convex
        forward, minus_log_discount = hagan_west(times, log_dfs)
        check(
            "monotone convex forwards",
            ours.forward_rate(inside),
            [forward(x) for x in inside],
            NODE_TOL,
            labels=labels,
        )
        sample = inside[::10]
        check(
            "monotone convex discount factors",
            ours.discount(sample),
            [np.exp(-minus_log_discount(x)) for x in sample],
            QUAD_TOL,
            labels=[f"t={x:.6f}y" for x in sample],
        )
        check(
            "monotone convex flat forward beyond the last node",
            ours.forward_rate(beyond),
            np.full(len(beyond), forward(times[-1])),
            NODE_TOL,
        )
        return
    check(
        f"{interpolation} discount factors",
        ours.discount(inside),
        [ref.discount(float(x)) for x in inside],
        NODE_TOL,
        labels=labels,
    )
    positive = inside[inside > 1e-3]
    check(
        f"{interpolation} zero rates",
        ours.zero_rate(positive),
        [ref.zeroRate(float(x), ql.Continuous).rate() for x in positive],
        NODE_TOL,
        labels=[f"t={x:.6f}y" for x in positive],
    )
    check(
        f"{interpolation} discount factors beyond the last node",
        ours.discount(beyond),
        [ref.discount(float(x)) for x in beyond],
        NODE_TOL,
    )


@pytest.mark.parametrize("interpolation", list(INTERPOLATIONS))
@pytest.mark.parametrize("seed", range(3))
def test_flat_zero_extrapolation_matches_quantlib(interpolation, seed):
    rng = np.random.default_rng(400 + seed)
    valuation = dt.date(2026, 6, 30) + dt.timedelta(days=int(41 * seed))
    times, log_dfs = random_nodes(rng, int(rng.integers(2, 15)))
    flat_zero = Curve(times, log_dfs, interpolation, valuation, extrapolation="flat_zero")
    flat_fwd = Curve(times, log_dfs, interpolation, valuation)
    inside = np.sort(rng.uniform(0.0, times[-1], 200))
    check(
        "flat_zero leaves the curve inside its nodes alone",
        flat_zero.discount(inside),
        flat_fwd.discount(inside),
        0.0,
    )
    z_last = -log_dfs[-1] / times[-1]
    dates = [qlh.qdate(valuation), ql_dates(valuation, times)[-1], qlh.qdate(valuation) + 150 * 365]
    ref = ql.ZeroCurve(dates, [z_last] * 3, ql.Actual365Fixed())
    beyond = times[-1] + np.sort(rng.uniform(0.0, 100.0, 50))
    check(
        "flat_zero discount factors beyond the last node",
        flat_zero.discount(beyond),
        [ref.discount(float(x)) for x in beyond],
        NODE_TOL,
    )
    check(
        "flat_zero zero rates beyond the last node",
        flat_zero.zero_rate(beyond),
        [ref.zeroRate(float(x), ql.Continuous).rate() for x in beyond],
        NODE_TOL,
    )


@pytest.mark.parametrize(
    "form", ["zero_continuous", "zero_annual", "zero_semiannual", "discount_factor"]
)
@pytest.mark.parametrize("seed", range(3))
def test_zero_and_discount_tables_match_quantlib(form, seed):
    rng = np.random.default_rng(500 + seed)
    valuation = qlh.month_end_or(2025, 1 + 4 * seed, 30)
    tenors = ["1M", "3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "20Y", "30Y"]
    rates = np.clip(
        rng.uniform(0.0, 0.07) + np.cumsum(rng.normal(0.0, 0.004, len(tenors))), -0.005, 0.09
    )
    dates = [qlh.qdate(valuation) + qlh.period(t) for t in tenors]
    qtimes = np.array([ql.Actual365Fixed().yearFraction(qlh.qdate(valuation), d) for d in dates])
    compounding = {
        "zero_continuous": (ql.Continuous, ql.NoFrequency),
        "zero_annual": (ql.Compounded, ql.Annual),
        "zero_semiannual": (ql.Compounded, ql.Semiannual),
    }
    if form == "discount_factor":
        values = np.exp(-rates * qtimes)
        expected = values
    else:
        values = rates
        comp, freq = compounding[form]
        expected = np.array(
            [
                ql.InterestRate(float(r), ql.Actual365Fixed(), comp, freq).discountFactor(float(t))
                for r, t in zip(rates, qtimes, strict=True)
            ]
        )
    points = [{"tenor": t, "value": float(v)} for t, v in zip(tenors, values, strict=True)]
    ours = curve_from_points(points, valuation, form)
    check(f"{form}: pillar times", ours.pillar_times, qtimes, 0.0)
    # QuantLib compounds with pow, fialloc with log1p: a few ulps apart.
    check(f"{form}: discount factors at the points", ours.discount(qtimes), expected, 1e-14)
    # Between the points the default interpolation is log-linear: QuantLib's DiscountCurve.
    ref = ql.DiscountCurve([qlh.qdate(valuation), *dates], [1.0, *expected], ql.Actual365Fixed())
    ref.enableExtrapolation()
    t = np.sort(rng.uniform(0.0, 45.0, 200))
    check(
        f"{form}: discount factors between and beyond",
        ours.discount(t),
        [ref.discount(float(x)) for x in t],
        NODE_TOL,
    )


PAR_CLASSES = {
    "log_linear": lambda *a: ql.PiecewiseLogLinearDiscount(*a),
    "linear_zero": lambda *a: ql.PiecewiseLinearZero(*a),
    "natural_cubic": lambda *a: ql.PiecewiseNaturalCubicZero(*a),
    "monotone_convex": lambda *a: ql.PiecewiseConvexMonotoneForward(
        *a, ql.ConvexMonotone(0.0, 1.0, False)
    ),
}


def ql_bootstrap(interpolation: str, valuation: dt.date, helpers):
    # 1e-14: QuantLib's convex monotone bootstrap does not always reach 1e-15.
    return PAR_CLASSES[interpolation](
        qlh.qdate(valuation), helpers, ql.Actual365Fixed(), ql.IterativeBootstrap(1e-14)
    )


@pytest.mark.parametrize("interpolation", list(INTERPOLATIONS))
@pytest.mark.parametrize("seed", range(3))
def test_par_yield_table_matches_quantlib(interpolation, seed):
    rng = np.random.default_rng(600 + seed)
    valuation = qlh.month_end_or(2026, 2 + 5 * seed, 29)
    tenors = qlh.TENOR_SETS[("standard", "sparse", "short")[seed]]
    yields = np.round(
        np.clip(0.03 + np.cumsum(rng.normal(0.0, 0.004, len(tenors))), 0.005, 0.08), 6
    )
    freq = (2, 1, 4)[seed]
    points = [
        {"tenor": t, "value": float(y), "frequency": freq}
        for t, y in zip(tenors, yields, strict=True)
    ]
    ours = curve_from_points(points, valuation, "par_yield", interpolation)
    qlh.set_evaluation_date(valuation)
    quotes = [
        {"kind": "par_bond", "tenor": p["tenor"], "rate": p["value"], "frequency": freq}
        for p in points
    ]
    ref = ql_bootstrap(interpolation, valuation, qlh.rate_helpers(quotes, valuation))
    t = np.sort(rng.uniform(0.0, ours.pillar_times[-1], 200))
    check(
        f"par yields, {interpolation}: discount factors",
        ours.discount(t),
        [ref.discount(float(x)) for x in t],
        BOOT_TOL,
        labels=[f"t={x:.6f}y" for x in t],
    )


@pytest.mark.parametrize("interpolation", ["linear_zero", "monotone_convex"])
@pytest.mark.parametrize("tenor_set", ["standard", "sparse", "dense", "short"])
def test_bootstrap_new_interpolations_match_quantlib(interpolation, tenor_set):
    rng = np.random.default_rng(700 + len(tenor_set) + len(interpolation))
    valuation = qlh.month_end_or(2027, 1 + len(tenor_set), 31)
    quotes = qlh.random_quotes(rng, qlh.TENOR_SETS[tenor_set], True)
    for extrapolation in ("flat_forward", "flat_zero"):
        ours = bootstrap(quotes, valuation, interpolation, extrapolation)
        qlh.set_evaluation_date(valuation)
        ref = ql_bootstrap(interpolation, valuation, qlh.rate_helpers(quotes, valuation))
        t = np.sort(rng.uniform(0.0, ours.pillar_times[-1], 200))
        check(
            f"{interpolation} bootstrap ({tenor_set}): discount factors",
            ours.discount(t),
            [ref.discount(float(x)) for x in t],
            BOOT_TOL,
            labels=[f"t={x:.6f}y" for x in t],
        )


@pytest.mark.parametrize("interpolation", ["log_linear", "linear_zero", "natural_cubic"])
@pytest.mark.parametrize("seed", range(2))
def test_key_rate_bumps_on_node_curves_match_quantlib(interpolation, seed):
    rng = np.random.default_rng(800 + seed)
    valuation = dt.date(2025, 9, 30) + dt.timedelta(days=int(90 * seed))
    times, log_dfs = random_nodes(rng, 12)
    ours = Curve(times, log_dfs, interpolation, valuation)
    handle = ql.YieldTermStructureHandle(ql_node_curve(interpolation, valuation, times, log_dfs))
    keys = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
    key_days = [round(k * 365) for k in keys]
    keys = tuple(d / 365.0 for d in key_days)  # whole days, so both libraries bump the same times
    bumps = [ql.SimpleQuote(0.0) for _ in keys]
    ref = qlh.tented(handle, valuation, key_days, bumps)
    t = np.sort(rng.uniform(0.0, times[-1], 200))
    for j in (0, 4, len(keys) - 1):
        bumps[j].setValue(25e-4)
        check(
            f"{interpolation} key-rate bump at {keys[j]:.4f}y",
            ours.key_rate_bumped(keys[j], 25.0, keys).discount(t),
            [ref.discount(float(x)) for x in t],
            BUMP_TOL,
        )
        bumps[j].setValue(0.0)


@pytest.mark.parametrize("interpolation", list(INTERPOLATIONS))
def test_par_bumps_on_a_zero_curve_match_quantlib(interpolation):
    # A zero curve has no quotes: fialloc quotes it as semiannual par bonds maturing on its
    # pillars, moves their yields by the tent, and bootstraps again. QuantLib bootstraps the
    # same bonds at the moved yields.
    rng = np.random.default_rng(900 + len(interpolation))
    valuation = dt.date(2026, 3, 16)
    tenors = ["3M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "20Y", "30Y"]
    zeros = np.clip(0.035 + np.cumsum(rng.normal(0.0, 0.003, len(tenors))), 0.005, 0.08)
    ours = curve_from_points(
        [{"tenor": t, "value": float(z)} for t, z in zip(tenors, zeros, strict=True)],
        valuation,
        "zero_annual",
        interpolation,
    )
    check(
        "a par bump of 0bp gives the curve back",
        ours.par_bumped(5.0, 0.0).discount(ours.pillar_times),
        ours.discount(ours.pillar_times),
        1e-14,
    )
    implied = ours._par_instruments()
    qlh.set_evaluation_date(valuation)
    for tenor in (0.5, 5.0, 30.0):
        bumped = ours.par_bumped(tenor, 10.0)
        knots, values = tent_overlay(DEFAULT_KEY_TENORS, DEFAULT_KEY_TENORS.index(tenor))
        moved = implied.rates + np.interp(ours.pillar_times, knots, values) * 10e-4
        quotes = [
            {"kind": "par_bond", "tenor": f"{round(t * 365)}D", "rate": float(r)}
            for t, r in zip(ours.pillar_times, moved, strict=True)
        ]
        ref = ql_bootstrap(interpolation, valuation, qlh.rate_helpers(quotes, valuation))
        t = np.sort(rng.uniform(0.0, 30.0, 100))
        check(
            f"{interpolation} par bump at {tenor}y",
            bumped.discount(t),
            [ref.discount(float(x)) for x in t],
            BOOT_TOL,
        )


@pytest.mark.parametrize("seed", [*range(6), 38])
def test_every_interpolation_bootstraps_every_tenor_set(seed):
    # No reference: QuantLib's own bootstrap fails on some of these (long last gaps). Seed 38's
    # "gaps" set made monotone convex passes cycle; Newton on all pillars takes over.
    rng = np.random.default_rng(seed)
    valuation = dt.date(2023, 11, 28) + dt.timedelta(days=11 * seed)
    for tenor_set in qlh.TENOR_SETS.values():
        quotes = qlh.random_quotes(rng, tenor_set, True)
        for interpolation in ("linear_zero", "monotone_convex"):
            curve = bootstrap(quotes, valuation, interpolation)
            for q in read_quotes(quotes, valuation):
                times, amounts = q.flows(valuation)
                pv = float(np.dot(amounts, curve.discount(np.array(times))))
                assert abs(pv - 1.0) <= 1e-12, (interpolation, q.label, pv - 1.0)
