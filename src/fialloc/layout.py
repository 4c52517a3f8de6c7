"""The compressed cash-flow layout every pricing kernel reads.

Many fixed cash-flow streams (bonds, a liability stream, curve instruments) are stored back to
back: stream ``i`` owns entries ``offsets[i]:offsets[i + 1]`` of ``times`` (Act/365F years from
the valuation date) and ``amounts``. It is built once and reused for every curve, bump and path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CashflowLayout:
    """Back-to-back cash-flow streams.

    Attributes
    ----------
    offsets : ndarray of int64, shape (n_streams + 1,)
        Stream ``i`` spans ``offsets[i]:offsets[i + 1]``.
    times : ndarray of float64
        Act/365F years from the valuation date, non-decreasing within a stream.
    amounts : ndarray of float64
        Cash-flow amounts.
    """

    offsets: IndexArray
    times: FloatArray
    amounts: FloatArray

    @classmethod
    def from_streams(
        cls, times: Sequence[Sequence[float]], amounts: Sequence[Sequence[float]]
    ) -> CashflowLayout:
        """Pack per-stream lists of times and amounts into one layout."""
        lengths = np.array([len(t) for t in times], dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat_t = np.fromiter((x for t in times for x in t), dtype=np.float64, count=offsets[-1])
        flat_a = np.fromiter((x for a in amounts for x in a), dtype=np.float64, count=offsets[-1])
        return cls(offsets, flat_t, flat_a)

    @property
    def n_streams(self) -> int:
        """Number of streams."""
        return len(self.offsets) - 1

    def args(self) -> tuple[IndexArray, FloatArray, FloatArray]:
        """Return the ``(offsets, times, amounts)`` triple the kernels take."""
        return self.offsets, self.times, self.amounts

    def stream(self, i: int) -> tuple[FloatArray, FloatArray]:
        """Return times and amounts of stream `i` (views)."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.times[lo:hi], self.amounts[lo:hi]
