"""The kernels' exponential (``exp_value`` in ``cpp/include/fialloc/vexp.hpp``).

Every price, discount factor and path of fialloc goes through it: a table-driven reduction
(2^(j/16) and its rounding error) and a degree-7 polynomial, without fused multiply-adds so
that every CPU gives the same bits. These tests check its accuracy against independent
references (mpmath at 40 digits, the platform's long-double exp) and that its builds (the scalar
exp_value and its AVX2 and AVX-512 intrinsics) and the pricing passes that use them agree
bitwise, clamped and NaN arguments included.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from fialloc import _core

CLAMP = (-708.0, 709.0)


def ulp_errors(x: np.ndarray, got: np.ndarray) -> np.ndarray:
    """|got - exp(x)| in units of the last place of exp(x), exp(x) from mpmath at 40 digits."""
    out = np.empty(len(x))
    with mpmath.workdps(40):
        for i, (xi, gi) in enumerate(zip(x, got, strict=True)):
            exact = mpmath.exp(mpmath.mpf(float(xi)))
            _, e = mpmath.frexp(exact)
            out[i] = float(abs(mpmath.mpf(float(gi)) - exact) / mpmath.ldexp(1, int(e) - 53))
    return out


@pytest.mark.parametrize(
    ("lo", "hi", "bound"),
    # Bounds: the maxima over 10^7 random arguments each (0.557 and 0.768 ulp) plus a margin.
    [(-12.0, 1.0, 0.6), (-0.05, 0.05, 0.6), (CLAMP[0], CLAMP[1], 0.8)],
)
def test_within_a_fraction_of_an_ulp_of_mpmath(lo, hi, bound):
    x = np.random.default_rng(19).uniform(lo, hi, 3000)
    err = ulp_errors(x, _core.exp_values(x))
    assert err.max() <= bound, (x[err.argmax()], err.max())
    # Nearly correctly rounded: over 10^7 arguments 0.17% are off by one rounding.
    assert np.mean(err > 0.5) <= 0.01


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double")
def test_two_million_arguments_against_long_double():
    rng = np.random.default_rng(2026)
    x = np.concatenate([rng.uniform(-12.0, 1.0, 1_000_000), rng.uniform(*CLAMP, 1_000_000)])
    exact = np.exp(x.astype(np.longdouble))
    _, e = np.frexp(exact.astype(np.float64))
    ulp = np.ldexp(np.longdouble(1.0), (e - 53).astype(np.int64))
    err = np.abs(_core.exp_values(x).astype(np.longdouble) - exact) / ulp
    assert float(err[:1_000_000].max()) <= 0.6
    assert float(err.max()) <= 0.8


def test_clamps_and_keeps_nan():
    x = np.array([-np.inf, -1e308, -1000.0, -708.0, 0.0, -0.0, 709.0, 710.0, 1e308, np.inf])
    got = _core.exp_values(x)
    lo, hi = _core.exp_values(np.array(CLAMP))
    assert lo == pytest.approx(np.exp(CLAMP[0]), rel=1e-15)
    assert hi == pytest.approx(np.exp(CLAMP[1]), rel=1e-15)
    np.testing.assert_array_equal(got, [lo, lo, lo, lo, 1.0, 1.0, hi, hi, hi, hi])
    assert np.isnan(_core.exp_values(np.array([np.nan]))[0])
    assert _core.exp_values(np.array([1.0]))[0] == np.exp(1.0)


BUILDS = ("portable", "avx2", "avx512")


def runnable_builds() -> list[str]:
    return list(BUILDS[: BUILDS.index(_core.exp_isa()) + 1])


def every_kind_of_argument() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.concatenate(
        [
            rng.uniform(-12.0, 1.0, 4000),
            rng.uniform(*CLAMP, 2000),
            rng.normal(0.0, 1e-3, 500),
            [-800.0, -708.0, -707.9, 0.0, -0.0, 708.9, 709.0, 750.0, np.inf, -np.inf, np.nan],
            np.arange(-64, 65) * np.log(2.0) / 16.0,  # on and next to table entries
        ]
    )


def test_each_build_of_the_exponential_gives_the_same_bits():
    """The scalar exp_value, AVX2 (gathers) and AVX-512 (permutes), every length's tail."""
    x = every_kind_of_argument()
    want = _core.exp_values(x, "portable")
    for isa in runnable_builds():
        np.testing.assert_array_equal(_core.exp_values(x, isa), want)
        for n in range(1, 20):
            np.testing.assert_array_equal(_core.exp_values(x[:n], isa), want[:n])
    np.testing.assert_array_equal(_core.exp_values(x), want)


def test_a_build_the_cpu_lacks_or_an_unknown_one_is_refused():
    with pytest.raises(ValueError, match="isa"):
        _core.exp_values(np.zeros(2), "sse9")
    missing = [isa for isa in BUILDS if isa not in runnable_builds()]
    for isa in missing:
        with pytest.raises(ValueError, match="cannot run"):
            _core.exp_values(np.zeros(2), isa)


def test_the_pricing_passes_give_the_exponentials_bits():
    """exp_values, the portable pricing pass and the cached (AVX-512 where the CPU has it) one.

    One flow of amount 1 at t = 1 per stream on a flat zero curve (ln P = 0) with z-spread -x
    is priced at exactly exp(x): 0 - (-x) * 1 = x with no rounding.
    """
    x = every_kind_of_argument()
    x = x[np.isfinite(x)]  # z-spreads must be finite
    offsets, ones = np.arange(len(x) + 1, dtype=np.int64), np.ones(len(x))
    pillars, log_dfs, none = np.array([1.0, 2.0]), np.zeros(2), np.empty(0)
    book = _core.FlowBook(offsets, ones, ones)
    want = _core.exp_values(x)
    cached = book.price(pillars, log_dfs, 0, 0, none, none, -x)
    portable = _core.price_streams(offsets, ones, ones, pillars, log_dfs, 0, 0, none, none, -x)
    np.testing.assert_array_equal(cached, want)
    np.testing.assert_array_equal(portable, want)
