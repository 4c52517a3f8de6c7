"""Foreign bonds, FX hedges and linkers on the multi-currency paths (fialloc.currency_paths).

References: under the base measure the base-discounted value of any traded position is a
martingale, so ``E[D_base(h) V(h)]`` has a closed form from today's curves (each flow's
discount factor on its economy's curve, times today's FX spot and index ratio; a flow paid
before ``h`` is banked from the end of its grid month). The Monte Carlo mean must fall within
four standard errors of it, on the demo's foreign, linker and hedge positions, for several
seeds and horizons.
"""

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from currency_paths_reference import sleeves_cumulative

import fialloc.data as data
from fialloc import _core
from fialloc.bonds import BondBook
from fialloc.currency_paths import (
    SPREAD_STREAM,
    BookScenario,
    _banked,
    _Block,
    _economies,
    _floor_today,
    _linker_cash,
    _linker_spreads,
    asset_paths,
    book_scenario,
    floor_paths,
    hedge_paths,
    run_spread_model,
    spread_moves,
)
from fialloc.currency_scenarios import Economy, MultiCurrencyG2, MultiCurrencyPaths, real_economy
from fialloc.curves import Curve
from fialloc.data.demo import DEMO_VALUATION, synthetic_tables
from fialloc.data.vocabulary import GOVERNMENT_SECTORS
from fialloc.layout import CashflowLayout
from fialloc.mc_estimators import Controls, Kind, estimates
from fialloc.robustness import simulate_sleeves, sleeve_paths
from fialloc.scenarios import G2pp, simulate_credit_inflation

GRID = np.arange(1, 121) / 12.0
N_PATHS = 3000


@pytest.fixture(scope="module")
def scenario(demo_portfolio):
    model = G2pp(demo_portfolio.curve)
    found = book_scenario(demo_portfolio, model)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def single_currency_book() -> data.Portfolio:
    """A small one-currency book without linkers, read by several tests (0.9 s to build)."""
    return data.synthetic(6, 300, seed=3)


def _only(scenario: BookScenario, block: int) -> BookScenario:
    return replace(
        scenario,
        blocks=(scenario.blocks[block],),
        hedge_currencies=(),
        hedged=np.zeros((scenario.hedged.shape[0], 0)),
    )


def _expected(scenario: BookScenario, block: int, horizon: float) -> np.ndarray:
    """``E[D_base(h) V(h)]`` per manager from today's curves (see module notes)."""
    b = scenario.blocks[block]
    gen = scenario.generator
    economy = gen.economy(b.economy)
    layout = b.book.layout
    stream = np.repeat(np.arange(len(b.book)), np.diff(layout.offsets))
    t, amount = layout.times, layout.amounts
    curve = economy.curve
    if economy.kind == "real":
        home = gen.economy(str(economy.parent))
        spot, home_curve = home.spot, home.curve
    else:
        spot, home_curve = economy.spot, economy.curve
    after = t > horizon
    per_flow = np.where(
        after, amount * np.exp(-b.z_spread[stream] * (t - horizon)) * curve.discount(t), 0.0
    )
    paid = (~after) & (t <= GRID[-1])
    bucket_end = GRID[np.searchsorted(GRID, t[paid], side="left")]
    # Banked at the end of the month: the flow's value carried forward on its home curve.
    per_flow[paid] = (
        amount[paid]
        * curve.discount(t[paid])
        * home_curve.discount(bucket_end)
        / home_curve.discount(t[paid])
    )
    per_bond = np.bincount(stream, per_flow, minlength=len(b.book)).astype(np.float64)
    if b.index_ratio is not None:
        # The deflation floor: today's value, whether still open or paid and banked.
        per_bond += _floor_today(gen, b, b.z_spread) / b.index_ratio
    return np.asarray(spot * b.holdings @ per_bond)


def test_economies_and_blocks_of_the_demo(demo_portfolio, scenario):
    names = [e.name for e in scenario.generator.economies]
    assert names == ["USD", "EUR", "GBP", "JPY", "CAD", "USD-real"]
    blocks = {b.economy: len(b.book) for b in scenario.blocks}
    held = demo_portfolio.currencies.value_counts()
    n_linkers = len(demo_portfolio.linker_book)
    assert blocks["USD"] + blocks["USD-real"] == held["USD"]
    assert blocks["USD-real"] == n_linkers
    for code in ("EUR", "GBP", "JPY", "CAD"):
        assert blocks[code] == held[code]
    # The base economy is the run's model; the others price today's bonds at their spreads.
    base = scenario.generator.model("USD")
    assert base.params == G2pp(demo_portfolio.curve).params
    for b in scenario.blocks:
        model = scenario.generator.model(b.economy)
        price = b.book.dirty_prices(model.curve, b.z_spread)
        dirty = demo_portfolio.analytics.dirty_price[
            demo_portfolio.book.security_ids.get_indexer(b.book.security_ids)
        ]
        ratio = 1.0 if b.index_ratio is None else b.index_ratio
        # A linker's price is its real flows' and its deflation floor's value.
        floor = 0.0 if b.index_ratio is None else _floor_today(scenario.generator, b, b.z_spread)
        np.testing.assert_allclose(price * ratio + floor, dirty, rtol=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_discounted_values_are_martingales(scenario, seed):
    paths = scenario.generator.simulate(N_PATHS, GRID, seed=seed, threads=2)
    horizons = np.array([1.0, 4.0, 10.0])
    discount = paths.discount[0][:, paths.economy("USD").columns(horizons)]
    misses, checks = 0, 0
    for k, b in enumerate(scenario.blocks):
        if b.economy == "USD":
            continue
        values = asset_paths(_only(scenario, k), paths, horizons, threads=2)
        held = b.holdings.sum(axis=1) > 0
        for j, h in enumerate(horizons):
            sample = values[:, j, held] * discount[:, j, None]
            mean, se = sample.mean(axis=0), sample.std(axis=0) / np.sqrt(N_PATHS)
            want = _expected(scenario, k, h)[held]
            checks += len(want)
            misses += int(np.sum(np.abs(mean - want) > 4 * se + 1e-7 * want))
    assert checks >= 15
    assert misses == 0


@pytest.mark.parametrize("seed", [3, 4])
def test_rolled_hedges_are_worth_nothing_today(scenario, seed):
    paths = scenario.generator.simulate(N_PATHS, GRID, seed=seed, threads=2)
    # 0.6 years: a forward open at the horizon, marked to market.
    horizons = np.array([0.25, 0.6666666666666666, 1.0, 5.0, 10.0])
    cols = paths.economy("USD").columns(horizons)
    assert scenario.hedge_currencies
    for currency in scenario.hedge_currencies:
        value = hedge_paths(scenario.generator, currency, paths, horizons)
        sample = value * paths.discount[0][:, cols]
        se = sample.std(axis=0) / np.sqrt(N_PATHS)
        assert np.all(se > 0)
        assert np.all(np.abs(sample.mean(axis=0)) < 4 * se)
        # A hedge removes FX risk: the hedged foreign unit moves far less than the unhedged.
        fx = paths.to_base(currency)[:, cols]
        assert np.std(value[:, -1] + fx[:, -1]) < 0.5 * np.std(fx[:, -1])


def test_first_settlement_by_hand(scenario):
    paths = scenario.generator.simulate(5, GRID, seed=9, threads=1)
    gen = scenario.generator
    currency = scenario.hedge_currencies[0]
    value = hedge_paths(gen, currency, paths, [0.25])[:, 0]
    usd, ccy = gen.economy("USD"), gen.economy(currency)
    strike = ccy.spot * ccy.curve.discount(0.25) / usd.curve.discount(0.25)
    np.testing.assert_allclose(value, strike - paths.to_base(currency)[:, 2], rtol=1e-13)


def test_nominal_single_currency_book_rides_the_base_paths_alone(single_currency_book):
    book = single_currency_book
    assert set(book.currencies) == {book.mandate.base_currency}
    assert book.linker_book is None
    model = G2pp(book.curve)
    assert book_scenario(book, model) is None
    years = np.array([1.0, 3.0])
    got = simulate_sleeves(book, model, 40, GRID[:36], years, 5, chunk=40)
    paths = model.simulate(40, GRID[:36], seed=5, threads=1)
    want = sleeve_paths(book, model, paths, years, threads=1)
    assert np.array_equal(got.sleeves, want.sleeves)
    assert np.array_equal(got.liabilities, want.liabilities)
    assert got.economies == (book.mandate.base_currency,)


def test_multi_currency_sleeves_do_not_depend_on_chunks_or_threads(demo_portfolio):
    model = G2pp(demo_portfolio.curve)
    years = np.array([1.0, 2.0, 5.0])
    grid = GRID[:60]
    one = simulate_sleeves(demo_portfolio, model, 70, grid, years, 8, chunk=70)
    for chunk in (1, 23):
        part = simulate_sleeves(demo_portfolio, model, 70, grid, years, 8, chunk=chunk)
        assert np.array_equal(part.sleeves, one.sleeves)
        assert np.array_equal(part.liabilities, one.liabilities)
        assert np.array_equal(part.states, one.states)
    scenario = book_scenario(demo_portfolio, model)
    assert scenario is not None
    paths = scenario.generator.simulate(70, grid, seed=8, threads=1)
    two = sleeve_paths(demo_portfolio, model, paths, years, 2, scenario=scenario)
    assert np.array_equal(two.sleeves, one.sleeves)
    assert one.economies == two.economies == paths.names
    # The foreign sleeve moves with FX: not the single-currency revaluation.
    alone = sleeve_paths(demo_portfolio, model, paths.economy("USD"), years, 1)
    assert not np.array_equal(alone.sleeves, one.sleeves)
    with pytest.raises(ValueError, match="scenario"):
        sleeve_paths(demo_portfolio, model, paths, years, 1)


def test_sleeves_carry_every_economys_states_the_base_first(demo_portfolio):
    # The control variates of a multi-currency book: the base economy's three states exactly
    # as a single-currency run has them, then each other economy's factors, integrated rate
    # and log link, with the generator's closed-form covariance.
    model = G2pp(demo_portfolio.curve)
    scenario = book_scenario(demo_portfolio, model)
    assert scenario is not None
    years = np.array([1.0, 5.0])
    paths = scenario.generator.simulate(60, GRID[:60], seed=4, threads=1)
    multi = sleeve_paths(demo_portfolio, model, paths, years, 1, scenario=scenario)
    alone = sleeve_paths(demo_portfolio, model, paths.economy("USD"), years, 1)
    names = multi.state_names
    assert names == scenario.generator.state_names
    assert len(names) == multi.states.shape[2] == 3 + 4 * (len(paths.names) - 1)
    assert names[3:7] == ("EUR.x", "EUR.y", "EUR.integrated_rate", "EUR.log_link")
    assert "USD-real.log_link" in names
    assert np.array_equal(multi.states[:, :, :3], alone.states)
    base_cov = alone.state_covariance
    assert np.abs(multi.state_covariance[:, :3, :3] - base_cov).max() <= 1e-12 * base_cov.max()
    states, covariance = multi.state_tables()
    assert list(states.columns) == list(covariance.columns) == list(names)
    assert covariance.shape == (len(years) * len(names), len(names))


@pytest.mark.parametrize(("book", "n_paths"), [("demo", 400), ((12, 360, 4), 800)])
def test_every_economys_states_cut_standard_errors_that_match_the_spread_across_seeds(
    book, n_paths, demo_portfolio
):
    # 20 seeds at 5 years. The foreign sleeve (and the demo's TIPS sleeve) move with FX and
    # the index, which the base rate states cannot control: with every economy's states their
    # standard errors fall more than twofold (measured 2.5-6x), the portfolio surplus's mean
    # never rises, and each estimate's spread across seeds stays within the band its own
    # sampling error allows (about 16% with 20 seeds) of its mean standard error.
    if book == "demo":
        portfolio, watched = demo_portfolio, ["M26", "M27"]
    else:
        tables, truth = synthetic_tables(*book, global_sleeve=True)
        assert truth.global_manager is not None
        portfolio, watched = data.from_tables(tables, DEMO_VALUATION), [truth.global_manager]
    model = G2pp(portfolio.curve)
    credit = run_spread_model(portfolio)
    at = [list(portfolio.managers.index).index(m) for m in watched]
    stats: list[tuple[Kind, float | None]] = [("expected_shortfall", 0.05), ("mean", None)]
    found: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for seed in range(20):
        s = simulate_sleeves(portfolio, model, n_paths, GRID[:60], [5.0], 200 + seed, credit=credit)
        z, c = s.states[:, 0, :], s.state_covariance[0]
        outcomes = {"surplus": s.surplus(portfolio.current_weights.to_numpy())[:, 0]}
        outcomes |= {m: s.sleeves[:, 0, k] for m, k in zip(watched, at, strict=True)}
        for name, v in outcomes.items():
            for label, controls in (
                ("base", Controls(z[:, :3], c[:3, :3])),
                ("all", Controls(z, c)),
            ):
                for (statistic, _), e in zip(
                    stats, estimates(v, stats, controls=controls), strict=True
                ):
                    found.setdefault((name, label, statistic), []).append((e.value, e.se))
    for (name, label, stat), rows in found.items():
        if label == "base":
            continue
        r = np.array(rows)
        before = np.array(found[name, "base", stat])
        assert 0.55 <= r[:, 0].std(ddof=1) / r[:, 1].mean() <= 1.6, (name, stat)
        if name == "surplus":
            if stat == "mean":  # more regressors never leave a larger least-squares residual
                assert np.all(r[:, 1] <= before[:, 1] * (1 + 1e-12)), name
        else:
            assert r[:, 1].mean() < 0.5 * before[:, 1].mean(), (name, stat)


@pytest.mark.parametrize(("seed", "months"), [(0, 120), (3, 37), (11, 60)])
def test_banked_cash_is_bitwise_the_cumulative_sum_over_blocks_and_months(scenario, seed, months):
    grid = GRID[:months]
    h = grid[[0, months // 3, months // 2, months - 1]]
    paths = scenario.generator.simulate(64, grid, seed, 1)
    assert np.array_equal(asset_paths(scenario, paths, h), sleeves_cumulative(scenario, paths, h))


def _banked_month_by_month(weights, cashes, cols, shape):
    """numpy's month loop the kernel replaces: each month's blocks added to 0, then banked."""
    banked = np.zeros((shape[0], shape[2]))
    grown = np.empty(shape)
    for k in range(int(cols.max()) + 1):
        month = np.zeros_like(banked)
        for weight, cash in zip(weights, cashes, strict=True):
            month += weight[:, k, None] * cash[:, k, :]
        banked = banked + month
        grown[:, cols == k] = banked[:, None, :]
    return grown


def test_bank_monthly_cash_is_bitwise_numpys_month_loop():
    rng = np.random.default_rng(5)
    weights = [rng.uniform(0.5, 1.0, (7, 30)) for _ in range(3)]
    # A block paying alike on every path (one row), one per path with negative zeros.
    cashes = [rng.normal(size=(1, 30, 4)), rng.normal(size=(7, 30, 4)), np.full((7, 30, 4), -0.0)]
    cols = np.array([0, 11, 11, 29, 5])
    want = _banked_month_by_month(weights, cashes, cols, (7, len(cols), 4))
    got = _banked(weights, cashes, cols, (7, len(cols), 4))
    assert got.tobytes() == want.tobytes()
    with pytest.raises(ValueError, match="block 0's cash is 1x8"):
        _core.bank_monthly_cash(weights[:2], [c.reshape(len(c), -1)[:, :8] for c in cashes[:2]],
                                7, 4, cols)  # fmt: skip
    with pytest.raises(ValueError, match="`cols` entry 0"):
        _core.bank_monthly_cash([], [], 7, 4, np.array([-1]))


def test_linker_cash_by_hand_interpolated_index_and_deflation_floor():
    # One linker, real flows 1 at 0.5 and 0.75 years and 101 at 1 year (coupon 1 + principal
    # 100), today's index ratio 1.05, held by two managers (2 and 0.5 units of 100 face); two
    # paths on a half-yearly grid whose reference index grows to 1.02 then falls to 0.9, or
    # rises to 1.1.
    layout = CashflowLayout.from_streams([[0.5, 0.75, 1.0]], [[1.0, 1.0, 101.0]])
    book = BondBook.from_layout(["L"], layout, "2026-01-01")
    ratio = np.array([1.05])
    block = _Block(
        "USD-real", book, np.zeros(1), np.array([[2.0], [0.5]]) * ratio, ratio, np.array([100.0])
    )
    growth = np.array([[1.02, 0.9], [1.02, 1.1]])
    ones = np.ones((2, 2))
    paths = MultiCurrencyPaths(
        ("USD", "USD-real"), (-1, 0), np.array([0.5, 1.0]),
        (ones, ones), (ones, ones), (ones, ones), (np.empty((0, 0)), growth), seed=0,
    )  # fmt: skip
    cash = _linker_cash(block, paths)
    assert cash.shape == (2, 2, 2)
    # Month ending at 0.5: the coupon at the index of 0.5.
    np.testing.assert_allclose(cash[:, 0, 0], 2.0 * 1.05 * 1.02, rtol=1e-15)
    # Month ending at 1: the coupon at 0.75 reads the index halfway between 0.5 and 1; the
    # last flow's coupon at 1's index and the principal at least 100 (the floor binds on the
    # first path, where 100 x 1.05 x 0.9 = 94.5).
    g75 = np.array([0.5 * (1.02 + 0.9), 0.5 * (1.02 + 1.1)])
    principal = np.maximum(100.0 * 1.05 * growth[:, 1], 100.0)
    want = 1.05 * g75 + 1.05 * growth[:, 1] + principal
    np.testing.assert_allclose(cash[:, 1, 0], 2.0 * want, rtol=1e-15)
    np.testing.assert_allclose(cash[:, 1, 1], 0.5 * want, rtol=1e-15)
    assert principal[0] == 100.0
    # The first coupon's reference index already published (ratio 1.06): every path pays it,
    # the later flows keep their paths' index.
    published = np.array([1.06, np.nan, np.nan])
    known = _linker_cash(replace(block, published=published), paths)
    np.testing.assert_allclose(known[:, 0, 0], 2.0 * 1.06, rtol=1e-15)
    np.testing.assert_array_equal(known[:, 1], cash[:, 1])


def test_foreign_economies_keep_todays_forwards_and_breakevens(demo_portfolio):
    # The economies' curves are built so that the FX forward off the simulated curves is the
    # curve set's covered-parity forward (funding curves with basis), and a real economy's
    # index forward is its currency's breakevens (real over government curve), also for a
    # foreign currency's linkers (EUR real rates, added here 2% under the government curve).
    p = replace(demo_portfolio)
    cs = demo_portfolio.curve_set
    p.__dict__["curve_set"] = cs.with_curve("EUR", "real", cs.curve("EUR").shifted(-200.0))
    held = [c for c, _, _ in p.currency_books]
    nominal, reals = _economies(p, G2pp(p.curve), held, ["EUR", "USD"])
    t = np.array([0.13, 0.25, 0.61, 1.0, 3.3, 8.77, 19.0, 27.9])  # on and off monthly nodes
    usd = nominal["USD"].curve
    assert usd is p.curve
    for code in ("EUR", "GBP", "JPY", "CAD"):
        forward = nominal[code].spot * nominal[code].curve.discount(t) / usd.discount(t)
        np.testing.assert_allclose(forward, cs.fx_forward(code, t), rtol=1e-12)
    for code in ("EUR", "USD"):
        real, home = reals[code], nominal[code]
        assert real.parent == code
        assert real.kind == "real"
        growth = real.curve.discount(t) / home.curve.discount(t)
        want = p.curve_set.curve(code, "real").discount(t) / p.curve_set.curve(code).discount(t)
        np.testing.assert_allclose(growth, want, rtol=1e-12)


# Credit spreads on the run's paths (issue 17, item 4): the scenario engine's log-spread model
# per economy, its shocks recovered here from the simulated spreads and rates.


def _standard_shocks(paths, model, spec, stream):
    """Each step's standard spread shocks (paths x steps x ratings) and rate shock."""
    sim = simulate_credit_inflation(model, paths, spec, stream=stream)
    dt = np.diff(paths.times, prepend=0.0)
    kappa, nu = spec.mean_reversion, spec.volatility
    e = np.exp(-kappa * dt)[None, :, None]
    log_s = np.log(sim.spreads)
    prev = np.concatenate(
        [np.broadcast_to(np.log(sim.today), log_s[:, :1].shape), log_s[:, :-1]], axis=1
    )
    spread = (log_s - prev * e - np.log(sim.today) * (1 - e)) / (
        nu * np.sqrt((1 - e * e) / (2 * kappa))
    )
    a, sigma = model.params[0], model.params[1]
    x_prev = np.concatenate([np.zeros((paths.n_paths, 1)), paths.x[:, :-1]], axis=1)
    rate = (paths.x - np.exp(-a * dt) * x_prev) / (
        sigma * np.sqrt(-np.expm1(-2 * a * dt) / (2 * a))
    )
    return spread, rate, sim


def test_spread_shocks_keep_their_correlations_with_home_rates_and_each_other(
    demo_portfolio, scenario
):
    # Pooled over 2,000 paths x 36 months (independent shocks): each rating's shock against
    # its economy's level factor at the target -0.3, ratings with each other at 0.4, and the
    # USD and EUR spreads only through their rates (0.3^2 x the 0.5 rate correlation): the two
    # economies' sub-streams are independent. Every estimate within four standard errors
    # (1 - rho^2) / sqrt(n).
    gen = scenario.generator
    spec = run_spread_model(demo_portfolio)
    grid = GRID[:36]
    paths = gen.simulate(2000, grid, seed=11, threads=2)
    shocks = {}
    for name in ("USD", "EUR"):
        i = paths.index(name)
        spread, rate, sim = _standard_shocks(
            paths.economy(name), gen.model(name), spec, SPREAD_STREAM + 8 * i
        )
        # The run's moves at its horizons are these spreads' (summed in closed form).
        horizons = np.array([1.0, 3.0])
        np.testing.assert_allclose(
            spread_moves(gen.model(name), paths.economy(name), spec, horizons, i),
            sim.moves(paths.economy(name), horizons),
            rtol=0,
            atol=1e-14,
        )
        shocks[name] = (spread.reshape(-1, 7), rate.ravel())
    n = 2000 * 36

    def within(a, b, target):
        c = np.corrcoef(a, b)[0, 1]
        return abs(c - target) < 4 * (1 - target**2) / np.sqrt(n)

    for name, (spread, rate) in shocks.items():
        for r in range(7):
            assert within(spread[:, r], rate, spec.rate_correlation), (name, r)
        for r in range(6):
            assert within(spread[:, r], spread[:, r + 1], spec.base_correlation), (name, r)
    cross = gen.correlation.loc["USD.x", "EUR.x"]
    assert within(shocks["USD"][1], shocks["EUR"][1], cross)
    for r in (0, 3, 6):
        target = spec.rate_correlation**2 * cross
        assert within(shocks["USD"][0][:, r], shocks["EUR"][0][:, r], target), r


def test_zero_spread_volatility_is_bitwise_the_constant_spread_run(
    demo_portfolio, single_currency_book
):
    # No spread model, or one with no volatility and no drift, revalue exactly as before; with
    # volatility, only the managers holding credit move, and the government-only sleeves keep
    # every bit (their flows are discounted on the same dates in the same order).
    model = G2pp(demo_portfolio.curve)
    years = np.array([1.0, 3.0])
    grid = GRID[:36]
    plain = simulate_sleeves(demo_portfolio, model, 40, grid, years, 2, chunk=40)
    still = run_spread_model(demo_portfolio, volatility=0.0)
    flat = simulate_sleeves(demo_portfolio, model, 40, grid, years, 2, chunk=40, credit=still)
    assert np.array_equal(flat.sleeves, plain.sleeves)
    moved = simulate_sleeves(
        demo_portfolio, model, 40, grid, years, 2, chunk=40,
        credit=run_spread_model(demo_portfolio),
    )  # fmt: skip
    assert np.array_equal(moved.liabilities, plain.liabilities)
    assert np.array_equal(moved.states, plain.states)
    sec = demo_portfolio.securities.set_index("security_id")
    credit = ~sec["sector"].reindex(demo_portfolio.face.columns).isin(GOVERNMENT_SECTORS)
    holds_credit = (demo_portfolio.face.loc[:, credit.to_numpy()] > 0).any(axis=1)
    holds_credit = holds_credit.reindex(demo_portfolio.managers.index, fill_value=False)
    same = np.all(moved.sleeves == plain.sleeves, axis=(0, 1))
    assert holds_credit.sum() >= 20
    assert (~holds_credit).sum() >= 2
    assert np.array_equal(same, ~holds_credit.to_numpy())
    # The single-currency path of the revaluation too.
    book = single_currency_book
    m = G2pp(book.curve)
    one = simulate_sleeves(book, m, 24, grid, years, 5, chunk=24)
    zero = simulate_sleeves(
        book, m, 24, grid, years, 5, chunk=24, credit=run_spread_model(book, volatility=0.0)
    )
    assert np.array_equal(one.sleeves, zero.sleeves)


def test_spread_moved_sleeves_do_not_depend_on_chunks_or_threads(
    demo_portfolio, single_currency_book
):
    model = G2pp(demo_portfolio.curve)
    years = np.array([1.0, 2.0, 5.0])
    grid = GRID[:60]
    credit = run_spread_model(demo_portfolio)
    one = simulate_sleeves(demo_portfolio, model, 45, grid, years, 8, chunk=45, credit=credit)
    for chunk in (1, 17):
        part = simulate_sleeves(
            demo_portfolio, model, 45, grid, years, 8, chunk=chunk, credit=credit
        )
        assert np.array_equal(part.sleeves, one.sleeves)
    scenario = book_scenario(demo_portfolio, model)
    assert scenario is not None
    paths = scenario.generator.simulate(45, grid, seed=8, threads=1)
    two = sleeve_paths(demo_portfolio, model, paths, years, 2, scenario=scenario, credit=credit)
    assert np.array_equal(two.sleeves, one.sleeves)
    book = single_currency_book
    m = G2pp(book.curve)
    whole = simulate_sleeves(book, m, 30, grid, years, 5, chunk=30, credit=run_spread_model(book))
    parts = simulate_sleeves(book, m, 30, grid, years, 5, chunk=7, credit=run_spread_model(book))
    assert np.array_equal(whole.sleeves, parts.sleeves)
    assert not np.array_equal(
        whole.sleeves, simulate_sleeves(book, m, 30, grid, years, 5, chunk=30).sleeves
    )


def test_a_foreign_corporate_moves_with_its_home_economys_spreads(demo_portfolio, scenario):
    # The EUR bonds given ratings (as if corporates): their sleeve's change from the constant
    # spread value is, path by path, FX x sum of units x amount x P_EUR(h, t) x
    # (exp(-(z + move) tau) - exp(-z tau)), with the EUR economy's zero bonds and its rating's
    # move on the path.
    gen = scenario.generator
    k = next(i for i, b in enumerate(scenario.blocks) if b.economy == "EUR")
    block = scenario.blocks[k]
    ratings = np.arange(len(block.book)) % 7
    rated = replace(scenario, blocks=(replace(block, groups=ratings),))
    alone = replace(rated, hedge_currencies=(), hedged=np.zeros((scenario.hedged.shape[0], 0)))
    paths = gen.simulate(6, GRID[:24], seed=3, threads=1)
    horizons = np.array([1.0, 2.0])
    credit = run_spread_model(demo_portfolio, volatility=0.6)
    moved = asset_paths(alone, paths, horizons, 1, credit)
    plain = asset_paths(alone, paths, horizons, 1)
    eur = paths.economy("EUR")
    moves = spread_moves(gen.model("EUR"), eur, credit, horizons, paths.index("EUR"))
    layout = block.book.layout
    stream = np.repeat(np.arange(len(block.book)), np.diff(layout.offsets))
    fx = paths.to_base("EUR")[:, eur.columns(horizons)]
    model = gen.model("EUR")
    for j, h in enumerate(horizons):
        live = layout.times > h
        t, s = layout.times[live], stream[live]
        tau = t - h
        col = eur.columns([h])[0]
        zb = model.zero_bond(h, t, eur.x[:, col], eur.y[:, col])  # paths x flows
        z = block.z_spread[s]
        for p in range(paths.n_paths):
            m = moves[p, j, ratings[s]]
            per_flow = layout.amounts[live] * zb[p] * (np.exp(-(z + m) * tau) - np.exp(-z * tau))
            per_bond = np.bincount(s, per_flow, minlength=len(block.book))
            want = fx[p, j] * block.holdings @ per_bond
            np.testing.assert_allclose(
                moved[p, j] - plain[p, j], want, rtol=1e-9, atol=1e-9 * np.abs(plain[p, j]).max()
            )


# The deflation floor before maturity (issue 17, item 2): Black's put on the model's lognormal
# forward index, against a Monte Carlo of the same generator.


def _floor_case(breakeven: float, ratio: float, maturity: float, z: float = 0.0):
    vd = dt.date(2026, 3, 31)
    usd = Economy("USD", Curve.flat(0.035, vd))
    real = real_economy(usd, breakeven, volatility=0.02)
    gen = MultiCurrencyG2([usd, real])
    layout = CashflowLayout.from_streams([[maturity]], [[100.0]])
    book = BondBook.from_layout(["L"], layout, vd)
    r = np.array([ratio])
    block = _Block(
        "USD-real", book, np.array([z]), np.array([[1.0], [0.5]]) * r, r, np.array([100.0])
    )
    return gen, block


@pytest.mark.parametrize(
    ("breakeven", "ratio", "maturity", "z"),
    [(0.005, 0.99, 5.0, 0.0), (0.0, 1.02, 3.0, 0.004), (0.02, 0.9, 7.0, 0.001)],
)
def test_floor_value_is_blacks_put_on_the_models_forward_index(breakeven, ratio, maturity, z):
    # Today: E[D(T) (100 - 100 ratio g(T))^+] e^{-z T} over 20,000 simulated paths within four
    # standard errors of the closed form; on the paths at 1 and 2 years, the discounted floor
    # values' mean is today's value again (the path formula prices the same option).
    gen, block = _floor_case(breakeven, ratio, maturity, z)
    grid = np.arange(1, round(12 * maturity) + 1) / 12.0
    paths = gen.simulate(20_000, grid, seed=5, threads=2)
    today = _floor_today(gen, block, block.z_spread)[0]
    assert today > 0.3
    payoff = np.maximum(100.0 - 100.0 * ratio * paths.link[1][:, -1], 0.0)
    sample = paths.discount[0][:, -1] * payoff * np.exp(-z * maturity)
    se = sample.std() / np.sqrt(len(sample))
    assert abs(sample.mean() - today) < 4 * se
    horizons = np.array([1.0, 2.0])
    values = floor_paths(gen, block, paths, horizons)
    assert values.shape == (20_000, 2, 2)
    np.testing.assert_allclose(values[:, :, 1], 0.5 * values[:, :, 0], rtol=1e-15)
    cols = paths.economy("USD").columns(horizons)
    for j in range(2):
        discounted = paths.discount[0][:, cols[j]] * values[:, j, 0]
        se = discounted.std() / np.sqrt(len(discounted))
        assert abs(discounted.mean() - today) < 4 * se
    # At maturity and after, nothing is left (the floor was paid with the principal).
    assert np.all(floor_paths(gen, block, paths, [maturity]) == 0.0)


def test_index_variance_integrates_the_forward_volatility():
    # Against a numerical integral of the loadings' quadratic form at 2,000 midpoints.
    gen, _ = _floor_case(0.01, 1.0, 5.0)
    e, home = gen.economy("USD-real"), gen.economy("USD")
    names = ["USD-real.link", "USD-real.x", "USD-real.y", "USD.x", "USD.y"]
    c = gen.correlation.loc[names, names].to_numpy()
    start, end = 1.5, 9.0
    u = end - (start + (np.arange(2000) + 0.5) * (end - start) / 2000)
    ar, sr, br, er, _ = e.params
    an, sn, bn, en, _ = home.params

    def b(k):
        return (1 - np.exp(-k * u)) / k

    w = np.stack([np.full_like(u, e.volatility), -sr * b(ar), -er * b(br), sn * b(an), en * b(bn)])
    numeric = np.einsum("pi,pq,qi->i", w, c, w).mean() * (end - start)
    assert gen.index_variance("USD-real", start, end) == pytest.approx(numeric, rel=1e-6)
    assert gen.index_variance("USD-real", end, start) == 0.0
    with pytest.raises(ValueError, match="not a real economy"):
        gen.index_variance("USD", 0.0, 1.0)


def test_linker_spreads_reprice_with_the_floors_value():
    # A floor near the money is worth over 1% of the price: the spread solved with it makes
    # real flows plus floor equal the dirty price to rounding, and is lower than the spread
    # that ignores the floor.
    gen, block = _floor_case(0.005, 0.99, 5.0)
    dirty = np.array([96.0])
    z = _linker_spreads(gen, block, dirty)
    curve = gen.economy("USD-real").curve
    floor = _floor_today(gen, block, z)
    assert floor[0] > 1.0
    price = block.book.dirty_prices(curve, z) * block.index_ratio + floor
    np.testing.assert_allclose(price, dirty, rtol=1e-12)
    plain = block.book.z_spreads(curve, dirty / block.index_ratio)
    assert z[0] > plain[0] + 1e-3
