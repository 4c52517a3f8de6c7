"""MBS pools' paydowns over a holdings history: actual from their factors, expected by the model.

A pool returns part of its balance every month at par (scheduled amortization and
prepayment). Over a period between two month-ends with a factor (``pool_factors``), the
actual paydown is ``1 - F_end / F_start`` of the balance at the start; the expected one is
what the prepayment model gives for that month from the pool as it stood at the start (age and
months left rolled back from today's ``mbs_pools`` row, the start factor for burnout) on that
month-end's zero curve (:func:`fialloc.mbs.expected_paydown`). The holdings attribution
returns the expected paydown at par as income and the difference as the prepayment effect
(:func:`fialloc.holdings_revaluation.revalue_history`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fialloc.data import Portfolio
from fialloc.holdings_revaluation import history_curve
from fialloc.layout import FloatArray
from fialloc.mbs import MbsPools, expected_paydown

__all__ = ["Paydowns", "history_paydowns"]


@dataclass(frozen=True)
class Paydowns:
    """Each security's paydown in each period, as a share of its balance at the period's start.

    Attributes
    ----------
    actual, expected : ndarray, shape (periods, securities)
        Decimals; zero for bonds that are not pools and for periods without a factor at both
        ends (no paydown is then known, the pool is revalued on its scheduled flows alone).
    """

    actual: FloatArray
    expected: FloatArray


def _months_before(date: dt.date, later: dt.date) -> int:
    return (later.year - date.year) * 12 + later.month - date.month


def history_paydowns(
    p: Portfolio,
    months: Sequence[dt.date],
    security_ids: pd.Index,
    tenors: FloatArray,
    zeros: FloatArray,
) -> Paydowns | None:
    """Actual and expected paydowns of the pools among `security_ids` over `months`.

    Parameters
    ----------
    p : Portfolio
        With ``mbs_pools`` (today's pool terms) and ``pool_factors``.
    months : sequence of date
        Month-ends of the history, increasing.
    security_ids : Index
        The revalued securities (book order).
    tenors, zeros : array
        The zero-rate history: tenors (years) and months by tenors (continuous decimals).

    Returns
    -------
    Paydowns or None
        None without ``pool_factors`` or without a pool among the securities.

    Raises
    ------
    ValueError
        Naming the pool and month when a factor is given before the pool's first month (its
        age today is less than the months since).
    """
    if p.pool_factors is None or p.mbs_pools is None:
        return None
    terms = p.mbs_pools[p.mbs_pools["security_id"].isin(security_ids)]
    if terms.empty:
        return None
    factors = p.pool_factors.pivot_table(
        index="date", columns="security_id", values="factor", aggfunc="first"
    ).reindex(index=pd.Index(months), columns=terms["security_id"])
    shape = (len(months) - 1, len(security_ids))
    actual, expected = np.zeros(shape), np.zeros(shape)
    columns = security_ids.get_indexer(pd.Index(terms["security_id"]))
    f = factors.to_numpy(dtype=float)
    ages, wams = terms["age"].to_numpy(dtype=int), terms["wam"].to_numpy(dtype=int)
    today: MbsPools | None = None  # read from the table once, at the first month it is needed
    for k in range(len(months) - 1):
        known = np.isfinite(f[k]) & np.isfinite(f[k + 1]) & (f[k] > 0)
        if not known.any():
            continue
        back = _months_before(months[k], p.valuation_date)
        age = ages[known] - back
        if (age < 0).any():
            sid = terms["security_id"].to_numpy()[known][int(np.argmax(age < 0))]
            msg = (
                f"pool_factors: {sid} has a factor at {months[k]}, {back} months before the "
                f"valuation date, but is {back + int(age.min())} months old in mbs_pools"
            )
            raise ValueError(msg)
        today = MbsPools.from_frame(terms) if today is None else today
        then = replace(
            today,
            ids=today.ids[known],
            wac=today.wac[known],
            net_coupon=today.net_coupon[known],
            wam=np.minimum(wams[known] + back, 600),
            age=age,
            factor=np.ascontiguousarray(f[k, known]),
            kind=today.kind[known],
            speed=today.speed[known],
        )
        # The month's ages, terms and factors go through the kernel's checks like any pools:
        # expected_paydown's kernel call makes them (naming the pool), so no separate check.
        curve = history_curve(tenors, zeros[k])
        at = columns[known]
        actual[k, at] = 1.0 - f[k + 1, known] / f[k, known]
        expected[k, at] = expected_paydown(then, curve, months[k].month % 12 + 1)
    return Paydowns(actual, expected)
