"""Brinson sleeve attribution: a hand-worked two-sleeve example and exact sums."""

from __future__ import annotations

import numpy as np
import pytest

from fialloc.analytics.allocation_effects import brinson


def test_two_sleeves_by_hand():
    w = np.array([[0.7, 0.3]])
    p = np.array([0.6, 0.4])
    r = np.array([[0.02, 0.01]])
    rb = np.array([[0.015, 0.012]])
    out = brinson(w, p, r, rb)
    policy = 0.6 * 0.015 + 0.4 * 0.012
    np.testing.assert_allclose(out.allocation, [[0.1 * (0.015 - policy), -0.1 * (0.012 - policy)]])
    np.testing.assert_allclose(out.selection, [[0.6 * 0.005, 0.4 * -0.002]])
    np.testing.assert_allclose(out.interaction, [[0.1 * 0.005, -0.1 * -0.002]])
    total = out.allocation.sum() + out.selection.sum() + out.interaction.sum()
    assert total == pytest.approx(0.7 * 0.02 + 0.3 * 0.01 - policy, abs=1e-15)
    assert out.active_return[0] == pytest.approx(total, abs=1e-15)


def test_random_periods_add_up_exactly():
    rng = np.random.default_rng(3)
    w = rng.dirichlet(np.ones(5), 24)
    p = rng.dirichlet(np.ones(5))
    r, rb = rng.normal(0.004, 0.01, (24, 5)), rng.normal(0.004, 0.01, (24, 5))
    out = brinson(w, p, r, rb)
    parts = (out.allocation + out.selection + out.interaction).sum(axis=1)
    assert np.abs(parts - out.active_return).max() < 1e-15


def test_bad_inputs_are_refused():
    r = np.zeros((1, 2))
    with pytest.raises(ValueError, match=r"`policy_weights` of period 0 sum to 0\.9"):
        brinson([[0.5, 0.5]], [0.5, 0.4], r, r)
    with pytest.raises(ValueError, match="`benchmark_returns` has shape"):
        brinson([[0.5, 0.5]], [0.5, 0.5], r, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        brinson([[0.5, 0.5]], [0.5, 0.5], [[np.nan, 0.0]], r)
