"""Campisi-style attribution of portfolios against benchmarks from revalued securities.

Portfolios are weight vectors over the same securities (DESIGN principle 2): every effect of a
portfolio is its weights times the securities' effects from
:func:`fialloc.holdings_revaluation.revalue_history`. Against a benchmark, with active
weights ``d = w - b``:

- ``income``, ``duration`` and ``curve`` (the key-rate effects together) are ``d`` times the
  securities' effects; an MBS pool's income includes the paydown its prepayment model
  expected, returned at par (its ``paydown`` effect);
- ``credit_spread`` is ``d`` times the systematic (rating) spread effects, broken down by
  rating and by sector;
- the security-specific spread effects split Brinson-style by sector: ``sector_allocation``
  ``sum_s (W_s - B_s) rb_s`` (over-weighting sectors whose bonds' own spreads tightened) and
  ``selection`` ``sum_s W_s (rw_s - rb_s)`` (better bonds within a sector), where ``W_s``,
  ``B_s`` are sector weights and ``rw_s``, ``rb_s`` the sector's specific return in the
  portfolio and the benchmark (the portfolio's own where the benchmark holds none);
- ``prepayment`` is ``d`` times the pools' prepayment effects: actual paydown against the
  model's expected, at par against the end price (zero without pools or pool factors);
- ``residual`` is what the named effects leave of the active return: the curve move the key
  rates do not span, and rounding.

The effects add up to the active return exactly, period by period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from fialloc.checks import finite_array
from fialloc.data.vocabulary import RATING_LETTERS
from fialloc.holdings_revaluation import SecurityEffects
from fialloc.layout import FloatArray

__all__ = ["ACTIVE_EFFECTS", "CampisiEffects", "campisi"]

#: The effects that add up to the active return, in report order.
ACTIVE_EFFECTS: Final = (
    "income",
    "duration",
    "curve",
    "credit_spread",
    "sector_allocation",
    "selection",
    "prepayment",
    "residual",
)
_LETTER_RANK: Final = {letter: k for k, letter in enumerate(RATING_LETTERS)}


@dataclass(frozen=True)
class CampisiEffects:
    """Effects of many portfolios against their benchmarks, period by period.

    Attributes
    ----------
    portfolio_return, benchmark_return : ndarray, shape (periods, portfolios)
        Holdings-based returns (decimals).
    columns : tuple of str
        :data:`ACTIVE_EFFECTS`, then the breakdowns: ``curve_<tenor>`` (key rates),
        ``spread_<rating>`` and ``spread_sector_<sector>`` (the credit spread effect by rating
        and by sector).
    values : ndarray, shape (periods, portfolios, columns)
        Effects (decimals of the portfolio's start value).
    """

    portfolio_return: FloatArray
    benchmark_return: FloatArray
    columns: tuple[str, ...]
    values: FloatArray

    @property
    def active_return(self) -> FloatArray:
        """Portfolio minus benchmark return (periods by portfolios)."""
        out: FloatArray = self.portfolio_return - self.benchmark_return
        return out

    def effect(self, name: str) -> FloatArray:
        """One effect's values (periods by portfolios)."""
        out: FloatArray = self.values[:, :, self.columns.index(name)]
        return out


def _weights(name: str, values: npt.ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    arr = finite_array(values, shape, "campisi", name)
    if np.any(arr < 0):
        msg = f"campisi: `{name}` must be non-negative"
        raise ValueError(msg)
    sums = arr.sum(axis=2)
    bad = np.argwhere(np.abs(sums - 1.0) > 1e-9)
    if len(bad):
        p, m = (int(i) for i in bad[0])
        msg = (
            f"campisi: `{name}` of portfolio {m} in period {p} sum to {sums[p, m]:.9f}; expected 1"
        )
        raise ValueError(msg)
    return arr


def _one_hot(labels: Sequence[str], order: Sequence[str]) -> FloatArray:
    index = {label: k for k, label in enumerate(order)}
    out = np.zeros((len(labels), len(order)))
    out[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return out


def _sector_allocation_and_selection(
    w: np.ndarray, b: np.ndarray, specific: np.ndarray, by_sector: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split the specific spread effect into sector allocation and selection (Brinson).

    `w` and `b` are portfolio and benchmark weights (period by portfolio by security),
    `specific` each security's specific spread return and `by_sector` the securities' sector
    indicators. A sector the benchmark does not hold is judged against the portfolio's own.
    """
    w_s, b_s = w @ by_sector, b @ by_sector
    c_w, c_b = (w * specific) @ by_sector, (b * specific) @ by_sector
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(w_s > 0, c_w / w_s, 0.0)
        reference = np.where(b_s > 0, c_b / b_s, own)
    allocation = ((w_s - b_s) * reference).sum(axis=2)
    selection = (c_w - w_s * reference).sum(axis=2)
    return allocation, selection


def campisi(
    securities: SecurityEffects,
    weights: npt.ArrayLike,
    benchmark: npt.ArrayLike,
    ratings: Sequence[str],
    sectors: Sequence[str],
) -> CampisiEffects:
    """Attribute portfolios against benchmarks, every period.

    Parameters
    ----------
    securities : SecurityEffects
        Per-security effects of every period.
    weights, benchmark : array, shape (periods, portfolios, securities)
        Start-of-period market-value weights of each portfolio and of its benchmark (each row
        sums to 1), in the securities' order.
    ratings, sectors : sequence of str
        Each security's letter rating and sector, in the same order.

    Raises
    ------
    ValueError
        On mismatched shapes, negative or non-finite weights, rows that do not sum to 1.
    """
    n_per, n_sec, _ = securities.effects.shape
    if len(ratings) != n_sec or len(sectors) != n_sec:
        msg = f"campisi: {len(ratings)} ratings and {len(sectors)} sectors for {n_sec} securities"
        raise ValueError(msg)
    w_arr = np.asarray(weights, dtype=np.float64)
    shape = (n_per, w_arr.shape[1] if w_arr.ndim == 3 else -1, n_sec)
    w = _weights("weights", w_arr, shape)
    b = _weights("benchmark", benchmark, shape)
    names = securities.names
    e = securities.effects
    d = w - b

    def contribution(effect: str) -> FloatArray:
        out: FloatArray = np.einsum("pms,ps->pm", d, e[:, :, names.index(effect)])
        return out

    key_names = [n for n in names if n.startswith("curve_") and n != "curve_other"]
    key_effects = {n: contribution(n) for n in key_names}
    letters = sorted(set(ratings), key=lambda r: (_LETTER_RANK.get(r, len(_LETTER_RANK)), r))
    sector_names = sorted(set(sectors))
    by_letter, by_sector = _one_hot(ratings, letters), _one_hot(sectors, sector_names)
    systematic = d * e[:, None, :, names.index("spread_systematic")]
    spread_letter = systematic @ by_letter
    spread_sector = systematic @ by_sector
    specific = e[:, None, :, names.index("spread_specific")]
    allocation, selection = _sector_allocation_and_selection(w, b, specific, by_sector)
    total = np.einsum("pms,ps->pm", w, e.sum(axis=2))
    bench = np.einsum("pms,ps->pm", b, e.sum(axis=2))
    named = {
        "income": contribution("income") + contribution("paydown"),
        "duration": contribution("duration"),
        "curve": sum(key_effects.values(), np.zeros_like(total)),
        "credit_spread": spread_letter.sum(axis=2),
        "sector_allocation": allocation,
        "selection": selection,
        "prepayment": contribution("prepayment"),
    }
    named["residual"] = (total - bench) - sum(named.values(), np.zeros_like(total))
    columns = (
        *ACTIVE_EFFECTS,
        *key_names,
        *(f"spread_{letter}" for letter in letters),
        *(f"spread_sector_{sector}" for sector in sector_names),
    )
    values = np.concatenate(
        [
            np.stack([named[n] for n in ACTIVE_EFFECTS], axis=2),
            np.stack([key_effects[n] for n in key_names], axis=2),
            spread_letter,
            spread_sector,
        ],
        axis=2,
    )
    return CampisiEffects(total, bench, columns, values)
