import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from fialloc.analytics.duration_gaps import (
    gap_dv01,
    gap_profile,
    key_rate_gap,
    krd_gaps,
    rebalance_for_krd,
)

TENORS = ["krd_5y", "krd_10y", "krd_30y"]


def test_gaps_hand_worked():
    a = pd.Series([2.0, 3.0, 1.0], index=TENORS)
    lia = pd.Series([1.0, 3.0, 4.0], index=TENORS)
    g = krd_gaps(a, 100.0, lia, 80.0, threshold=0.1)
    np.testing.assert_allclose(g["liability_krd"], [0.8, 2.4, 3.2])
    np.testing.assert_allclose(g["gap"], [1.2, 0.6, -2.2])
    np.testing.assert_allclose(g["gap_dv01"], [1.2e-2, 0.6e-2, -2.2e-2])
    # shares of the liabilities' total rate risk 0.8 + 2.4 + 3.2 = 6.4
    np.testing.assert_allclose(g["share"], [1.2 / 6.4, 0.6 / 6.4, -2.2 / 6.4])
    assert g["material"].tolist() == [True, False, True]
    assert not krd_gaps(a, 100.0, a, 100.0)["material"].any()


def test_one_gap_definition_for_arrays_weights_and_solver_expressions():
    # Two sleeves, 60/40: assets' KRDs are the weighted exposures; liabilities worth 80 of 100.
    e = pd.DataFrame([[1.0, 4.0, 0.0], [3.0, 1.0, 5.0]], index=["m1", "m2"], columns=TENORS)
    lia = pd.Series([1.0, 3.0, 4.0], index=TENORS)
    w = pd.Series([0.6, 0.4], index=["m1", "m2"])
    assets = e.T @ w  # 1.8, 2.8, 2.0
    expected = np.array([1.8 - 0.8, 2.8 - 2.4, 2.0 - 3.2])
    np.testing.assert_allclose(key_rate_gap(assets, lia, 100.0, 80.0), expected)
    np.testing.assert_allclose(gap_dv01(expected, 100.0), expected * 100.0 * 1e-4)
    np.testing.assert_allclose(krd_gaps(assets, 100.0, lia, 80.0)["gap"], expected)
    profile = gap_profile(
        e, {"now": w, "all_m2": pd.Series([0.0, 1.0], index=w.index)}, lia, 100.0, 80.0
    )
    np.testing.assert_allclose(profile["now_years"], expected)
    np.testing.assert_allclose(profile["now_dv01"], expected * 1e-2)
    np.testing.assert_allclose(profile["all_m2_years"], [3.0 - 0.8, 1.0 - 2.4, 5.0 - 3.2])
    # The optimizer hands it a cvxpy expression in the weights: the same number at the optimum.
    x = cp.Variable(2)
    cp.Problem(cp.Minimize(0), [x == w.to_numpy()]).solve(solver=cp.CLARABEL)
    expr = key_rate_gap(e.to_numpy().T @ x, lia.to_numpy(), 100.0, 80.0)
    np.testing.assert_allclose(expr.value, expected, atol=1e-8)
    with pytest.raises(ValueError, match="positive"):
        key_rate_gap(assets, lia, 100.0, float("nan"))


def test_gaps_validate():
    a = pd.Series([1.0], index=["krd_1y"])
    with pytest.raises(ValueError, match="tenors differ"):
        krd_gaps(a, 1.0, pd.Series([1.0], index=["krd_2y"]), 1.0)
    with pytest.raises(ValueError, match="positive"):
        krd_gaps(a, 0.0, a, 1.0)


def test_rebalance_moves_toward_target_within_limits():
    managers = ["short", "core", "long", "credit"]
    e = pd.DataFrame(
        [[1.0, 0.2, 0.0], [1.0, 2.0, 0.5], [0.2, 1.0, 6.0], [1.5, 2.5, 0.5]],
        index=managers,
        columns=TENORS,
    )
    w0 = pd.Series([0.3, 0.3, 0.1, 0.3], index=managers)
    target = pd.Series([0.8, 1.8, 3.0], index=TENORS)
    w = rebalance_for_krd(e, w0, target, max_shift=0.05, min_weight=0.01, max_weight=0.5)
    assert w.sum() == pytest.approx(1.0, abs=1e-7)
    assert (w - w0).abs().max() <= 0.05 + 1e-7
    assert w.min() >= 0.01 - 1e-7
    before = np.linalg.norm(e.T @ w0 - target)
    after = np.linalg.norm(e.T @ w - target)
    assert after < before
    # the long-duration manager is the only way to add 30y exposure: it gets the full shift
    assert w["long"] == pytest.approx(0.15, abs=1e-5)


def test_rebalance_exact_when_target_reachable():
    e = pd.DataFrame([[1.0, 0.0], [0.0, 1.0]], index=["a", "b"], columns=["k1", "k2"])
    w = rebalance_for_krd(
        e,
        pd.Series([0.5, 0.5], index=["a", "b"]),
        pd.Series([0.53, 0.47], index=["k1", "k2"]),
        max_weight=1.0,
    )
    np.testing.assert_allclose(w, [0.53, 0.47], atol=1e-6)
