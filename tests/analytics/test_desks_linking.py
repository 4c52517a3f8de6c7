"""Carino and Menchero linking: linked effects add up to the compounded excess return."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fialloc.analytics.linking import LINKING_METHODS, compounded, link_effects, linking_weights

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")


@hypothesis.given(
    seed=st.integers(0, 2**32 - 1),
    periods=st.integers(1, 72),
    n_effects=st.integers(1, 8),
    method=st.sampled_from(LINKING_METHODS),
    scale=st.sampled_from([1e-6, 0.01, 0.1]),
)
@hypothesis.settings(max_examples=60, deadline=None)
def test_linked_effects_add_up_to_the_compounded_excess(seed, periods, n_effects, method, scale):
    rng = np.random.default_rng(seed)
    bench = rng.normal(0.004, scale, periods)
    port = bench + rng.normal(0.0, scale / 4, periods)
    shares = rng.dirichlet(np.ones(n_effects), periods) * 2.0 - 1.0 / n_effects
    effects = shares * (port - bench)[:, None]  # each period's effects sum to its excess
    linked = link_effects(effects, port, bench, method)
    excess = compounded(port) - compounded(bench)
    assert abs(linked.sum() - excess) < 1e-12


def test_carino_by_hand_and_a_period_with_no_excess():
    port = np.array([0.02, 0.01, -0.005])
    bench = np.array([0.015, 0.01, -0.01])
    k_t = [
        math.log((1 + r) / (1 + b)) / (r - b) if r != b else 1 / (1 + r)
        for r, b in zip(port, bench, strict=True)
    ]
    total_r, total_b = compounded(port), compounded(bench)
    k = math.log((1 + total_r) / (1 + total_b)) / (total_r - total_b)
    np.testing.assert_allclose(linking_weights(port, bench), np.array(k_t) / k, rtol=1e-12)


def test_menchero_weights_are_the_constant_plus_a_linear_correction():
    port = np.array([0.02, 0.01, -0.005, 0.03])
    bench = np.array([0.015, 0.012, -0.01, 0.02])
    n = len(port)
    total_r, total_b = compounded(port), compounded(bench)
    m = (total_r - total_b) / (n * ((1 + total_r) ** (1 / n) - (1 + total_b) ** (1 / n)))
    a = port - bench
    c = (total_r - total_b - m * a.sum()) / (a @ a)
    np.testing.assert_allclose(linking_weights(port, bench, "menchero"), m + c * a, rtol=1e-12)


def test_identical_returns_link_to_zero_and_bad_inputs_are_refused():
    same = np.array([0.01, 0.02])
    assert link_effects(np.zeros((2, 3)), same, same).tolist() == [0.0, 0.0, 0.0]
    assert np.all(np.isfinite(linking_weights(same, same, "menchero")))
    with pytest.raises(ValueError, match=r"period 1 is -1\.5"):
        link_effects(np.zeros((2, 1)), [0.01, -1.5], [0.0, 0.0])
    with pytest.raises(ValueError, match="unknown method 'geometric'"):
        link_effects(np.zeros((2, 1)), same, same, "geometric")
    with pytest.raises(ValueError, match=r"`effects` has shape \(3, 1\)"):
        link_effects(np.zeros((3, 1)), same, same)
    with pytest.raises(ValueError, match="2 portfolio returns but 1 benchmark"):
        link_effects(np.zeros((2, 1)), same, [0.01])
