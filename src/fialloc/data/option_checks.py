"""Cross-table checks of the call/put schedules against the security master."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from fialloc.data.schema import Problem

__all__ = ["call_schedule_problems"]


def call_schedule_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str]
) -> list[Problem]:
    """Return a problem per schedule row of an unknown bond or dated on or after its maturity.

    Values that failed their own column's check are None and are skipped.
    """
    calls, securities = t.get("call_schedule"), t.get("securities")
    if calls is None or securities is None:
        return []
    maturity = dict(zip(securities["security_id"], securities["maturity"], strict=True))
    file = files["call_schedule"]
    problems: list[Problem] = []
    for row, (sid, date) in enumerate(zip(calls["security_id"], calls["date"], strict=True)):
        if sid is None:
            continue
        if sid not in maturity:
            msg = f"{sid!r} has no row in the security master"
            problems.append(Problem(file, row, "security_id", msg))
        elif date is not None and maturity[sid] is not None and date >= maturity[sid]:
            msg = f"{date} is on or after {sid}'s maturity {maturity[sid]}"
            problems.append(Problem(file, row, "date", msg))
    return problems
