"""FX spot rates and cross-currency bases as a run reads them from the ``fx_spot`` table."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["fx_rates"]


def fx_rates(
    table: pd.DataFrame | None, base_currency: str, where: str = "fx_spot"
) -> tuple[dict[str, float], dict[str, float]]:
    """Spots (base units per unit of each currency) and bases (decimal) from a validated table.

    A rate ``quoted`` as ``units_per_base`` (150 JPY per USD) is inverted; a row for the base
    currency itself must have rate 1 and no basis.

    Raises
    ------
    ValueError
        Naming the row of a base-currency rate other than 1.
    """
    if table is None or table.empty:
        return {}, {}
    quoted = (
        table["quoted"].fillna("base_per_unit")
        if "quoted" in table.columns
        else pd.Series("base_per_unit", index=table.index)
    )
    basis = table["basis"] if "basis" in table.columns else pd.Series(math.nan, index=table.index)
    spots: dict[str, float] = {}
    bases: dict[str, float] = {}
    for row, (ccy, rate, how, b) in enumerate(
        zip(table["currency"], table["rate"], quoted, basis, strict=True)
    ):
        spot = float(rate) if how == "base_per_unit" else 1.0 / float(rate)
        given_basis = b is not None and not (isinstance(b, float) and math.isnan(b))
        if ccy == base_currency and (spot != 1.0 or given_basis):
            msg = (
                f"{where} row {row}: the base currency {base_currency} is worth 1 of itself "
                "with no basis; leave its row out"
            )
            raise ValueError(msg)
        spots[str(ccy)] = spot
        if given_basis:
            bases[str(ccy)] = float(b)
    return spots, bases
