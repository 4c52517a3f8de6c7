"""Change-point dating: exact values on a constructed series, the interval's critical value,
the false-alarm rate on no-shift series, and bad input."""

import math

import numpy as np
import pytest

from fialloc.analytics import change_point


def _constructed():
    # A 0.8 move over a 3-month ramp from month 20 of 40, plus a +-0.05 saw-tooth.
    n, start, ramp = 40, 20, 3
    t = np.arange(n)
    r = np.clip((t - start + 1) / ramp, 0.0, 1.0)
    return 0.8 * r + 0.05 * (-1.0) ** t, r


def test_dating_a_constructed_ramp_gives_exact_values():
    y, r = _constructed()
    fit = change_point.fit_shift(y)
    assert (fit.start, fit.ramp) == (20, 3)
    assert (fit.start_low, fit.start_high) == (20, 20)  # the noise is far too small to blur it
    # Shift, noise and z by hand: least squares on [1, r]; the saw-tooth has negative
    # autocorrelation, floored at zero, so the long-run variance is the innovations' variance.
    x = np.column_stack([np.ones(len(y)), r])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    assert fit.shift == pytest.approx(coef[1], rel=1e-12)
    assert fit.sd == pytest.approx(math.sqrt(resid @ resid / (len(y) - 3)), rel=1e-12)
    assert fit.phi == 0.0
    rc = r - r.mean()
    omega2 = resid[1:] @ resid[1:] / (len(y) - 4)
    assert fit.z == pytest.approx(coef[1] * np.linalg.norm(rc) / math.sqrt(omega2), rel=1e-10)
    assert fit.shift_sd == pytest.approx(fit.shift / fit.sd, rel=1e-12)
    assert fit.p_value == pytest.approx(1.0 / (change_point.NULL_DRAWS + 1))
    # Moving the series moves nothing but the level; a negative move is dated the same.
    moved = change_point.fit_shift(-y + 3.0)
    assert (moved.start, moved.ramp, moved.shift) == (20, 3, pytest.approx(-fit.shift))


def test_a_step_is_a_one_month_ramp():
    y = np.where(np.arange(30) >= 17, 1.0, 0.0) + 0.01 * np.sin(np.arange(30))
    fit = change_point.fit_shift(y)
    assert (fit.start, fit.ramp) == (17, 1)
    assert fit.shift == pytest.approx(1.0, abs=0.01)


def test_hansen_interval_critical_values():
    assert change_point.interval_critical_value(0.90) == pytest.approx(5.9394, abs=1e-4)
    assert change_point.interval_critical_value(0.95) == pytest.approx(7.3523, abs=1e-4)
    with pytest.raises(ValueError, match="level"):
        change_point.interval_critical_value(1.0)


def test_false_alarm_rate_on_autocorrelated_noise_is_near_the_level():
    # 300 no-shift AR(1) series (phi 0.3, 60 months): rejections at 5% fall inside the 99%
    # binomial range of a 5% test, widened for the simulated critical values.
    rng = np.random.default_rng(11)
    rejections = 0
    for _ in range(300):
        e = np.zeros(110)
        for t in range(1, 110):
            e[t] = 0.3 * e[t - 1] + rng.standard_normal()
        rejections += change_point.fit_shift(e[50:]).p_value <= 0.05
    assert rejections / 300 <= 0.09


def test_null_statistics_are_cached_and_reproducible():
    a = change_point.null_statistics(36, 0.2, 3)
    assert a is change_point.null_statistics(36, 0.2, 3)
    largest, each, pooled = a
    assert (len(largest), len(each)) == (change_point.NULL_DRAWS, 3 * change_point.NULL_DRAWS)
    assert np.all(np.diff(largest) >= 0)
    assert np.all(np.diff(each) >= 0)
    # The largest of three is stochastically above one series' statistic; the pooled
    # autocorrelation estimate sits below the truth (0.2) on 36 months.
    assert np.median(largest) > np.median(each)
    assert np.median(pooled) < 0.2
    change_point.null_statistics.cache_clear()
    np.testing.assert_array_equal(largest, change_point.null_statistics(36, 0.2, 3)[0])


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.ones(30), "constant"),
        (np.arange(10.0), "at least 18 months"),
        (np.r_[np.arange(29.0), np.nan], "non-finite value at position 29"),
        (np.zeros((5, 6)), "1-d series"),
    ],
)
def test_bad_series_are_refused_with_the_reason(y, match):
    with pytest.raises(ValueError, match=match):
        change_point.fit_shift(y)


def test_known_noise_scan_matches_fit_shift_when_given_its_noise():
    y, _ = _constructed()
    fit = change_point.fit_shift(y)
    # With fit_shift's own long-run variance (phi 0: the innovations' variance), the
    # known-noise statistic is fit_shift's z squared.
    x = np.column_stack([np.ones(len(y)), np.clip((np.arange(40) - 20 + 1) / 3, 0, 1)])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    omega2 = resid[1:] @ resid[1:] / (len(y) - 4)
    stat = change_point.known_noise_statistic(y[None, :], omega2)[0]
    assert stat == pytest.approx(fit.z**2, rel=1e-10)
    null = change_point.known_noise_null(40, 0.2)
    assert len(null) == change_point.NULL_DRAWS
    assert np.all(np.diff(null) >= 0)


def test_several_series_pool_the_autocorrelation_and_adjust_for_their_number():
    rng = np.random.default_rng(5)
    n, phi = 60, 0.3
    e = np.zeros((3, n + 50))
    for t in range(1, n + 50):
        e[:, t] = phi * e[:, t - 1] + rng.standard_normal(3)
    y = e[:, 50:] * np.array([[1.0], [10.0], [0.01]])  # units do not matter
    y[1] += 60.0 * (np.arange(n) >= 40)
    fits = change_point.fit_shifts(y)
    assert [f.start for f in fits][1] == 40
    # One series alone is fit_shift's (its own autocorrelation, one-series null).
    alone = change_point.fit_shift(y[1])
    assert alone.p_value == alone.p_adjusted
    # Each series uses at least the pooled autocorrelation; a family p-value is never below
    # the series' own, and the strongest series wins by far.
    assert min(f.phi for f in fits) >= 0.0
    assert all(f.p_adjusted >= f.p_value for f in fits)
    assert fits[1].p_adjusted < 0.01 < min(fits[0].p_adjusted, fits[2].p_adjusted)
    # Rescaling a series changes nothing but its units.
    scaled = change_point.fit_shifts(y * np.array([[2.0], [1.0], [1.0]]))
    assert scaled[0].z == pytest.approx(fits[0].z, rel=1e-9)
    assert scaled[0].shift == pytest.approx(2.0 * fits[0].shift, rel=1e-9)
    with pytest.raises(ValueError, match="series 1 is constant"):
        change_point.fit_shifts(np.vstack([y[0], np.ones(n)]))


def test_false_alarm_rate_of_a_family_is_near_the_level():
    # 300 managers of four no-shift AR(1) series (phi 0.3, 48 months): the family's
    # rejections at 5% fall inside the 99% binomial range of a 5% test, widened for the
    # simulated critical values.
    rng = np.random.default_rng(12)
    rejections = 0
    for _ in range(300):
        e = np.zeros((4, 98))
        for t in range(1, 98):
            e[:, t] = 0.3 * e[:, t - 1] + rng.standard_normal(4)
        fits = change_point.fit_shifts(e[:, 50:])
        rejections += min(f.p_adjusted for f in fits) <= 0.05
    assert rejections / 300 <= 0.09


def _ar1_noise(rng, k, n, phi):
    e = np.zeros((k, n + 50))
    for t in range(1, n + 50):
        e[:, t] = phi * e[:, t - 1] + rng.standard_normal(k)
    return e[:, 50:]


def test_joint_fit_of_one_series_is_the_single_scan():
    y, _ = _constructed()
    joint = change_point.fit_joint_shift(y[None, :])
    alone = change_point.fit_shift(y)
    assert joint.stat == pytest.approx(alone.z**2, rel=1e-10)
    assert (joint.start, joint.ramp) == (alone.start, alone.ramp)
    assert joint.shifts[0] == pytest.approx(alone.shift, rel=1e-10)
    assert joint.series[0] == alone


def test_joint_statistic_matches_its_formula_on_a_shared_shift():
    # Three series move together by 0.8 sd each from month 30 of 60 over 2 months; the
    # fourth does not move. By hand at the fitted (start, ramp): each series' standardized
    # projection z_j = r_c' y_j / (|r_c| omega_j) and the innovations' correlation R give
    # W_J = z' R^-1 z; the shifts are each series' least-squares shift there.
    rng = np.random.default_rng(21)
    n = 60
    y = _ar1_noise(rng, 4, n, 0.2)
    r = np.clip((np.arange(n) - 30 + 1) / 2, 0.0, 1.0)
    y[:3] += 0.8 * r
    fit = change_point.fit_joint_shift(y)
    assert abs(fit.start - 30) <= 2
    assert fit.start_low <= fit.start <= fit.start_high
    rb = np.clip((np.arange(n) - fit.start + 1) / fit.ramp, 0.0, 1.0)
    rc = rb - rb.mean()
    yc = y - y.mean(axis=1, keepdims=True)
    shifts = yc @ rc / (rc @ rc)
    np.testing.assert_allclose(fit.shifts, shifts, rtol=1e-10)
    # Each series' omega and innovations, as fit_shifts estimates them (its own best ramp).
    omegas, innovations = [], []
    for j, single in enumerate(fit.series):
        rj = np.clip((np.arange(n) - single.start + 1) / single.ramp, 0.0, 1.0)
        rj -= rj.mean()
        resid = yc[j] - (rj @ yc[j]) / (rj @ rj) * rj
        u = resid[1:] - single.phi * resid[:-1]
        omegas.append(u @ u / (n - 4) / (1.0 - single.phi) ** 2)
        innovations.append(u)
    z = (yc @ rc) / np.linalg.norm(rc) / np.sqrt(omegas)
    cross = np.array(innovations) @ np.array(innovations).T  # innovations have mean ~0
    corr = cross / np.sqrt(np.outer(np.diag(cross), np.diag(cross)))
    assert fit.stat == pytest.approx(z @ np.linalg.solve(corr, z), rel=1e-8)
    # Found by both tests; the combined p-value is a Monte Carlo share, never below 1/(B+1).
    assert fit.p_joint < 0.01
    assert 1.0 / (change_point.NULL_DRAWS + 1) <= fit.p_combined < 0.01
    # Units do not matter.
    scaled = change_point.fit_joint_shift(y * np.array([[3.0], [1.0], [0.1], [1.0]]))
    assert scaled.stat == pytest.approx(fit.stat, rel=1e-9)
    assert scaled.shifts[0] == pytest.approx(3.0 * fit.shifts[0], rel=1e-9)


def test_joint_nulls_share_the_max_t_draws():
    joint, smaller = change_point.joint_null_statistics(48, 0.2, 3)
    assert joint is change_point.joint_null_statistics(48, 0.2, 3)[0]
    assert len(joint) == len(smaller) == change_point.NULL_DRAWS
    assert np.all(np.diff(joint) >= 0)
    assert np.all(np.diff(smaller) >= 0)
    # The smaller of two p-values is below a uniform: at its 5% point sit more than 5% of the
    # simulated managers, at most twice as many (Bonferroni).
    share = np.mean(smaller <= 0.05)
    assert 0.05 < share <= 0.10 + 1e-9


def test_combined_false_alarm_rate_is_near_the_level():
    # 300 managers of four no-shift AR(1) series (phi 0.3, 48 months): the combined test's
    # rejections at 5% fall inside the 99% binomial range of a 5% test, widened for the
    # simulated critical values.
    rng = np.random.default_rng(13)
    rejections = sum(
        change_point.fit_joint_shift(_ar1_noise(rng, 4, 48, 0.3)).p_combined <= 0.05
        for _ in range(300)
    )
    assert rejections / 300 <= 0.09


def test_known_autocorrelation_statistic_is_the_max_t_at_that_autocorrelation():
    # Given the autocorrelations fit_shifts used (one per manager when the pooled estimate is
    # each series' largest), the oracle's statistic is the fits' largest z squared.
    rng = np.random.default_rng(21)
    for _ in range(20):
        y = _ar1_noise(rng, 3, 60, 0.3)
        y[1, 30:] += 1.5
        fits = change_point.fit_shifts(y)
        if len({f.phi for f in fits}) != 1:
            continue
        stat = change_point.known_phi_statistic(y, fits[0].phi)
        assert stat == pytest.approx(max(f.z**2 for f in fits), rel=1e-12)
    # Its null: sorted, one largest statistic per simulated manager, and at 1% it rejects
    # about 1% of fresh no-shift managers at that autocorrelation.
    null = change_point.known_phi_null(60, 0.3, 3)
    assert len(null) == change_point.NULL_DRAWS
    assert np.all(np.diff(null) >= 0)
    critical = null[int(0.99 * len(null))]
    fresh = [change_point.known_phi_statistic(_ar1_noise(rng, 3, 60, 0.3), 0.3) for _ in range(400)]
    assert np.mean(np.array(fresh) > critical) <= 0.035


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: change_point.known_phi_statistic(np.zeros((2, 10)), 0.2), "at least 18"),
        (lambda: change_point.known_phi_statistic(np.full((1, 30), np.nan), 0.2), "non-finite"),
        (lambda: change_point.known_phi_statistic(np.ones((1, 30)), 0.95), "phi"),
        (lambda: change_point.known_phi_null(10, 0.2, 2), "n >= 18"),
        (lambda: change_point.known_phi_null(40, -0.1, 2), "phi"),
    ],
)
def test_known_autocorrelation_oracle_refuses_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
