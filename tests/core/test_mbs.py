"""MBS pass-throughs: closed-form flows, the compiled path kernel against a numpy reference,
OAS against the static z-spread at zero volatility, convergence in paths and the shape of the
option (negative convexity of premium pools), on many random pools."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from mbs_reference import path_flows, solve_oas, values_at

from fialloc.bonds import solve_z_spreads
from fialloc.curves import Curve
from fialloc.layout import CashflowLayout
from fialloc.mbs import (
    MbsPaths,
    MbsPools,
    PrepaymentModel,
    psa_cpr,
    scheduled_cashflows,
    value_pools,
)
from fialloc.scenarios import G2pp

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

VALUATION = dt.date(2026, 11, 24)
TENORS = [0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30, 50]


def random_curve(rng: np.random.Generator) -> Curve:
    base = rng.uniform(0.01, 0.06)
    zeros = base + np.cumsum(rng.normal(0, 0.002, len(TENORS)))
    return Curve.from_zero_rates(TENORS, zeros, valuation_date=VALUATION)


def pool_frame(rng: np.random.Generator, n: int, kinds=("cpr", "psa", "model")) -> pd.DataFrame:
    wac = rng.uniform(0.02, 0.08, n)
    kind = rng.choice(list(kinds), n)
    speed = np.where(
        kind == "cpr", rng.uniform(0, 0.4, n), np.where(kind == "psa", rng.uniform(50, 400, n), 1.0)
    )
    return pd.DataFrame(
        {
            "security_id": [f"P{i}" for i in range(n)],
            "wac": wac,
            "net_coupon": wac - rng.uniform(0, 0.01, n).clip(max=wac),
            "wam": rng.integers(12, 361, n),
            "age": rng.integers(0, 120, n),
            "factor": rng.uniform(0.2, 1.0, n),
            "prepayment": kind,
            "speed": rng.uniform(0.5, 1.5, n) * np.where(kind == "model", 1.0, speed),
        }
    )


# ---- closed form -------------------------------------------------------------------------------


def recursion(wac, net, wam, cprs):
    """Month-by-month amortization, the textbook way (independent of the closed form)."""
    balance, rows = 100.0, []
    for m in range(1, wam + 1):
        c, n = wac / 12, wam - m + 1
        payment = balance * c / (1 - (1 + c) ** -n) if c > 0 else balance / n
        scheduled = payment - balance * c
        smm = 1 - (1 - cprs[m - 1]) ** (1 / 12)
        prepaid = smm * (balance - scheduled)
        rows.append((balance, balance * net / 12, scheduled, prepaid))
        balance -= scheduled + prepaid
    return np.array(rows), balance


def test_closed_form_matches_the_recursion_on_random_pools():
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(200):
        wac = rng.choice([0.0, rng.uniform(0.001, 0.1)])
        net = wac * rng.uniform(0.7, 1.0)
        wam, age = int(rng.integers(1, 481)), int(rng.integers(0, 60))
        if rng.uniform() < 0.5:
            cpr = rng.uniform(0, 0.6)
            flows = scheduled_cashflows(wac, net, wam, cpr=cpr)
            rows, left = recursion(wac, net, wam, np.full(wam, cpr))
        else:
            psa = rng.uniform(0, 800)
            flows = scheduled_cashflows(wac, net, wam, psa=psa, age=age)
            rows, left = recursion(wac, net, wam, psa_cpr(age + np.arange(1, wam + 1), psa))
        got = flows[["balance", "interest", "scheduled", "prepaid"]].to_numpy()
        worst = max(worst, float(np.abs(got - rows).max()))
        assert abs(left) < 1e-9  # the pool pays off by its last month
        assert flows["scheduled"].sum() + flows["prepaid"].sum() == pytest.approx(100.0, abs=1e-9)
    assert worst < 1e-9


def test_psa_ramp():
    assert psa_cpr([1, 15, 30, 31, 200], 100) == pytest.approx([0.002, 0.03, 0.06, 0.06, 0.06])
    assert psa_cpr(10, 250) == pytest.approx(0.05)


# ---- the kernel against the numpy reference ----------------------------------------------------


def test_kernel_matches_numpy_reference_on_random_books():
    rng = np.random.default_rng(7)
    model = PrepaymentModel()
    worst_value = worst_oas = 0.0
    for case in range(12):
        curve = random_curve(rng)
        pools = MbsPools.from_frame(pool_frame(rng, 6))
        g2 = G2pp(curve, rng.uniform(0.02, 0.2), rng.uniform(0.003, 0.015), rng.uniform(0.3, 1.0),
                  rng.uniform(0.003, 0.012), rng.uniform(-0.9, 0.3))  # fmt: skip
        paths = MbsPaths.simulate(g2, model, n_paths=40, seed=case, antithetic=bool(case % 2))
        flows = path_flows(pools, model, paths.calendar_month, paths.discount, paths.mortgage_rate)
        spreads = rng.uniform(-0.01, 0.03, len(pools))
        got = value_pools(pools, paths, oas=spreads, model=model, bump_bp=0)
        want = values_at(flows, spreads)
        worst_value = max(worst_value, float(np.abs(got.value / want - 1).max()))
        back = value_pools(pools, paths, prices=want, model=model, bump_bp=0)
        worst_oas = max(worst_oas, float(np.abs(back.oas - solve_oas(flows, want)).max()))
    assert worst_value < 1e-10
    assert worst_oas < 1e-10


def test_mortgage_rate_is_the_ten_year_zero_yield_plus_spread():
    rng = np.random.default_rng(3)
    curve = random_curve(rng)
    model = PrepaymentModel()
    g2 = G2pp(curve)
    paths = MbsPaths.simulate(g2, model, n_paths=4, months=24, seed=1)
    today = model.mortgage_spread + curve.zero_rate(model.mortgage_tenor)
    assert paths.mortgage_rate[:, 0] == pytest.approx(np.full(4, today), abs=1e-14)
    # Later months: -ln P(t, t + 10 | x, y) / 10 from the closed-form zero bond of G2++.
    k = 12
    bond = g2.zero_bond(k / 12.0, [k / 12.0 + 10.0], paths.x[:, k], paths.y[:, k])
    want = model.mortgage_spread - np.log(bond[:, 0]) / 10.0
    assert paths.mortgage_rate[:, k] == pytest.approx(want, abs=1e-13)


# ---- zero volatility: OAS is the static z-spread -----------------------------------------------


def test_zero_volatility_oas_equals_z_spread_of_constant_cpr_flows():
    rng = np.random.default_rng(11)
    worst = 0.0
    for _ in range(100):
        curve = random_curve(rng)
        frame = pool_frame(rng, 1, kinds=("cpr", "psa"))
        row = frame.iloc[0]
        pools = MbsPools.from_frame(frame)
        kw = {"cpr": row.speed} if row.prepayment == "cpr" else {"psa": row.speed, "age": row.age}
        flows = scheduled_cashflows(row.wac, row.net_coupon, int(row.wam), **kw)
        layout = CashflowLayout.from_streams([flows["time"]], [flows["cashflow"]])
        price = float(flows["cashflow"].sum()) * rng.uniform(0.7, 0.98)  # a positive spread
        z = solve_z_spreads(layout, curve, np.array([price]), pd.Index(["P0"]), "test")[0]
        paths = MbsPaths.zero_volatility(curve, rng.uniform(0.02, 0.08))
        got = value_pools(pools, paths, prices=[price], bump_bp=0)
        worst = max(worst, abs(got.oas[0] - z))
        assert got.std_error[0] == 0.0
    assert worst < 1e-8


def test_vanishing_volatility_antithetic_paths_give_the_z_spread():
    rng = np.random.default_rng(5)
    curve = random_curve(rng)
    frame = pool_frame(rng, 1, kinds=("cpr",))
    row = frame.iloc[0]
    flows = scheduled_cashflows(row.wac, row.net_coupon, int(row.wam), cpr=row.speed)
    layout = CashflowLayout.from_streams([flows["time"]], [flows["cashflow"]])
    price = float(flows["cashflow"].sum()) * 0.9
    z = solve_z_spreads(layout, curve, np.array([price]), pd.Index(["P0"]), "test")[0]
    g2 = G2pp(curve, 0.05, 1e-6, 0.5, 1e-6, -0.7)  # the smallest volatilities G2pp accepts
    paths = MbsPaths.simulate(g2, PrepaymentModel(), n_paths=2, seed=9)
    got = value_pools(MbsPools.from_frame(frame), paths, prices=[price], bump_bp=0)
    assert got.oas[0] == pytest.approx(z, abs=1e-8)


# ---- Monte Carlo: convergence, determinism -----------------------------------------------------


def test_values_converge_in_paths_within_their_standard_errors():
    rng = np.random.default_rng(21)
    curve = random_curve(rng)
    pools = MbsPools.from_frame(pool_frame(rng, 8, kinds=("model",)))
    model = PrepaymentModel()
    g2 = G2pp(curve)
    spreads = np.full(len(pools), 0.005)
    runs = {}
    for n in (250, 1000, 4000):
        paths = MbsPaths.simulate(g2, model, n_paths=n, seed=100 + n)
        runs[n] = value_pools(pools, paths, oas=spreads, bump_bp=0)
    ref = runs[4000]
    for n in (250, 1000):
        z = (runs[n].value - ref.value) / np.hypot(runs[n].std_error, ref.std_error)
        assert np.all(np.abs(z) < 4.5), z
        # The standard error falls like 1 / sqrt(paths): x2 per quadrupling, within sampling.
        ratio = runs[n].std_error / runs[n * 4].std_error
        assert np.all((ratio > 1.4) & (ratio < 2.9)), ratio
    assert np.all(ref.std_error < 0.1)  # per 100 face with 4,000 antithetic paths


def test_results_do_not_depend_on_threads():
    rng = np.random.default_rng(4)
    curve = random_curve(rng)
    pools = MbsPools.from_frame(pool_frame(rng, 7))
    paths = MbsPaths.simulate(G2pp(curve), PrepaymentModel(), n_paths=64, seed=2)
    one = value_pools(pools, paths, prices=np.full(7, 98.0), threads=1, key_tenors=(2.0, 10.0))
    two = value_pools(pools, paths, prices=np.full(7, 98.0), threads=2, key_tenors=(2.0, 10.0))
    for name in ("value", "oas", "std_error", "effective_duration", "krd"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


# ---- the option: convexity, durations ----------------------------------------------------------


def test_pools_near_the_money_have_negative_convexity_and_constant_cpr_pools_positive():
    """On random curves, pools whose WAC is 100 bp under to 50 bp over the mortgage rate (from
    discounts to the premiums where the refinancing S-curve is steepest) are negatively convex;
    the same pools prepaying at a constant CPR are positively convex. (Deep premiums on the
    S-curve's flat top and deep discounts below its floor turn positive again.)"""
    rng = np.random.default_rng(8)
    model = PrepaymentModel()
    negative = positive = total = 0
    for case in range(10):
        curve = random_curve(rng)
        mortgage = model.mortgage_spread + curve.zero_rate(model.mortgage_tenor)
        wac = mortgage + rng.uniform(-0.01, 0.005, 4)
        frame = pd.DataFrame(
            {
                "security_id": ["A", "B", "C", "D"],
                "wac": wac,
                "net_coupon": wac - 0.005,
                "wam": 330,
                "age": 30,
                "prepayment": "model",
            }
        )
        cpr = frame.assign(security_id=["a", "b", "c", "d"], prepayment="cpr", speed=0.1)
        pools = MbsPools.from_frame(pd.concat([frame, cpr], ignore_index=True))
        paths = MbsPaths.simulate(G2pp(curve), model, n_paths=200, seed=case)
        got = value_pools(pools, paths, oas=np.full(8, 0.004), key_tenors=None)
        negative += int(np.sum(got.effective_convexity[:4] < 0))
        positive += int(np.sum(got.effective_convexity[4:] > 0))
        total += 4
    assert negative == total
    assert positive == total


def test_key_rate_durations_add_up_to_the_effective_duration():
    rng = np.random.default_rng(12)
    curve = random_curve(rng)
    pools = MbsPools.from_frame(pool_frame(rng, 6))
    paths = MbsPaths.simulate(G2pp(curve), PrepaymentModel(), n_paths=100, seed=1)
    # Small bumps: the sum and the parallel shift differ by third-order terms of the option.
    got = value_pools(pools, paths, oas=np.full(6, 0.005), bump_bp=5.0)
    assert got.krd.sum(axis=1) == pytest.approx(got.effective_duration, rel=2e-3)
    assert np.all(got.effective_duration > 0)


# ---- properties --------------------------------------------------------------------------------


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(
    wac=st.floats(0.01, 0.09),
    fee=st.floats(0.0, 0.01),
    wam=st.integers(1, 360),
    spread=st.floats(-0.02, 0.05),
    seed=st.integers(0, 2**32 - 1),
)
def test_price_oas_round_trip_and_monotone(wac, fee, wam, spread, seed):
    rng = np.random.default_rng(seed)
    curve = random_curve(rng)
    frame = pd.DataFrame(
        {"security_id": ["X"], "wac": [wac], "net_coupon": [max(wac - fee, 0.0)], "wam": [wam],
         "age": [int(rng.integers(0, 60))], "prepayment": ["model"]}
    )  # fmt: skip
    pools = MbsPools.from_frame(frame)
    paths = MbsPaths.simulate(G2pp(curve), PrepaymentModel(), n_paths=8, months=wam, seed=seed)
    at = value_pools(pools, paths, oas=[spread], bump_bp=0)
    higher = value_pools(pools, paths, oas=[spread + 0.001], bump_bp=0)
    assert higher.value[0] < at.value[0]
    back = value_pools(pools, paths, prices=at.value, bump_bp=0)
    assert back.oas[0] == pytest.approx(spread, abs=1e-10)


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(
    cpr=st.floats(0.0, 0.5),
    bump=st.floats(0.01, 0.3),
    premium=st.booleans(),
    wam=st.integers(2, 360),
)
def test_faster_prepayment_lowers_a_premium_and_raises_a_discount(cpr, bump, premium, wam):
    """At zero volatility, principal returned sooner at par is worth less when the pool is worth
    more than par and more when it is worth less."""
    curve = Curve.flat(0.04, VALUATION)
    net = 0.06 if premium else 0.02
    frame = pd.DataFrame(
        {"security_id": ["S", "F"], "wac": [net + 0.005] * 2, "net_coupon": [net] * 2,
         "wam": [wam] * 2, "age": [0, 0], "prepayment": ["cpr", "cpr"],
         "speed": [cpr, min(cpr + bump, 0.99)]}
    )  # fmt: skip
    got = value_pools(
        MbsPools.from_frame(frame), MbsPaths.zero_volatility(curve, 0.05), oas=[0.0, 0.0], bump_bp=0
    )
    slow, fast = got.value
    assert (fast < slow) if premium else (fast > slow)


# ---- bad input ---------------------------------------------------------------------------------


def test_bad_pools_are_named():
    rng = np.random.default_rng(0)
    frame = pool_frame(rng, 3)
    with pytest.raises(ValueError, match="pool P1: `net_coupon` must be in"):
        MbsPools.from_frame(frame.assign(net_coupon=[0.01, 0.5, 0.01]))
    with pytest.raises(ValueError, match="pool P2: prepayment 'fast' is not one of"):
        MbsPools.from_frame(frame.assign(prepayment=["cpr", "psa", "fast"]))
    with pytest.raises(ValueError, match="pool P0: `wam` must be a whole number"):
        MbsPools.from_frame(frame.assign(wam=[12.5, 10, 10]))
    with pytest.raises(ValueError, match="missing column"):
        MbsPools.from_frame(frame.drop(columns="wac"))
    pools = MbsPools.from_frame(frame.assign(wam=[100, 200, 300]))
    short = MbsPaths.zero_volatility(Curve.flat(0.04, VALUATION), 0.05, months=250)
    with pytest.raises(ValueError, match="pool P2 has 300 months left but the paths cover 250"):
        value_pools(pools, short, oas=np.zeros(3), bump_bp=0)
    with pytest.raises(ValueError, match="`prices` has shape"):
        value_pools(pools, short, prices=[100.0], bump_bp=0)
    with pytest.raises(ValueError, match="durations need simulated paths"):
        value_pools(dataclasses.replace(pools), short.__class__.zero_volatility(
            Curve.flat(0.04, VALUATION), 0.05), oas=np.zeros(3))  # fmt: skip
    with pytest.raises(ValueError, match="`incentive_width` must be in"):
        PrepaymentModel(incentive_width=0.0)
    with pytest.raises(ValueError, match="12 monthly multipliers"):
        PrepaymentModel(seasonality=(1.0,) * 11)


hnp = pytest.importorskip("hypothesis.extra.numpy")
ANY = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0.0, 0.2))


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    n=st.integers(1, 3),
    data=st.data(),
    solve=st.booleans(),
    antithetic=st.booleans(),
)
def test_kernel_refuses_or_returns_finite_numbers_for_any_pool(n, data, solve, antithetic):
    """Arbitrary pool values on valid paths: a clear ValueError or finite results, never a crash."""
    from fialloc import _core

    floats = [data.draw(hnp.arrays(np.float64, n, elements=ANY)) for _ in range(5)]
    ints = [data.draw(hnp.arrays(np.int64, n, elements=st.integers(-2, 13))) for _ in range(2)]
    kind = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-1, 3)))
    target = data.draw(
        hnp.arrays(np.float64, n, elements=st.one_of(ANY, st.floats(-1e3, 2e3), st.floats(50, 150)))
    )
    rng = np.random.default_rng(n)
    discount = np.exp(-0.04 * np.arange(1, 13) / 12 + rng.normal(0, 0.01, (4, 12)))
    rates = 0.05 + rng.normal(0, 0.01, (4, 12))
    args = [floats[0], floats[1], *ints, floats[2], kind, floats[3]]
    message, out = None, ()
    try:
        out = _core.mbs_value(
            *args, PrepaymentModel().core_args(), [1.0] * 12, 3, discount, rates, target,
            solve, antithetic, 2,
        )  # fmt: skip
    except ValueError as exc:
        message = str(exc)
    if message is not None:
        assert message.startswith("mbs_value")
    else:
        assert all(np.all(np.isfinite(a)) for a in out)
