"""The pools' regressed values at the horizons, computed a block of paths at a time, are
bitwise those of the whole basis at once (the formula of :class:`fialloc.mbs.HorizonValues`),
for any number of paths, horizons and pools and with or without a spread shift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fialloc.mbs import HorizonValues, PrepaymentModel

MODEL = PrepaymentModel()


def whole_basis(
    fitted: HorizonValues,
    incentive: np.ndarray,
    balance: np.ndarray,
    fast: np.ndarray,
    shift: np.ndarray | None,
) -> np.ndarray:
    """The documented formula on every path at once: basis times coefficients, summed."""
    u = incentive * 100.0
    s = 1.0 / (1.0 + np.exp(-(incentive - MODEL.incentive_mid) / MODEL.incentive_width))
    f = np.broadcast_to(fast[:, :, None] * 100.0, u.shape)
    b = balance
    basis = np.stack(
        [np.ones_like(u), u, u * u, u * u * u, b, u * b, s, s * b, s * u, f, f * s, f * u],
        axis=-1,
    )
    value = (basis * fitted.value_coefficients[None]).sum(axis=-1)
    if shift is not None:
        value = value - shift * (basis * fitted.dv_coefficients[None]).sum(axis=-1)
    out: np.ndarray = balance * value
    return out


@settings(max_examples=40, deadline=None)
@given(
    paths=st.integers(1, 70),
    horizons=st.integers(1, 4),
    pools=st.integers(1, 6),
    shifted=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_values_in_blocks_of_paths_equal_the_whole_basis_bitwise(
    paths: int, horizons: int, pools: int, shifted: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    shape = (horizons, pools, 12)
    fitted = HorizonValues(
        np.arange(1, horizons + 1, dtype=float),
        rng.normal(0, 10, shape),
        rng.normal(0, 50, shape),
        np.zeros((horizons, pools)),
        2000,
        MODEL,
    )
    incentive = rng.normal(0, 0.01, (paths, horizons, pools))
    balance = rng.uniform(0, 1, (paths, horizons, pools))
    fast = rng.normal(0, 0.01, (paths, horizons))
    shift = rng.normal(0, 0.002, (paths, horizons, pools)) if shifted else None
    got = fitted.values(incentive, balance, fast, shift)
    want = whole_basis(fitted, incentive, balance, fast, shift)
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_values_of_no_paths_are_empty() -> None:
    fitted = HorizonValues(
        np.ones(1), np.ones((1, 2, 12)), np.ones((1, 2, 12)), np.zeros((1, 2)), 2000, MODEL
    )
    out = fitted.values(np.zeros((0, 1, 2)), np.zeros((0, 1, 2)), np.zeros((0, 1)))
    assert out.shape == (0, 1, 2)
    with pytest.raises(ValueError, match="broadcast"):
        fitted.values(np.zeros((3, 1, 2)), np.zeros((3, 1, 3)), np.zeros((3, 1)))
