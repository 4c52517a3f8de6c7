"""A plain numpy implementation of MBS pool valuation on paths (test and benchmark reference).

Written from the formulas of fialloc.mbs's documentation, not from the compiled kernel: a loop
over months, vectorized over pools and paths, with numpy's own exp, log and arctan-free logistic,
and the OAS found by scipy's brentq on the path-mean discounted flows.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def path_flows(pools, model, calendar_month, discount, mortgage_rate, balances=None):
    """Discounted cash flows per 100 of today's face: pools x paths x months (zeros after wam).

    With a `balances` list, each month's balance (pools x paths, per unit face) after its
    payment is appended to it.
    """
    wac = pools.wac[:, None]
    net = pools.net_coupon[:, None]
    n_pools, (n_paths, n_months) = len(pools.wac), discount.shape
    out = np.zeros((n_pools, n_paths, n_months))
    balance = np.ones((n_pools, n_paths))
    c = wac / 12.0
    for k in range(1, n_months + 1):
        alive = (pools.wam >= k)[:, None]
        left = np.maximum(pools.wam - k + 1, 1)[:, None].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            sched_rate = np.where(c > 0, c / ((1.0 + c) ** left - 1.0), 1.0 / left)
        age = (pools.age + k)[:, None].astype(float)
        season = model.seasonality[(calendar_month - 1 + k - 1) % 12]
        incentive = wac - mortgage_rate[None, :, k - 1]
        smm_low, smm_high = 1.0 - (1.0 - np.array([model.cpr_low, model.cpr_high])) ** (1 / 12)
        refi = smm_low + (smm_high - smm_low) / (
            1.0 + np.exp(-(incentive - model.incentive_mid) / model.incentive_width)
        )
        burn = model.burnout_floor + (1.0 - model.burnout_floor) * pools.factor[:, None] * balance
        smm_model = (
            pools.speed[:, None] * refi * np.minimum(1.0, age / model.ramp_months) * season * burn
        )
        cpr_psa = 0.06 * np.minimum(age, 30.0) / 30.0 * pools.speed[:, None] / 100.0
        kind = pools.kind[:, None]
        cpr = np.minimum(np.where(kind == 0, pools.speed[:, None], cpr_psa), 0.999999)
        smm_max = 1.0 - (1.0 - 0.999999) ** (1.0 / 12.0)
        smm = np.where(kind == 2, np.minimum(smm_model, smm_max), 1.0 - (1.0 - cpr) ** (1.0 / 12.0))
        scheduled = balance * sched_rate
        principal = scheduled + smm * (balance - scheduled)
        flow = balance * net / 12.0 + principal
        out[:, :, k - 1] = np.where(alive, 100.0 * flow * discount[None, :, k - 1], 0.0)
        balance = np.where(alive, balance - principal, balance)
        if balances is not None:
            balances.append(np.where(alive, balance, 0.0))
    return out


def values_at(flows, oas):
    """Path-mean value of each pool at its OAS (decimal)."""
    t = np.arange(1, flows.shape[2] + 1) / 12.0
    return (flows.mean(axis=1) * np.exp(-np.outer(oas, t))).sum(axis=1)


def solve_oas(flows, prices):
    """OAS per pool that reprices `prices` (per 100 face)."""
    t = np.arange(1, flows.shape[2] + 1) / 12.0
    mean = flows.mean(axis=1)
    return np.array(
        [
            brentq(lambda s, m=m, p=p: float((m * np.exp(-s * t)).sum() - p), -0.5, 2.0, xtol=1e-14)
            for m, p in zip(mean, prices, strict=True)
        ]
    )
