"""G2++ benchmarks: path generation and revaluation of a 500-bond book and liabilities on paths,
fialloc vs QuantLib-Python in the same run.

Groups: ``g2_paths`` (1,000 paths x 120 monthly steps, against QuantLib's generator with only
``next()`` timed and with its paths read into numpy), ``g2_revalue_1y`` (book + liabilities on
every path at a 1-year horizon), ``g2_revalue_10h`` (at 10 annual horizons), ``g2_demo`` and
``g2_demo_10k`` (simulation plus revaluation of the demo book by manager, its liabilities and
overlay swaps at 10 annual horizons, 1,000 and 10,000 paths, against the per-security
revaluation summed by manager afterwards) and ``g2_currencies`` (five currencies and five real
economies against one currency, 1,000 x 120).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import VALUATION

from fialloc import data
from fialloc.currency_scenarios import Economy, MultiCurrencyG2, real_economy
from fialloc.overlay import OverlayMarket, overlay_universe
from fialloc.scenarios import G2pp

ql = pytest.importorskip("QuantLib")
qlh = pytest.importorskip("quantlib_helpers")
PARAMS = (0.05, 0.009, 0.5, 0.007, -0.7)
N_PATHS = 1000
MONTHLY = np.arange(1, 121) / 12.0
ANNUAL = np.arange(1, 11, dtype=float)


@pytest.fixture(scope="module")
def model(problem):
    return G2pp(problem.curve, *PARAMS)


@pytest.fixture(scope="module")
def ql_model(problem):
    qlh.set_evaluation_date(VALUATION)
    handle = qlh.discount_curve(problem.curve, VALUATION)
    return handle, ql.G2(handle, *PARAMS)


# ---- paths -------------------------------------------------------------------------------


@pytest.mark.benchmark(group="g2_paths")
@pytest.mark.parametrize("threads", [1, 2])
def test_paths_fialloc(benchmark, model, threads):
    paths = benchmark(model.simulate, N_PATHS, MONTHLY, 1, threads)
    assert paths.x.shape == (N_PATHS, 120)
    a, s = PARAMS[0], PARAMS[1]
    expected = s**2 / (2 * a) * (1 - np.exp(-2 * a * 10.0))
    assert abs(paths.x[:, -1].var() - expected) < 5 * expected * np.sqrt(2 / N_PATHS)


def _time_quantlib_next(benchmark, ql_model, n_paths: int, rounds: int) -> None:
    """Time `n_paths` calls of QuantLib's bare G2 path generator (built outside the timing)."""
    handle, _ = ql_model
    process = ql.G2Process(*PARAMS, handle)
    grid = ql.TimeGrid(list(MONTHLY))

    def setup():
        rsg = ql.GaussianRandomSequenceGenerator(
            ql.UniformRandomSequenceGenerator(2 * 120, ql.UniformRandomGenerator(1))
        )
        return (ql.GaussianMultiPathGenerator(process, grid, rsg, False),), {}

    def run(gen):
        for _ in range(n_paths):
            gen.next()
        return gen

    benchmark.pedantic(run, setup=setup, rounds=rounds, iterations=1)


@pytest.mark.benchmark(group="g2_paths")
def test_paths_quantlib_next_only(benchmark, ql_model):
    # QuantLib's bare generator: building it is outside the timing, reading paths is not done.
    _time_quantlib_next(benchmark, ql_model, N_PATHS, rounds=5)


@pytest.mark.benchmark(group="g2_paths")
def test_paths_quantlib(benchmark, ql_model):
    handle, _ = ql_model
    process = ql.G2Process(*PARAMS, handle)
    grid = ql.TimeGrid(list(MONTHLY))

    def run():
        rsg = ql.GaussianRandomSequenceGenerator(
            ql.UniformRandomSequenceGenerator(2 * 120, ql.UniformRandomGenerator(1))
        )
        gen = ql.GaussianMultiPathGenerator(process, grid, rsg, False)
        out = np.empty((N_PATHS, 121))
        for p in range(N_PATHS):
            path = gen.next().value()
            out[p] = [path[0][k] for k in range(121)]
        return out

    rates = benchmark.pedantic(run, rounds=3, iterations=1)
    assert rates.shape == (N_PATHS, 121)


# ---- revaluation ---------------------------------------------------------------------------


def _fialloc_revalue(model, problem, paths, horizons):
    bonds = model.revalue(problem.book, paths, horizons, problem.z, weights=problem.book.face / 100)
    liabilities = model.revalue(problem.liabilities, paths, horizons)[:, :, 0]
    return bonds, liabilities


def _numpy_ql_revalue(ql_g2, model, problem, paths, horizons):
    """QuantLib's analytic G2 bond formula per flow, vectorized over paths with numpy."""
    a, _, b, _, _ = PARAMS
    out = []
    for streams, z, weights in (
        (problem.book, problem.z, problem.book.face / 100),
        (problem.liabilities, np.zeros(1), np.ones(1)),
    ):
        layout = streams.layout
        stream_of = np.repeat(np.arange(layout.n_streams), np.diff(layout.offsets))
        values = np.zeros((paths.n_paths, len(horizons)))
        for j, h in enumerate(horizons):
            k = paths.columns(h)[0]
            x, y = paths.x[:, k], paths.y[:, k]
            alive = layout.times > h
            for t, amount, s in zip(
                layout.times[alive], layout.amounts[alive], stream_of[alive], strict=True
            ):
                base = ql_g2.discountBond(float(h), float(t), ql.Array([0.0, 0.0]))
                ba, bb = (1 - np.exp(-a * (t - h))) / a, (1 - np.exp(-b * (t - h))) / b
                values[:, j] += (
                    weights[s] * amount * base * np.exp(-ba * x - bb * y - z[s] * (t - h))
                )
        out.append(values)
    return out[0], out[1]


@pytest.fixture(scope="module")
def paths(model):
    return model.simulate(N_PATHS, MONTHLY, seed=1)


@pytest.mark.benchmark(group="g2_revalue_1y")
def test_revalue_1y_fialloc(benchmark, model, problem, paths):
    bonds, liabilities = benchmark(_fialloc_revalue, model, problem, paths, [1.0])
    assert bonds.shape == (N_PATHS, 1)
    assert liabilities.shape == (N_PATHS, 1)


@pytest.mark.benchmark(group="g2_revalue_1y")
def test_revalue_1y_numpy_quantlib(benchmark, model, ql_model, problem, paths):
    _, ql_g2 = ql_model
    bonds, liabilities = benchmark.pedantic(
        _numpy_ql_revalue, (ql_g2, model, problem, paths, [1.0]), rounds=2, iterations=1
    )
    ours = _fialloc_revalue(model, problem, paths, [1.0])
    np.testing.assert_allclose(bonds, ours[0], rtol=1e-10)
    np.testing.assert_allclose(liabilities, ours[1], rtol=1e-10)


@pytest.mark.benchmark(group="g2_revalue_10h")
def test_revalue_10h_fialloc(benchmark, model, problem, paths):
    bonds, _ = benchmark(_fialloc_revalue, model, problem, paths, ANNUAL)
    assert bonds.shape == (N_PATHS, 10)


@pytest.mark.benchmark(group="g2_revalue_10h")
def test_revalue_10h_numpy_quantlib(benchmark, model, ql_model, problem, paths):
    _, ql_g2 = ql_model
    bonds, _ = benchmark.pedantic(
        _numpy_ql_revalue, (ql_g2, model, problem, paths, ANNUAL), rounds=1, iterations=1
    )
    np.testing.assert_allclose(
        bonds, _fialloc_revalue(model, problem, paths, ANNUAL)[0], rtol=1e-10
    )


# ---- the demo book: simulate and revalue by manager ----------------------------------------


@pytest.fixture(scope="module")
def demo():
    portfolio = data.demo()
    book = portfolio.book
    z = portfolio.z_spreads.reindex(book.security_ids).to_numpy()
    face = portfolio.face.reindex(columns=book.security_ids).to_numpy() / 100.0
    overlay = overlay_universe(
        portfolio.curve,
        OverlayMarket(futures=portfolio.overlay_futures),
        portfolio.analytics.key_tenors,
    )
    return portfolio, G2pp(portfolio.curve), z, face, overlay


def _demo_fused(demo, n_paths):
    portfolio, model, z, face, overlay = demo
    paths = model.simulate(n_paths, MONTHLY, seed=3)
    by_manager = model.revalue(portfolio.book, paths, ANNUAL, z, holdings=face)
    liabilities = model.revalue(portfolio.liability_stream, paths, ANNUAL)[:, :, 0]
    swaps = model.revalue(overlay.book, paths, ANNUAL)
    return by_manager, liabilities, swaps


def _demo_per_security(demo, n_paths):
    """Each security on every path, then summed by manager (the revaluation before fusing)."""
    portfolio, model, z, face, overlay = demo
    paths = model.simulate(n_paths, MONTHLY, seed=3)
    per_security = model.revalue(portfolio.book, paths, ANNUAL, z)
    by_manager = per_security @ face.T
    liabilities = model.revalue(portfolio.liability_stream, paths, ANNUAL)[:, :, 0]
    swaps = model.revalue(overlay.book, paths, ANNUAL)
    return by_manager, liabilities, swaps


@pytest.mark.benchmark(group="g2_demo")
def test_demo_simulate_and_revalue_by_manager(benchmark, demo):
    by_manager, liabilities, _ = benchmark.pedantic(
        _demo_fused, (demo, N_PATHS), rounds=5, iterations=1
    )
    assert by_manager.shape == (N_PATHS, 10, len(demo[0].managers))
    reference = _demo_per_security(demo, N_PATHS)
    np.testing.assert_allclose(by_manager, reference[0], rtol=1e-12, atol=1e-3)
    np.testing.assert_array_equal(liabilities, reference[1])


@pytest.mark.benchmark(group="g2_demo")
def test_demo_per_security_then_by_manager(benchmark, demo):
    by_manager, _, _ = benchmark.pedantic(
        _demo_per_security, (demo, N_PATHS), rounds=3, iterations=1
    )
    assert by_manager.shape == (N_PATHS, 10, len(demo[0].managers))


@pytest.mark.benchmark(group="g2_demo_10k")
def test_demo_10k_simulate_and_revalue_by_manager(benchmark, demo):
    by_manager, _, _ = benchmark.pedantic(_demo_fused, (demo, 10_000), rounds=3, iterations=1)
    assert by_manager.shape == (10_000, 10, len(demo[0].managers))


@pytest.mark.benchmark(group="g2_demo_10k")
def test_demo_10k_per_security_then_by_manager(benchmark, demo):
    by_manager, _, _ = benchmark.pedantic(
        _demo_per_security, (demo, 10_000), rounds=1, iterations=1
    )
    assert by_manager.shape == (10_000, 10, len(demo[0].managers))


# ---- several currencies --------------------------------------------------------------------


def _world(curve):
    shifts = {"USD": 0.0, "EUR": -0.015, "GBP": 0.0, "JPY": -0.03, "CAD": -0.005}
    spots = {"EUR": 1.1, "GBP": 1.27, "JPY": 0.0067, "CAD": 0.73}
    nominal = [Economy("USD", curve)] + [
        Economy(c, curve.shifted(1e4 * shifts[c]), parent="USD", spot=spots[c], volatility=0.09)
        for c in ("EUR", "GBP", "JPY", "CAD")
    ]
    return MultiCurrencyG2(nominal + [real_economy(e) for e in nominal])


@pytest.mark.benchmark(group="g2_currencies")
def test_currencies_fialloc_five_with_real_rates(benchmark, problem):
    model = _world(problem.curve)
    paths = benchmark.pedantic(model.simulate, (N_PATHS, MONTHLY, 1), rounds=5, iterations=1)
    assert len(paths.names) == 10
    # Reference check: FX and index forwards are martingales (covered parity, breakevens).
    for e in model.economies[1:]:
        spot = e.spot * (model.economy(e.parent).spot if e.kind == "real" and e.parent else 1.0)
        sample = paths.discount[0][:, -1] * paths.to_base(e.name)[:, -1]
        se = sample.std(ddof=1) / np.sqrt(N_PATHS)
        assert abs(sample.mean() - spot * e.curve.discount(10.0)) < 5 * se, e.name


@pytest.mark.benchmark(group="g2_currencies")
def test_currencies_fialloc_one(benchmark, problem):
    model = MultiCurrencyG2([Economy("USD", problem.curve)])
    paths = benchmark(model.simulate, N_PATHS, MONTHLY, 1)
    assert paths.x[0].shape == (N_PATHS, 120)


@pytest.mark.benchmark(group="g2_currencies")
def test_currencies_quantlib_g2_process_next_only(benchmark, ql_model):
    # The same number of Gaussian factors as the ten economies' twenty, from QuantLib's G2
    # generator (ten independent G2 processes' worth of next() calls): a yardstick, not the
    # same model (QuantLib has no correlated multi-currency G2).
    _time_quantlib_next(benchmark, ql_model, 10 * N_PATHS, rounds=2)
