"""Performance desk: which managers show skill rather than beta or drift, and allocation tilts.

The desk separates each manager's excess return over its benchmark into factor beta (loadings
on duration and credit factor returns) and selection (alpha plus residual), and judges each
manager as evidence (:func:`manager_evidence`, :mod:`fialloc.analytics.evidence`): alpha after
the factors with Newey-West errors, shrunk across the book (empirical Bayes), skill flagged at
the mandate's false discovery rate, credit beta by the significance of the credit loadings.
Beside it: the selection track record over 12, 36 and 60 months (Holm-corrected), whether
winners stay winners, style drift from holdings and from returns, each manager against its
style peers; and allocation tilts and the skill scores (:func:`skill_scores`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fialloc.analytics import drift as drift_mod
from fialloc.analytics import evidence as evidence_mod
from fialloc.analytics import skill as skill_mod
from fialloc.analytics.context import DeskContext
from fialloc.data.mandate import Mandate
from fialloc.desks import attribution, credit
from fialloc.desks.result import DeskResult, Finding, Recommendation
from fialloc.errors import NotEstimableError

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
    ``evidence`` (:func:`manager_evidence`) and ``scores`` (recent and long-term IRs beside the
    evidence's skill, beta and drift flags, posterior alpha, the skill score and the residual
    volatility the optimizer uses); plus the holdings-based
    attribution's tables, findings and summary (:func:`fialloc.desks.attribution.analyze`),
    their names prefixed ``attribution_``.

    Findings: ``credit_beta`` (credit loadings significantly explain the excess return, alpha
    not credible), ``significant_skill`` (alpha after the factors flagged at the mandate's
    false discovery rate, with its posterior and track record), ``style_drift`` (holdings or
    loadings left the manager's own history), ``skill_persistence`` (portfolio-level
    persistence tests). Recommendations: tilts from beta-only and drifting managers toward
    skilled ones (skill flag), within the mandate's
    shift, allocation and turnover limits, scaled down if needed to keep its yield, rating and
    sector limits (:func:`fialloc.desks.credit.within_mandate`; the summary's ``tilt_*``).

    Raises
    ------
    ValueError
        If the return history has gaps, lacks a benchmark, or is given in percent.
    """
    p = ctx.portfolio
    excess = skill_mod.check_return_history(p.returns.sort_index(), p.benchmark_returns)
    factors = drift_mod.return_factors(ctx)
    months = factors.index.intersection(excess.dropna(how="all").index)
    if len(months) < MIN_MONTHS:
        managers = [str(m) for m in ctx.managers.index]
        return _too_short(excess.reindex(columns=managers), factors, len(months), p.mandate)
    excess = excess.loc[months]
    factors = factors.loc[months]
    loadings, verdicts, drift_details, evidence = _regressions(ctx, excess, factors)
    judged = [m for m in excess.columns if evidence.loc[str(m), "estimable"]]
    if not judged:
        return _unjudged(excess, evidence, "No manager's factor regression can be estimated")
    # The track record, persistence and peers of the managers whose regression stands.
    selection = skill_mod.selection_returns(excess[judged], factors, loadings)
    skill = skill_mod.skill_table(selection)
    boot = skill_mod.bootstrap_information_ratio(selection, seed=BOOTSTRAP_SEED)
    persistence, persistence_finding = _persistence(skill_mod.period_alphas(selection))
    scores = _scores(skill, evidence, excess)
    peers = _peers(ctx, skill, excess[judged])
    findings = _findings(skill, boot, scores, evidence, verdicts, drift_details)
    if persistence_finding is not None:
        findings.append(persistence_finding)
    # The holdings view of the same managers: one desk answers "skill, beta or drift?".
    holdings_view = attribution.analyze(ctx)
    findings.extend(holdings_view.findings)
    recs, limits = credit.within_mandate(ctx, _tilts(ctx, scores, skill, evidence, verdicts))
    tables = {
        "evidence": evidence,
        "skill": skill,
        "rolling_ir_12m": skill_mod.rolling_information_ratio(selection, 12),
        "bootstrap": boot,
        "factor_loadings": loadings,
        "rolling_betas": _rolling(excess, factors),
        "persistence": persistence,
        "drift": verdicts,
        "drift_characteristics": drift_details,
        "style_position": drift_mod.style_position(ctx),
        "peers": peers,
        "scores": scores,
        **{f"attribution_{k}": v for k, v in holdings_view.tables.items()},
    }
    summary = _summary(len(months), scores, limits, persistence, holdings_view)
    return DeskResult(
        desk="performance", tables=tables, findings=findings, recommendations=recs, summary=summary
    )


def _too_short(
    excess: pd.DataFrame, factors: pd.DataFrame, months: int, mandate: Mandate
) -> DeskResult:
    """Return the desk's result when `months` of history are too few to judge any manager."""
    evidence = evidence_mod.evidence_table(
        excess.loc[excess.index.intersection(factors.index)],
        factors,
        fdr=mandate.skill_fdr,
        prior=mandate.skill_prior,
    )
    return _unjudged(excess, evidence, f"Only {months} months of returns")


def _regressions(
    ctx: DeskContext, excess: pd.DataFrame, factors: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return the factor loadings, the drift verdicts and details, and the skill evidence."""
    loadings = _loadings(excess, factors)
    verdicts, drift_details = drift_mod.style_drift(ctx)
    drift = drift_mod.drift_flags(verdicts).reindex(loadings.index).fillna(False).astype(bool)
    mandate = ctx.portfolio.mandate
    evidence = evidence_mod.evidence_table(
        excess, factors, fdr=mandate.skill_fdr, drift=drift, prior=mandate.skill_prior
    )
    return loadings, verdicts, drift_details, evidence


def _summary(
    months: int,
    scores: pd.DataFrame,
    limits: Mapping[str, float],
    persistence: pd.DataFrame,
    holdings_view: DeskResult,
) -> dict[str, float]:
    """Return the desk's headline counts, tilt limits, persistence test and attribution."""
    return {
        "months": float(months),
        "significant_managers": float(len(scores.index[scores["consistent_skill"]])),
        "beta_only_managers": float(scores["beta_only"].sum()),
        "drifting_managers": float(scores["drift"].sum()),
        **{f"tilt_{k}": v for k, v in limits.items()},
        "persistence_chi2": float(persistence["value"]["chi2"]),
        "persistence_p_value": float(persistence["value"]["p_value"]),
        **{f"attribution_{k}": v for k, v in holdings_view.summary.items()},
    }


def skill_scores(result_or_ctx: DeskResult | DeskContext) -> pd.Series:
    """Per-manager skill score for the optimizer: higher is better.

    The score is the posterior information ratio: the empirical-Bayes posterior alpha over the
    residual volatility (both annual; :func:`manager_evidence`), so a manager whose skill is
    real but not yet provable still scores above one with no record; ``-BETA_PENALTY`` for a
    manager whose excess return is credit beta; less :data:`DRIFT_PENALTY` for a manager whose
    style drifted; 0 for a manager whose regression could not be estimated.

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
    scores = _own_table(result_or_ctx, "scores", "skill_scores")
    return scores["skill_score"].astype(float).rename("skill")


def manager_evidence(result: DeskResult) -> pd.DataFrame:
    """Return the performance desk's per-manager verdicts: the optimizer's view of skill and beta.

    Indexed by ``manager_id``; columns (annual decimals unless said) of
    :func:`fialloc.analytics.evidence.evidence_table`: ``alpha`` (selection alpha after the
    duration and credit factors) and its ``alpha_se`` (Newey-West or AR(1), the larger);
    ``alpha_posterior``, ``alpha_posterior_sd`` and ``prob_alpha_positive`` (empirical-Bayes
    shrinkage across the book); ``skill_flag`` (false discovery rate at the mandate's
    ``skill_fdr``), ``beta_flag`` (significant credit loadings explain the excess return, alpha
    not credible), ``drift_flag``, ``residual_vol``, ``estimable`` and ``reason``.

    Raises
    ------
    ValueError
        If given another desk's result.
    """
    return _own_table(result, "evidence", "manager_evidence").copy()


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
    scores = _own_table(result, "scores", "residual_vols")
    return scores["residual_vol"].astype(float).rename("residual_vol")


def _own_table(result: DeskResult, table: str, caller: str) -> pd.DataFrame:
    """Return the performance desk's `table`; another desk's result is refused naming `caller`."""
    if result.desk != "performance" or table not in result.tables:
        msg = f"{caller}: need the performance desk's result, got {result.desk!r}"
        raise ValueError(msg)
    return result.tables[table]


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


def _unjudged(excess: pd.DataFrame, evidence: pd.DataFrame, why: str) -> DeskResult:
    """Build the result when no manager can be judged: reasons, scores 0, raw vols."""
    months = int(excess.dropna(how="all").shape[0])
    vol = (excess.std(ddof=1) * np.sqrt(12.0)).fillna(0.0) if months >= 2 else 0.0
    scores = pd.DataFrame(
        {"skill_score": 0.0, "residual_vol": vol},
        index=pd.Index([str(m) for m in excess.columns], name="manager_id"),
    )
    reason = str(evidence["reason"].iloc[0]) if len(evidence) else ""
    return DeskResult(
        desk="performance",
        tables={"scores": scores, "evidence": evidence},
        findings=[
            Finding(
                code="short_history",
                severity="watch",
                subject="portfolio",
                message=f"{why}: skill is not judged and every manager scores 0 ({reason})",
                metrics={"months": float(months), "needed": float(MIN_MONTHS)},
            )
        ],
        summary={"months": float(months)},
    )


def _loadings(excess: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Full-history factor loadings and the returns-based style break, per manager.

    A manager whose break cannot be estimated (too short, collinear factors) gets NaN break
    figures and the reason in ``break_reason``.
    """
    table = skill_mod.factor_loadings(excess, factors)
    breaks = {}
    for manager in excess.columns:
        row: dict[str, object] = {"break_reason": ""}
        try:
            brk = drift_mod.style_break(excess[manager], factors)
        except NotEstimableError as err:
            row.update(break_month=None, break_f=np.nan, break_p=np.nan, break_reason=str(err))
            row.update(
                {f"{f}_{side}": np.nan for f in factors.columns for side in ("before", "after")}
            )
        else:
            row.update(
                break_month=factors.index[int(brk["break_index"])],
                break_f=brk["f_stat"],
                break_p=brk["p_value"],
            )
            for f in factors.columns:
                row[f"{f}_before"] = brk[f"{f}_before"]
                row[f"{f}_after"] = brk[f"{f}_after"]
        breaks[str(manager)] = row
    table = table.join(pd.DataFrame.from_dict(breaks, orient="index"))
    judged = table["break_p"].astype(float).dropna()
    table["break_p_holm"] = skill_mod.holm(judged).reindex(table.index) if len(judged) else np.nan
    return table


def _rolling(excess: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Return every manager's rolling 24-month loadings: rows (month, manager), factor columns."""
    frames = {}
    for m in excess.columns:
        try:
            frames[str(m)] = drift_mod.rolling_betas(excess[m], factors)
        except (ValueError, np.linalg.LinAlgError):
            continue  # collinear factors in a window: no rolling loadings for this manager
    if not frames:
        return pd.DataFrame(columns=[*factors.columns, "alpha_annual"])
    return pd.concat(frames, names=["manager", "month"]).swaplevel().sort_index()


def _scores(skill: pd.DataFrame, evidence: pd.DataFrame, excess: pd.DataFrame) -> pd.DataFrame:
    """Recent and long-term IRs beside the evidence's flags, and the optimizer's skill score.

    A manager whose regression cannot be estimated is priced at its raw `excess` return's risk.
    """
    ir = skill["information_ratio"].unstack("window").reindex(evidence.index)
    longest = ir.columns.max()
    recent_windows = [w for w in ir.columns if w < longest] or [longest]
    recent = ir[recent_windows].mean(axis=1)
    long_term = ir[longest]
    ev = evidence
    beta = ev["beta_flag"].astype(bool)
    drift = ev["drift_flag"].astype(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        posterior_ir = (ev["alpha_posterior"] / ev["residual_vol"]).where(ev["estimable"], 0.0)
    score = posterior_ir.where(~beta, -BETA_PENALTY) - DRIFT_PENALTY * drift
    out = pd.DataFrame(
        {
            "recent_ir": recent,
            "long_term_ir": long_term,
            "blended_ir": RECENT_WEIGHT * recent + LONG_TERM_WEIGHT * long_term,
            "consistent_skill": ev["skill_flag"].astype(bool),
            "beta_only": beta,
            "drift": drift,
            "alpha_posterior": ev["alpha_posterior"],
            "prob_alpha_positive": ev["prob_alpha_positive"],
            "posterior_ir": posterior_ir,
            "skill_score": score.astype(float),
            "residual_vol": ev["residual_vol"],
        }
    ).rename_axis("manager_id")
    raw_vol = (excess.std(ddof=1) * np.sqrt(12.0)).set_axis(evidence.index)
    out["residual_vol"] = out["residual_vol"].astype(float).fillna(raw_vol).fillna(0.0)
    return out


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
    scores: pd.DataFrame,
    evidence: pd.DataFrame,
    verdicts: pd.DataFrame,
    drift_details: pd.DataFrame,
) -> list[Finding]:
    return [
        *_beta_findings(evidence),
        *_skill_findings(skill, boot, scores, evidence),
        *_drift_findings(scores, verdicts, drift_details),
    ]


def _beta_findings(evidence: pd.DataFrame) -> list[Finding]:
    """Flag each manager whose excess return is credit beta without credible alpha."""
    findings = []
    credit = [c.removeprefix("t_") for c in evidence.columns if c.startswith("t_credit")]
    for manager in evidence.index[evidence["beta_flag"]]:
        row = evidence.loc[manager]
        factor = max(credit, key=lambda c: float(row[f"t_{c}"]))
        name = factor.removeprefix("credit_").upper()
        findings.append(
            Finding(
                code="credit_beta",
                severity="action",
                subject=manager,
                message=(
                    f"{manager}'s excess return is {name} credit beta (loading "
                    f"{row[f'beta_{factor}']:.2f}, Newey-West t {row[f't_{factor}']:.1f}, "
                    f"one-sided p of a long credit loading {row['credit_p']:.4f}; they explain "
                    f"{row['credit_return']:+.2%} a year) and its alpha after them is not "
                    f"credible ({row['alpha']:+.2%} a year, t {row['alpha_t']:.1f}; posterior "
                    f"{1e4 * row['alpha_posterior']:+.1f} bp a year, P(alpha > 0) "
                    f"{row['prob_alpha_positive']:.2f})"
                ),
                metrics={
                    "beta": float(row[f"beta_{factor}"]),
                    "beta_t": float(row[f"t_{factor}"]),
                    "credit_p": float(row["credit_p"]),
                    "credit_return": float(row["credit_return"]),
                    "alpha": float(row["alpha"]),
                    "alpha_t": float(row["alpha_t"]),
                    "alpha_posterior_bp": 1e4 * float(row["alpha_posterior"]),
                    "prob_alpha_positive": float(row["prob_alpha_positive"]),
                },
            )
        )
    return findings


def _skill_findings(
    skill: pd.DataFrame, boot: pd.DataFrame, scores: pd.DataFrame, evidence: pd.DataFrame
) -> list[Finding]:
    """Flag each manager with alpha after the factors at the mandate's false discovery rate."""
    findings = []
    longest = int(skill.index.get_level_values("window").max())
    for manager in evidence.index[evidence["skill_flag"]]:
        row = evidence.loc[manager]
        rec = skill.loc[(manager, longest)]
        b = boot.loc[manager]
        findings.append(
            Finding(
                code="significant_skill",
                severity="info",
                subject=manager,
                message=(
                    f"{manager} adds selection return: alpha {row['alpha']:+.2%} a year after "
                    f"the factors (Newey-West t {row['alpha_t']:.1f}, q {row['alpha_q']:.4f} "
                    f"over {evidence['estimable'].sum():.0f} managers), posterior "
                    f"{1e4 * row['alpha_posterior']:+.1f} bp a year (sd "
                    f"{1e4 * row['alpha_posterior_sd']:.1f} bp), "
                    f"P(alpha > 0) {row['prob_alpha_positive']:.2f}; IR "
                    f"{rec['information_ratio']:.2f} over {rec['months']:.0f} months, hit rate "
                    f"{rec['hit_rate']:.0%} (binomial p {rec['hit_p_value']:.4f}), bootstrap 95% "
                    f"interval {b['ir_low']:.2f} to {b['ir_high']:.2f}"
                ),
                metrics={
                    "alpha": float(row["alpha"]),
                    "alpha_t": float(row["alpha_t"]),
                    "alpha_q": float(row["alpha_q"]),
                    "managers": float(evidence["estimable"].sum()),
                    "alpha_posterior_bp": 1e4 * float(row["alpha_posterior"]),
                    "alpha_posterior_sd_bp": 1e4 * float(row["alpha_posterior_sd"]),
                    "prob_alpha_positive": float(row["prob_alpha_positive"]),
                    "information_ratio": float(rec["information_ratio"]),
                    "months": float(rec["months"]),
                    "hit_rate": float(rec["hit_rate"]),
                    "hit_p_value": float(rec["hit_p_value"]),
                    "ir_low": float(b["ir_low"]),
                    "ir_high": float(b["ir_high"]),
                    "skill_score": float(scores["skill_score"][manager]),
                },
            )
        )
    return findings


def _drift_findings(
    scores: pd.DataFrame, verdicts: pd.DataFrame, drift_details: pd.DataFrame
) -> list[Finding]:
    """Flag each manager whose holdings or loadings left its own history."""
    findings = []
    moved = drift_mod.drifted_characteristics(verdicts, drift_details)
    for manager in scores.index[scores["drift"]]:
        rows = moved.loc[[manager]] if manager in moved.index else moved.iloc[:0]
        findings.append(
            Finding(
                code="style_drift",
                severity="action",
                subject=manager,
                message=f"{manager} drifted from its style: "
                + "; ".join(drift_mod.describe_drift(row) for _, row in rows.iterrows()),
                metrics=drift_mod.drift_metrics(rows),
            )
        )
    return findings


def _tilts(
    ctx: DeskContext,
    scores: pd.DataFrame,
    skill: pd.DataFrame,
    evidence: pd.DataFrame,
    verdicts: pd.DataFrame,
) -> list[Recommendation]:
    """Move weight from beta-only and drifting managers to consistently skilled ones.

    Cuts are as large as the mandate's per-manager shift and minimum allocation allow; the
    freed weight goes to skilled managers in proportion to their scores, within their shift
    and maximum allocation; every cut shrinks together when the receivers cannot absorb it or
    the turnover limit binds.
    """
    sized = _tilt_sizes(ctx, scores)
    if sized is None:
        return []
    cuts, adds = sized
    w = ctx.portfolio.current_weights.astype(float)
    rows: dict[str, dict[str, float]] = {
        str(k): {str(c): float(v) for c, v in r.items()} for k, r in scores.iterrows()
    }
    recs = []
    for s in map(str, cuts.index):
        sc = rows[s]
        reasons, metrics = [], {"current": float(w[s])}
        if sc["beta_only"]:
            alpha_t = float(evidence["alpha_t"][s])
            reasons.append(
                f"its excess return is credit beta (alpha t {alpha_t:.1f}), "
                "which the portfolio can hold without paying for active management"
            )
            metrics["alpha_t"] = alpha_t
        if sc["drift"]:
            reasons.append(f"its style drifted ({verdicts.loc[s, 'label']!s})")
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
    fdr = ctx.portfolio.mandate.skill_fdr
    last = skill.xs(int(skill.index.get_level_values("window").max()), level="window")
    recs += [
        _increase(b, float(adds[b]), float(w[b]), rows[b], fdr, evidence, last)
        for b in map(str, adds.index)
        if float(adds[b]) > 1e-9
    ]
    return recs


def _tilt_sizes(ctx: DeskContext, scores: pd.DataFrame) -> tuple[pd.Series, pd.Series] | None:
    """Return the weight cut from each seller and added to each buyer (None: nothing moves)."""
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
        return None
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
    return cuts, adds


def _increase(
    b: str,
    add: float,
    current: float,
    sc: dict[str, float],
    fdr: float,
    evidence: pd.DataFrame,
    last: pd.DataFrame | pd.Series,
) -> Recommendation:
    """Add `add` (weight) to skilled manager `b`, with its evidence and track record."""
    return Recommendation(
        action="increase",
        subject=b,
        weight_change=add,
        rationale=(
            f"selection skill found at a {fdr:.0%} false discovery rate (q "
            f"{evidence['alpha_q'][b]:.4f}): posterior alpha "
            f"{1e4 * sc['alpha_posterior']:+.1f} bp a year; IR {sc['recent_ir']:.2f} "
            "recently "
            f"and {sc['long_term_ir']:.2f} over {last['months'][b]:.0f} months"
        ),
        metrics={
            "current": current,
            "fdr": fdr,
            "alpha_q": float(evidence["alpha_q"][b]),
            "alpha_posterior_bp": 1e4 * sc["alpha_posterior"],
            "recent_ir": sc["recent_ir"],
            "long_term_ir": sc["long_term_ir"],
            "months": float(last["months"][b]),
            "skill_score": sc["skill_score"],
        },
    )
