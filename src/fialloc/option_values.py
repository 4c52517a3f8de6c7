"""Model values of a book's MBS pools and callable bonds on moved curves, with the OAS held.

The stresses revalue every bond on the stressed curves; a pool or a callable is revalued with
its model, not on its scheduled flows:

- a pool on the run's valuation paths (:func:`fialloc.mbs.valuation_paths`) re-based on the
  moved curve (:meth:`fialloc.mbs.MbsPaths.on_curve`: the same random factors, discount
  factors and mortgage rates of the moved curve, so prepayment follows the moved rates), at
  its OAS plus the scenario's spread shift;
- a callable or putable on the Hull-White lattice of its currency refitted to the moved curve,
  at its OAS plus the spread shift: its observed price plus the lattice's change, both
  lattice values on :data:`fialloc.callables.STRESS_STEPS_PER_YEAR` (the coarse grid's error
  cancels in the difference).

A curve that did not move and no spread shift give back today's prices exactly. Values are
dirty prices per 100 face in each bond's own currency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from fialloc.bonds import BondBook
from fialloc.callables import STRESS_STEPS_PER_YEAR, ExerciseSchedule, lattice_prices
from fialloc.curves import Curve
from fialloc.hull_white import HullWhite
from fialloc.layout import FloatArray, IndexArray
from fialloc.mbs import MbsPaths, MbsPools, PrepaymentModel, value_pools

__all__ = ["CallableGroup", "OptionValues", "PoolGroup"]


@dataclass(frozen=True)
class PoolGroup:
    """MBS pools of one currency with what values them.

    Attributes
    ----------
    currency : str
    rows : ndarray of int64
        Positions in the run's book.
    pools : MbsPools
    oas : ndarray
        Each pool's OAS (decimal).
    paths : MbsPaths
        The paths the OAS was solved on.
    price : ndarray
        Today's dirty price per 100 face.
    curve : Curve
        Today's curve of the currency (the paths').
    """

    currency: str
    rows: IndexArray
    pools: MbsPools
    oas: FloatArray
    paths: MbsPaths
    price: FloatArray
    curve: Curve

    def values(self, curve: Curve, spread_shift: FloatArray) -> FloatArray:
        """Dirty prices per 100 face on `curve`, at the OAS plus `spread_shift` (decimal)."""
        model = PrepaymentModel()
        return value_pools(
            self.pools,
            self.paths.on_curve(curve, model),
            oas=self.oas + spread_shift,
            model=model,
            key_tenors=None,
            bump_bp=0.0,
        ).value


@dataclass(frozen=True)
class CallableGroup:
    """Bonds of one currency with a live call or put, with their lattice.

    Attributes
    ----------
    currency : str
    rows : ndarray of int64
        Positions in the run's book.
    book : BondBook
        The bonds.
    schedule : ExerciseSchedule
        Their exercise dates, aligned with `book`.
    model : HullWhite
        The lattice's model, fitted to today's curve of the currency.
    oas : ndarray
        Each bond's OAS (decimal).
    price : ndarray
        Today's dirty price per 100 face.
    """

    currency: str
    rows: IndexArray
    book: BondBook
    schedule: ExerciseSchedule
    model: HullWhite
    oas: FloatArray
    price: FloatArray

    @property
    def curve(self) -> Curve:
        """Today's curve of the currency (the lattice's)."""
        return self.model.curve

    def _lattice(self, curve: Curve, spread: FloatArray) -> FloatArray:
        layout = self.book.layout
        return lattice_prices(
            layout, self.schedule, self.model, curve, spread, STRESS_STEPS_PER_YEAR
        )

    @cached_property
    def _today(self) -> FloatArray:
        return self._lattice(self.model.curve, self.oas)

    def values(self, curve: Curve, spread_shift: FloatArray) -> FloatArray:
        """Dirty prices per 100 face on `curve`, at the OAS plus `spread_shift` (decimal)."""
        return self.price + self._lattice(curve, self.oas + spread_shift) - self._today


@dataclass(frozen=True)
class OptionValues:
    """The book's pools and callables, revalued with their models on moved curves.

    Build with :attr:`fialloc.data.Portfolio.option_values`. Revaluations are kept by curve
    and spread shift: a scenario set that moves the curve to the same place twice (the NY7
    paths' horizons) values it once.
    """

    groups: tuple[PoolGroup | CallableGroup, ...]
    # Written by whichever thread values a state first; a race only values it twice.
    _kept: dict[str, FloatArray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows(self) -> IndexArray:
        """Positions in the book of every bond valued here, in :meth:`prices`' order."""
        if not self.groups:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([g.rows for g in self.groups])

    def prices(self, curve_of: Callable[[str], Curve], spread_shift: FloatArray) -> FloatArray:
        """Model dirty prices per 100 face (own currency) of :attr:`rows`.

        Parameters
        ----------
        curve_of : callable
            The moved government curve of a currency.
        spread_shift : ndarray
            Every bond's spread shift (decimal), book order.
        """
        out = []
        for k, group in enumerate(self.groups):
            curve = curve_of(group.currency)
            shift = np.ascontiguousarray(spread_shift[group.rows], dtype=np.float64)
            if curve is group.curve and not shift.any():
                out.append(group.price)
                continue
            parts = [
                str(k).encode(),
                *(np.ascontiguousarray(a).tobytes() for a in curve.core_args()),
            ]
            key = hashlib.sha256(b"\0".join([*parts, shift.tobytes()])).hexdigest()
            found = self._kept.get(key)
            if found is None:
                found = self._kept[key] = group.values(curve, shift)
            out.append(found)
        return np.concatenate(out) if out else np.zeros(0)
