"""Performance desk: which managers show skill rather than beta or drift, and allocation tilts.

The desk separates each manager's excess return over its benchmark into factor beta (loadings
on duration and credit factor returns) and selection (alpha plus residual); measures the
selection track record over 12, 36 and 60 months with significance corrected for the number of
managers (Holm); tests whether winners stay winners; finds style drift from holdings and from
returns; compares each manager with its style peers; and turns the evidence into allocation
tilts and into the skill scores the optimizer rewards (:func:`skill_scores`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fialloc.analytics import drift as drift_mod
from fialloc.analytics import evidence as evidence_mod
from fialloc.analytics import skill as skill_mod
from fialloc.analytics.context import DeskContext
from fialloc.desks import attribution, credit
from fialloc.desks.result import DeskResult, Finding, Recommendation

__all__ = [
    "BETA_PENALTY",
    "DRIFT_PENALTY",
    "LONG_TERM_WEIGHT",
    "MIN_MONTHS",
    "RECENT_WEIGHT",
    "analyze",
    "manager_evidence",
    "residual_vols",
    "skill_scores",
]

#: Weights of recent (mean of the 12- and 36-month information ratios) and long-term (whole
#: history) performance in a manager's score.
RECENT_WEIGHT = 0.6
LONG_TERM_WEIGHT = 0.4
#: Score (information-ratio units) taken off a manager whose style drifted: its record was
#: earned in another style, and the drift itself is a governance issue.
DRIFT_PENALTY = 0.5
#: Score of a manager whose excess return is factor beta with no significant alpha: as if its
#: information ratio were -1. Its active fee buys exposure the portfolio can hold directly,
#: and with a score of 0 it would tie with every manager whose alpha is merely unproven, so the
#: optimizer would have no reason to fund skill from it rather than from them.
BETA_PENALTY = 1.0
#: Fewer months of returns than this and the desk does not judge skill.
MIN_MONTHS = evidence_mod.MIN_MONTHS
#: Seed of the information-ratio bootstrap (results are reproducible).
BOOTSTRAP_SEED = 20240601


def analyze(ctx: DeskContext) -> DeskResult:
    """Run the performance desk.

    Tables: ``skill`` (per manager and window: information ratio, t-statistic, p-values raw
    and Holm-corrected, hit rate with its binomial p-value, win/loss ratio), ``rolling_ir_12m``
    (trailing 12-month information ratio, months by manager), ``bootstrap``
    (IR confidence interval), ``factor_loadings`` (full-history regression of excess returns
    on duration and credit factors, with the returns-based style break), ``rolling_betas``
    (24-month rolling loadings and alpha per month and manager), ``persistence``
    (winner/loser chi-squared test and the alpha-on-alpha regression), ``drift``
    (holdings-based drift against own history and stated style), ``style_position`` (holdings
    against style peers today), ``peers`` (performance against style peers and the benchmark)
    and ``scores`` (recent and long-term IRs, consistent-skill, beta-only and drift flags, the
    skill score and the residual volatility the optimizer uses); plus the holdings-based
    attribution's tables, findings and summary (:func:`fialloc.desks.attribution.analyze`),
    their names prefixed ``attribution_``.

    Findings: ``credit_beta`` (excess return explained by credit beta, alpha not
    significant), ``significant_skill`` (selection IR significant after Holm's correction over
    the whole history), ``style_drift`` (holdings or loadings left the manager's own history),
    ``skill_persistence`` (portfolio-level persistence tests). Recommendations: tilts from
    beta-only and drifting managers toward consistently skilled ones, within the mandate's
    shift, allocation and turnover limits, scaled down if needed to keep its yield, rating and
    sector limits (:func:`fialloc.desks.credit.within_mandate`; the summary's ``tilt_*``).

    Raises
    ------
    ValueError
        If the return history has gaps, lacks a benchmark, or is given in percent.
    """
    p = ctx.portfolio
    excess = skill_mod.check_return_history(p.returns.sort_index(), p.benchmark_returns)
    managers = [str(m) for m in ctx.managers.index]
    factors = drift_mod.return_factors(ctx)
    months = factors.index.intersection(excess.dropna(how="all").index)
    if len(months) < MIN_MONTHS:
        return _short_history(excess.reindex(columns=managers), factors, p.mandate.skill_fdr)
    excess = excess.loc[months]
    factors = factors.loc[months]
    loadings = _loadings(excess, factors)
    selection = skill_mod.selection_returns(excess, factors, loadings)

    skill = skill_mod.skill_table(selection)
    boot = skill_mod.bootstrap_information_ratio(selection, seed=BOOTSTRAP_SEED)
    persistence, persistence_finding = _persistence(skill_mod.period_alphas(selection))
    holdings = drift_mod.holdings_drift(ctx)
    scores = _scores(skill, loadings, holdings)
    evidence = evidence_mod.evidence_table(
        excess, factors, fdr=p.mandate.skill_fdr, drift=scores["drift"]
    )
    peers = _peers(ctx, skill, excess)

    findings = _findings(skill, boot, loadings, holdings, scores)
    if persistence_finding is not None:
        findings.append(persistence_finding)
    # The holdings view of the same managers: one desk answers "skill, beta or drift?".
    holdings_view = attribution.analyze(ctx)
    findings.extend(holdings_view.findings)
    recs, limits = credit.within_mandate(ctx, _tilts(ctx, scores, skill, loadings, holdings))
    return DeskResult(
        desk="performance",
        tables={
            "evidence": evidence,
            "skill": skill,
            "rolling_ir_12m": skill_mod.rolling_information_ratio(selection, 12),
            "bootstrap": boot,
            "factor_loadings": loadings,
            "rolling_betas": _rolling(excess, factors),
            "persistence": persistence,
            "drift": holdings,
            "style_position": drift_mod.style_position(ctx),
            "peers": peers,
            "scores": scores,
            **{f"attribution_{k}": v for k, v in holdings_view.tables.items()},
        },
        findings=findings,
        recommendations=recs,
        summary={
            "months": float(len(months)),
            "significant_managers": float(len(scores.index[scores["consistent_skill"]])),
            "beta_only_managers": float(scores["beta_only"].sum()),
            "drifting_managers": float(scores["drift"].sum()),
            **{f"tilt_{k}": v for k, v in limits.items()},
            "persistence_chi2": float(persistence["value"]["chi2"]),
            "persistence_p_value": float(persistence["value"]["p_value"]),
            **{f"attribution_{k}": v for k, v in holdings_view.summary.items()},
        },
    )


def skill_scores(result_or_ctx: DeskResult | DeskContext) -> pd.Series:
    """Per-manager skill score for the optimizer: higher is better.

    The score is ``0.6 x recent IR + 0.4 x long-term IR`` of the selection return (annual
    information ratios, recent = mean of 12 and 36 months) for a manager whose selection IR
    over the whole history is positive and significant after Holm's correction; 0 for a
    manager whose skill is not proven; ``-BETA_PENALTY`` for a manager whose excess return is
    credit beta with no significant alpha; less :data:`DRIFT_PENALTY` for a manager whose
    style drifted.

    Parameters
    ----------
    result_or_ctx : DeskResult or DeskContext
        The performance desk's result, or a context to run the desk on.

    Raises
    ------
    ValueError
        If given another desk's result.
    """
    if isinstance(result_or_ctx, DeskContext):
        result_or_ctx = analyze(result_or_ctx)
    if result_or_ctx.desk != "performance" or "scores" not in result_or_ctx.tables:
        msg = f"skill_scores: need the performance desk's result, got {result_or_ctx.desk!r}"
        raise ValueError(msg)
    return result_or_ctx.tables["scores"]["skill_score"].astype(float).rename("skill")


def manager_evidence(result: DeskResult) -> pd.DataFrame:
    """Return the performance desk's per-manager verdicts: the optimizer's view of skill and beta.

    Indexed by ``manager_id``; columns (annual decimals unless said) of
    :func:`fialloc.analytics.evidence.evidence_table`: ``alpha`` (selection alpha after the
    duration and credit factors) and its Newey-West ``alpha_se``; ``alpha_posterior``,
    ``alpha_posterior_sd`` and ``prob_alpha_positive`` (empirical-Bayes shrinkage across the
    book); ``skill_flag`` (false discovery rate at the mandate's ``skill_fdr``), ``beta_flag``
    (significant credit loadings explain the excess return, alpha not credible),
    ``drift_flag``, ``residual_vol``, ``estimable`` and ``reason``.

    Raises
    ------
    ValueError
        If given another desk's result.
    """
    if result.desk != "performance" or "evidence" not in result.tables:
        msg = f"manager_evidence: need the performance desk's result, got {result.desk!r}"
        raise ValueError(msg)
    return result.tables["evidence"].copy()


def residual_vols(result: DeskResult) -> pd.Series:
    """Per-manager residual risk for the optimizer (annual, decimal).

    The volatility of each manager's excess return that its loadings on the duration and
    credit factors do not explain (the raw excess-return volatility when the history is too
    short to regress).

    Raises
    ------
    ValueError
        If given another desk's result.
    """
    if result.desk != "performance" or "scores" not in result.tables:
        msg = f"residual_vols: need the performance desk's result, got {result.desk!r}"
        raise ValueError(msg)
    return result.tables["scores"]["residual_vol"].astype(float).rename("residual_vol")


def _persistence(alphas: pd.DataFrame) -> tuple[pd.DataFrame, Finding | None]:
    """Winner/loser and alpha-on-alpha persistence over consecutive periods.

    Too few managers to form both winners and losers, or too few pairs to regress, give NaN
    statistics and no finding rather than an error.
    """
    counts = skill_mod.persistence_table(alphas)
    names = ["chi2", "p_value", "cross_product_ratio", "z", "repeat_winner_share"]
    try:
        chi = skill_mod.persistence_test(counts["WW"], counts["WL"], counts["LW"], counts["LL"])
        regression = skill_mod.alpha_persistence(alphas)
    except ValueError:
        chi = dict.fromkeys(names, float("nan"))
        regression = dict.fromkeys(
            ["slope", "slope_t", "slope_p", "intercept", "pairs"], float("nan")
        )
    table = pd.DataFrame(
        {"value": [*map(float, counts.values()), *chi.values(), *regression.values()]},
        index=[*counts, *chi, *(f"alpha_{k}" for k in regression)],
    )
    if not np.isfinite(chi["chi2"]):
        return table, None
    finding = Finding(
        code="skill_persistence",
        severity="info",
        subject="portfolio",
        message=(
            f"Winners repeat {chi['repeat_winner_share']:.0%} of the time over "
            f"{len(alphas)} 12-month periods (chi-squared {chi['chi2']:.2f}, p "
            f"{chi['p_value']:.3f}); next period's alpha on this period's: slope "
            f"{regression['slope']:.2f} (t {regression['slope_t']:.1f})"
        ),
        metrics={
            "repeat_winner_share": chi["repeat_winner_share"],
            "periods": float(len(alphas)),
            "chi2": chi["chi2"],
            "p_value": chi["p_value"],
            "slope": regression["slope"],
            "slope_t": regression["slope_t"],
        },
    )
    return table, finding


def _short_history(excess: pd.DataFrame, factors: pd.DataFrame, fdr: float) -> DeskResult:
    months = int(excess.dropna(how="all").shape[0])
    evidence = evidence_mod.evidence_table(
        excess.loc[excess.index.intersection(factors.index)], factors, fdr=fdr
    )
    vol = (excess.std(ddof=1) * np.sqrt(12.0)).fillna(0.0) if months >= 2 else 0.0
    scores = pd.DataFrame(
        {"skill_score": 0.0, "residual_vol": vol},
        index=pd.Index([str(m) for m in excess.columns], name="manager_id"),
    )
    return DeskResult(
        desk="performance",
        tables={"scores": scores, "evidence": evidence},
        findings=[
            Finding(
                code="short_history",
                severity="watch",
                subject="portfolio",
                message=(
                    f"Only {months} months of returns: at least {MIN_MONTHS} are needed to "
                    "judge skill, so every manager scores 0"
                ),
                metrics={"months": float(months), "needed": float(MIN_MONTHS)},
            )
        ],
        summary={"months": float(months)},
    )


def _loadings(excess: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Full-history factor loadings and the returns-based style break, per manager."""
    table = skill_mod.factor_loadings(excess, factors)
    breaks = {}
    for manager in excess.columns:
        brk = drift_mod.style_break(excess[manager], factors)
        row: dict[str, object] = {
            "break_month": factors.index[int(brk["break_index"])],
            "break_f": brk["f_stat"],
            "break_p": brk["p_value"],
        }
        for f in factors.columns:
            row[f"{f}_before"] = brk[f"{f}_before"]
            row[f"{f}_after"] = brk[f"{f}_after"]
        breaks[str(manager)] = row
    table = table.join(pd.DataFrame.from_dict(breaks, orient="index"))
    table["break_p_holm"] = skill_mod.holm(table["break_p"].astype(float))
    return table


def _rolling(excess: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Return every manager's rolling 24-month loadings: rows (month, manager), factor columns."""
    return (
        pd.concat(
            {str(m): drift_mod.rolling_betas(excess[m], factors) for m in excess.columns},
            names=["manager", "month"],
        )
        .swaplevel()
        .sort_index()
    )


def _scores(skill: pd.DataFrame, loadings: pd.DataFrame, holdings: pd.DataFrame) -> pd.DataFrame:
    """Recent and long-term IRs, flags, the optimizer's skill score and the tilt score."""
    ir = skill["information_ratio"].unstack("window")
    significant = skill["significant"].unstack("window").fillna(False).astype(bool)
    longest = ir.columns.max()
    recent_windows = [w for w in ir.columns if w < longest] or [longest]
    recent = ir[recent_windows].mean(axis=1)
    long_term = ir[longest]
    blended = RECENT_WEIGHT * recent + LONG_TERM_WEIGHT * long_term
    beta_only = skill_mod.beta_only(loadings)
    consistent = significant[longest] & (long_term > 0) & ~beta_only
    drifted = set(holdings.index.get_level_values("manager_id")) | set(
        loadings.index[loadings["break_p_holm"] < 1.0 - skill_mod.CONFIDENCE]
    )
    drift = pd.Series([m in drifted for m in ir.index], index=ir.index)
    score = (
        blended.clip(lower=0.0).where(consistent, 0.0)
        - BETA_PENALTY * beta_only.reindex(ir.index).fillna(False).astype(float)
        - DRIFT_PENALTY * drift
    )
    return pd.DataFrame(
        {
            "recent_ir": recent,
            "long_term_ir": long_term,
            "blended_ir": blended,
            "consistent_skill": consistent,
            "beta_only": beta_only.reindex(ir.index).fillna(False).astype(bool),
            "drift": drift,
            "skill_score": score,
            "residual_vol": loadings["residual_vol_annual"].reindex(ir.index),
        }
    ).rename_axis("manager_id")


def _peers(ctx: DeskContext, skill: pd.DataFrame, excess: pd.DataFrame) -> pd.DataFrame:
    """Each manager's long-term selection IR and excess return against its style peers."""
    ir = skill["information_ratio"].unstack("window")
    longest = ir[ir.columns.max()]
    styles = ctx.managers["style"].astype(str).reindex(longest.index)
    excess_annual = excess.mean() * 12.0
    table = pd.DataFrame(
        {
            "style": styles,
            "peers": styles.map(styles.value_counts()) - 1.0,
            "information_ratio": longest,
            "peer_median_ir": np.nan,
            "rank_in_style": longest.groupby(styles).rank(ascending=False, method="min"),
            "excess_annual": excess_annual.reindex(longest.index),
            "peer_median_excess": np.nan,
            "excess_t": (excess.mean() / excess.std(ddof=1) * np.sqrt(excess.count())).reindex(
                longest.index
            ),
        }
    )
    for _, members in styles.groupby(styles):
        names = members.index
        for column, values in (("peer_median_ir", longest), ("peer_median_excess", excess_annual)):
            v = values.reindex(names).to_numpy(dtype=np.float64)
            if len(v) > 1:
                # Each manager's peers are the others of its style: drop it, take the median.
                others = np.array([np.median(np.delete(v, i)) for i in range(len(v))])
                table.loc[names, column] = others
    table["ir_vs_peers"] = table["information_ratio"] - table["peer_median_ir"]
    return table


def _findings(
    skill: pd.DataFrame,
    boot: pd.DataFrame,
    loadings: pd.DataFrame,
    holdings: pd.DataFrame,
    scores: pd.DataFrame,
) -> list[Finding]:
    findings = []
    longest = int(skill.index.get_level_values("window").max())
    for manager in scores.index[scores["beta_only"]]:
        row = loadings.loc[manager]
        factor = max(
            (c for c in loadings.columns if c.startswith("beta_credit")),
            key=lambda c: abs(float(row[c])),
        )
        name = factor.removeprefix("beta_credit_").upper()
        findings.append(
            Finding(
                code="credit_beta",
                severity="action",
                subject=manager,
                message=(
                    f"{manager}'s excess return is {name} credit beta ({row[factor]:.2f}, t "
                    f"{row[factor.replace('beta_', 't_')]:.1f}) with no significant alpha "
                    f"({row['alpha_annual']:+.2%} a year, t {row['alpha_t']:.1f}, Holm p "
                    f"{row['alpha_p_holm']:.2f})"
                ),
                metrics={
                    "beta": float(row[factor]),
                    "beta_t": float(row[factor.replace("beta_", "t_")]),
                    "alpha_annual": float(row["alpha_annual"]),
                    "alpha_t": float(row["alpha_t"]),
                    "alpha_p_holm": float(row["alpha_p_holm"]),
                },
            )
        )
    for manager in scores.index[scores["consistent_skill"]]:
        rec = skill.loc[(manager, longest)]
        b = boot.loc[manager]
        findings.append(
            Finding(
                code="significant_skill",
                severity="info",
                subject=manager,
                message=(
                    f"{manager} adds selection return: IR {rec['information_ratio']:.2f} over "
                    f"{rec['months']:.0f} months (t {rec['t_stat']:.1f}, Holm p "
                    f"{rec['p_holm']:.4f}), hit rate {rec['hit_rate']:.0%} (binomial p "
                    f"{rec['hit_p_value']:.4f}), bootstrap 95% interval "
                    f"{b['ir_low']:.2f} to {b['ir_high']:.2f}"
                ),
                metrics={
                    "information_ratio": float(rec["information_ratio"]),
                    "months": float(rec["months"]),
                    "t_stat": float(rec["t_stat"]),
                    "p_holm": float(rec["p_holm"]),
                    "hit_rate": float(rec["hit_rate"]),
                    "hit_p_value": float(rec["hit_p_value"]),
                    "ir_low": float(b["ir_low"]),
                    "ir_high": float(b["ir_high"]),
                    "skill_score": float(scores["skill_score"][manager]),
                },
            )
        )
    for manager in scores.index[scores["drift"]]:
        parts, metrics = [], {}
        if manager in holdings.index.get_level_values("manager_id"):
            for _, row in holdings.loc[[manager]].reset_index().iterrows():
                what = str(row["characteristic"])
                key = what.replace(" ", "_")
                parts.append(
                    f"{what} {row['baseline_mean']:.2f} to {row['latest']:.2f} {row['unit']} "
                    f"(z {row['zscore']:+.1f} against its own history, "
                    f"{row['style_zscore']:+.1f} against its style) since {row['start']}"
                )
                metrics[f"{key}_zscore"] = float(row["zscore"])
                metrics[f"{key}_style_zscore"] = float(row["style_zscore"])
                metrics[f"{key}_baseline"] = float(row["baseline_mean"])
                metrics[f"{key}_latest"] = float(row["latest"])
        brk = loadings.loc[manager]
        if float(brk["break_p_holm"]) < 1.0 - skill_mod.CONFIDENCE:
            moved = max(
                (c.removesuffix("_before") for c in loadings.columns if c.endswith("_before")),
                key=lambda f: abs(float(brk[f"{f}_after"] - brk[f"{f}_before"])),
            )
            parts.append(
                f"returns' {moved} loading {brk[f'{moved}_before']:.2f} before and "
                f"{brk[f'{moved}_after']:.2f} after a break best placed at "
                f"{brk['break_month']} (Chow F {brk['break_f']:.1f}; a gradual drift puts it "
                "mid-way)"
            )
            metrics[f"{moved}_before"] = float(brk[f"{moved}_before"])
            metrics[f"{moved}_after"] = float(brk[f"{moved}_after"])
            metrics["break_f"] = float(brk["break_f"])
        findings.append(
            Finding(
                code="style_drift",
                severity="action",
                subject=manager,
                message=f"{manager} drifted from its style: " + "; ".join(parts),
                metrics=metrics,
            )
        )
    return findings


def _tilts(
    ctx: DeskContext,
    scores: pd.DataFrame,
    skill: pd.DataFrame,
    loadings: pd.DataFrame,
    holdings: pd.DataFrame,
) -> list[Recommendation]:
    """Move weight from beta-only and drifting managers to consistently skilled ones.

    Cuts are as large as the mandate's per-manager shift and minimum allocation allow; the
    freed weight goes to skilled managers in proportion to their scores, within their shift
    and maximum allocation; every cut shrinks together when the receivers cannot absorb it or
    the turnover limit binds.
    """
    m = ctx.portfolio.mandate
    w = ctx.portfolio.current_weights.astype(float)
    sellers = scores.index[scores["beta_only"] | scores["drift"]]
    buyers = scores.index[scores["consistent_skill"] & ~scores["drift"]]
    cuts = pd.Series(
        {s: min(m.max_shift, max(float(w[s]) - m.min_allocation, 0.0)) for s in sellers},
        dtype=float,
    )
    room = pd.Series(
        {b: min(m.max_shift, max(m.max_allocation - float(w[b]), 0.0)) for b in buyers},
        dtype=float,
    )
    moved = min(float(cuts.sum()), float(room.sum()), m.turnover)
    if moved <= 1e-9:
        return []
    cuts *= moved / float(cuts.sum())
    weight = scores.loc[buyers, "skill_score"].clip(lower=1e-9)
    adds = pd.Series(0.0, index=buyers)
    left = moved
    # Proportional to score, capped by room; what a capped manager cannot take goes to the rest.
    while left > 1e-12:
        open_ = adds.index[adds < room - 1e-12]
        if open_.empty:
            break
        share = weight[open_] / float(weight[open_].sum()) * left
        take = np.minimum(share, room[open_] - adds[open_])
        adds[open_] += take
        left -= float(take.sum())
    longest = int(skill.index.get_level_values("window").max())
    rows: dict[str, dict[str, float]] = {
        str(k): {str(c): float(v) for c, v in r.items()} for k, r in scores.iterrows()
    }
    recs = []
    for s in map(str, cuts.index):
        sc = rows[s]
        reasons, metrics = [], {"current": float(w[s])}
        if sc["beta_only"]:
            alpha_t = float(loadings["alpha_t"][s])
            reasons.append(
                f"its excess return is credit beta (alpha t {alpha_t:.1f}), "
                "which the portfolio can hold without paying for active management"
            )
            metrics["alpha_t"] = alpha_t
        if sc["drift"]:
            what = (
                ", ".join(holdings.loc[[s]].index.get_level_values("characteristic"))
                if s in holdings.index.get_level_values("manager_id")
                else "factor loadings"
            )
            reasons.append(f"its style drifted ({what})")
        metrics["blended_ir"] = sc["blended_ir"]
        recs.append(
            Recommendation(
                action="decrease",
                subject=s,
                weight_change=-float(cuts[s]),
                rationale="; ".join(reasons),
                metrics=metrics,
            )
        )
    for b in map(str, adds.index):
        add = float(adds[b])
        if add <= 1e-9:
            continue
        sc = rows[b]
        last = skill.xs(longest, level="window")
        recs.append(
            Recommendation(
                action="increase",
                subject=b,
                weight_change=add,
                rationale=(
                    f"consistent selection skill: IR {sc['recent_ir']:.2f} recently "
                    f"and {sc['long_term_ir']:.2f} over {last['months'][b]:.0f} months "
                    f"(weighted {RECENT_WEIGHT:.1f}/{LONG_TERM_WEIGHT:.1f}), significant after "
                    "correcting for the number of managers"
                ),
                metrics={
                    "current": float(w[b]),
                    "recent_ir": sc["recent_ir"],
                    "long_term_ir": sc["long_term_ir"],
                    "months": float(last["months"][b]),
                    "p_holm": float(last["p_holm"][b]),
                    "skill_score": sc["skill_score"],
                },
            )
        )
    return recs
