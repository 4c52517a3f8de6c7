"""Cross-table checks of the annuity blocks (``liability_products``) and their mortality."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fialloc.data.schema import Problem

__all__ = ["product_problems"]

#: Values each kind of block needs (the rest are ignored for it).
NEEDS = {
    "fixed_annuity": ("account_value", "credited_rate", "term_years"),
    "payout_annuity": ("annual_payment",),
}


def product_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date
) -> list[Problem]:
    """Return what a run cannot project from the annuity blocks and their mortality.

    A missing value a block's kind needs, an anniversary not within a year after the
    valuation date, blocks without a mortality table (or the reverse), and mortality ages
    that are not consecutive.

    Values that failed their own column's check are None and are skipped.
    """
    products, mortality = t.get("liability_products"), t.get("mortality")
    problems: list[Problem] = []
    if products is not None and mortality is None:
        msg = "annuity blocks need a mortality table (mortality)"
        problems.append(Problem(files["liability_products"], None, None, msg))
    if mortality is not None and products is None:
        msg = "a mortality table without liability_products, which it describes"
        problems.append(Problem(files["mortality"], None, None, msg))
    if mortality is not None:
        ages = np.sort(mortality["age"].dropna().to_numpy(dtype=float))
        if len(ages) and np.any(np.diff(ages) != 1):
            msg = "ages must be consecutive, one row each"
            problems.append(Problem(files["mortality"], None, "age", msg))
    if products is None:
        return problems
    file = files["liability_products"]
    for row, rec in enumerate(products.to_dict("records")):
        for name in NEEDS.get(str(rec.get("kind")), ()):
            value = rec.get(name)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                what = str(rec["kind"]).replace("_", " ")
                problems.append(Problem(file, row, name, f"a {what} needs a value"))
        date = rec.get("next_anniversary")
        if isinstance(date, dt.date) and not 0 < (date - vd).days <= 366:
            msg = f"{date} is not within a year after the valuation date {vd}"
            problems.append(Problem(file, row, "next_anniversary", msg))
    return problems
