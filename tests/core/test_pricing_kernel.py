"""The cached pricing kernel (``_core.FlowBook``) against the uncached functions and numpy.

The kernel caches each book's segment indices per curve knot grid and its tent weights per
key-tenor grid; these tests check that the caches never change a digit (bitwise equality with
the functions that search afresh on every call, whatever the order of curves and grids, from
several threads, after pickling) and that the numbers agree with an independent numpy pricing.
"""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fialloc import _core

INTERPOLATIONS = (0, 1, 2, 3)


def random_layout(rng: np.random.Generator, n_streams: int) -> tuple[np.ndarray, ...]:
    lengths = rng.integers(1, 80, n_streams)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    times = np.concatenate([np.sort(rng.uniform(0.0, 45.0, k)) for k in lengths])
    amounts = rng.uniform(-5.0, 105.0, len(times))
    return offsets, times, amounts


def random_curve(rng: np.random.Generator, interpolation: int, overlay: bool) -> tuple:
    n = int(rng.integers(1, 16))
    pillars = np.cumsum(rng.uniform(0.05, 5.0, n))
    log_dfs = -pillars * rng.uniform(0.0, 0.08, n)
    knots = np.sort(rng.uniform(0.0, 40.0, 3)) if overlay else np.empty(0)
    values = rng.uniform(-0.01, 0.01, len(knots))
    return pillars, log_dfs, interpolation, int(rng.integers(0, 2)), knots, values


@pytest.mark.parametrize("seed", range(12))
def test_cached_kernel_is_bitwise_the_uncached_one(seed):
    rng = np.random.default_rng(seed)
    layout = random_layout(rng, int(rng.integers(1, 60)))
    book = _core.FlowBook(*layout)
    keys = np.sort(rng.choice(np.arange(0.25, 40.0, 0.25), int(rng.integers(1, 10)), False))
    # More grids than the cache holds, each visited twice in a shuffled order.
    curves = [random_curve(rng, i % 4, bool(i % 3 == 0)) for i in range(12)]
    order = rng.permutation(np.tile(np.arange(len(curves)), 2))
    for k in order:
        curve = curves[k]
        z = rng.uniform(-0.02, 0.05, len(layout[0]) - 1)
        bump = float(rng.choice([1e-4, 1e-3, 0.09]))  # 0.09 x 45y takes the exp form of sinh
        np.testing.assert_array_equal(
            book.price(*curve, z), _core.price_streams(*layout, *curve, z)
        )
        ours = book.curve_risk(*curve, z, keys, bump)
        fresh = _core.curve_risk(*layout, *curve, z, keys, bump)
        for a, b in zip(ours, fresh, strict=True):
            np.testing.assert_array_equal(a, b)


def numpy_prices(layout, pillars, log_dfs, z, shift=None):
    """Log-linear pricing with flat-forward extrapolation, written independently in numpy."""
    offsets, times, amounts = layout
    knots = np.concatenate([[0.0], pillars])
    ldf = np.concatenate([[0.0], log_dfs])
    x = np.interp(times, knots, ldf)
    beyond = times > knots[-1]
    forward = -(ldf[-1] - ldf[-2]) / (knots[-1] - knots[-2])
    x[beyond] = ldf[-1] - forward * (times[beyond] - knots[-1])
    x -= np.repeat(z, np.diff(offsets)) * times
    if shift is not None:
        x -= shift * times
    return np.add.reduceat(amounts * np.exp(x), offsets[:-1])


@pytest.mark.parametrize("seed", range(40))
def test_kernel_prices_and_key_rate_durations_match_numpy(seed):
    rng = np.random.default_rng(1000 + seed)
    offsets, times, _ = random_layout(rng, int(rng.integers(1, 40)))
    amounts = rng.uniform(1.0, 105.0, len(times))  # positive: durations are well defined
    layout = (offsets, times, amounts)
    pillars, log_dfs, *_ = random_curve(rng, 0, False)
    z = rng.uniform(-0.01, 0.04, len(offsets) - 1)
    keys = np.array([0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0])
    h = 1e-4
    book = _core.FlowBook(*layout)
    curve = (pillars, log_dfs, 0, 0, np.empty(0), np.empty(0))
    price = book.price(*curve, z)
    reference = numpy_prices(layout, pillars, log_dfs, z)
    np.testing.assert_allclose(price, reference, rtol=1e-13, atol=1e-13)
    pv, duration, _, spread_duration, krd = book.curve_risk(*curve, z, keys, h)
    np.testing.assert_allclose(pv, reference, rtol=1e-13, atol=1e-13)
    for j in range(len(keys)):
        tent = np.interp(times, keys, np.eye(len(keys))[j])
        down = numpy_prices(layout, pillars, log_dfs, z, -h * tent)
        up = numpy_prices(layout, pillars, log_dfs, z, h * tent)
        np.testing.assert_allclose(krd[:, j], (down - up) / (2 * h * reference), atol=1e-8)
    down = numpy_prices(layout, pillars, log_dfs, z, -h)
    up = numpy_prices(layout, pillars, log_dfs, z, h)
    np.testing.assert_allclose(duration, (down - up) / (2 * h * reference), rtol=1e-7)
    # The tents sum to one at every time, so the key-rate durations add up to the duration and
    # both to the analytic spread duration, up to the central differences' O((h t)^2) terms.
    np.testing.assert_allclose(krd.sum(axis=1), duration, rtol=1e-5)
    np.testing.assert_allclose(spread_duration, duration, rtol=1e-5)


def test_kernel_survives_pickling_and_threads():
    rng = np.random.default_rng(7)
    layout = random_layout(rng, 300)
    book = _core.FlowBook(*layout)
    copy = pickle.loads(pickle.dumps(book))
    curves = [random_curve(rng, i % 4, bool(i % 2)) for i in range(16)]
    z = rng.uniform(0.0, 0.03, 300)
    serial = [_core.price_streams(*layout, *c, z) for c in curves]
    with ThreadPoolExecutor(4) as pool:  # the GIL is released: the caches are shared live
        threaded = list(pool.map(lambda c: book.price(*c, z), curves * 4))
    for i, prices in enumerate(threaded):
        np.testing.assert_array_equal(prices, serial[i % len(curves)])
    for c, expected in zip(curves, serial, strict=True):
        np.testing.assert_array_equal(copy.price(*c, z), expected)


def test_kernel_refuses_bad_layouts_and_spreads_with_clear_errors():
    offsets = np.array([0, 2, 3], dtype=np.int64)
    with pytest.raises(ValueError, match=r"FlowBook: stream 0 flow 1 has time 0\.5"):
        _core.FlowBook(offsets, np.array([1.0, 0.5, 2.0]), np.ones(3))
    with pytest.raises(ValueError, match="FlowBook: stream 1 flow 0 has non-finite amount"):
        _core.FlowBook(offsets, np.array([1.0, 1.5, 2.0]), np.array([1.0, 1.0, np.nan]))
    with pytest.raises(ValueError, match="stream 1 has no cash flows"):
        _core.FlowBook(np.array([0, 3, 3], dtype=np.int64), np.ones(3), np.ones(3))
    book = _core.FlowBook(offsets, np.array([1.0, 1.5, 2.0]), np.ones(3))
    curve = (np.array([1.0, 5.0]), np.array([-0.04, -0.2]), 0, 0, np.empty(0), np.empty(0))
    with pytest.raises(ValueError, match="`z_spreads` has 1 entries for 2 streams"):
        book.price(*curve, np.zeros(1))
    with pytest.raises(ValueError, match="`z_spreads` of stream 1 is nan"):
        book.price(*curve, np.array([0.0, np.nan]))
    book10 = _core.FlowBook(offsets, np.array([1.0, 1.5, 2.0]), np.full(3, 10.0))
    with pytest.raises(ValueError, match="overflow"):  # exp is held at e^709: 10 e^709 is inf
        book10.price(*curve, np.array([0.0, -400.0]))
    with pytest.raises(ValueError, match="`key_tenors` must be positive and strictly increasing"):
        book.curve_risk(*curve, np.zeros(2), np.array([2.0, 1.0]), 1e-4)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("n_pillars", [1, 7, 15, 40])
def test_book_price_pass_is_bitwise_the_portable_pass(interpolation, n_pillars):
    """FlowBook.price on this CPU (the AVX-512 pass where it runs, see ``price_kernel_isa``)
    against the portable chunked pass behind ``price_streams``: bitwise, on streams of 1 to 40
    flows (every masked tail of an eight-flow block), curves of up to 16 segments (coefficients
    by permutation) and beyond (gathered), with and without an overlay (degrees 1, 2 and 4)."""
    assert _core.price_kernel_isa() in ("avx512", "portable")
    rng = np.random.default_rng(77 + 5 * n_pillars + interpolation)
    lengths = np.concatenate([np.arange(1, 41), rng.integers(1, 120, 40)])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    times = np.concatenate([np.sort(rng.uniform(0.0, 60.0, k)) for k in lengths])
    times[:5] = 0.0  # flows paid today
    amounts = rng.uniform(-5.0, 105.0, len(times))
    amounts[::17] = 0.0
    amounts[::23] = -0.0
    book = _core.FlowBook(offsets, times, amounts)
    for overlay in (False, True):
        pillars = np.cumsum(rng.uniform(0.05, 2.0, n_pillars))
        log_dfs = -pillars * rng.uniform(0.0, 0.08, n_pillars)
        knots = np.sort(rng.uniform(0.0, 40.0, 3)) if overlay else np.empty(0)
        curve = (pillars, log_dfs, interpolation, 0, knots, rng.uniform(-0.01, 0.01, len(knots)))
        z = rng.uniform(-0.02, 0.05, len(lengths))
        np.testing.assert_array_equal(
            book.price(*curve, z), _core.price_streams(offsets, times, amounts, *curve, z)
        )
