"""The analysis desks: duration, credit, curve, liquidity and performance attribution."""
