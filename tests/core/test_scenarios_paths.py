"""The path engine: the normals against an independent Philox + Box-Muller in numpy, and the
holders' revaluation kernel against per-stream values on random books."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fialloc import BondBook, Curve, _core
from fialloc.scenarios import G2pp

VD = dt.date(2026, 3, 31)
M32 = np.uint64(0xFFFFFFFF)


def philox(seed: int, c0, c1, c2, c3):
    """Philox4x32-10 (Salmon et al., 2011) on arrays of counters, in numpy's 64-bit integers."""
    c = [np.asarray(v, dtype=np.uint64) & M32 for v in (c0, c1, c2, c3)]
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c[0]
        p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [
            ((p1 >> np.uint64(32)) ^ c[1] ^ k0) & M32,
            p1 & M32,
            ((p0 >> np.uint64(32)) ^ c[3] ^ k1) & M32,
            p0 & M32,
        ]
        k0 = (k0 + np.uint64(0x9E3779B9)) & M32
        k1 = (k1 + np.uint64(0xBB67AE85)) & M32
    return c


def box_muller(r):
    """Two normals per Philox output with the C library's log, cos and sin."""

    def uniform(a, b):
        bits = (a >> np.uint64(5)) * np.uint64(67108864) + (b >> np.uint64(6))
        return (bits.astype(np.float64) + 0.5) / 2.0**53

    u1, u2 = uniform(r[0], r[1]), uniform(r[2], r[3])
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = 2.0 * np.pi * u2
    return radius * np.cos(angle), radius * np.sin(angle)


@pytest.mark.parametrize(("seed", "stream"), [(0, 16), (7, 16), (2**40 + 3, 16), (5, 64 + 8 * 9)])
def test_normals_match_an_independent_philox_box_muller(seed, stream):
    # Extra-factor normals: counter (step, path low, path high, first stream + pair; 16 by
    # default). The kernel's own logarithm and sine/cosine agree with the C library's to a few
    # units in the last place. 37 paths: four blocks of eight and a short one.
    n_paths, n_steps, n_factors, first = 37, 11, 5, 2**33 - 5
    extra = () if stream == 16 else (stream,)
    got = _core.g2_factor_normals(seed, first, n_paths, n_steps, n_factors, False, *extra)
    paths = np.arange(first, first + n_paths, dtype=np.uint64)
    for k in range(n_steps):
        for j in range((n_factors + 1) // 2):
            r = philox(
                seed,
                np.full(n_paths, k),
                paths & M32,
                paths >> np.uint64(32),
                np.full(n_paths, stream + j),
            )
            z0, z1 = box_muller(r)
            np.testing.assert_allclose(got[:, k * n_factors + 2 * j], z0, rtol=0, atol=4e-15)
            if 2 * j + 1 < n_factors:
                np.testing.assert_allclose(
                    got[:, k * n_factors + 2 * j + 1], z1, rtol=0, atol=4e-15
                )


def test_factor_normals_refuse_the_rate_streams_and_keep_antithetic_pairs():
    with pytest.raises(ValueError, match="first_stream"):
        _core.g2_factor_normals(1, 0, 4, 2, 2, False, 15)
    # Antithetic: path 2i + 1 is the negative of path 2i, in any block position.
    z = _core.g2_factor_normals(3, 5, 19, 4, 3, True, 72)
    paired = _core.g2_factor_normals(3, 6, 18, 4, 3, True, 72)
    np.testing.assert_array_equal(z[1:], paired)
    np.testing.assert_array_equal(paired[1::2], -paired[0::2])


def test_rate_path_normals_match_the_reference_generator():
    # Recover each step's four normals from the exact step of a one-step grid: x, y and their
    # integrals are the Cholesky factor times (z0, z1, z2, z3) from sub-streams 0 and 1.
    curve = Curve.flat(0.03, VD)
    model = G2pp(curve)
    seed, n = 12345, 203  # not a multiple of the kernel's block of paths
    p = model.simulate(n, times=[0.25], seed=seed, first_path=9)
    keys = np.arange(9, 9 + n, dtype=np.uint64)
    z0, z1 = box_muller(philox(seed, np.zeros(n), keys & M32, keys >> np.uint64(32), np.zeros(n)))
    a, s, b, e, r = model.params
    dt_ = 0.25
    var_x = s * s * -np.expm1(-2 * a * dt_) / (2 * a)
    cov_xy = r * s * e * -np.expm1(-(a + b) * dt_) / (a + b)
    var_y = e * e * -np.expm1(-2 * b * dt_) / (2 * b)
    l00 = np.sqrt(var_x)
    l10 = cov_xy / l00
    l11 = np.sqrt(var_y - l10 * l10)
    np.testing.assert_allclose(p.x[:, 0], l00 * z0, rtol=1e-13, atol=1e-18)
    np.testing.assert_allclose(p.y[:, 0], l10 * z0 + l11 * z1, rtol=1e-12, atol=1e-17)


def test_normals_are_standard_normal():
    z = _core.g2_factor_normals(3, 0, 20_000, 10, 10, False).ravel()
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / z.size)
    assert stats.kstest(z, "norm").pvalue > 1e-3


# ---- holders -------------------------------------------------------------------------------


def random_book(rng, n):
    rows = []
    for i in range(n):
        freq = int(rng.choice([0, 1, 2, 4]))
        years = int(rng.integers(1, 31))
        rows.append(
            {
                "security_id": f"S{i}",
                "coupon": 0.0 if freq == 0 else float(rng.uniform(0.01, 0.07)),
                # half the bonds share maturity dates, so flows fall on common dates
                "maturity": dt.date(
                    2027 + years % 25, 3 if i % 2 else int(rng.integers(1, 13)), 15
                ),
                "frequency": freq,
                "day_count": "ACT/365F",
                "face": 1e6,
            }
        )
    return BondBook.from_frame(pd.DataFrame(rows), VD)


@pytest.mark.parametrize("seed", range(6))
def test_holders_equal_the_sum_of_their_streams(seed):
    rng = np.random.default_rng(seed)
    model = G2pp(Curve.flat(float(rng.uniform(0.01, 0.06)), VD))
    book = random_book(rng, int(rng.integers(5, 60)))
    n = book.layout.n_streams
    paths = model.simulate(int(rng.integers(1, 70)), seed=seed)
    horizons = [0.5, 1.0, 3.0, 7.0]
    z = rng.uniform(0.0, 0.03, n)
    holdings = rng.uniform(0, 2, (int(rng.integers(1, 9)), n))
    holdings[rng.uniform(size=holdings.shape) < 0.6] = 0.0
    per_stream = model.revalue(book, paths, horizons, z)
    held = model.revalue(book, paths, horizons, z, holdings=holdings)
    np.testing.assert_allclose(held, per_stream @ holdings.T, rtol=1e-13, atol=1e-9)
    # with spread moves per group
    groups = rng.integers(-1, 3, n)
    moves = rng.normal(0, 0.004, (paths.n_paths, len(horizons), 3))
    per_stream = model.revalue(book, paths, horizons, z, spread_moves=moves, groups=groups)
    held = model.revalue(
        book, paths, horizons, z, spread_moves=moves, groups=groups, holdings=holdings
    )
    np.testing.assert_allclose(held, per_stream @ holdings.T, rtol=1e-13, atol=1e-9)
    # a single stream against the closed-form zero bonds, flow by flow
    k, h = paths.columns(3.0)[0], 3.0
    times, amounts = book.layout.stream(0)
    alive = times > h
    bonds = model.zero_bond(h, times[alive], paths.x[:, k], paths.y[:, k])
    expected = (bonds * amounts[alive] * np.exp(-z[0] * (times[alive] - h))).sum(axis=1)
    np.testing.assert_allclose(
        model.revalue(book, paths, horizons, z)[:, 2, 0], expected, rtol=1e-13, atol=1e-12
    )


def test_holders_do_not_depend_on_threads_or_path_chunks():
    rng = np.random.default_rng(3)
    model = G2pp(Curve.flat(0.035, VD))
    book = random_book(rng, 40)
    holdings = rng.uniform(0, 1, (5, 40))
    paths = model.simulate(203, seed=4)
    one = model.revalue(book, paths, [1.0, 5.0], 0.01, holdings=holdings, threads=1)
    two = model.revalue(book, paths, [1.0, 5.0], 0.01, holdings=holdings, threads=2)
    assert np.array_equal(one, two)
    chunks = [model.simulate(29, seed=4, first_path=29 * c) for c in range(7)]
    parts = [model.revalue(book, c, [1.0, 5.0], 0.01, holdings=holdings) for c in chunks]
    assert np.array_equal(np.concatenate(parts), one)


@pytest.mark.parametrize("seed", range(4))
def test_one_plan_on_many_path_sets_is_bitwise_the_one_call_revaluation(seed):
    """`_core.G2Revaluation` built once and applied to several path sets (what `G2pp.revalue`
    keeps between the chunks of a run) against `_core.g2_revalue` on each set, with and
    without spread moves; and `G2pp.revalue` repeated (its kept plan) against its first call."""
    rng = np.random.default_rng(40 + seed)
    model = G2pp(Curve.flat(float(rng.uniform(0.01, 0.06)), VD))
    book = random_book(rng, int(rng.integers(5, 40)))
    offsets, times, amounts = book.layout.args()
    n = book.layout.n_streams
    h = np.array([0.5, 2.0, 6.0])
    z = rng.uniform(0.0, 0.03, n)
    held = rng.uniform(0, 2, (3, n))
    held[rng.uniform(size=held.shape) < 0.5] = 0.0
    indptr = np.array([0, *np.cumsum((held != 0).sum(axis=1))], dtype=np.int64)
    indices = np.nonzero(held)[1].astype(np.int64)
    units = held[held != 0]
    ldf, ldh = np.log(model.curve.discount(times)), np.log(model.curve.discount(h))
    for groups, ng in ((np.empty(0, dtype=np.int64), 0), (rng.integers(-1, 2, n), 2)):
        plan = _core.G2Revaluation(
            *model.params, offsets, times, amounts, ldf, z, h, ldh, indptr, indices, units,
            groups, ng,
        )  # fmt: skip
        for k in range(3):
            paths = model.simulate(int(rng.integers(1, 40)), h, seed=seed, first_path=50 * k)
            x, y = paths.x.copy(), paths.y.copy()
            moves = rng.normal(0, 0.004, (paths.n_paths, len(h) * ng)) if ng else np.empty((0, 0))
            a, sigma, b, eta, rho = model.params
            once = _core.g2_revalue(
                a, sigma, b, eta, rho, offsets, times, amounts, ldf, z, h, ldh, x, y,
                indptr, indices, units, groups, moves, 1,
            )  # fmt: skip
            assert np.array_equal(plan.revalue(x, y, moves, 2), once)
    paths = model.simulate(17, seed=seed)
    first = model.revalue(book, paths, h, z, holdings=held)
    assert np.array_equal(model.revalue(book, paths, h, z, holdings=held), first)


@pytest.mark.parametrize("seed", range(6))
def test_banked_cash_matches_a_flow_by_flow_sum(seed):
    # Every flow paid by a horizon lands in the grid month ending at or after it and grows
    # at the path's bank account 1 / D from that month's end: summed flow by flow and path
    # by path here, against the month-by-month, sparse-holdings pass; any path chunk gives
    # the same values bit for bit.
    rng = np.random.default_rng(seed)
    model = G2pp(Curve.flat(float(rng.uniform(0.01, 0.06)), VD))
    book = random_book(rng, int(rng.integers(5, 40)))
    n = book.layout.n_streams
    paths = model.simulate(int(rng.integers(2, 30)), times=np.arange(1, 97) / 12.0, seed=seed)
    horizons = sorted(rng.choice([0.5, 1.0, 2.0, 3.0, 5.0, 8.0], size=3, replace=False))[::-1]
    holdings = rng.uniform(0, 2, (int(rng.integers(1, 6)), n))
    holdings[rng.uniform(size=holdings.shape) < 0.5] = 0.0
    got = paths.banked(book.layout, holdings, horizons)
    expected = np.zeros_like(got)
    for j, h in enumerate(horizons):
        end = paths.columns(h)[0]
        for s in range(n):
            times, amounts = book.layout.stream(s)
            for t, a in zip(times, amounts, strict=True):
                k = int(np.searchsorted(paths.times, t, side="left"))
                if k <= end:
                    grown = a * paths.discount[:, k] / paths.discount[:, end]
                    expected[:, j, :] += grown[:, None] * holdings[:, s]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    half = paths.n_paths // 2
    first = model.simulate(half, times=paths.times, seed=seed)
    assert np.array_equal(first.banked(book.layout, holdings, horizons), got[:half])


def test_bad_holdings_are_refused():
    model = G2pp(Curve.flat(0.03, VD))
    book = random_book(np.random.default_rng(0), 3)
    paths = model.simulate(4, seed=0)
    with pytest.raises(ValueError, match="holdings have 2 columns for 3 streams"):
        model.revalue(book, paths, [1.0], holdings=np.ones((1, 2)))
    with pytest.raises(ValueError, match="not both"):
        model.revalue(book, paths, [1.0], weights=np.ones(3), holdings=np.ones((1, 3)))
    with pytest.raises(ValueError, match="holder_units"):
        model.revalue(book, paths, [1.0], holdings=np.array([[1.0, np.nan, 0.0]]))
    args = [*model.params, *book.layout.args(), np.zeros(len(book.layout.times)), np.zeros(3)]
    args += [np.array([1.0]), np.zeros(1), paths.x[:, :1].copy(), paths.y[:, :1].copy()]
    with pytest.raises(ValueError, match="names stream 7"):
        _core.g2_revalue(
            *args,
            np.array([0, 1]),
            np.array([7]),
            np.ones(1),
            np.empty(0, dtype=np.int64),
            np.empty((0, 0)),
            1,
        )
    with pytest.raises(ValueError, match="holder_offsets"):
        _core.g2_revalue(
            *args,
            np.array([0, 2]),
            np.array([0]),
            np.ones(1),
            np.empty(0, dtype=np.int64),
            np.empty((0, 0)),
            1,
        )
