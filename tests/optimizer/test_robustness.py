import dataclasses

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.currency_paths import credit_groups
from fialloc.mc_estimators import DEFAULT_PATHS, estimate
from fialloc.optimize import (
    AllocationProgram,
    Extension,
    OverlayInputs,
    build_problem,
    optimize,
    overlay_extension,
)
from fialloc.option_paths import pool_paths
from fialloc.overlay import OverlayMarket, overlay_universe
from fialloc.robustness import (
    STATISTICS,
    compare,
    evaluate,
    evaluate_and_compare,
    min_expected_shortfall,
    simulate_sleeves,
    sleeve_paths,
    stress_surplus,
    tracking_error_distribution,
)
from fialloc.scenarios import G2pp
from fialloc.stresses import stress_portfolio


@pytest.fixture(scope="module")
def setup(demo_portfolio):
    portfolio = demo_portfolio
    model = G2pp(portfolio.curve)
    paths = model.simulate(200, times=np.arange(1, 61) / 12.0, seed=4)
    return portfolio, model, paths, sleeve_paths(portfolio, model, paths, [1.0, 3.0, 5.0])


def test_sleeves_add_up_to_the_portfolio_surplus(setup):
    portfolio, model, paths, sleeves = setup
    # The paths move the base curve: every bond rides it with its spread over that curve,
    # its face in base units at today's spot (the demo's global sleeve holds four currencies).
    # Flows taken from the book (a linker's are in money at today's breakevens), in base units.
    # The MBS pools ride the paths with their prepayment model instead (tests/core/
    # test_mbs_paths.py checks it): their scheduled flows are left out here and their model
    # values added.
    horizons = [1.0, 3.0, 5.0]
    held = portfolio.book
    pools = pool_paths(
        portfolio, model, horizons, paths.seed, credit_groups(portfolio, held.security_ids)
    )
    assert pools is not None
    z = portfolio.base_curve_spreads.to_numpy()
    fx = portfolio.fx_to_base.to_numpy()
    fx_pools = fx.copy()
    fx_pools[pools.rows] = 0.0
    per_flow = np.repeat(fx_pools, np.diff(held.layout.offsets))
    book = held.with_amounts(held.layout.amounts * per_flow, fx)
    direct = model.surplus(book, portfolio.liability_stream, paths, horizons, z)
    direct += pools.sleeves(model, paths, horizons).sum(axis=2)
    np.testing.assert_allclose(
        sleeves.surplus(portfolio.current_weights.to_numpy()), direct, rtol=1e-12
    )


def test_allocations_are_linear_mixes_of_sleeves(setup):
    portfolio, _, _, sleeves = setup
    w0 = portfolio.current_weights.to_numpy()
    w1 = w0.copy()
    w1[0] += 0.02
    w1[1] -= 0.02
    mid = sleeves.surplus(0.5 * (w0 + w1))
    np.testing.assert_allclose(mid, 0.5 * (sleeves.surplus(w0) + sleeves.surplus(w1)), rtol=1e-12)


def test_evaluate_reports_consistent_statistics(setup):
    portfolio, _, _, sleeves = setup
    table = evaluate(sleeves, {"current": portfolio.current_weights.to_numpy()})
    assert (table["p05"] <= table["median"]).all()
    assert (table["median"] <= table["p95"]).all()
    assert table["shortfall_probability"].between(0, 1).all()
    assert (table["expected_shortfall_95"] <= table["p05"]).all()


def test_tracking_error_distribution_is_ordered_and_needs_two_horizons(setup):
    portfolio, model, paths, sleeves = setup
    w = portfolio.current_weights.to_numpy()
    row = tracking_error_distribution(sleeves, {"current": w}).loc["current"]
    assert 0.0 < row["p05"] <= row["median"] <= row["p95"] < 0.5
    one = sleeve_paths(portfolio, model, paths, [1.0])
    with pytest.raises(ValueError, match="two horizons"):
        tracking_error_distribution(one, {"current": w})


def test_tracking_error_of_one_path_is_its_own_statistic(setup):
    portfolio, _, _paths, sleeves = setup
    w = portfolio.current_weights.to_numpy()
    single = dataclasses.replace(
        sleeves, sleeves=sleeves.sleeves[:1], liabilities=sleeves.liabilities[:1]
    )
    assets = [portfolio.total_assets, *list(sleeves.surplus(w)[0] + sleeves.liabilities[0])]
    owed = [sleeves.liabilities_today, *sleeves.liabilities[0]]
    lengths = [1.0, 2.0, 2.0]
    active = [
        (assets[k + 1] / assets[k] - owed[k + 1] / owed[k]) / np.sqrt(lengths[k]) for k in range(3)
    ]
    table = tracking_error_distribution(single, {"current": w})
    assert table.loc["current", "mean"] == pytest.approx(np.std(active, ddof=1), rel=1e-12)


def test_stress_surplus_of_today_matches_the_stress_summary(demo_portfolio):
    portfolio = demo_portfolio
    stresses = stress_portfolio(portfolio)
    w0 = portfolio.current_weights.to_numpy()
    tilted = w0.copy()
    tilted[0] += 0.03
    tilted[1] -= 0.03
    table = stress_surplus(stresses, portfolio, {"current": w0, "tilted": tilted})
    np.testing.assert_allclose(table["current"], stresses.summary()["surplus"], rtol=1e-10)
    # Linear in the weights: moving 3% from M02 to M01 changes surplus by the sleeves' difference.
    by_manager = stresses.by_manager(
        portfolio.face.div(portfolio.face.sum(axis=0), axis=1).fillna(0.0)
    )
    unit = (by_manager.T / w0).T  # change per unit weight from the base scenario
    expected = 0.03 * (unit.iloc[0] - unit.iloc[1])
    change = (table["tilted"] - table["current"]) - (table["tilted"] - table["current"]).iloc[0]
    np.testing.assert_allclose(change, expected, rtol=1e-8, atol=1.0)


def test_minimum_expected_shortfall_beats_the_priority_optimum_under_the_same_mandate(setup):
    portfolio, _, _, sleeves = setup
    problem = build_problem(DeskContext(portfolio))
    mandate = portfolio.mandate
    robust = min_expected_shortfall(problem, sleeves, mandate, horizon=5.0)
    allowed = robust.constraints["allowed"]
    assert allowed.all(), robust.constraints[~allowed]
    # Under the same limits as the recommendation: no key-rate gap beyond its tolerance widens.
    gaps = robust.constraints[robust.constraints["kind"] == "gap"]
    assert (gaps["value"] <= np.maximum(gaps["before"], gaps["limit"]) + 1e-6).all()
    priority = optimize(problem, mandate).weights.to_numpy()
    worst = max(1, sleeves.surplus(priority).shape[0] // 20)
    es_priority = -np.sort(sleeves.surplus(priority)[:, 2])[:worst].mean()
    es_robust = -np.sort(sleeves.surplus(robust.weights.to_numpy())[:, 2])[:worst].mean()
    assert es_robust <= es_priority + 1e-6 * portfolio.total_assets
    assert robust.summary["expected_shortfall_after"] == pytest.approx(-es_robust, rel=1e-9)
    with pytest.raises(ValueError, match="confidence"):
        min_expected_shortfall(problem, sleeves, mandate, confidence=1.0)
    with pytest.raises(ValueError, match="not one of"):
        min_expected_shortfall(problem, sleeves, mandate, horizon=2.5)


def test_every_statistic_has_a_standard_error_and_comparisons_follow_their_intervals(setup):
    portfolio, _, _, sleeves = setup
    w0 = portfolio.current_weights.to_numpy()
    tilted = w0.copy()
    tilted[0] += 0.03
    tilted[1] -= 0.03
    table = evaluate(sleeves, {"current": w0, "tilted": tilted})
    for stat, _, _ in STATISTICS:
        assert (table[f"{stat}_se"] >= 0).all(), stat
    pairs = compare(sleeves, {"current": w0, "tilted": tilted, "same": w0})
    assert set(pairs.index.get_level_values("allocation")) == {"tilted", "same"}
    # The same weights: no difference, no claim.
    same = pairs.loc["same"]
    assert (same["difference"] == 0).all()
    assert (same["verdict"] == "no clear change").all()
    tilted_rows = pairs.loc["tilted"]
    # The paired difference is the difference of the two estimates on the same paths.
    for (h, stat), row in tilted_rows.iterrows():
        change = table.loc[("tilted", h), stat] - table.loc[("current", h), stat]
        assert row["difference"] == pytest.approx(change, rel=1e-9, abs=1e-9)
        sign = -1 if stat == "shortfall_probability" else 1
        excludes = row["low"] > 0 or row["high"] < 0
        expected = ("better" if sign * row["difference"] > 0 else "worse") if excludes else None
        assert row["verdict"] == (expected or "no clear change")
    with pytest.raises(ValueError, match="baseline"):
        compare(sleeves, {"tilted": tilted})
    # Both tables at once (what a run uses) are exactly the two apart.
    together = evaluate_and_compare(sleeves, {"current": w0, "tilted": tilted, "same": w0})
    pd.testing.assert_frame_equal(
        together[0], evaluate(sleeves, {"current": w0, "tilted": tilted, "same": w0})
    )
    pd.testing.assert_frame_equal(together[1], pairs)
    with pytest.raises(ValueError, match="baseline"):
        evaluate_and_compare(sleeves, {"tilted": tilted})


@pytest.mark.parametrize("book", ["demo", "synthetic"])
def test_standard_errors_match_the_spread_across_seeds(book, demo_portfolio, synthetic_book):
    # 16 seeds of 400 paths (1,000 on the demo): the spread of each estimate across seeds
    # against its mean standard error (the spread's own relative error is about 18%), for a
    # level and for a paired before/after difference (the demo's recommendation; 4% moved on
    # the other book). On the demo 20 tail paths (400 paths) were too few for expected
    # shortfall's standard error while only the base rate states were controls: across seeds
    # 1.78 times it at 400 paths, 1.08 at 1,000; with every economy's states 1.18 at 400
    # (tests/core/test_currency_paths.py).
    portfolio = demo_portfolio if book == "demo" else synthetic_book(20, 600, 3)
    model = G2pp(portfolio.curve)
    current = portfolio.current_weights.to_numpy()
    if book == "demo":
        target = optimize(build_problem(DeskContext(portfolio)), portfolio.mandate).weights
        moved = target.to_numpy()
    else:
        moved = current.copy()
        moved[np.argmax(current)] -= 0.04
        moved[np.argmin(current)] += 0.04
    weights = {"current": current, "recommended": moved}
    grid, years = np.arange(1, 61) / 12.0, np.array([1.0, 5.0])
    n_paths = 1000 if book == "demo" else 400
    found = []
    for seed in range(16):
        sleeves = simulate_sleeves(portfolio, model, n_paths, grid, years, 100 + seed)
        found.append((evaluate(sleeves, weights).loc[("current", 5.0)], compare(sleeves, weights)))
    for stat in ("expected_shortfall_95", "shortfall_probability", "mean"):
        level = np.array([f[0][stat] for f in found])
        se = np.array([f[0][f"{stat}_se"] for f in found])
        # The shortfall probability's standard error is conservative on the demo: the spread
        # across these seeds is 0.56 of it with the pools on their scheduled flows, 0.51 with
        # them on their prepayment model (issue 18).
        low = 0.5 if stat == "shortfall_probability" and book == "demo" else 0.55
        assert low <= level.std(ddof=1) / se.mean() <= 1.6, stat
        diff = np.array([f[1].loc[("recommended", 5.0, stat), "difference"] for f in found])
        dse = np.array([f[1].loc[("recommended", 5.0, stat), "se"] for f in found])
        assert 0.55 <= diff.std(ddof=1) / dse.mean() <= 1.6, stat


def test_default_paths_give_expected_shortfall_at_10_years_within_5_percent(demo_portfolio):
    portfolio = demo_portfolio
    model = G2pp(portfolio.curve)
    sleeves = simulate_sleeves(
        portfolio, model, DEFAULT_PATHS, np.arange(1, 121) / 12.0, np.array([1.0, 10.0])
    )
    row = evaluate(sleeves, {"current": portfolio.current_weights.to_numpy()}).loc[
        ("current", 10.0)
    ]
    assert row["expected_shortfall_95_se"] <= 0.05 * abs(row["expected_shortfall_95"])
    # Without the control variates the same paths would need about 40 times more.
    plain = estimate(
        sleeves.surplus(portfolio.current_weights.to_numpy())[:, 1], "expected_shortfall", 0.05
    )
    assert plain.se > 4 * row["expected_shortfall_95_se"]


def _full_least_shortfall(problem, sleeves, mandate, rooms, confidence, overlay=None):
    """Reference: the Rockafellar-Uryasev program over every path at once (numpy for ES)."""
    unit = sleeves.per_unit_weight()[:, -1, :] / problem.assets
    owed = sleeves.liabilities[:, -1] / problem.assets
    n = unit.shape[0]
    held = None if overlay is None else sleeves.overlay_values()[:, -1, :]
    with_overlay = None if overlay is None else overlay_extension(problem, mandate, overlay)

    def extend(w):
        base = Extension() if with_overlay is None else with_overlay(w)
        t, u = cp.Variable(), cp.Variable(n, nonneg=True)
        surplus = unit @ w - owed
        if held is not None:
            surplus = surplus + held @ base.variables[0]
        return dataclasses.replace(
            base,
            variables=[*base.variables, t, u],
            terms={**base.terms, "es": 1e4 * (t + cp.sum(u) / ((1 - confidence) * n))},
            constraints=[*base.constraints, u >= -surplus - t],
        )

    program = AllocationProgram(problem, mandate, extension=extend, rooms=rooms)
    w = program.solve_for("extension")
    values = unit @ w - owed
    if held is not None:
        values = values + held @ np.asarray(program.extension.variables[0].value)
    worst = max(1, round((1 - confidence) * n))
    return float(np.sort(values)[:worst].mean() * problem.assets)


@pytest.mark.parametrize(
    ("book", "paths", "confidence"),
    [
        ("demo", 600, 0.95),
        ((12, 600, 1), 500, 0.95),
        ((30, 1500, 2), 800, 0.9),
        ((20, 900, 5), 400, 0.99),
        ((40, 2000, 8), 1000, 0.95),
    ],
)
def test_least_shortfall_over_path_subsets_reaches_the_optimum_over_all_paths(
    book, paths, confidence, demo_portfolio
):
    # The least-shortfall program adds paths until none left out is in the tail: its expected
    # shortfall must be the one of the program over every path, on books of several sizes,
    # seeds and tail levels, with the demo's overlay chosen jointly.
    portfolio = demo_portfolio if book == "demo" else data.synthetic(*book)
    mandate = portfolio.mandate
    overlay = universe = None
    if mandate.overlay.enabled:
        universe = overlay_universe(
            portfolio.curve,
            OverlayMarket(futures=portfolio.overlay_futures),
            portfolio.analytics.key_tenors,
        )
        changes = universe.stress_changes(stress_portfolio(portfolio).scenarios)
        overlay = OverlayInputs(universe.table, changes)
    model = G2pp(portfolio.curve)
    sim = model.simulate(paths, times=np.arange(1, 61) / 12.0, seed=len(str(book)) + paths)
    sleeves = sleeve_paths(portfolio, model, sim, [5.0], overlay=universe)
    problem = build_problem(DeskContext(portfolio))
    program = AllocationProgram(problem, mandate)
    robust = min_expected_shortfall(
        problem, sleeves, mandate, confidence=confidence, rooms=program.rooms(), overlay=overlay
    )
    reference = _full_least_shortfall(
        problem, sleeves, mandate, program.rooms(), confidence, overlay
    )
    found = robust.summary["expected_shortfall_after"]
    # Both to the solver's accuracy: a millionth of the assets.
    assert found == pytest.approx(reference, abs=1e-6 * problem.assets)
    assert robust.constraints["allowed"].all()
