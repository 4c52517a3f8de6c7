"""Style-drift detection power on 50 generated books, and the detector against a brute-force scan.

The power table (recall, false positives per null manager, start errors, interval coverage,
with Wilson intervals, by family of drift, for the max-T alone and combined with the joint
test, beside oracles that know each drift's date and noise or the noise's autocorrelation)
and where the misses are (:func:`fialloc.analytics.drift_study.breakdown`) are printed for
BENCHMARKS.md at the default per-manager level and at 5%, on held-out books with joint
drifts and on last rounds' books of single drifts, and on books whose managers also report a
key-rate profile and sector weights (``profile=True``) at the default level. In a smoke run
(``--benchmark-disable``) each study runs on :data:`SMOKE_BOOKS` books: the machinery and the
false-positive goal (inside the small study's interval) are checked, and on the held-out
books at the default level the test suite's checks of a 5-book study (rates, families, the
breakdown, the known-autocorrelation oracle) hold at either size. The
timed part compares ``detect_drift``'s one-matrix scan with one least-squares fit per candidate
(start, ramp) on the same 120-month series, and checks they pick the same shift.
"""

import numpy as np
import pandas as pd
import pytest

from fialloc.analytics import change_point, drift, drift_study

BOOKS = 50
#: Books per study in a smoke run (``--benchmark-disable``).
SMOKE_BOOKS = 5


@pytest.fixture(scope="module")
def books(request) -> int:
    return SMOKE_BOOKS if request.config.getoption("benchmark_disable") else BOOKS


@pytest.mark.parametrize("level", [drift.DRIFT_LEVEL, 0.05])
@pytest.mark.parametrize(
    ("seed", "joint_share"),
    # Held-out books with joint drifts (half of them); last rounds' books (seed 0), single
    # drifts only, on which the max-T alone was measured before.
    [(9, drift_study.JOINT_SHARE), (0, 0.0)],
)
def test_drift_detection_power(books, level, seed, joint_share):
    results = drift_study.run_study(books, seed=seed, level=level, joint_share=joint_share)
    table = drift_study.summarize(results)
    with pd.option_context("display.width", 200, "display.precision", 3, "display.max_rows", 100):
        print(
            f"\n{books} books (seed {seed}, joint share {joint_share}), {len(results)} "
            f"managers, level {level}\n{table}\nwhere the drifts >= 1 sd are missed\n"
            f"{drift_study.breakdown(results, level)}"
        )
    false_positives = table.loc["false positives per null manager"]
    # Calibrated: the level is inside or above the rate's interval; the goal (5%) at the
    # default level (a smoke study: inside its interval).
    assert false_positives["low"] <= level
    if level == drift.DRIFT_LEVEL:
        assert false_positives["value" if books == BOOKS else "low"] <= 0.05
    assert table.loc["start error (months), median", "value"] <= 2.0
    if level == drift.DRIFT_LEVEL and joint_share == drift_study.JOINT_SHARE:
        # The test suite's checks of a 5-book study (issue 15) are this study's, on the held-out
        # books' first five in a smoke run: the suite ran the same study on other books.
        _check_rates(results)
        _check_families(results)
        _check_breakdown(results)
        _check_known_autocorrelation(results)


def _check_rates(results: pd.DataFrame) -> None:
    table = drift_study.summarize(results)
    assert table.loc["false positives per null manager", "value"] <= 0.05
    assert table.loc["false positives, absolute characteristics", "value"] > 0.3
    assert table.loc["drift recall, 2-3 sd", "value"] >= 0.6
    assert table.loc["start error (months), median", "value"] <= 2.0
    assert table.loc["start inside its 90% interval", "value"] >= 0.8
    recall = table.loc["drift recall, size >= 1 sd"]
    assert recall["low"] <= recall["value"] <= recall["high"]
    # Knowing the date beats knowing only the noise, which beats estimating it; knowing the
    # drifted characteristic too beats searching all of them.
    scan = table.loc["scan oracle recall, size >= 1 sd", "value"]
    assert table.loc["oracle recall, size >= 1 sd", "value"] >= scan >= recall["value"]
    assert scan >= table.loc["all-series scan oracle recall, size >= 1 sd", "value"]
    assert table.loc["all-series scan oracle false positives", "value"] <= 0.05
    # Recall by months from the start splits the drifts >= 1 sd; a drift of 1 sd of the
    # month-to-month change is at least 1 sd of the level (phi <= 0.5), so that set is nested.
    by_after = [
        table.loc[f"drift recall >= 1 sd, {span} months from the start", "n"]
        for span in ("12-23", "24-47", "48-120")
    ]
    assert sum(by_after) == recall["n"]
    drifted = results[results["drifted"].astype(bool)]
    monthly = drifted["size_sd"].abs() / np.sqrt(2.0 * (1.0 - drifted["phi"]))
    row = table.loc["drift recall, size >= 1 sd of the month-to-month change"]
    assert row["n"] == (monthly >= 1.0).sum() <= recall["n"]
    assert row["value"] == pytest.approx(drifted.loc[monthly >= 1.0, "flagged"].mean())


def _check_families(results: pd.DataFrame) -> None:
    table = drift_study.summarize(results)
    for family in ("single", "quality", "extension"):
        row = table.loc[f"drift recall >= 1 sd, family {family}"]
        assert row["n"] > 0
        assert row["low"] <= row["value"] <= row["high"]
    # One scan gives both detectors; the shipped one is the max-T alone (JOINT_DRIFT off).
    assert results["flagged"].equals(results["flagged_max_t"])
    for detector in ("max_t", "combined"):
        assert table.loc[f"{detector}: false positives per null manager", "value"] <= 0.05
    assert (results["p_combined"] <= results["p_max_t"] * 2.0 + 1e-9).all()
    joint = results[results["family"].isin(["quality", "extension"]) & results["flagged"]]
    assert ((joint["joint_start"] - joint["start"]).abs().median()) <= 2.0


def _whole(table: pd.DataFrame) -> pd.Series:
    """The breakdown's row over all drifts >= 1 sd."""
    return table.xs("all", level="split").iloc[0]


def _check_breakdown(results: pd.DataFrame) -> None:
    for level in (0.01, 0.05):
        table = drift_study.breakdown(results, level)
        drifted = results[results["drifted"].astype(bool)]
        big = drifted[drifted["size_sd"].abs() >= 1.0]
        whole = _whole(table)
        assert whole["n"] == len(big)
        assert whole["detector"] == pytest.approx((big["p_value"] <= level).mean())
        assert whole["all_series"] == pytest.approx((big["p_scan_oracle_all"] <= level).mean())
        assert whole["low"] <= whole["detector"] <= whole["high"]
        # Every split covers each drift once.
        for split in ("months from the start", "months of history", "ramp (months)",
                      "noise autocorrelation", "family"):  # fmt: skip
            assert table.xs(split, level="split")["n"].sum() == len(big)
        # At the study's own level the oracles' recorded verdicts are their p-values'.
        if level == results["level"].iloc[0]:
            assert whole["scan"] == pytest.approx(big["scan_oracle"].mean())
            assert whole["known_date"] == pytest.approx(big["oracle_power"].mean())
    looser = _whole(drift_study.breakdown(results, 0.05))
    stricter = _whole(drift_study.breakdown(results, 0.01))
    recalls = ["detector", "known_phi", "all_series", "scan", "known_date"]
    assert bool((looser[recalls] >= stricter[recalls]).all())
    with pytest.raises(ValueError, match="level"):
        drift_study.breakdown(results, 1.0)


def _check_known_autocorrelation(results: pd.DataFrame) -> None:
    table = drift_study.summarize(results)
    assert table.loc["known-autocorrelation max-T false positives", "value"] <= 0.05
    known = table.loc["known-autocorrelation max-T recall, size >= 1 sd", "value"]
    assert known >= table.loc["drift recall, size >= 1 sd", "value"] - 0.05


def test_drift_detection_power_on_the_key_rate_profile_and_sectors(books):
    # Profile books: key-rate buckets and sector weights beside the four characteristics,
    # drifts planted in all ten (curve trades, sector rotations, duration through a bucket).
    results = drift_study.run_study(books, seed=2, profile=True)
    table = drift_study.summarize(results)
    with pd.option_context("display.width", 200, "display.precision", 3, "display.max_rows", 100):
        print(f"\n{books} profile books, {len(results)} managers\n{table}")
    # The test suite's check of the profile books (issue 15) is this smoke run's, on the 50
    # books' first five: false positives at most 5% (the value, in a smoke run too), the found
    # drift names its series, and both new families are planted and measured.
    assert table.loc["false positives per null manager", "value"] <= 0.05
    assert table.loc["right characteristic, found drifts >= 1 sd", "value"] >= 0.8
    for family in ("key-rate buckets", "sector weights"):
        row = table.loc[f"drift recall >= 1 sd, {family}"]
        assert row["n"] > 0
        assert row["low"] <= row["value"] <= row["high"]


def _brute_force(y: np.ndarray) -> tuple[int, int, float]:
    """Reference: least squares with an intercept and each ramp regressor, one at a time."""
    n, best = len(y), (np.inf, 0, 0, 0.0)
    for start in range(change_point.MIN_BEFORE, n - change_point.MIN_AFTER + 1):
        for ramp in range(1, change_point.MAX_RAMP + 1):
            r = np.clip((np.arange(n) - start + 1) / ramp, 0.0, 1.0)
            x = np.column_stack([np.ones(n), r])
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            ssr = float(np.sum((y - x @ coef) ** 2))
            if ssr < best[0]:
                best = (ssr, start, ramp, float(coef[1]))
    return best[1], best[2], best[3]


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(3)
    n = 120
    return rng.normal(0, 1, n) + 1.5 * np.clip((np.arange(n) - 70 + 1) / 4, 0, 1)


@pytest.mark.benchmark(group="drift")
def test_detector_scan(benchmark, series):
    change_point.null_statistics(len(series), 0.1)  # the cached null, built once
    fit = benchmark(change_point.fit_shift, series)
    start, ramp, shift = _brute_force(series)
    assert (fit.start, fit.ramp) == (start, ramp)
    assert fit.shift == pytest.approx(shift, rel=1e-9)


@pytest.mark.benchmark(group="drift")
def test_reference_brute_force_scan(benchmark, series):
    benchmark(_brute_force, series)
