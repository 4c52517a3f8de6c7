"""Type stubs for the compiled core (private; use fialloc's public modules)."""

import numpy as np
import numpy.typing as npt

from fialloc import errors

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]

__version__: str

class ConvergenceError(errors.ConvergenceError): ...

def discount_factors(
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    t: _F,
) -> _F: ...
def zero_rates(
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    t: _F,
) -> _F: ...
def forward_rates(
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    t: _F,
) -> _F: ...
def bootstrap_curve(
    offsets: _I, times: _F, amounts: _F, targets: _F, interpolation: int
) -> tuple[_F, _F, int]: ...
def bootstrap_quotes(
    valuation: int,
    maturities: _I,
    frequencies: _I,
    day_counts: _I,
    rates: _F,
    interpolation: int,
) -> tuple[_I, _F, _F, _F, _F, _F]: ...
def instrument_flows(
    valuation: int, maturities: _I, frequencies: _I, day_counts: _I
) -> tuple[_I, _F, _F, _F]: ...
def price_streams(
    offsets: _I,
    times: _F,
    amounts: _F,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    z_spreads: _F,
) -> _F: ...
def exp_values(x: _F, isa: str = ...) -> _F: ...
def exp_isa() -> str: ...
def price_kernel_isa() -> str: ...
def z_spreads_from_prices(
    offsets: _I,
    times: _F,
    amounts: _F,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
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
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    z_spreads: _F,
    key_tenors: _F,
    bump: float,
) -> tuple[_F, _F, _F, _F, _F]: ...

class G2Revaluation:
    def __init__(
        self,
        a: float,
        sigma: float,
        b: float,
        eta: float,
        rho: float,
        offsets: _I,
        times: _F,
        amounts: _F,
        log_df_flows: _F,
        z_spreads: _F,
        horizons: _F,
        log_df_h: _F,
        holder_offsets: _I,
        holder_streams: _I,
        holder_units: _F,
        groups: _I,
        n_groups: int,
    ) -> None: ...
    def revalue(self, x: _F, y: _F, spread_moves: _F, threads: int) -> _F: ...

class FlowBook:
    def __init__(self, offsets: _I, times: _F, amounts: _F) -> None: ...
    def price(
        self,
        pillar_times: _F,
        log_dfs: _F,
        interpolation: int,
        extrapolation: int,
        spread_knots: _F,
        spread_values: _F,
        z_spreads: _F,
    ) -> _F: ...
    def curve_risk(
        self,
        pillar_times: _F,
        log_dfs: _F,
        interpolation: int,
        extrapolation: int,
        spread_knots: _F,
        spread_values: _F,
        z_spreads: _F,
        key_tenors: _F,
        bump: float,
    ) -> tuple[_F, _F, _F, _F, _F]: ...
    def prices_from_yields(self, freq: _F, yields: _F) -> _F: ...
    def yields_from_prices(self, freq: _F, prices: _F) -> _F: ...
    def yield_risk(self, freq: _F, yields: _F) -> tuple[_F, _F, _F]: ...

def g2_swaption_prices(
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    expiry: _F,
    log_df_expiry: _F,
    offsets: _I,
    pay_times: _F,
    accruals: _F,
    log_df_pay: _F,
    strike: _F,
    gradient: bool,
    range: float = 8.0,
    intervals: int = 64,
) -> tuple[_F, _F]: ...
def simulate_g2(
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    times: _F,
    log_dfs: _F,
    first_path: int,
    n_paths: int,
    seed: int,
    antithetic: bool,
    threads: int,
) -> tuple[_F, _F, _F]: ...
def simulate_g2_multi(
    params: _F,
    times: _F,
    log_dfs: _F,
    parents: _I,
    link_spots: _F,
    link_vols: _F,
    correlation: _F,
    first_path: int,
    n_paths: int,
    seed: int,
    threads: int,
) -> tuple[list[_F], list[_F], list[_F], list[_F]]: ...
def g2_zero_bonds(
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    t: float,
    log_df_t: float,
    maturities: _F,
    log_df_T: _F,
    x: _F,
    y: _F,
) -> _F: ...
def g2_revalue(
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    offsets: _I,
    times: _F,
    amounts: _F,
    log_df_flows: _F,
    z_spreads: _F,
    horizons: _F,
    log_df_h: _F,
    x: _F,
    y: _F,
    holder_offsets: _I,
    holder_streams: _I,
    holder_units: _F,
    groups: _I,
    spread_moves: _F,
    threads: int,
) -> _F: ...
def bank_monthly_cash(
    weights: list[_F], cashes: list[_F], n_paths: int, holders: int, cols: _I
) -> _F: ...
def g2_factor_normals(
    seed: int,
    first_path: int,
    n_paths: int,
    n_steps: int,
    n_factors: int,
    antithetic: bool,
    first_stream: int = 16,
) -> _F: ...
def g2_swaption(
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    expiry: float,
    log_df_expiry: float,
    pay_times: _F,
    accruals: _F,
    log_df_pay: _F,
    strike: float,
    payer: bool,
    range: float = 8.0,
    intervals: int = 64,
) -> float: ...
def hw_lattice_prices(
    a: float,
    sigma: float,
    offsets: _I,
    times: _F,
    amounts: _F,
    exercise_offsets: _I,
    exercise_times: _F,
    exercise_prices: _F,
    exercise_kinds: _I,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    spreads: _F,
    steps: _I,
    threads: int = 0,
) -> _F: ...
def hw_lattice_spreads(
    a: float,
    sigma: float,
    offsets: _I,
    times: _F,
    amounts: _F,
    exercise_offsets: _I,
    exercise_times: _F,
    exercise_prices: _F,
    exercise_kinds: _I,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    prices: _F,
    steps: _I,
    threads: int = 0,
) -> _F: ...
def hw_lattice_prices_on_curves(
    a: float,
    sigma: float,
    offsets: _I,
    times: _F,
    amounts: _F,
    exercise_offsets: _I,
    exercise_times: _F,
    exercise_prices: _F,
    exercise_kinds: _I,
    pillar_times: _F,
    log_dfs: _F,
    interpolation: int,
    extrapolation: int,
    spread_knots: _F,
    spread_values: _F,
    knots: _F,
    bumps: _F,
    spreads: _F,
    steps: _I,
    threads: int = 0,
) -> _F: ...
def mbs_mortgage_rates(
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    times: _F,
    log_df_t: _F,
    log_df_t_tenor: _F,
    x: _F,
    y: _F,
    tenor: float,
    spread: float,
) -> _F: ...
def mbs_path_values(
    wac: _F,
    net_coupon: _F,
    wam: _I,
    age: _I,
    factor: _F,
    kind: _I,
    speed: _F,
    model: list[float],
    seasonality: list[float],
    calendar_month: int,
    a: float,
    sigma: float,
    b: float,
    eta: float,
    rho: float,
    log_df: _F,
    log_df_tenor: _F,
    tenor: float,
    mortgage_spread: float,
    x: _F,
    y: _F,
    bank: _F,
    horizon_months: _I,
    spread: _F,
    realized: bool,
    threads: int,
) -> tuple[_F, _F, _F, _F]: ...
def mbs_value(
    wac: _F,
    net_coupon: _F,
    wam: _I,
    age: _I,
    factor: _F,
    kind: _I,
    speed: _F,
    model: list[float],
    seasonality: list[float],
    calendar_month: int,
    discount: _F,
    mortgage_rate: _F,
    target: _F,
    solve: bool,
    antithetic: bool,
    threads: int,
) -> tuple[_F, _F, _F, _F, _F]: ...
