"""Holdings-based attribution of the demo book (25 managers, 571 securities, 60 month-ends).

``attribution-desk``: the whole attribution desk over the full history (issue goal: under two
seconds). ``attribution-6-months``: the holdings-based attribution of the last seven
month-ends (six months), by fialloc (one core call per state per month for all securities,
weights as matrices) and by a straightforward reference on the same inputs: a fresh book at
every month-end, each security priced state by state with numpy, managers summed in loops.
Both agree on every effect to 1e-10.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fialloc.data as data
from fialloc.analytics.context import DeskContext
from fialloc.analytics.holdings_attribution import holdings_attribution
from fialloc.bonds import BondBook
from fialloc.curves import DEFAULT_KEY_TENORS, tent_overlay
from fialloc.data.vocabulary import GOVERNMENT_SECTORS
from fialloc.desks.attribution import analyze
from fialloc.schedule import act365

SLICE = 7  # month-ends of the reference comparison


@pytest.fixture(scope="module")
def demo():
    return data.demo()


@pytest.fixture(scope="module")
def recent(demo):
    months = sorted(set(demo.holdings_history["month"]))[-SLICE:]

    def keep(frame):
        return frame[frame["month"].isin(months)].reset_index(drop=True)

    # Without the pools' factor history: the loop reference below values every bond on its
    # scheduled flows (the pools' paydown and prepayment effects have their own hand-worked
    # tests in tests/analytics/test_analytics_pool_paydowns.py).
    return dataclasses.replace(
        demo,
        holdings_history=keep(demo.holdings_history),
        benchmark_holdings=keep(demo.benchmark_holdings),
        security_spreads=keep(demo.security_spreads),
        pool_factors=None,
    )


def reference(p) -> dict[tuple[int, str], dict[str, float]]:
    """Active income, duration, curve, credit spread and specific effects, loop by loop."""
    months = sorted(set(p.holdings_history["month"]))
    keys = np.asarray(DEFAULT_KEY_TENORS)
    zeros = p.zero_history
    tenors = zeros.columns.to_numpy(dtype=float)
    spreads = p.security_spreads.pivot(index="month", columns="security_id", values="spread")
    letters = p.securities["rating"].str.rstrip("+-")
    government = p.securities["sector"].isin(GOVERNMENT_SECTORS)
    held = p.holdings_history.groupby(["month", "manager_id"])
    bench = p.benchmark_holdings.groupby(["month", "benchmark_id"])
    ids = sorted(set(p.holdings_history["security_id"]) | set(p.benchmark_holdings["security_id"]))
    master = p.securities.loc[ids].reset_index(drop=True).assign(face=100.0)
    out = {}
    for k in range(len(months) - 1):
        m0, m1 = months[k], months[k + 1]
        book = BondBook.from_frame(master, m0)
        tau = act365(m0, m1)
        z0 = zeros.loc[m0].to_numpy(dtype=float)
        z1 = zeros.loc[m1].to_numpy(dtype=float)
        move = np.interp(keys, tenors, z1) - np.interp(keys, tenors, z0)
        parallel = move.mean()
        effects = {}
        for i, sid in enumerate(ids):
            t, a = book.layout.stream(i)
            coupon = a[t <= tau].sum()
            t1, a1 = t[t > tau] - tau, a[t > tau]
            s0, s1 = spreads.loc[m0, sid], spreads.loc[m1, sid]
            letter = letters[sid]
            sys = (
                0.0
                if government[sid]
                else p.spread_history.loc[m1, letter] - p.spread_history.loc[m0, letter]
            )

            def price(zero_at, s, times=t1, amounts=a1):
                return float(amounts @ np.exp(-(zero_at(times) + s) * times))

            def on(z, shift=0.0):
                return lambda x: np.interp(x, tenors, z) + shift

            start = price(on(z0), s0, t[t > 0], a[t > 0])
            curves = [on(z0), on(z0, parallel)]
            for j in range(len(keys)):
                knots, tent = tent_overlay(keys, j)
                previous = curves[-1]
                curves.append(
                    lambda x, f=previous, kn=knots, te=tent, d=move[j] - parallel: (
                        f(x) + d * np.interp(x, kn, te)
                    )
                )
            values = [price(c, s0) + coupon for c in curves]
            values.append(price(on(z1), s0) + coupon)
            values.append(price(on(z1), s0 + sys) + coupon)
            values.append(price(on(z1), s1) + coupon)
            steps = np.diff([start, *values]) / start
            effects[sid] = {
                "start": start,
                "income": steps[0],
                "duration": steps[1],
                "curve": steps[2 : 2 + len(keys)].sum() + steps[2 + len(keys)],
                "credit_spread": steps[-2],
                "specific": steps[-1],
            }
        for manager in p.managers["manager_id"]:
            pos = held.get_group((m0, manager))
            value = {
                sid: par * effects[sid]["start"] / 100.0
                for sid, par in zip(pos["security_id"], pos["par"], strict=True)
            }
            total = sum(value.values())
            weights = {sid: v / total for sid, v in value.items()}
            b = bench.get_group((m0, p.managers.at[manager, "benchmark"]))
            bw = dict(zip(b["security_id"], b["weight"], strict=True))
            row = {}
            for name in ("income", "duration", "curve", "credit_spread", "specific"):
                row[name] = sum(
                    (weights.get(sid, 0.0) - bw.get(sid, 0.0)) * effects[sid][name]
                    for sid in set(weights) | set(bw)
                )
            out[(k, manager)] = row
    return out


@pytest.mark.benchmark(group="attribution-desk")
def test_attribution_desk_demo_25_managers_60_months(benchmark, demo):
    ctx = DeskContext(demo)
    result = benchmark.pedantic(analyze, (ctx,), rounds=3, iterations=1)
    assert {f.subject for f in result.findings_of("selection_skill")} == set(
        data.demo_truth().skilled_managers
    )


@pytest.mark.benchmark(group="attribution-6-months")
def test_attribution_fialloc_6_months(benchmark, recent):
    result = benchmark.pedantic(holdings_attribution, (recent,), rounds=3, iterations=1)
    want = reference(recent)
    for (k, manager), row in want.items():
        m = result.portfolios.index(manager)
        for name in ("income", "duration", "curve", "credit_spread"):
            assert abs(result.effects.effect(name)[k, m] - row[name]) < 1e-10
        specific = result.effects.effect("sector_allocation") + result.effects.effect("selection")
        assert abs(specific[k, m] - row["specific"]) < 1e-10


@pytest.mark.benchmark(group="attribution-6-months")
def test_attribution_numpy_loop_6_months(benchmark, recent):
    benchmark.pedantic(reference, (recent,), rounds=1, iterations=1)
