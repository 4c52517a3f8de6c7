"""The multi-currency sleeves by the formula the running sum replaced, for tests and benchmarks.

`fialloc.currency_paths.asset_paths` banks each month's cash in a running sum; this keeps every
block's cash in a paths x months x managers array and takes its cumulative sum, the same
additions in the same order, so the two agree bitwise.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fialloc.currency_paths import BookScenario, _linker_cash, floor_paths, hedge_paths
from fialloc.currency_scenarios import MultiCurrencyPaths


def sleeves_cumulative(
    scenario: BookScenario, paths: MultiCurrencyPaths, h: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The sleeves with every block's cash in a paths x months x managers array, summed over
    blocks and months (the cumulative sum): the formula the running sum replaced (linkers'
    deflation floors added with their block)."""
    gen = scenario.generator
    base = paths.economy(paths.names[0])
    cols = base.columns(h)
    out = np.zeros((paths.n_paths, len(h), scenario.hedged.shape[0]))
    paid = np.zeros((paths.n_paths, len(paths.times), scenario.hedged.shape[0]))
    for b in scenario.blocks:
        out += gen.revalue(b.economy, b.book, paths, h, b.z_spread, holdings=b.holdings)
        home = b.economy if b.index_ratio is None else str(gen.economy(b.economy).parent)
        weight = base.discount if home == paths.names[0] else base.discount * paths.to_base(home)
        if b.index_ratio is None:
            paid += weight[:, :, None] * base.monthly_cash(b.book.layout, b.holdings)[None]
        else:
            paid += weight[:, :, None] * _linker_cash(b, paths)
            out += floor_paths(gen, b, paths, h)
    out += np.cumsum(paid, axis=1)[:, cols, :] / base.discount[:, cols, None]
    for c, currency in enumerate(scenario.hedge_currencies):
        out += hedge_paths(gen, currency, paths, h)[:, :, None] * scenario.hedged[:, c]
    return out
