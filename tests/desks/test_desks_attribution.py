"""Attribution desk: a hand-worked two-bond, two-month example, and the demo's planted truths.

The hand-worked example prices two zero-coupon bonds in closed form, ``100 exp(-(z(T) + s) T)``
with zero rates interpolated linearly between the 2y and 5y key tenors, through every
sequential state written out by hand; the engine must reproduce each effect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import holdings_revaluation
from fialloc.analytics.campisi import ACTIVE_EFFECTS, campisi
from fialloc.analytics.context import DeskContext
from fialloc.analytics.holdings_attribution import TOTAL, holdings_attribution
from fialloc.analytics.linking import compounded, link_effects
from fialloc.bonds import BondBook
from fialloc.desks.attribution import WINDOWS, analyze
from fialloc.holdings_revaluation import revalue_history
from fialloc.schedule import act365, add_months

MONTHS = [dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31)]
KEYS = (2.0, 5.0)
ZEROS = np.array([[0.040, 0.045], [0.042, 0.044], [0.041, 0.046]])
MATURITIES = [dt.date(2028, 1, 31), dt.date(2032, 7, 31)]  # ~3y (between keys), ~7.5y (flat)
SPREADS = np.array([[0.0, 0.0150], [0.0, 0.0160], [0.0, 0.0140]])
SYSTEMATIC = np.array([[0.0, 0.0125], [0.0, 0.0130], [0.0, 0.0120]])
PAR = np.array([60.0, 40.0])
BENCH = np.array([0.5, 0.5])


def _zero(t: float, zeros: np.ndarray) -> float:
    """Zero rate by hand: linear between 2y and 5y, flat outside."""
    if t <= 2.0:
        return float(zeros[0])
    if t >= 5.0:
        return float(zeros[1])
    return float(zeros[0] + (zeros[1] - zeros[0]) * (t - 2.0) / 3.0)


def _tent_2y(t: float) -> float:
    return 1.0 if t <= 2.0 else 0.0 if t >= 5.0 else (5.0 - t) / 3.0


def _price(t: float, z: float, s: float) -> float:
    return 100.0 * math.exp(-(z + s) * t)


def _expected(p: int, i: int) -> dict[str, float]:
    """Every effect of bond `i` in period `p`, state by state."""
    t0 = act365(MONTHS[p], MATURITIES[i])
    t1 = act365(MONTHS[p + 1], MATURITIES[i])
    z0, z1 = ZEROS[p], ZEROS[p + 1]
    d2, d5 = z1[0] - z0[0], z1[1] - z0[1]
    parallel = (d2 + d5) / 2.0
    s0, s1 = SPREADS[p, i], SPREADS[p + 1, i]
    ds_sys = SYSTEMATIC[p + 1, i] - SYSTEMATIC[p, i]
    start = _price(t0, _zero(t0, z0), s0)
    a = _price(t1, _zero(t1, z0), s0)
    b = _price(t1, _zero(t1, z0) + parallel, s0)
    k2 = _price(t1, _zero(t1, z0) + parallel + (d2 - parallel) * _tent_2y(t1), s0)
    k5 = _price(t1, _zero(t1, z1), s0)
    spread = _price(t1, _zero(t1, z1), s0 + ds_sys)
    end = _price(t1, _zero(t1, z1), s1)
    return {
        "start": start,
        "income": (a - start) / start,
        "duration": (b - a) / start,
        "curve_2y": (k2 - b) / start,
        "curve_5y": (k5 - k2) / start,
        "curve_other": 0.0,
        "spread_systematic": (spread - k5) / start,
        "spread_specific": (end - spread) / start,
        "paydown": 0.0,
        "prepayment": 0.0,
        "end": end,
        "total": (end - start) / start,
    }


def _two_bond_book() -> BondBook:
    """A Treasury and a corporate zero, priced from the first month."""
    frame = pd.DataFrame(
        {
            "security_id": ["TSY", "CORP"],
            "coupon": [0.0, 0.0],
            "maturity": MATURITIES,
            "frequency": [0, 0],
            "day_count": ["ACT/365F", "ACT/365F"],
            "face": [100.0, 100.0],
        }
    )
    return BondBook.from_frame(frame, MONTHS[0])


@pytest.fixture(scope="module")
def two_bonds():
    book = _two_bond_book()
    return revalue_history(book, MONTHS, KEYS, ZEROS, SPREADS, SYSTEMATIC, key_tenors=KEYS)


def test_the_live_streams_are_found_once_a_period(monkeypatch):
    """A period prices the same rolled flows in every state (start, parallel, each key rate,
    the rest of the curve, two spreads): which bonds still have flows is found once for the
    period, and once for the first month's prices, not at every state."""
    calls = []
    live = holdings_revaluation._live

    def counted(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(offsets))
        return live(offsets)

    monkeypatch.setattr(holdings_revaluation, "_live", counted)
    book = _two_bond_book()
    revalue_history(book, MONTHS, KEYS, ZEROS, SPREADS, SYSTEMATIC, key_tenors=KEYS)
    assert len(calls) == len(MONTHS)  # the first month, then one a period


def test_every_security_effect_matches_the_hand_worked_states(two_bonds):
    assert two_bonds.names == (
        "income",
        "duration",
        "curve_2y",
        "curve_5y",
        "curve_other",
        "spread_systematic",
        "spread_specific",
        "paydown",
        "prepayment",
    )
    for p in range(2):
        for i in range(2):
            want = _expected(p, i)
            assert two_bonds.start_price[p, i] == pytest.approx(want["start"], rel=1e-13)
            for k, name in enumerate(two_bonds.names):
                assert two_bonds.effects[p, i, k] == pytest.approx(want[name], abs=1e-14), name
            assert abs(two_bonds.total[p, i] - want["total"]) < 1e-14
    # The government bond has no spread effects; the rating move is +5 bp then -10 bp.
    assert np.all(two_bonds.effects[:, 0, 5:] == 0.0)
    assert np.all(two_bonds.effects[:, :, 7:] == 0.0)  # no pools, no paydown
    assert two_bonds.effects[0, 1, 5] < 0 < two_bonds.effects[1, 1, 5]
    np.testing.assert_allclose(two_bonds.parallel_shift, [0.0005, 0.0005])


def test_campisi_effects_of_the_two_bond_portfolio_add_up_exactly(two_bonds):
    start = np.array([[_expected(p, i)["start"] for i in range(2)] for p in range(2)])
    value = PAR * start
    w = value / value.sum(axis=1, keepdims=True)
    weights = w[:, None, :]
    bench = np.broadcast_to(BENCH, (2, 1, 2))
    out = campisi(two_bonds, weights, bench, ["AA", "BBB"], ["treasury", "industrial"])
    for p in range(2):
        e = [_expected(p, i) for i in range(2)]
        d = w[p] - BENCH
        total = sum(w[p, i] * e[i]["total"] for i in range(2))
        bench_total = sum(BENCH[i] * e[i]["total"] for i in range(2))
        assert out.portfolio_return[p, 0] == pytest.approx(total, abs=1e-14)
        assert out.benchmark_return[p, 0] == pytest.approx(bench_total, abs=1e-14)
        want = {
            "income": sum(d[i] * e[i]["income"] for i in range(2)),
            "duration": sum(d[i] * e[i]["duration"] for i in range(2)),
            "curve": sum(d[i] * (e[i]["curve_2y"] + e[i]["curve_5y"]) for i in range(2)),
            "credit_spread": d[1] * e[1]["spread_systematic"],
            # One bond per sector: its specific move is all sector allocation.
            "sector_allocation": d[1] * e[1]["spread_specific"],
            "selection": 0.0,
            "residual": 0.0,
        }
        for name, value_ in want.items():
            assert out.effect(name)[p, 0] == pytest.approx(value_, abs=1e-14), name
        effects = sum(out.effect(name)[p, 0] for name in ACTIVE_EFFECTS)
        assert abs(effects - (total - bench_total)) < 1e-12
        assert out.effect("spread_BBB")[p, 0] == pytest.approx(want["credit_spread"], abs=1e-15)


ACTUAL = np.array([[0.0, 0.020], [0.0, 0.010]])  # the CORP bond as a pool paying down
EXPECTED = np.array([[0.0, 0.015], [0.0, 0.012]])


def test_a_pools_paydown_and_prepayment_effects_by_hand():
    """The CORP bond as an MBS pool: 2.0% of its balance paid down against 1.5% expected, then
    1.0% against 1.2%. By hand, per 100 of start face: the expected share comes back at 100
    instead of the end price (``paydown``, income), the surprise is ``(actual - expected)
    (100 - end) / start``; the total return is ``((1 - a) end + a 100) / start - 1``. In the
    Campisi decomposition income carries the expected paydown, ``prepayment`` the surprise,
    and the effects still add up to the active return."""
    book = _two_bond_book()
    sec = revalue_history(
        book, MONTHS, KEYS, ZEROS, SPREADS, SYSTEMATIC, KEYS, paydowns=(ACTUAL, EXPECTED)
    )
    start = np.array([[_expected(p, i)["start"] for i in range(2)] for p in range(2)])
    for p in range(2):
        pool = _expected(p, 1)
        a, x = ACTUAL[p, 1], EXPECTED[p, 1]
        paydown = x * (100.0 - pool["end"]) / pool["start"]
        prepayment = (a - x) * (100.0 - pool["end"]) / pool["start"]
        got = dict(zip(sec.names, sec.effects[p, 1], strict=True))
        assert got["paydown"] == pytest.approx(paydown, abs=1e-15)
        assert got["prepayment"] == pytest.approx(prepayment, abs=1e-15)
        total = ((1 - a) * pool["end"] + a * 100.0) / pool["start"] - 1.0
        assert abs(sec.total[p, 1] - total) < 1e-14
        # The other effects are the bullet's, state by state.
        for name in ("income", "duration", "spread_systematic", "spread_specific"):
            assert got[name] == pytest.approx(pool[name], abs=1e-14), name
    # A discount pool gains from paying down faster than expected (period 0), loses slower.
    assert sec.effects[0, 1, -1] > 0 > sec.effects[1, 1, -1]
    value = PAR * start
    w = (value / value.sum(axis=1, keepdims=True))[:, None, :]
    bench = np.broadcast_to(BENCH, (2, 1, 2))
    out = campisi(sec, w, bench, ["AA", "BBB"], ["treasury", "industrial"])
    for p in range(2):
        d = w[p, 0] - BENCH
        e = [_expected(p, i) for i in range(2)]
        got_sec = dict(zip(sec.names, sec.effects[p, 1], strict=True))
        income = d[0] * e[0]["income"] + d[1] * (e[1]["income"] + got_sec["paydown"])
        assert out.effect("income")[p, 0] == pytest.approx(income, abs=1e-15)
        assert out.effect("prepayment")[p, 0] == pytest.approx(
            d[1] * got_sec["prepayment"], abs=1e-15
        )
        effects = sum(out.effect(name)[p, 0] for name in ACTIVE_EFFECTS)
        assert abs(effects - out.active_return[p, 0]) < 1e-14
        assert abs(out.effect("residual")[p, 0]) < 1e-14


def test_linked_effects_of_the_two_months_add_up_to_the_compounded_excess(two_bonds):
    start = np.array([[_expected(p, i)["start"] for i in range(2)] for p in range(2)])
    value = PAR * start
    w = (value / value.sum(axis=1, keepdims=True))[:, None, :]
    out = campisi(two_bonds, w, np.broadcast_to(BENCH, (2, 1, 2)), ["AA", "BBB"], ["t", "i"])
    r, b = out.portfolio_return[:, 0], out.benchmark_return[:, 0]
    named = out.values[:, 0, : len(ACTIVE_EFFECTS)]
    linked = link_effects(named, r, b)
    excess = (1 + r[0]) * (1 + r[1]) - (1 + b[0]) * (1 + b[1])
    assert abs(linked.sum() - excess) < 1e-12
    # Carino by hand: k_t = ln((1+R_t)/(1+B_t)) / (R_t - B_t), k the same for the totals.
    k_t = [math.log((1 + r[t]) / (1 + b[t])) / (r[t] - b[t]) for t in range(2)]
    total_r, total_b = compounded(r), compounded(b)
    k = math.log((1 + total_r) / (1 + total_b)) / (total_r - total_b)
    want = (k_t[0] * named[0] + k_t[1] * named[1]) / k
    np.testing.assert_allclose(linked, want, rtol=1e-9, atol=1e-15)


def test_revaluation_refuses_bad_inputs(two_bonds):
    frame = pd.DataFrame(
        {
            "security_id": ["X"],
            "coupon": [0.0],
            "maturity": [dt.date(2025, 3, 15)],
            "frequency": [0],
            "day_count": ["ACT/365F"],
            "face": [100.0],
        }
    )
    short = BondBook.from_frame(frame, MONTHS[0])
    one = np.zeros((3, 1))
    with pytest.raises(ValueError, match="looks like a percentage"):
        revalue_history(short, MONTHS, KEYS, ZEROS * 100, one, one, key_tenors=KEYS)
    with pytest.raises(ValueError, match="starts at 2025-02-28"):
        revalue_history(short, MONTHS[1:], KEYS, ZEROS[1:], one[1:], one[1:], key_tenors=KEYS)
    with pytest.raises(ValueError, match="`spreads` has shape"):
        revalue_history(short, MONTHS, KEYS, ZEROS, np.zeros((3, 2)), one, key_tenors=KEYS)


# --- the demo book -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_portfolio):
    return demo_portfolio


@pytest.fixture(scope="module")
def result(demo):
    return analyze(DeskContext(demo))


@pytest.fixture(scope="module")
def truth(demo_truth):
    return demo_truth


def _subjects(result, code):
    return {f.subject for f in result.findings_of(code)}


def test_effects_add_up_to_the_active_return_every_month(result):
    monthly = result.tables["monthly_effects"]
    gap = monthly[list(ACTIVE_EFFECTS)].sum(axis=1) - monthly["active_return"]
    assert gap.abs().max() < 1e-12
    assert monthly["residual"].abs().max() < 1e-12  # demo tenors are the key tenors
    keys = [c for c in monthly.columns if c.startswith("curve_")]
    assert (monthly[keys].sum(axis=1) - monthly["curve"]).abs().max() < 1e-14
    ratings = [c for c in monthly.columns if c.startswith("spread_") and "sector" not in c]
    sectors = [c for c in monthly.columns if c.startswith("spread_sector_")]
    assert (monthly[ratings].sum(axis=1) - monthly["credit_spread"]).abs().max() < 1e-14
    assert (monthly[sectors].sum(axis=1) - monthly["credit_spread"]).abs().max() < 1e-14
    assert set(monthly.index.get_level_values("portfolio")) == {
        f"M{k:02d}" for k in range(1, 28)
    } | {TOTAL}


def test_linked_effects_add_up_to_the_compounded_excess(result):
    linked = result.tables["linked_effects"]
    gap = linked[list(ACTIVE_EFFECTS)].sum(axis=1) - linked["active_return"]
    assert gap.abs().max() < 1e-12
    assert sorted(set(linked.index.get_level_values("window"))) == sorted(WINDOWS)
    monthly = result.tables["monthly_effects"].xs("M06", level="portfolio")
    row = linked.loc[("M06", 12)]
    assert row["months"] == 12
    assert row["return"] == pytest.approx(compounded(monthly["return"].iloc[-12:]), rel=1e-12)
    brinson = result.tables["brinson_linked"]
    parts = brinson[["allocation", "selection", "interaction"]].sum(axis=1)
    assert (parts - brinson["active_return"]).abs().max() < 1e-12


def test_brinson_selection_is_the_managers_excess_and_total_matches_campisi(result):
    b = result.tables["brinson_monthly"]
    monthly = result.tables["monthly_effects"]
    total = monthly.xs(TOTAL, level="portfolio")
    per_month = b[["allocation", "selection", "interaction"]].groupby(level="month").sum()
    np.testing.assert_allclose(per_month.sum(axis=1), total["active_return"].to_numpy(), atol=1e-13)
    m06 = b.xs("M06", level="manager_id")
    np.testing.assert_allclose(
        m06["selection"], m06["policy_weight"] * (m06["sleeve_return"] - m06["benchmark_return"])
    )


def test_bbb_beta_managers_show_credit_spread_effect_and_no_selection(result, truth):
    assert _subjects(result, "credit_spread_driven") == set(truth.bbb_beta_managers)
    shares = result.tables["variance_shares"]
    monthly = result.tables["monthly_effects"]
    checks = result.tables["returns_based"]
    for manager in truth.bbb_beta_managers:
        share = shares.loc[manager]
        assert share["credit_spread"] == share.max()
        assert share["credit_spread"] >= 0.5
        selection = monthly.xs(manager, level="portfolio")["selection"]
        t = selection.mean() / (selection.std() / np.sqrt(len(selection)))
        assert abs(t) < 2.0
        assert abs(selection.mean()) < 2e-4  # under 2 bp a month
        assert checks.loc[manager, "beta_credit_bbb"] > 0.15  # the demo plants 0.3 on BBB
        assert checks.loc[manager, "beta_t_credit_bbb"] > 3.0
        assert checks.loc[manager, "credit_correlation"] > 0.5
    for finding in result.findings_of("credit_spread_driven"):
        assert finding.metrics["credit_spread_share"] >= 0.5
        assert f"{finding.metrics['credit_spread_share']:.0%}" in finding.message
        assert f"{finding.metrics['credit_beta']:.2f}" in finding.message


def test_skilled_managers_show_positive_selection(result, truth):
    assert _subjects(result, "selection_skill") == set(truth.skilled_managers)
    monthly = result.tables["monthly_effects"]
    linked = result.tables["linked_effects"]
    for manager in truth.skilled_managers:
        selection = monthly.xs(manager, level="portfolio")["selection"]
        assert selection.mean() > 5e-4  # above 5 bp a month
        assert linked.loc[(manager, 60), "selection"] > 0.03
    for finding in result.findings_of("selection_skill"):
        assert finding.metrics["selection_t"] >= finding.metrics["t_threshold"]
        assert f"{finding.metrics['selection_monthly'] * 1e4:+.1f} bp" in finding.message


def test_drifting_managers_change_their_effects_from_the_planted_month(
    result, truth, demo_portfolio
):
    monthly = result.tables["monthly_effects"]
    m22 = monthly.xs("M22", level="portfolio")
    start = truth.drifting_managers["M22"]
    high_yield = m22[["spread_BB", "spread_B", "spread_CCC"]].sum(axis=1).abs()
    assert high_yield[high_yield.index < start].max() == 0.0  # none held before the drift
    assert high_yield[high_yield.index > start].mean() > 1e-4
    m23 = monthly.xs("M23", level="portfolio")["duration"]
    start = truth.drifting_managers["M23"]
    # Duration effect = active duration (years) x minus the parallel shift: fit the slope.
    shift = -demo_portfolio.zero_history.diff().mean(axis=1).reindex(m23.index)

    def active_duration(mask):
        x, y = shift[mask].to_numpy(), m23[mask].to_numpy()
        return float(x @ y / (x @ x))

    before = active_duration(m23.index < start)
    after = active_duration(m23.index >= add_months(start, 6))
    assert 0.25 < after - before < 0.55  # the planted extension is about 0.4 years


def test_result_is_json_ready_and_summary_quotes_the_tables(result):
    json.dumps(result.to_dict())
    linked = result.tables["linked_effects"]
    assert result.summary["total_active_12m"] == linked.loc[(TOTAL, 12), "active_return"]
    assert result.summary["max_abs_residual"] < 1e-12
    allocation = result.findings_of("sleeve_allocation")[0]
    assert f"{allocation.metrics['allocation']:+.2%}" in allocation.message


def test_without_holdings_history_the_desk_says_so(demo):
    bare = dataclasses.replace(demo, holdings_history=None, benchmark_holdings=None)
    out = analyze(DeskContext(bare))
    assert [f.code for f in out.findings] == ["attribution_unavailable"]
    with pytest.raises(ValueError, match="needs the holdings_history and benchmark_holdings"):
        holdings_attribution(bare)


def test_reported_returns_in_percent_or_with_gaps_are_refused(demo):
    returns = demo.manager_returns.copy()
    rows = returns["manager_id"] == "M07"
    returns.loc[rows, "return"] *= 100.0
    with pytest.raises(ValueError, match=r"returns of \['M07'\] look like percentages"):
        analyze(DeskContext(dataclasses.replace(demo, manager_returns=returns)))
    # A unit far too large whose values all stay below 1 is caught too.
    returns = demo.manager_returns.copy()
    rows = returns["manager_id"] == "M09"
    returns.loc[rows, "return"] *= 60.0
    assert returns.loc[rows, "return"].abs().max() < 1.0
    with pytest.raises(ValueError, match=r"returns of \['M09'\] look like percentages"):
        analyze(DeskContext(dataclasses.replace(demo, manager_returns=returns)))
    months = sorted(set(demo.manager_returns["month"]))
    gap = demo.manager_returns[
        ~(
            (demo.manager_returns["manager_id"] == "M03")
            & (demo.manager_returns["month"] == months[30])
        )
    ]
    with pytest.raises(ValueError, match=r"M03 has no return for .*gap in its history"):
        analyze(DeskContext(dataclasses.replace(demo, manager_returns=gap)))


def test_holdings_attribution_names_what_is_missing(demo):
    months = sorted(set(demo.holdings_history["month"]))
    hh = demo.holdings_history
    gone = hh[~((hh["manager_id"] == "M09") & (hh["month"] == months[-3]))]
    with pytest.raises(ValueError, match=f"no positions for manager M09 at {months[-3]}"):
        holdings_attribution(dataclasses.replace(demo, holdings_history=gone))
    market = demo.market_history
    no_curve = market[~((market["series"] == "zero_7y") & (market["month"] == months[2]))]
    with pytest.raises(ValueError, match=f"no zero rate for {months[2]} at 7y"):
        holdings_attribution(dataclasses.replace(demo, market_history=no_curve))


def test_without_security_spreads_spreads_move_with_their_rating(demo):
    p = _last_four_months(demo, security_spreads=False)
    h = holdings_attribution(p)
    assert h.months == sorted(set(demo.holdings_history["month"]))[-4:]
    specific = h.securities.effects[:, :, h.securities.names.index("spread_specific")]
    assert np.abs(specific).max() < 1e-14  # every spread move is its rating's
    assert np.abs(h.effects.effect("selection")).max() < 1e-15


def test_the_two_bond_example_through_the_data_model_and_the_desk():
    months = [m.isoformat() for m in MONTHS]
    securities = pd.DataFrame(
        {
            "security_id": ["TSY", "CORP"],
            "issuer": ["Treasury", "Corp Inc"],
            "sector": ["treasury", "industrial"],
            "rating": ["AA+", "BBB"],
            "currency": "USD",
            "coupon": 0.0,
            "maturity": [m.isoformat() for m in MATURITIES],
            "frequency": 0,
            "day_count": "ACT/365F",
            "bid_ask_bp": 1.0,
            "bid_ask_vol_bp": 0.5,
            "adv": 1e8,
            "issue_size": 1e9,
            "liquidity_tier": "level1",
        }
    )
    history = [
        {"month": m, "series": series, "value": value}
        for k, m in enumerate(months)
        for series, value in (
            ("zero_2y", ZEROS[k, 0]),
            ("zero_5y", ZEROS[k, 1]),
            ("spread_BBB", SYSTEMATIC[k, 1]),
        )
    ]
    tables = {
        "securities": securities,
        "holdings": pd.DataFrame({"manager_id": "M1", "security_id": ["TSY", "CORP"], "par": PAR}),
        "managers": pd.DataFrame(
            [
                {
                    "manager_id": "M1",
                    "name": "One",
                    "style": "core",
                    "benchmark": "BM",
                    "current_allocation": 1.0,
                }
            ]
        ),
        "liabilities": pd.DataFrame({"date": ["2030-01-31"], "amount": [50.0]}),
        "curve_quotes": pd.DataFrame(
            {"kind": ["deposit", "swap"], "tenor": ["1Y", "5Y"], "rate": [0.04, 0.045]}
        ),
        "market_history": pd.DataFrame(history),
        "spreads": pd.DataFrame({"rating": ["BBB"], "spread": [SYSTEMATIC[-1, 1]]}),
        "holdings_history": pd.DataFrame(
            [
                {"month": m, "manager_id": "M1", "security_id": s, "par": par}
                for m in months
                for s, par in zip(["TSY", "CORP"], PAR, strict=True)
            ]
        ),
        "benchmarks": pd.DataFrame({"benchmark_id": ["BM"], "name": ["Two bonds"]}),
        "benchmark_holdings": pd.DataFrame(
            [
                {"month": m, "benchmark_id": "BM", "security_id": s, "weight": 0.5}
                for m in months
                for s in ("TSY", "CORP")
            ]
        ),
        "security_spreads": pd.DataFrame(
            [
                {"month": m, "security_id": s, "spread": SPREADS[k, i]}
                for k, m in enumerate(months)
                for i, s in enumerate(["TSY", "CORP"])
            ]
        ),
    }
    p = data.from_tables(tables, MONTHS[-1])
    out = analyze(DeskContext(p))
    assert "returns_based" not in out.tables  # no reported returns given
    monthly = out.tables["monthly_effects"]
    for k in range(2):
        e = [_expected(k, i) for i in range(2)]
        value = PAR * np.array([e[0]["start"], e[1]["start"]])
        w = value / value.sum()
        d = w - BENCH
        for portfolio in ("M1", TOTAL):  # one sleeve at its policy weight: the same numbers
            row = monthly.loc[(portfolio, MONTHS[k + 1])]
            assert row["return"] == pytest.approx(w @ [x["total"] for x in e], abs=1e-14)
            rates = sum(
                d[i] * (e[i]["duration"] + e[i]["curve_2y"] + e[i]["curve_5y"]) for i in range(2)
            )
            assert row["duration"] + row["curve"] == pytest.approx(rates, abs=1e-14)
            assert row["income"] == pytest.approx(d @ [x["income"] for x in e], abs=1e-14)
            assert row["credit_spread"] == pytest.approx(
                d[1] * e[1]["spread_systematic"], abs=1e-14
            )
            assert row["sector_allocation"] == pytest.approx(
                d[1] * e[1]["spread_specific"], abs=1e-14
            )
            assert abs(row["selection"]) < 1e-15
            assert abs(row["residual"]) < 1e-14
    brinson = out.tables["brinson_monthly"]
    assert np.abs(brinson[["allocation", "interaction"]].to_numpy()).max() < 1e-15


def test_a_different_policy_changes_only_the_allocation_view(demo):
    p = _last_four_months(demo, security_spreads=True)
    n = len(demo.managers)
    equal = pd.Series(1.0 / n, index=demo.managers.index)
    base, other = holdings_attribution(p), holdings_attribution(p, policy_weights=equal)
    sleeves = slice(0, n)
    np.testing.assert_array_equal(base.effects.values[:, sleeves], other.effects.values[:, sleeves])
    np.testing.assert_allclose(other.policy_weights, 1.0 / n)
    b = other.brinson
    policy = (other.effects.benchmark_return[:, sleeves] / n).sum(axis=1)
    np.testing.assert_allclose(b.policy_return, policy, rtol=1e-14)
    parts = (b.allocation + b.selection + b.interaction).sum(axis=1)
    np.testing.assert_allclose(parts, other.effects.active_return[:, -1], atol=1e-14)
    with pytest.raises(ValueError, match="policy weights must cover every manager and sum to 1"):
        holdings_attribution(p, policy_weights=equal.iloc[:5])


@pytest.mark.parametrize("month_ends", [2, 4])
def test_short_histories_give_effects_without_statistics(demo, month_ends):
    short = sorted(set(demo.holdings_history["month"]))[-month_ends:]

    def keep(frame):
        return frame[frame["month"].isin(short)]

    p = dataclasses.replace(
        demo,
        holdings_history=keep(demo.holdings_history),
        benchmark_holdings=keep(demo.benchmark_holdings),
        security_spreads=keep(demo.security_spreads),
    )
    out = analyze(DeskContext(p))
    assert "returns_based" not in out.tables
    assert not out.findings_of("selection_skill")
    linked = out.tables["linked_effects"]
    assert set(linked["months"]) == {float(min(w, month_ends - 1)) for w in WINDOWS}
    gap = linked[list(ACTIVE_EFFECTS)].sum(axis=1) - linked["active_return"]
    assert gap.abs().max() < 1e-12


def _last_four_months(demo, security_spreads):
    """The demo with its histories cut to the last four month-ends (with or without spreads)."""
    short = sorted(set(demo.holdings_history["month"]))[-4:]

    def keep(frame):
        return frame[frame["month"].isin(short)]

    return dataclasses.replace(
        demo,
        holdings_history=keep(demo.holdings_history),
        benchmark_holdings=keep(demo.benchmark_holdings),
        security_spreads=keep(demo.security_spreads) if security_spreads else None,
    )
