import re

import numpy as np
import pandas as pd
import pytest

import fialloc.optimize
import fialloc.plan
from fialloc import pipeline
from fialloc.analytics.context import DeskContext
from fialloc.analytics.trading_costs import in_kind_split, manager_cost_coefficients, trade_costs
from fialloc.optimize import (
    AllocationProgram,
    OverlayInputs,
    build_problem,
    check_constraints,
    objective_table,
    optimize,
    overlay_effects,
    overlay_program,
)
from fialloc.overlay import overlay_universe
from fialloc.plan import _Fills, glide_path, implementation_plan


@pytest.fixture(scope="module")
def setup(demo_portfolio):
    portfolio = demo_portfolio
    problem = build_problem(DeskContext(portfolio))
    return portfolio, problem, optimize(problem, portfolio.mandate).weights


def test_plan_moves_in_equal_phases_within_every_limit(setup):
    portfolio, problem, target = setup
    # As many 10-day phases as the market volume needs for this target (at least 4).
    needed = implementation_plan(portfolio, problem, target, phases=4, phase_days=10, extend=True)
    phases = max(4, len(needed.costs))
    plan = implementation_plan(portfolio, problem, target, phases=phases, phase_days=10)
    np.testing.assert_allclose(plan.weights[0], problem.current)
    np.testing.assert_allclose(plan.weights[phases], target, atol=1e-12)
    np.testing.assert_allclose(
        plan.trades.sum(axis=1), (target - problem.current) * problem.assets, rtol=1e-9
    )
    np.testing.assert_allclose(plan.trades.sum(axis=0), 0.0, atol=1e-3)  # money is moved, not made
    assert plan.costs["constraints_ok"].all()
    assert (plan.costs["capacity_used"] <= 1.0).all()
    assert 0 < plan.total_cost < 0.01 * np.abs(plan.trades.to_numpy()).sum()


def test_plan_refuses_to_exceed_market_volume_and_says_what_would_fit(setup):
    portfolio, problem, target = setup
    with pytest.raises(ValueError, match=r"needs \d+\.\d+x the volume .* use at least \d+ phases"):
        implementation_plan(portfolio, problem, target, phases=1, phase_days=5)


def test_plan_validates_its_inputs(setup):
    portfolio, problem, target = setup
    with pytest.raises(ValueError, match="sum to 1"):
        implementation_plan(portfolio, problem, target * 0.97)
    with pytest.raises(ValueError, match="phases >= 1"):
        implementation_plan(portfolio, problem, target, phases=0)


def test_extend_adds_exactly_the_phases_the_volume_needs(setup):
    portfolio, problem, target = setup
    with pytest.raises(ValueError, match=r"use at least (\d+) phases") as refused:
        implementation_plan(portfolio, problem, target, phases=1, phase_days=5)
    stated = re.search(r"use at least (\d+) phases", str(refused.value))
    assert stated is not None
    needed = int(stated.group(1))
    plan = implementation_plan(portfolio, problem, target, phases=1, phase_days=5, extend=True)
    assert plan.requested_phases == 1
    assert len(plan.costs) == needed
    assert (plan.costs["capacity_used"] <= 1.0).all()
    # One phase fewer would not have fit.
    with pytest.raises(ValueError, match="the volume"):
        implementation_plan(portfolio, problem, target, phases=needed - 1, phase_days=5)


def test_buyers_are_limited_by_market_volume_not_by_what_they_hold():
    # Two securities, a seller holding 100 of the first, a buyer holding 1 of it and 50 of the
    # second; 40 of each may trade per phase.
    mv = np.array([[100.0, 0.0], [1.0, 50.0]])
    fills = _Fills(mv, np.array([40.0, 40.0]), np.array([1e-4, 2e-4]), np.array([True, False]))
    sold, bought, need = fills(np.array([30.0, 30.0]))
    # The seller may use its share of the first security's volume (100/101 of 40).
    np.testing.assert_allclose(sold, [30.0, 0.0])
    # The buyer takes the 10 the seller leaves of the first (ten times its holding), then 20 of
    # the second: cheapest first, within volume.
    np.testing.assert_allclose(bought, [10.0, 20.0])
    np.testing.assert_allclose(need, [30.0 / (40.0 * 100 / 101), 30.0 / 50.0])
    # What both sides trade of the first moves in kind; the rest goes to the market.
    in_kind, market = in_kind_split(sold, bought, np.array([1e6, 1e6]))
    np.testing.assert_allclose(in_kind, [10.0, 0.0])
    np.testing.assert_allclose(market, [20.0, 20.0])
    # A security without volume is not bought and leaves its seller whole, in kind.
    in_kind, market = in_kind_split(np.array([5.0]), np.array([0.0]), np.array([0.0]))
    assert (in_kind[0], market[0]) == (5.0, 0.0)


def test_in_kind_transfers_are_used_and_costed_and_the_reason_names_the_sleeve(setup):
    portfolio, problem, _ = setup
    # Closing the key-rate gaps fastest, and 3% from a sleeve to the one that shares most of
    # its securities (the demo's two high-yield sleeves): their common bonds move in kind.
    target = optimize(problem, portfolio.mandate.model_copy(update={"gap_closing": "fastest"}))
    target = target.weights.copy()
    held = (portfolio.market_values.reindex(problem.current.index) > 0).to_numpy(dtype=float)
    shared = held @ held.T
    np.fill_diagonal(shared, 0.0)
    seller, buyer = np.unravel_index(np.argmax(shared), shared.shape)
    target.iloc[seller] -= 0.03
    target.iloc[buyer] += 0.03
    plan = implementation_plan(portfolio, problem, target, extend=True, transfer_cost_bp=1.0)
    assert (plan.costs["in_kind"] > 0).all()
    np.testing.assert_allclose(plan.costs["in_kind_cost"], plan.costs["in_kind"] * 1e-4)
    total = plan.costs[["spread_cost", "impact_cost", "in_kind_cost"]].to_numpy().sum()
    assert plan.total_cost == pytest.approx(total)
    # Every sleeve's trades in a phase go to the market or, netted seller to buyer, in kind.
    moved = np.abs(plan.trades[1]).sum()
    covered = plan.costs.loc[1, "market_traded"] + plan.costs.loc[1, "in_kind"]
    assert moved / 2 <= covered <= moved + 1.0
    assert len(plan.costs) > plan.requested_phases == 3
    assert plan.reason.startswith("3 requested; ")
    worst = re.match(r"3 requested; (M\d+)'s (sale|purchase)", plan.reason)
    assert worst is not None
    assert worst.group(1) in problem.current.index
    # The same moves as the optimizer prices them: each sleeve pro rata, on its own.
    alone = np.abs(plan.trades[1])
    coef = plan.cost_coefficients
    pro_rata = (coef["linear"] * alone + coef["impact"] * alone**1.5).sum()
    assert plan.costs.loc[1, "pro_rata_cost"] == pytest.approx(pro_rata, rel=1e-9)
    calm = implementation_plan(portfolio, problem, target, phases=len(plan.costs))
    assert calm.reason.startswith("as requested")


def test_manager_cost_coefficients_price_a_sleeve_moved_alone():
    rng = np.random.default_rng(5)
    mv = pd.DataFrame(rng.uniform(0, 1e8, (4, 6)), index=list("ABCD"))
    mv.iloc[0, 2] = 0.0
    ba = pd.Series(rng.uniform(5, 60, 6))
    adv = pd.Series(rng.uniform(1e6, 5e7, 6))
    adv.iloc[5] = 0.0  # does not trade
    coef = manager_cost_coefficients(mv, ba, adv, days=10)
    for m, d in (("A", 3e7), ("C", 1.2e8)):
        mix = mv.loc[m] / mv.loc[m].sum()
        market = (d * mix).to_numpy() * (adv > 0).to_numpy()
        spread, impact = trade_costs(market, ba.to_numpy(), adv.to_numpy(), 10)
        closed = coef.loc[m, "linear"] * d + coef.loc[m, "impact"] * d**1.5
        assert spread + impact == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("book", [("demo", 0), ("synthetic", 3), ("synthetic", 8)])
def test_the_objectives_trading_cost_is_the_plans_pro_rata_cost(
    book, demo_portfolio, synthetic_book
):
    # The optimizer prices a move with the 3/2-power impact law over the plan's trading days;
    # the plan prices the same moves phase by phase (each sleeve pro rata, on its own). Equal
    # phases of d/P over P x D days cost what one move of d over P x D days costs.
    name, seed = book
    portfolio = demo_portfolio if name == "demo" else synthetic_book(20, 600, seed)
    ctx = DeskContext(portfolio)
    checked = 0
    for phases, days in ((3, 10), (6, 5), (12, 10)):
        problem = build_problem(ctx, trading_days=phases * days)
        target = optimize(problem, portfolio.mandate).weights
        plan = implementation_plan(portfolio, problem, target, phases=phases, phase_days=days,
                                   extend=True)  # fmt: skip
        if len(plan.costs) != phases:
            continue  # the volume forced more phases than the problem was priced for
        checked += 1
        table = objective_table(problem, portfolio.mandate, target.to_numpy())
        amortized = table.at["trading cost", "after"] * portfolio.mandate.cost_amortization_years
        assert -amortized == pytest.approx(plan.costs["pro_rata_cost"].sum(), rel=1e-9)
    assert checked


@pytest.mark.parametrize("book", ["demo", "synthetic"])
def test_glide_path_reaches_the_unpaced_target_within_every_limit(
    book, demo_portfolio, synthetic_book
):
    portfolio = demo_portfolio if book == "demo" else synthetic_book(15, 500, 8)
    problem = build_problem(DeskContext(portfolio))
    m = portfolio.mandate
    recommended = optimize(problem, m).weights
    glide = glide_path(problem, m, recommended)
    free = optimize(problem, m.model_copy(update={"turnover": 2.0, "max_shift": 1.0})).weights
    np.testing.assert_allclose(glide.weights[0], problem.current)
    np.testing.assert_allclose(glide.weights[1], recommended)
    np.testing.assert_allclose(glide.weights.iloc[:, -1], free, atol=1e-12)
    gap = free - recommended
    expected = 1 + int(
        np.ceil(max(0.5 * gap.abs().sum() / m.turnover, gap.abs().max() / m.max_shift) - 1e-9)
    )
    assert len(glide.cycles) == (expected if 0.5 * gap.abs().sum() > 1e-4 else 1)
    # within the solver's tolerance (1e-7 of assets)
    assert (glide.cycles["turnover"] <= m.turnover + 1e-7).all()
    assert (glide.cycles["largest_shift"] <= m.max_shift + 1e-7).all()
    assert glide.cycles["constraints_ok"].all(), glide.cycles
    assert glide.cycles["remaining"].iloc[-1] < 1e-9
    # At any pace there is nothing left to glide.
    fast = m.model_copy(update={"turnover": 2.0, "max_shift": 1.0})
    assert len(glide_path(problem, fast, optimize(problem, fast).weights).cycles) == 1


def _record_compilations(monkeypatch, module, name):
    """Patch `module.name` (a program's constructor) to record each call's mandate."""
    compiled = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        compiled.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return compiled


def test_glide_path_without_an_overlay_re_solves_the_recommendations_program(setup, monkeypatch):
    # The target without pace limits is the recommendation's program re-paced: the same path
    # to the bit as with a program compiled for it, and nothing compiled.
    portfolio, problem, _ = setup
    m = portfolio.mandate
    program = AllocationProgram(problem, m)
    recommended = optimize(problem, program=program).weights
    fresh = glide_path(problem, m, recommended)
    compiled = _record_compilations(monkeypatch, fialloc.optimize, "AllocationProgram")
    reused = glide_path(problem, m, recommended, program=program)
    assert compiled == []
    pd.testing.assert_frame_equal(reused.weights, fresh.weights, check_exact=True)
    pd.testing.assert_frame_equal(reused.cycles, fresh.cycles, check_exact=True)
    assert reused.reason == fresh.reason


def test_glide_path_validates_its_inputs(setup):
    _, problem, target = setup
    with pytest.raises(ValueError, match="sum to 1"):
        glide_path(problem, setup[0].mandate, target * 0.9)
    with pytest.raises(ValueError, match="max_cycles"):
        glide_path(problem, setup[0].mandate, target, max_cycles=0)
    # Out of reach at this pace: the path stops at the recommendation and says so.
    stuck = setup[0].mandate.model_copy(update={"turnover": 0.0})
    glide = glide_path(problem, stuck, problem.current)
    assert len(glide.cycles) == 1
    assert glide.cycles["remaining"].iloc[0] > 0.01
    assert glide.reason.endswith("it takes forever")
    slow = setup[0].mandate.model_copy(update={"turnover": 0.001})
    assert glide_path(problem, slow, target, max_cycles=5).reason.endswith("more than 4 more")


@pytest.mark.parametrize("book", [("demo", 0), ("synthetic", 8), ("synthetic", 11)])
def test_glide_path_with_an_overlay_rechooses_it_each_cycle_within_every_limit(
    book, demo_portfolio, synthetic_book
):
    name, seed = book
    portfolio = demo_portfolio if name == "demo" else synthetic_book(15, 500, seed)
    problem = build_problem(DeskContext(portfolio))
    m = portfolio.mandate
    universe = overlay_universe(portfolio.curve, key_tenors=portfolio.analytics.key_tenors)
    overlay = OverlayInputs(universe.table, universe.stress_changes())
    recommended = optimize(problem, m, overlay=overlay)
    units = recommended.overlay_units(universe.ids)
    glide = glide_path(problem, m, recommended.weights, overlay=overlay, units=units)
    free = m.model_copy(update={"turnover": 2.0, "max_shift": 1.0})
    target = optimize(problem, free, overlay=overlay)
    # Today holds no overlay; cycle 1 is the recommendation, the last the unpaced target.
    np.testing.assert_allclose(glide.weights[0], problem.current)
    assert (glide.overlay[0] == 0).all()
    np.testing.assert_allclose(glide.weights[1], recommended.weights)
    np.testing.assert_allclose(glide.overlay[1], units)
    last = glide.weights.columns[-1]
    np.testing.assert_allclose(glide.weights[last], target.weights, atol=1e-12)
    assert len(glide.cycles) > 1
    funded = universe.table["funded"].to_numpy(dtype=bool)
    for k in glide.cycles.index:
        w, u = glide.weights[k].to_numpy(), glide.overlay[k].to_numpy()
        # Weights and STRIPS hold the assets at every cycle end.
        assert w.sum() + u[funded].sum() == pytest.approx(1.0, abs=1e-6)
        table = check_constraints(problem, m, w, overlay, u)
        overlay_rows = table.index.str.startswith("overlay ")
        assert overlay_rows.sum() >= 4
        assert table.loc[overlay_rows, "ok"].all(), table[overlay_rows]
        assert table.drop(index=["turnover (one-way)", "max shift"])["allowed"].all()
        # Each cycle trades at most the turnover, STRIPS included.
        prev_w, prev_u = glide.weights[k - 1].to_numpy(), glide.overlay[k - 1].to_numpy()
        traded = 0.5 * (np.abs(w - prev_w).sum() + np.abs(u - prev_u)[funded].sum())
        assert traded == pytest.approx(glide.cycles.loc[k, "turnover"], abs=1e-9)
        assert traded <= m.turnover + 1e-6
    assert glide.cycles["constraints_ok"].all(), glide.cycles
    # The overlay chosen afresh at the target's weights is as good as the target's own.
    total = "total", "after_bp"
    effect = overlay_effects(problem, overlay, glide.overlay[last].to_numpy())["effect"]
    at_last = objective_table(problem, m, glide.weights[last].to_numpy(), effect)
    assert at_last.at[total] == pytest.approx(target.objective.at[total], abs=1e-3)


def test_glide_path_reuses_the_recommendations_program_and_its_rooms(setup, monkeypatch):
    # A run hands the glide path the program that made the recommendation: its rooms are
    # those a program compiled afresh for the same problem, mandate and overlay would compute,
    # so the path is the same to the bit, with no overlay program compiled (the target's,
    # without pace limits, is the same program re-paced: AllocationProgram.with_pace).
    portfolio, problem, _ = setup
    m = portfolio.mandate
    universe = overlay_universe(portfolio.curve, key_tenors=portfolio.analytics.key_tenors)
    overlay = OverlayInputs(universe.table, universe.stress_changes())
    program = overlay_program(problem, m, overlay)
    recommended = optimize(problem, program=program, overlay=overlay)
    units = recommended.overlay_units(universe.ids)
    fresh = glide_path(problem, m, recommended.weights, overlay=overlay, units=units)
    compiled = _record_compilations(monkeypatch, fialloc.plan, "overlay_program")
    reused = glide_path(
        problem, m, recommended.weights, overlay=overlay, units=units, program=program
    )
    # Nothing is compiled: the recommendation's program serves the target too.
    assert compiled == []
    pd.testing.assert_frame_equal(reused.weights, fresh.weights, check_exact=True)
    pd.testing.assert_frame_equal(reused.overlay, fresh.overlay, check_exact=True)
    pd.testing.assert_frame_equal(reused.cycles, fresh.cycles, check_exact=True)
    assert reused.reason == fresh.reason
    # A run's plan stage hands the glide path its recommendation's program.
    handed = []

    def spy(*args, **kwargs):
        handed.append(kwargs["program"])
        return reused

    monkeypatch.setattr(pipeline, "glide_path", spy)
    chosen = pipeline._Allocations(problem, program, recommended, None, recommended, pd.DataFrame())
    plan = pipeline._plan_stage(portfolio, chosen, 3, 10, overlay, units)
    assert handed == [program]
    assert plan.glide is reused
    # A program of another kind (no overlay positions) or mandate is refused.
    weights_only = AllocationProgram(problem, m)
    with pytest.raises(ValueError, match="`program` must be the overlay program"):
        glide_path(problem, m, recommended.weights, overlay=overlay, units=units,
                   program=weights_only)  # fmt: skip
    slow = m.model_copy(update={"turnover": 0.05})
    with pytest.raises(ValueError, match="`program` must be the overlay program"):
        glide_path(problem, slow, recommended.weights, overlay=overlay, units=units,
                   program=program)  # fmt: skip
