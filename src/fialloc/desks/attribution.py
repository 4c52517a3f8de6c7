"""Attribution desk: where each manager's excess return came from, holdings- and returns-based.

Two levels. The insurer's own decision, its allocation across manager sleeves against the
policy allocation, is attributed Brinson-style (:mod:`fialloc.analytics.allocation_effects`).
Each manager's decisions inside its sleeve, and the total portfolio's, are attributed
Campisi-style against their benchmarks by revaluing the holdings month by month
(:mod:`fialloc.analytics.holdings_attribution`): income, duration, curve, credit spread, sector
allocation, selection and residual, adding up exactly to the active return each month, and
linked (Carino) over 1, 3, 6, 12, 36 and 60 months so that they add up to the compounded
excess return. Beside it, a returns-based check regresses each manager's reported excess
returns on duration, curve-slope and credit factor returns to separate beta from alpha.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from fialloc.analytics.campisi import ACTIVE_EFFECTS
from fialloc.analytics.context import DeskContext
from fialloc.analytics.holdings_attribution import TOTAL, HoldingsAttribution, holdings_attribution
from fialloc.analytics.linking import compounded, link_effects
from fialloc.analytics.regression import factor_regression
from fialloc.analytics.skill import check_return_history
from fialloc.desks.result import DeskResult, Finding

__all__ = [
    "WINDOWS",
    "analyze",
    "brinson_tables",
    "factor_returns",
    "linked_effects",
    "monthly_effects",
    "returns_based_check",
]

#: Linking windows (months, trailing); a window longer than the history covers all of it.
WINDOWS: Final = (1, 3, 6, 12, 36, 60)
#: A manager's active return is driven by an effect that explains at least this share of its
#: variance (shares are ``cov(effect, active) / var(active)`` and add up to 1).
DOMINANT_SHARE: Final = 0.5
#: A returns-based credit beta confirms the holdings view when its |t| is at least this.
CREDIT_BETA_T: Final = 3.0
#: The returns-based check needs at least this many months.
MIN_REGRESSION_MONTHS: Final = 12
#: Family-wise significance level of selection skill, split across the managers (Bonferroni).
SKILL_LEVEL: Final = 0.05


def monthly_effects(h: HoldingsAttribution) -> pd.DataFrame:
    """Per portfolio and month: returns, active return and every effect (decimals).

    Indexed by (``portfolio``, ``month``), the month a period ends; columns ``return``,
    ``benchmark_return``, ``active_return``, the :data:`~fialloc.analytics.campisi.ACTIVE_EFFECTS`
    (which add up to ``active_return``) and their breakdowns (key rates, ratings, sectors).
    """
    e = h.effects
    n_per, n_port = e.portfolio_return.shape
    index = pd.MultiIndex.from_product([h.portfolios, h.period_ends], names=["portfolio", "month"])
    base = np.stack([e.portfolio_return, e.benchmark_return, e.active_return], axis=2)
    values = np.concatenate([base, e.values], axis=2).transpose(1, 0, 2)
    columns = ["return", "benchmark_return", "active_return", *e.columns]
    return pd.DataFrame(values.reshape(n_port * n_per, -1), index=index, columns=columns)


def linked_effects(
    h: HoldingsAttribution, windows: tuple[int, ...] = WINDOWS, method: str = "carino"
) -> pd.DataFrame:
    """Effects linked over trailing windows, per portfolio (decimals).

    Indexed by (``portfolio``, ``window``); ``months`` is the number of months linked (the
    whole history when a window is longer). ``return`` and ``benchmark_return`` are
    compounded; the linked effects add up to ``active_return = return - benchmark_return``.
    """
    e = h.effects
    n_per = e.portfolio_return.shape[0]
    rows = {}
    for m, portfolio in enumerate(h.portfolios):
        for window in windows:
            span = slice(n_per - min(window, n_per), n_per)
            r, b = e.portfolio_return[span, m], e.benchmark_return[span, m]
            linked = link_effects(e.values[span, m, :], r, b, method)
            total_r, total_b = compounded(r), compounded(b)
            rows[(portfolio, window)] = {
                "months": float(len(r)),
                "return": total_r,
                "benchmark_return": total_b,
                "active_return": total_r - total_b,
                **dict(zip(e.columns, linked, strict=True)),
            }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = frame.index.set_names(["portfolio", "window"])
    return frame


def brinson_tables(
    h: HoldingsAttribution, windows: tuple[int, ...] = WINDOWS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attribute the sleeve allocation per manager and month, and linked for the total.

    Returns
    -------
    monthly : DataFrame
        Indexed by (``manager``, ``month``): ``actual_weight``, ``policy_weight``,
        ``sleeve_return``, ``benchmark_return``, ``allocation``, ``selection``,
        ``interaction`` (decimals of total assets).
    linked : DataFrame
        Indexed by ``window``: ``months``, ``portfolio_return``, ``policy_return`` (compounded),
        ``active_return`` and the linked ``allocation``, ``selection``, ``interaction`` that
        add up to it.
    """
    b = h.brinson
    n_per, n_mgr = b.allocation.shape
    managers = h.portfolios[:n_mgr]
    index = pd.MultiIndex.from_product([managers, h.period_ends], names=["manager_id", "month"])
    sleeves = h.effects.portfolio_return[:, :n_mgr]
    benches = h.effects.benchmark_return[:, :n_mgr]
    columns = {
        "actual_weight": h.actual_weights,
        "policy_weight": np.broadcast_to(h.policy_weights, (n_per, n_mgr)),
        "sleeve_return": sleeves,
        "benchmark_return": benches,
        "allocation": b.allocation,
        "selection": b.selection,
        "interaction": b.interaction,
    }
    monthly = pd.DataFrame(
        {k: np.asarray(v).T.reshape(-1) for k, v in columns.items()}, index=index
    )
    effects = np.stack(
        [b.allocation.sum(axis=1), b.selection.sum(axis=1), b.interaction.sum(axis=1)], axis=1
    )
    rows = {}
    for window in windows:
        span = slice(n_per - min(window, n_per), n_per)
        r, p = b.portfolio_return[span], b.policy_return[span]
        linked = link_effects(effects[span], r, p)
        rows[window] = {
            "months": float(len(r)),
            "portfolio_return": compounded(r),
            "policy_return": compounded(p),
            "active_return": compounded(r) - compounded(p),
            "allocation": linked[0],
            "selection": linked[1],
            "interaction": linked[2],
        }
    linked_frame = pd.DataFrame.from_dict(rows, orient="index")
    linked_frame.index.name = "window"
    return monthly, linked_frame


def factor_returns(ctx: DeskContext, h: HoldingsAttribution) -> pd.DataFrame:
    """Monthly factor returns over the attribution's months (decimals).

    ``duration``: minus the parallel shift of the zero curve (the return of one year of
    duration); ``curve_slope``: minus the change of the 10y-2y zero spread; ``credit_bbb`` and
    ``credit_hy``: BBB and BB credit excess returns (carry minus spread duration times the
    spread change with the book's own spread duration of the rating at the start of each month,
    :meth:`DeskContext.credit_factor`, as in the style regressions), where the market history
    has them.
    """
    ends = pd.Index(h.period_ends)
    zeros = ctx.portfolio.zero_history.reindex(h.months)
    tenors = zeros.columns.to_numpy(dtype=float)
    level = zeros.to_numpy(dtype=float)
    slope = np.array([np.interp(10.0, tenors, z) - np.interp(2.0, tenors, z) for z in level])
    factors = {
        "duration": pd.Series(-h.securities.parallel_shift, index=ends),
        "curve_slope": pd.Series(-np.diff(slope), index=ends),
    }
    spreads = ctx.portfolio.spread_history
    for name, letter in (("credit_bbb", "BBB"), ("credit_hy", "BB")):
        if letter in spreads.columns:
            factor = ctx.credit_factor(letter).reindex(ends)
            if factor.notna().all():
                factors[name] = factor
    return pd.DataFrame(factors)


def _reported_excess(ctx: DeskContext, months: pd.Index) -> pd.DataFrame:
    """Return reported excess returns at `months`, after refusing gaps and percentages."""
    p = ctx.portfolio
    try:
        check_return_history(p.returns.sort_index(), p.benchmark_returns)
    except ValueError as exc:
        msg = f"attribution: {exc}"
        raise ValueError(msg) from None
    excess = ctx.excess_returns.reindex(months)
    lacking = excess.isna().any()
    if lacking.any():
        manager = str(lacking[lacking].index[0])
        month = excess.index[excess[manager].isna()][0]
        msg = (
            f"attribution: manager_returns has no return for manager {manager} at {month}, "
            "a month of the holdings history"
        )
        raise ValueError(msg)
    return excess


def returns_based_check(ctx: DeskContext, h: HoldingsAttribution) -> pd.DataFrame:
    """Regress each manager's reported and holdings-based excess returns on factor returns.

    Per manager: the reported excess return's ``alpha`` (monthly), ``alpha_t``, ``alpha_p``,
    ``beta_<factor>`` and ``beta_t_<factor>``, ``r_squared``; ``holdings_beta_<factor>`` from
    the same regression of the holdings-based active return; and the credit consistency check:
    ``credit_effect_annual`` (holdings-based credit spread effect, mean x 12),
    ``credit_beta_annual`` (returns-based credit betas times mean credit factor returns, x 12)
    and ``credit_correlation`` (between the monthly holdings-based credit spread effect and
    the returns-based credit component). The credit factors include spread carry, which the
    holdings view counts as income, so the two annual figures differ by the carry; the
    correlation compares the spread moves.
    """
    factors = factor_returns(ctx, h)
    excess = _reported_excess(ctx, factors.index)
    n_mgr = len(h.portfolios) - 1
    active = pd.DataFrame(
        h.effects.active_return[:, :n_mgr], index=factors.index, columns=h.portfolios[:n_mgr]
    )
    credit = pd.DataFrame(
        h.effects.effect("credit_spread")[:, :n_mgr], index=factors.index, columns=active.columns
    )
    credit_factors = [c for c in factors.columns if c.startswith("credit_")]
    credit_returns = factors[credit_factors]
    rows = {}
    for manager in active.columns:
        reported = factor_regression(excess[manager], factors)
        held = factor_regression(active[manager], factors)
        row = {
            "alpha": reported.alpha,
            "alpha_t": reported.alpha_t,
            "alpha_p": reported.alpha_p,
            "r_squared": reported.r_squared,
        }
        for name in factors.columns:
            row[f"beta_{name}"] = float(reported.betas[name])
            row[f"beta_t_{name}"] = float(reported.beta_t[name])
            row[f"holdings_beta_{name}"] = float(held.betas[name])
        component = credit_returns @ reported.betas[credit_factors]
        row["credit_effect_annual"] = 12.0 * float(credit[manager].mean())
        row["credit_beta_annual"] = 12.0 * float(component.mean())
        both = np.std(component) > 0 and np.std(credit[manager]) > 0
        row["credit_correlation"] = (
            float(np.corrcoef(component, credit[manager])[0, 1]) if both else 0.0
        )
        rows[manager] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "manager_id"
    return frame


def _variance_shares(h: HoldingsAttribution) -> pd.DataFrame:
    """Each effect's share of each portfolio's active-return variance (rows add up to 1)."""
    e = h.effects
    active = e.active_return - e.active_return.mean(axis=0)
    named = e.values[:, :, : len(ACTIVE_EFFECTS)]
    centred = named - named.mean(axis=0)
    cov = np.einsum("pme,pm->me", centred, active)
    var = (active**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(var[:, None] > 0, cov / var[:, None], 0.0)
    return pd.DataFrame(shares, index=h.portfolios, columns=list(ACTIVE_EFFECTS))


def _strongest_credit_beta(check: Mapping[Hashable, Any]) -> tuple[str, float]:
    """Return the credit factor with the largest |t| of a manager's beta, and that t."""
    tvalues = {
        str(name).removeprefix("beta_t_"): float(value)
        for name, value in check.items()
        if str(name).startswith("beta_t_credit")
    }
    if not tvalues:
        return "", 0.0
    best = max(tvalues, key=lambda n: abs(tvalues[n]))
    return best, tvalues[best]


def _findings(
    h: HoldingsAttribution, linked: pd.DataFrame, checks: pd.DataFrame | None
) -> list[Finding]:
    n_mgr = len(h.portfolios) - 1
    mean, t, t_skill = _selection_tests(h)
    full = max(linked.index.get_level_values("window"))
    linked_rows = linked.to_dict("index")
    share_rows = _variance_shares(h).to_dict("index")
    check_rows = {} if checks is None else checks.to_dict("index")
    findings = []
    for m, manager in enumerate(h.portfolios[:n_mgr]):
        row = linked_rows[(manager, full)]
        share = share_rows[manager]
        check = check_rows.get(manager, {})
        beta_name, beta_t = _strongest_credit_beta(check)
        if (
            share["credit_spread"] >= DOMINANT_SHARE
            and share["credit_spread"] == max(share.values())
            and abs(t[m]) < 2.0
            and (checks is None or abs(beta_t) >= CREDIT_BETA_T)
        ):
            beta = (beta_name, beta_t, check) if checks is not None and beta_name else None
            findings.append(_credit_finding(str(manager), row, share, mean[m], t[m], beta))
        if mean[m] > 0 and t[m] >= t_skill:
            findings.append(_skill_finding(str(manager), row, mean[m], t[m], t_skill, n_mgr))
    return findings


def _selection_tests(
    h: HoldingsAttribution,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Each portfolio's mean monthly selection effect, its t-statistic and the skill threshold.

    The threshold is two-sided at ``SKILL_LEVEL`` after a Bonferroni correction for the
    managers; infinite (no skill finding) with fewer than three months.
    """
    e = h.effects
    n_mgr = len(h.portfolios) - 1
    n_per = e.portfolio_return.shape[0]
    selection = e.effect("selection")
    mean = selection.mean(axis=0)
    t = np.zeros(n_mgr + 1)
    t_skill = np.inf  # too few months to test: no skill finding
    if n_per >= 3:
        sd = selection.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, mean / (sd / np.sqrt(n_per)), 0.0)
        t_skill = float(stats.t.isf(SKILL_LEVEL / n_mgr / 2.0, n_per - 1))
    return mean, t, t_skill


def _credit_finding(
    manager: str,
    row: Mapping[Hashable, Any],
    share: Mapping[Hashable, Any],
    mean: float,
    t: float,
    beta: tuple[str, float, Mapping[Hashable, Any]] | None,
) -> Finding:
    """Say a manager's active return is mostly credit spread exposure (``credit_spread_driven``).

    `beta` is the returns-based check that agrees: the strongest credit factor's name, its
    t-statistic and the check's row.
    """
    metrics = {
        "credit_spread_share": share["credit_spread"],
        "credit_spread_linked": float(row["credit_spread"]),
        "months": float(row["months"]),
        "selection_monthly": float(mean),
        "selection_bp_month": float(mean * 1e4),
        "selection_t": float(t),
    }
    agrees = ""
    if beta is not None:
        beta_name, beta_t, check = beta
        metrics["credit_beta"] = float(check[f"beta_{beta_name}"])
        metrics["credit_beta_t"] = beta_t
        metrics["credit_correlation"] = float(check["credit_correlation"])
        agrees = (
            f"; the returns-based view agrees: {beta_name} beta "
            f"{metrics['credit_beta']:.2f} (t {beta_t:.1f}), correlation with the "
            f"holdings view {metrics['credit_correlation']:.2f}"
        )
    return Finding(
        code="credit_spread_driven",
        severity="watch",
        subject=manager,
        message=(
            f"{manager}'s active return is mostly credit spread exposure: the "
            f"credit spread effect explains {share['credit_spread']:.0%} of its "
            f"variance and adds {row['credit_spread']:+.2%} over "
            f"{row['months']:.0f} months, while selection adds "
            f"{mean * 1e4:+.1f} bp a month (t {t:.1f}){agrees}"
        ),
        metrics=metrics,
    )


def _skill_finding(
    manager: str, row: Mapping[Hashable, Any], mean: float, t: float, t_skill: float, n_mgr: int
) -> Finding:
    """Say a manager adds significant selection (``selection_skill``)."""
    return Finding(
        code="selection_skill",
        severity="info",
        subject=manager,
        message=(
            f"{manager} adds {mean * 1e4:+.1f} bp a month from security "
            f"selection (t {t:.1f}, above {t_skill:.1f} after correcting for "
            f"{n_mgr} managers), {row['selection']:+.2%} over "
            f"{row['months']:.0f} months"
        ),
        metrics={
            "selection_monthly": float(mean),
            "selection_bp_month": float(mean * 1e4),
            "selection_t": float(t),
            "t_threshold": t_skill,
            "managers": float(n_mgr),
            "selection_linked": float(row["selection"]),
            "months": float(row["months"]),
        },
    )


def analyze(ctx: DeskContext) -> DeskResult:
    """Run the attribution desk.

    Tables: ``monthly_effects`` (per portfolio, managers and ``TOTAL``, per month: returns and
    effects), ``linked_effects`` (per portfolio per window of 1-60 months, Carino-linked),
    ``credit_spread_by_sector`` (the credit spread effect by sector over the whole history),
    ``brinson_monthly`` and ``brinson_linked`` (the insurer's sleeve allocation against the
    policy), ``variance_shares`` (each effect's share of the active-return variance) and
    ``returns_based`` (factor regressions of reported and holdings-based excess returns, with
    at least :data:`MIN_REGRESSION_MONTHS` months).
    Findings: ``credit_spread_driven`` (active return mostly credit spread exposure, no
    significant selection, confirmed by a significant returns-based credit beta when reported
    returns are given), ``selection_skill`` (selection significant after a Bonferroni
    correction), ``sleeve_allocation`` (the insurer's own allocation effect) or
    ``attribution_unavailable`` when the inputs lack the holdings history.

    Raises
    ------
    ValueError
        On histories that do not fit together, or reported returns with gaps or in percent.
    """
    p = ctx.portfolio
    if p.holdings_history is None or p.benchmark_holdings is None:
        return _unavailable()
    h = holdings_attribution(p, key_tenors=p.mandate.key_tenors)
    linked = linked_effects(h)
    brinson_monthly, brinson_linked = brinson_tables(h)
    enough = len(h.period_ends) >= MIN_REGRESSION_MONTHS
    checks = returns_based_check(ctx, h) if enough and not p.manager_returns.empty else None
    full = int(max(WINDOWS))
    findings = _findings(h, linked, checks)
    whole = {str(k): float(v) for k, v in brinson_linked.to_dict("index")[full].items()}
    findings.append(_sleeve_finding(whole))
    total = linked.xs(TOTAL, level="portfolio")["active_return"]
    residual = np.abs(h.effects.effect("residual"))
    tables = {
        "monthly_effects": monthly_effects(h),
        "linked_effects": linked,
        "credit_spread_by_sector": _by_sector(h, linked, full),
        "brinson_monthly": brinson_monthly,
        "brinson_linked": brinson_linked,
        "variance_shares": _variance_shares(h),
    }
    if checks is not None:
        tables["returns_based"] = checks
    return DeskResult(
        desk="attribution",
        tables=tables,
        findings=findings,
        summary={
            **{f"total_active_{w}m": float(total[w]) for w in WINDOWS},
            "allocation_linked": whole["allocation"],
            "selection_linked": whole["selection"],
            "interaction_linked": whole["interaction"],
            "months": whole["months"],
            "max_abs_residual": float(residual.max()),
        },
    )


def _unavailable() -> DeskResult:
    """Return the desk's result for inputs without the holdings histories."""
    return DeskResult(
        desk="attribution",
        findings=[
            Finding(
                code="attribution_unavailable",
                subject="portfolio",
                message=(
                    "holdings-based attribution needs the holdings_history and "
                    "benchmark_holdings tables, which the inputs do not include"
                ),
            )
        ],
    )


def _by_sector(h: HoldingsAttribution, linked: pd.DataFrame, window: int) -> pd.DataFrame:
    """Return each portfolio's credit spread effect by sector over `window` months."""
    sector_columns = [c for c in linked.columns if c.startswith("spread_sector_")]
    return pd.DataFrame(
        linked.xs(window, level="window")[sector_columns].to_numpy(),
        index=pd.Index(h.portfolios, name="portfolio"),
        columns=[c.removeprefix("spread_sector_") for c in sector_columns],
    )


def _sleeve_finding(whole: dict[str, float]) -> Finding:
    """State the insurer's own sleeve allocation effect over the whole history."""
    return Finding(
        code="sleeve_allocation",
        subject="portfolio",
        message=(
            f"Over {whole['months']:.0f} months the portfolio returned "
            f"{whole['portfolio_return']:+.2%} against {whole['policy_return']:+.2%} for the "
            f"policy: sleeve allocation {whole['allocation']:+.2%}, managers' selection "
            f"{whole['selection']:+.2%}, interaction {whole['interaction']:+.2%}"
        ),
        metrics=whole,
    )
