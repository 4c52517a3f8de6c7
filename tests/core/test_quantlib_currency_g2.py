"""Each economy's zero bonds on the multi-currency paths against QuantLib's G2 on its curve."""

import numpy as np
import pytest
from test_currency_scenarios import VD, world

from fialloc.currency_scenarios import MultiCurrencyG2

qlh = pytest.importorskip("quantlib_helpers")
ql = qlh.ql

pytestmark = pytest.mark.reference


@pytest.mark.parametrize("seed", range(3))
def test_zero_bonds_per_economy_match_quantlib(seed):
    model = MultiCurrencyG2(world(seed))
    paths = model.simulate(6, [0.5, 3.0, 12.0], seed=seed)
    qlh.set_evaluation_date(VD)
    for e in model.economies:
        handle = qlh.discount_curve(e.curve, VD)
        if len(e.curve.spread_knots):  # a real curve: the nominal one less a flat breakeven
            assert len(e.curve.spread_knots) == 1
            handle = qlh.spreaded(handle, float(e.curve.spread_values[0]))
        reference = ql.G2(handle, *e.params)
        own = paths.economy(e.name)
        for k, t in enumerate(own.times):
            maturities = t + np.array([0.25, 1.0, 5.0, 17.3, 35.0])
            ours = model.model(e.name).zero_bond(t, maturities, own.x[:, k], own.y[:, k])
            theirs = np.array(
                [
                    [
                        reference.discountBond(float(t), float(m), ql.Array([float(a), float(b)]))
                        for m in maturities
                    ]
                    for a, b in zip(own.x[:, k], own.y[:, k], strict=True)
                ]
            )
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0, err_msg=e.name)
