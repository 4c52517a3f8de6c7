"""Type stubs for the compiled core (private; use fialloc's public modules)."""

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]

__version__: str

class ConvergenceError(RuntimeError): ...

def discount_factors(
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    spread_knots: _F,
    spread_values: _F,
    t: _F,
) -> _F: ...
def zero_rates(
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    spread_knots: _F,
    spread_values: _F,
    t: _F,
) -> _F: ...
def forward_rates(
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    spread_knots: _F,
    spread_values: _F,
    t: _F,
) -> _F: ...
def bootstrap_curve(
    offsets: _I, times: _F, amounts: _F, targets: _F, interpolation: int
) -> tuple[_F, _F, int]: ...
def price_streams(
    offsets: _I,
    times: _F,
    amounts: _F,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    spread_knots: _F,
    spread_values: _F,
    z_spreads: _F,
) -> _F: ...
def z_spreads_from_prices(
    offsets: _I,
    times: _F,
    amounts: _F,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    spread_knots: _F,
    spread_values: _F,
    prices: _F,
) -> _F: ...
def prices_from_yields(offsets: _I, times: _F, amounts: _F, freq: _F, yields: _F) -> _F: ...
def yields_from_prices(offsets: _I, times: _F, amounts: _F, freq: _F, prices: _F) -> _F: ...
def yield_risk(offsets: _I, times: _F, amounts: _F, freq: _F, yields: _F) -> tuple[_F, _F, _F]: ...
def curve_risk(
    offsets: _I,
    times: _F,
    amounts: _F,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    spread_knots: _F,
    spread_values: _F,
    z_spreads: _F,
    key_tenors: _F,
    bump: float,
) -> tuple[_F, _F, _F, _F, _F]: ...
