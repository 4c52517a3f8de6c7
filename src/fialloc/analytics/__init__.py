"""Building blocks below the desks, shared by the desks, the optimizer, the plan and the pipeline.

The typed context the desks read (:mod:`~fialloc.analytics.context`); factor regressions
(:mod:`~fialloc.analytics.regression`); skill statistics (:mod:`~fialloc.analytics.skill`);
style drift (:mod:`~fialloc.analytics.drift`); key-rate gaps
(:mod:`~fialloc.analytics.duration_gaps`); curve shape
(:mod:`~fialloc.analytics.curve_shape`); liquidity costs
(:mod:`~fialloc.analytics.liquidity_costs`); and the attribution arithmetic: holdings
revaluation, Campisi and Brinson effects, Carino/Menchero linking
(:mod:`~fialloc.holdings_revaluation`, :mod:`~fialloc.analytics.campisi`,
:mod:`~fialloc.analytics.allocation_effects`, :mod:`~fialloc.analytics.linking`,
:mod:`~fialloc.analytics.holdings_attribution`). Nothing here imports :mod:`fialloc.desks`.
"""
