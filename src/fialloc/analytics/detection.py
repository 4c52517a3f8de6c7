"""Detection power of the skill and credit-beta verdicts on books whose truth is known.

For each manager of a generated book (:func:`fialloc.data.testbooks.generate_book`) the desks'
verdicts (the evidence table, :mod:`fialloc.analytics.evidence`) are set beside the truth and
beside an **oracle** that knows the book's true factor model and noise, the best any method can
do on that data:

- oracle skill: the excess return less the true factor loadings' part, averaged, against its
  true long-run standard error (AR(1) noise of marginal sd ``s`` and autocorrelation ``r`` has
  long-run sd ``s sqrt((1 + r) / (1 - r))``); one-sided normal p-values, Benjamini-Hochberg at
  the same false discovery rate as the desks;
- oracle beta: the efficient estimator under the true noise, generalized least squares with the
  book's true AR(1) covariance, with the exact covariance of its estimates (no estimation of
  the noise), and the desks' one-sided joint test of the credit loadings
  (:func:`fialloc.analytics.one_sided.positive_loading_test`, chi-bar-squared) at the desks'
  level, not flagged skilled. (Until 2026-12-07 the oracle was least squares with the exact
  covariance: under autocorrelated noise not the best any method can do.)
- the **bound**: a test that also knows the true direction of the loadings (which credit factor,
  in what mix) tests along it, a one-sided z test whose power ``Phi(d - z_level)`` (``d`` the
  true loadings' GLS signal, ``beta_signal``) no test at that level can beat on that manager
  (Neyman-Pearson); :func:`beta_rates_by_level` averages it.

Rates come with Wilson score intervals (95%): skill recall by true information ratio, the
false discovery rate among skill flags, beta recall and the false-positive rate of the beta
flag among managers without credit beta.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from fialloc.analytics.evidence import BETA_LEVEL, SKILL_FDR
from fialloc.analytics.one_sided import positive_loading_test
from fialloc.analytics.skill import benjamini_hochberg
from fialloc.data.testbooks import GeneratedBook
from fialloc.layout import FloatArray

__all__ = [
    "IR_BINS",
    "beta_rates_by_level",
    "detection_rates",
    "detection_records",
    "mean_interval",
    "power_curve",
    "rate_interval",
    "wilson",
]

#: Edges of the true information ratio bins of the power curve.
IR_BINS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
CREDIT = ("credit_bbb", "credit_hy")


def wilson(hits: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (NaNs with no trials)."""
    if trials == 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    p = hits / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    # All or none: the bound at the observed rate is exact (the formula rounds it off).
    low = 0.0 if hits == 0 else float(centre - half)
    high = 1.0 if hits == trials else float(centre + half)
    return low, high


def _oracle_credit_test(
    excess: pd.DataFrame,
    factors: pd.DataFrame,
    loadings: FloatArray,
    sd: FloatArray,
    ar: FloatArray,
) -> tuple[FloatArray, list[float]]:
    """Return the oracle's one-sided credit p-values and each manager's true credit signal.

    GLS under each manager's true AR(1) noise (marginal sd `sd`, autocorrelation `ar`)
    with the exact covariance of its estimates; the signal is the true credit loadings'
    Wald statistic under that covariance, square-rooted.
    """
    n, names = len(factors), list(factors.columns)
    design = np.column_stack([np.ones(n), factors.to_numpy()])
    y = excess.to_numpy()
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    positions = [1 + names.index(c) for c in CREDIT]
    block = np.ix_(positions, positions)
    coefs, covs, signal = [], [], []
    for j in range(y.shape[1]):
        sigma = sd[j] ** 2 * ar[j] ** lag
        weighted = np.linalg.solve(sigma, design)  # Sigma^-1 X
        cov_all = np.linalg.inv(design.T @ weighted)
        coefs.append((cov_all @ weighted.T @ y[:, j])[positions])
        cov = cov_all[block]
        true_b = loadings[j, [p - 1 for p in positions]]
        signal.append(float(np.sqrt(true_b @ np.linalg.solve(cov, true_b))))
        covs.append(cov)
    _, oracle_p = positive_loading_test(np.stack(coefs), np.stack(covs))
    return oracle_p, signal


def detection_records(
    book: GeneratedBook, evidence: pd.DataFrame, fdr: float = SKILL_FDR
) -> pd.DataFrame:
    """One row per manager: the truth, the desks' verdicts and the oracle's.

    Parameters
    ----------
    book : GeneratedBook
        The generated book (its truth, factor returns and noise model).
    evidence : DataFrame
        The performance desk's evidence table on that book
        (:func:`fialloc.desks.performance.manager_evidence`).
    fdr : float
        False discovery rate of both skill verdicts.

    Returns
    -------
    DataFrame
        Per manager: ``seed``, ``months``, ``managers``, ``kind``, ``information_ratio``,
        ``beta_signal`` (the true credit loadings' expected Wald statistic under the oracle's
        GLS, square-rooted: the t-statistic of the loadings along their true direction), the
        desks' ``skill_flag`` and ``beta_flag``, ``estimable``, and ``oracle_skill`` and
        ``oracle_beta``; for the beta verdict at other levels (:func:`beta_rates_by_level`)
        the desks' and the oracle's one-sided credit p-values (``credit_p``,
        ``oracle_credit_p``) and whether the rest of the verdict holds (``beta_candidate``,
        ``oracle_candidate``: the manager is not flagged skilled).
    """
    truth = book.truth
    factors = book.factors
    excess = (book.portfolio.returns - book.portfolio.benchmark_returns).loc[factors.index]
    excess = excess[truth.index]
    n = len(factors)
    names = list(factors.columns)
    loadings = truth[[f"beta_{f}" for f in names]].to_numpy()
    selection = excess.to_numpy() - factors.to_numpy() @ loadings.T
    ar, sd = truth["noise_ar"].to_numpy(), truth["noise_sd"].to_numpy()
    long_run = sd * np.sqrt((1 + ar) / (1 - ar))
    z = selection.mean(axis=0) / (long_run / np.sqrt(n))
    p_skill = pd.Series(stats.norm.sf(z), index=truth.index)
    oracle_skill = benjamini_hochberg(p_skill) <= fdr
    oracle_p, signal = _oracle_credit_test(excess, factors, loadings, sd, ar)
    oracle_candidate = ~oracle_skill.to_numpy()
    oracle_beta = (oracle_p < BETA_LEVEL) & oracle_candidate
    ev = evidence.reindex(truth.index)
    desk_skill = ev["skill_flag"].fillna(False).astype(bool).to_numpy()
    return pd.DataFrame(
        {
            "seed": book.seed,
            "months": n,
            "managers": len(truth),
            "kind": truth["kind"],
            "information_ratio": truth["information_ratio"],
            "beta_signal": signal,
            "skill_flag": ev["skill_flag"].fillna(False).astype(bool),
            "beta_flag": ev["beta_flag"].fillna(False).astype(bool),
            "estimable": ev["estimable"].fillna(False).astype(bool),
            "oracle_skill": oracle_skill.to_numpy(),
            "oracle_beta": oracle_beta,
            "credit_p": ev["credit_p"].astype(float).fillna(1.0).to_numpy(),
            "beta_candidate": ~desk_skill,
            "oracle_credit_p": oracle_p,
            "oracle_candidate": oracle_candidate,
        },
        index=truth.index,
    )


def rate_interval(hits: pd.Series) -> tuple[float, float, float]:
    """Return the share of `hits` that hold and its Wilson 95% interval (NaN without any)."""
    k, n = int(hits.sum()), len(hits)
    low, high = wilson(k, n)
    return (k / n if n else float("nan")), low, high


def mean_interval(values: pd.Series) -> tuple[float, float, float]:
    """Return the mean of `values` (NaNs left out) with its Student t 95% interval.

    The interval is NaN with fewer than two values.
    """
    x = values.dropna().to_numpy(dtype=float)
    mean = float(x.mean()) if len(x) else float("nan")
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return mean, mean - half, mean + half


def _rate(hits: pd.Series) -> dict[str, float]:
    rate, low, high = rate_interval(hits)
    return {"rate": rate, "low": low, "high": high, "count": float(len(hits))}


def _mean_per_book(records: pd.DataFrame, flag: str, wrong: pd.Series) -> dict[str, float]:
    """Mean over the books of the share of flags that are wrong, with a t interval."""
    flags = records[flag].astype(bool)
    by_book = pd.DataFrame({"flags": flags, "wrong": flags & wrong}).groupby(records["seed"])
    share = by_book["wrong"].sum() / by_book["flags"].sum().clip(lower=1)
    mean, low, high = mean_interval(share.astype(float))
    # A share cannot be negative; one book has no interval and counts as one.
    return {"rate": mean, "low": max(low, 0.0) if len(share) > 1 else low, "high": high,
            "count": float(max(len(share), 1))}  # fmt: skip


def detection_rates(records: pd.DataFrame) -> pd.DataFrame:
    """Return the study's headline rates, desks and oracle, with Wilson intervals.

    Rows: ``skill recall, IR >= 1.0`` and ``>= 1.5`` (share of skilled managers flagged),
    ``skill false discovery rate`` (share of all skill flags, pooled over the books, on
    managers without alpha), ``skill false discovery rate, mean per book`` (the rate
    Benjamini-Hochberg controls: each book's share of its skill flags on managers without
    alpha, 0 for a book without flags, averaged over the books; a Student t interval over the
    books, and the count is the books), ``beta recall`` (credit-beta managers flagged; and
    those whose true loadings carry a signal t of 3 or more) and ``beta false positives``
    (beta flags among managers without credit beta). Columns: per verdict (``desks``,
    ``oracle``) the ``rate``, its interval ``low`` and ``high``, and the ``count`` it is a
    share of.
    """
    skilled = records["kind"] == "skill"
    ir = records["information_ratio"]
    rows = {}
    for who, skill, beta in (
        ("desks", "skill_flag", "beta_flag"),
        ("oracle", "oracle_skill", "oracle_beta"),
    ):
        found = {
            "skill recall, IR >= 1.0": records.loc[skilled & (ir >= 1.0), skill],
            "skill recall, IR >= 1.5": records.loc[skilled & (ir >= 1.5), skill],
            "skill false discovery rate": ~skilled[records[skill]],
            "beta recall": records.loc[records["kind"] == "beta", beta],
            "beta recall, signal t >= 3": records.loc[
                (records["kind"] == "beta") & (records["beta_signal"] >= 3.0), beta
            ],
            "beta false positives": records.loc[records["kind"] != "beta", beta],
        }  # fmt: skip
        for name, hits in found.items():
            rows[(name, who)] = _rate(hits.astype(bool))
        rows[("skill false discovery rate, mean per book", who)] = _mean_per_book(
            records, skill, ~skilled
        )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["measure", "verdict"])
    wide = pd.DataFrame(table.unstack("verdict"))
    return wide.swaplevel(axis=1).sort_index(axis=1)


def power_curve(records: pd.DataFrame, bins: tuple[float, ...] = IR_BINS) -> pd.DataFrame:
    """Skill recall of the desks and the oracle by true information ratio bin.

    Returns
    -------
    DataFrame
        Per bin (``ir_low``, ``ir_high``; its ``mid``): ``managers``, and for ``desks`` and
        ``oracle`` the recall with its Wilson interval (``desks_low``, ``desks_high``...).
    """
    skilled = records[records["kind"] == "skill"]
    rows = []
    for low, high in itertools.pairwise(bins):
        inside = skilled[
            (skilled["information_ratio"] >= low) & (skilled["information_ratio"] < high)
        ]
        row = {
            "ir_low": low,
            "ir_high": high,
            "mid": (low + high) / 2,
            "managers": float(len(inside)),
        }
        for who, column in (("desks", "skill_flag"), ("oracle", "oracle_skill")):
            r = _rate(inside[column].astype(bool))
            row |= {who: r["rate"], f"{who}_low": r["low"], f"{who}_high": r["high"]}
        rows.append(row)
    return pd.DataFrame(rows)


def beta_rates_by_level(
    records: pd.DataFrame, levels: tuple[float, ...] = (0.01, 0.025, 0.05)
) -> pd.DataFrame:
    """Beta recall and false positives of the desks and the oracle at several test levels.

    The beta verdict with the one-sided credit test at each level instead of :data:`BETA_LEVEL`:
    what recall a looser test buys and what it costs in false positives, and whether even the
    oracle reaches a recall goal at an allowed false-positive rate.

    Returns
    -------
    DataFrame
        Indexed by ``level``: ``desks_recall``, ``desks_false_positives``, ``oracle_recall``,
        ``oracle_false_positives`` and their Wilson intervals (``_low``, ``_high``),
        ``bound_recall`` (the mean over the credit-beta managers of the power of a z test
        along the true loadings, ``Phi(beta_signal - z_level)``: what no test at that level
        can beat), and the counts ``beta_managers`` and ``other_managers``.
    """
    beta = records["kind"] == "beta"
    signal = records.loc[beta, "beta_signal"].astype(float).to_numpy()
    rows = {}
    for level in levels:
        row: dict[str, float] = {
            "beta_managers": float(beta.sum()),
            "other_managers": float((~beta).sum()),
            "bound_recall": float(stats.norm.cdf(signal - stats.norm.isf(level)).mean())
            if len(signal)
            else float("nan"),
        }
        for who, p, candidate in (
            ("desks", "credit_p", "beta_candidate"),
            ("oracle", "oracle_credit_p", "oracle_candidate"),
        ):
            flag = (records[p].astype(float) < level) & records[candidate].astype(bool)
            for name, hits in (("recall", flag[beta]), ("false_positives", flag[~beta])):
                r = _rate(hits)
                row |= {f"{who}_{name}": r["rate"], f"{who}_{name}_low": r["low"],
                        f"{who}_{name}_high": r["high"]}  # fmt: skip
        rows[level] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("level")
