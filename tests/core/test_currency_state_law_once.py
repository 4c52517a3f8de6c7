"""The exact law of the control states is computed once per generator and horizons (every
chunk of a run's paths asks for it), read-only, and the same as a fresh generator's."""

from __future__ import annotations

import numpy as np
import pytest
from test_currency_scenarios import world

from fialloc.currency_scenarios import MultiCurrencyG2


def test_the_law_is_kept_per_horizons_read_only_and_equal_to_a_fresh_one() -> None:
    m = MultiCurrencyG2(world(3))
    horizons = np.arange(1.0, 6.0)
    mean, covariance = m.state_law(horizons)
    again = m.state_law(list(horizons))
    assert again[0] is mean
    assert again[1] is covariance
    with pytest.raises(ValueError, match="read-only"):
        mean[0, 0] = 1.0
    fresh_mean, fresh_covariance = MultiCurrencyG2(world(3)).state_law(horizons)
    assert np.array_equal(mean, fresh_mean)
    assert np.array_equal(covariance, fresh_covariance)
    other, _ = m.state_law([2.0, 4.0])
    assert np.array_equal(other, mean[[1, 3]])
