"""Foreign bonds, FX hedges and linkers on the multi-currency paths (fialloc.currency_paths).

References: under the base measure the base-discounted value of any traded position is a
martingale, so ``E[D_base(h) V(h)]`` has a closed form from today's curves (each flow's
discount factor on its economy's curve, times today's FX spot and index ratio; a flow paid
before ``h`` is banked from the end of its grid month). The Monte Carlo mean must fall within
four standard errors of it, on the demo's foreign, linker and hedge positions, for several
seeds and horizons.
"""

from dataclasses import replace

import numpy as np
import pytest

import fialloc.data as data
from fialloc.bonds import BondBook
from fialloc.currency_paths import (
    BookScenario,
    _Block,
    _economies,
    _linker_cash,
    asset_paths,
    book_scenario,
    hedge_paths,
)
from fialloc.currency_scenarios import MultiCurrencyPaths
from fialloc.layout import CashflowLayout
from fialloc.robustness import simulate_sleeves, sleeve_paths
from fialloc.scenarios import G2pp

GRID = np.arange(1, 121) / 12.0
N_PATHS = 3000


@pytest.fixture(scope="module")
def scenario(demo_portfolio):
    model = G2pp(demo_portfolio.curve)
    found = book_scenario(demo_portfolio, model)
    assert found is not None
    return found


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
    per_bond = np.bincount(stream, per_flow, minlength=len(b.book))
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
        np.testing.assert_allclose(price * ratio, dirty, rtol=1e-9)


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


def test_nominal_single_currency_book_rides_the_base_paths_alone():
    book = data.synthetic(6, 300, seed=3)
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


def _banked_cumulative(scenario: BookScenario, paths: MultiCurrencyPaths, h: np.ndarray):
    """The sleeves with every block's cash in a paths x months x managers array, summed over
    blocks and months (the cumulative sum): the formula the running sum replaced."""
    gen = scenario.generator
    base = paths.economy(paths.names[0])
    cols = base.columns(h)
    out = np.zeros((paths.n_paths, len(h), scenario.hedged.shape[0]))
    paid = np.zeros((paths.n_paths, len(paths.times), scenario.hedged.shape[0]))
    for b in scenario.blocks:
        out += gen.revalue(b.economy, b.book, paths, h, b.z_spread, holdings=b.holdings)
        home = b.economy if b.index_ratio is None else str(gen.economy(b.economy).parent)
        weight = base.discount if home == paths.names[0] else base.discount * paths.to_base(home)
        if b.index_ratio is None:
            paid += weight[:, :, None] * base.monthly_cash(b.book.layout, b.holdings)[None]
        else:
            paid += weight[:, :, None] * _linker_cash(b, paths)
    out += np.cumsum(paid, axis=1)[:, cols, :] / base.discount[:, cols, None]
    for c, currency in enumerate(scenario.hedge_currencies):
        out += hedge_paths(gen, currency, paths, h)[:, :, None] * scenario.hedged[:, c]
    return out


@pytest.mark.parametrize(("seed", "months"), [(0, 120), (3, 37), (11, 60)])
def test_banked_cash_is_bitwise_the_cumulative_sum_over_blocks_and_months(scenario, seed, months):
    grid = GRID[:months]
    h = grid[[0, months // 3, months // 2, months - 1]]
    paths = scenario.generator.simulate(64, grid, seed, 1)
    assert np.array_equal(asset_paths(scenario, paths, h), _banked_cumulative(scenario, paths, h))


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
