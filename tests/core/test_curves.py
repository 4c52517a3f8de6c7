"""Properties of every curve form (Hypothesis), beside the QuantLib comparisons.

- every interpolation and extrapolation goes through its nodes and is continuous;
- monotone convex keeps monotone discrete forwards monotone (Hagan and West's property);
- key-rate bumps add up to the parallel shift, on every interpolation;
- a par bump of 0 bp gives the curve back on every form.
"""

from __future__ import annotations

import datetime as dt

import hypothesis
import hypothesis.strategies as st
import numpy as np

from fialloc import Curve
from fialloc.curves import DEFAULT_KEY_TENORS, EXTRAPOLATIONS, INTERPOLATIONS

VALUATION = dt.date(2026, 9, 30)


@st.composite
def node_curves(draw, monotone: bool = False):
    """Whole-day nodes within 40 years with discrete forwards in [-2%, 12%]."""
    days = draw(st.lists(st.integers(1, 40 * 365), min_size=1, max_size=20, unique=True))
    times = np.sort(np.array(days)) / 365.0
    fwd = np.array(
        draw(
            st.lists(
                st.floats(-0.02, 0.12, allow_nan=False),
                min_size=len(times),
                max_size=len(times),
            )
        )
    )
    if monotone:
        fwd = np.sort(fwd)[:: draw(st.sampled_from([1, -1]))]
    log_dfs = -np.cumsum(fwd * np.diff(np.concatenate([[0.0], times])))
    return times, log_dfs


@hypothesis.given(
    node_curves(), st.sampled_from(list(INTERPOLATIONS)), st.sampled_from(list(EXTRAPOLATIONS))
)
def test_every_curve_goes_through_its_nodes_and_is_continuous(nodes, interpolation, extrapolation):
    times, log_dfs = nodes
    curve = Curve(times, log_dfs, interpolation, VALUATION, extrapolation=extrapolation)
    np.testing.assert_allclose(np.log(curve.discount(times)), log_dfs, rtol=0, atol=1e-13)
    # Either side of each node ln P moves by at most |forward| * 2e-9 (forwards stay finite).
    eps = 1e-9
    left = np.log(curve.discount(times - eps))
    right = np.log(curve.discount(times + eps))
    assert np.all(np.abs(right - left) <= 2 * eps * 10.0)
    # flat_zero holds the last zero rate, flat_forward the last forward.
    beyond = times[-1] + np.array([1.0, 10.0, 50.0])
    if extrapolation == "flat_zero":
        np.testing.assert_allclose(
            curve.zero_rate(beyond), -log_dfs[-1] / times[-1], rtol=0, atol=1e-14
        )
    else:
        f = curve.forward_rate(beyond)
        np.testing.assert_allclose(f, f[0], rtol=0, atol=1e-14)


@hypothesis.given(node_curves(monotone=True))
def test_monotone_convex_keeps_monotone_forwards_monotone(nodes):
    times, log_dfs = nodes
    fd = -np.diff(np.concatenate([[0.0], log_dfs])) / np.diff(np.concatenate([[0.0], times]))
    curve = Curve(times, log_dfs, "monotone_convex")
    f = curve.forward_rate(np.linspace(0.0, times[-1], 1500))
    steps = np.diff(f) * (1.0 if fd[-1] >= fd[0] else -1.0)
    assert steps.min() >= -1e-12


@hypothesis.given(node_curves(), st.sampled_from(list(INTERPOLATIONS)))
def test_key_rate_bumps_add_up_to_the_parallel_shift(nodes, interpolation):
    times, log_dfs = nodes
    curve = Curve(times, log_dfs, interpolation, VALUATION)
    t = np.linspace(0.0, 60.0, 301)
    base = np.log(curve.discount(t))
    total = sum(
        np.log(curve.key_rate_bumped(k, 7.0).discount(t)) - base for k in DEFAULT_KEY_TENORS
    )
    np.testing.assert_allclose(total, np.log(curve.shifted(7.0).discount(t)) - base, atol=1e-13)


@hypothesis.settings(max_examples=25)
@hypothesis.given(node_curves(), st.sampled_from(list(INTERPOLATIONS)))
# Found by CI: a spline whose discount overflows (no par yields), and one whose swing to a
# discount of 1,546 carries the solve's error in proportion.
@hypothesis.example(
    (np.array([1.0, 2.0, 8113.0]) / 365.0, np.full(3, -0.00017123)), "natural_cubic"
)
@hypothesis.example((np.array([1.0, 2.0, 827.0]) / 365.0, np.full(3, -0.00017123)), "natural_cubic")
def test_a_zero_par_bump_gives_any_curve_back(nodes, interpolation):
    # A curve given by points is quoted as par bonds at its pillars and bootstrapped again.
    times, log_dfs = nodes
    curve = Curve(times, log_dfs, interpolation, VALUATION)
    refused = None
    try:
        again = curve.par_bumped(5.0, 0.0)
    except ValueError as err:
        refused = str(err)
    if refused is not None:
        # Refused only where the natural spline swings the log discount past exp's range
        # between pillars (a one-day and a two-day pillar under a 22-year one): no par yields.
        assert "overflow" in refused
        assert np.max(curve.discount(np.linspace(0.0, times[-1], 20001))) > 1e300
        return
    np.testing.assert_array_equal(again.pillar_times, curve.pillar_times)
    t = np.linspace(0.0, times[-1], 200)
    # The local interpolations rebuild each pillar alone: to rounding. The natural spline is
    # global and its solve stops at a pillar repricing error near 1e-15, which its curvature
    # carries along the curve amplified by the longest pillar over the closest pillar spacing
    # (a one-day and a two-day pillar under a 12-year curve: 2.5e-10 of discount at worst over
    # 3,000 drawn curves, 12x the 1e-13 x that ratio; 1e-11 x it leaves room). The error is
    # one of log discount, so in discount it scales with the discount (1,546 at the swing of
    # a spline through a one-day and a two-day pillar under a 2.3-year one).
    spacing = float(np.diff(np.concatenate([[0.0], times])).min())
    scale = max(1.0, float(np.max(curve.discount(t))))
    atol = 1e-11 * scale * times[-1] / spacing if interpolation == "natural_cubic" else 1e-12
    np.testing.assert_allclose(again.discount(t), curve.discount(t), rtol=0, atol=atol)
