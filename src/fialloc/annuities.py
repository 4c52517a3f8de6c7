"""Liabilities that behave: annuity blocks with dynamic lapse and longevity, per rate path.

A block (a row of the ``liability_products`` table) is a group of like policies:

- ``fixed_annuity``: an account value credited at a fixed rate until a term end, when what is
  left is paid out; on death the account value is paid; policyholders surrender, net of a
  surrender charge that runs off linearly, at a rate that rises with the gap between the
  market rate and the credited rate (:class:`LapseCurve`);
- ``payout_annuity``: a level annual payment to every annuitant alive, for life.

Events fall on policy anniversaries: the block's ``next_anniversary`` and every year after.
At anniversary ``k`` (time ``t_k`` in Act/365F years, ``t_0 = 0``) with ``n_{k-1}`` in force:

1. deaths over the year: ``q_k = 1 - (1 - q(x_k, k))^(t_k - t_{k-1})`` with
   ``q(x, k) = scale * qx(x) * (1 - improvement(x))^k`` at attained age ``x_k = age + k - 1``
   (``qx = 1`` beyond the table's last age); a fixed annuity pays ``n_{k-1} q_k AV_k``;
2. the account grows ``AV_k = AV_{k-1} (1 + c)^(t_k - t_{k-1})``;
3. survivors ``m_k = n_{k-1} (1 - q_k)``; a payout annuity pays ``m_k P``; a fixed annuity
   at its term end pays ``m_k AV_k`` and ends; before it, a share
   ``l_k = min(1, base_lapse * S(r_k - c))`` surrenders and is paid
   ``m_k l_k AV_k (1 - SC_k)``, ``SC_k = sc * max(0, 1 - t_k / sc_years)``;
4. ``n_k = m_k (1 - l_k)``.

``r_k`` is the market rate at ``t_k``: the :data:`MARKET_TENOR`-year zero rate on the path
(continuous), or today's forward of it for the deterministic projection that joins the fixed
liability flows in the static stream (:func:`expected_flows`). Stresses: ``mass lapse`` (the
Solvency II shock: 40% of fixed-annuity policies surrender at once, paid today net of the
surrender charge) and ``longevity`` (mortality rates 20% lower at every age, for good).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fialloc.bonds import CashflowStream
from fialloc.curves import Curve
from fialloc.layout import FloatArray
from fialloc.schedule import act365, add_months, to_date

if TYPE_CHECKING:  # the scenario module reads the data package, which reads this one
    from fialloc.scenarios import G2pp

__all__ = [
    "LONGEVITY_SCALE",
    "MARKET_TENOR",
    "MASS_LAPSE",
    "AnnuityBlocks",
    "BehaviourRisk",
    "LapseCurve",
    "MortalityTable",
    "behaviour_risk",
    "expected_flows",
    "forward_market_rates",
    "mass_lapse_cash_call",
    "project",
]

PRODUCT_KINDS: Final = ("fixed_annuity", "payout_annuity")
#: The market rate policyholders compare their credited rate with: this tenor's zero rate.
MARKET_TENOR: Final = 5.0
#: Solvency II mass lapse shock: share of fixed-annuity policies surrendering at once.
MASS_LAPSE: Final = 0.40
#: Longevity stress: mortality rates times this at every age (Solvency II: -20%).
LONGEVITY_SCALE: Final = 0.80
#: Oldest attained age projected: everyone alive dies within the year after it.
MAX_AGE: Final = 120


@dataclass(frozen=True)
class LapseCurve:
    """Dynamic lapse multiple: an S-curve of the market rate less the credited rate.

    ``S(s) = low + (high - low) / (1 + exp(-(s - midpoint) / width))`` multiplies a block's
    base lapse rate; `s`, `midpoint` and `width` are decimals. The defaults give about 0.75
    when the credited rate matches the market, 2.25 at a 1.5% gap and near 4 beyond 3%.
    """

    low: float = 0.5
    high: float = 4.0
    midpoint: float = 0.015
    width: float = 0.005

    def __post_init__(self) -> None:
        ok = (
            np.isfinite([self.low, self.high, self.midpoint, self.width]).all()
            and 0 <= self.low <= self.high
            and self.width > 0
        )
        if not ok:
            msg = f"LapseCurve: need 0 <= low <= high and width > 0, got {self}"
            raise ValueError(msg)

    def multiple(self, spread: npt.ArrayLike) -> FloatArray:
        """Return the base lapse multiple at `spread` (market less credited rate, decimal)."""
        s = np.asarray(spread, dtype=np.float64)
        return np.asarray(
            self.low + (self.high - self.low) / (1.0 + np.exp(-(s - self.midpoint) / self.width)),
            dtype=np.float64,
        )


@dataclass(frozen=True)
class MortalityTable:
    """Annual mortality rates by age with an annual improvement rate.

    Parameters
    ----------
    ages : array of int
        Consecutive ages.
    qx : array
        Probability of dying within the year at each age (decimal, in [0, 1]).
    improvement : array
        Annual rate at which each age's mortality falls (decimal; 0.01 is 1% a year).
    """

    ages: npt.NDArray[np.int64]
    qx: FloatArray
    improvement: FloatArray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, file: str = "mortality") -> MortalityTable:
        """Build from a table with columns ``age``, ``qx`` and optional ``improvement``.

        Raises
        ------
        ValueError
            If the ages are not consecutive or a rate is outside [0, 1].
        """
        table = frame.sort_values("age")
        ages = table["age"].to_numpy(dtype=np.int64)
        if len(ages) == 0 or np.any(np.diff(ages) != 1):
            msg = f"{file}, column age: ages must be consecutive, one row each"
            raise ValueError(msg)
        qx = table["qx"].to_numpy(dtype=np.float64)
        imp = (
            table["improvement"].fillna(0.0).to_numpy(dtype=np.float64)
            if "improvement" in table.columns
            else np.zeros(len(ages))
        )
        for name, values in (("qx", qx), ("improvement", imp)):
            bad = np.flatnonzero(~((values >= 0) & (values <= 1)))
            if len(bad):
                msg = f"{file}, age {ages[bad[0]]}, column {name}: {values[bad[0]]} not in [0, 1]"
                raise ValueError(msg)
        return cls(ages, qx, imp)

    def rates(self, age: npt.ArrayLike, years: npt.ArrayLike, scale: float = 1.0) -> FloatArray:
        """Mortality at attained `age` after `years` of improvement, times `scale`.

        Ages below the table take its first age's rate; beyond its last, 1.
        """
        a = np.asarray(age, dtype=np.int64)
        idx = np.clip(a - self.ages[0], 0, len(self.ages) - 1)
        q = scale * self.qx[idx] * (1.0 - self.improvement[idx]) ** np.asarray(years)
        return np.asarray(np.where(a > self.ages[-1], 1.0, np.minimum(q, 1.0)), dtype=np.float64)


@dataclass(frozen=True)
class AnnuityBlocks:
    """Validated annuity blocks (rows of ``liability_products``) as arrays.

    Attributes
    ----------
    ids : Index
        ``product_id`` per block.
    fixed : ndarray of bool
        Fixed annuity (True) or payout annuity (False).
    age : ndarray of int
        Attained age at the valuation date.
    account_value, annual_payment : ndarray
        Money (0 where the kind has none).
    credited_rate, surrender_charge, base_lapse : ndarray
        Decimals (0 for payout annuities).
    surrender_years, term_years : ndarray
        Years from the valuation date (term: inf for payout annuities).
    first : ndarray
        Years to the next anniversary, in (0, 1].
    """

    ids: pd.Index
    fixed: npt.NDArray[np.bool_]
    age: npt.NDArray[np.int64]
    account_value: FloatArray
    annual_payment: FloatArray
    credited_rate: FloatArray
    surrender_charge: FloatArray
    surrender_years: FloatArray
    base_lapse: FloatArray
    term_years: FloatArray
    first: FloatArray
    valuation_date: dt.date

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, valuation_date: object, file: str = "liability_products"
    ) -> AnnuityBlocks:
        """Build from a ``liability_products`` table (see its schema for the columns).

        Raises
        ------
        ValueError
            Naming the row and column: a fixed annuity without an account value, credited
            rate or term, a payout annuity without a payment, an anniversary not within a year
            after the valuation date.
        """
        vd = to_date(valuation_date, f"{file}: valuation_date")
        n = len(frame)

        def col(name: str) -> FloatArray:
            if name not in frame.columns:
                return np.full(n, np.nan)
            return np.asarray(pd.to_numeric(frame[name], errors="coerce"), dtype=np.float64)

        kind = frame["kind"].astype(str).to_numpy()
        fixed = kind == "fixed_annuity"
        for row, k in enumerate(kind):
            if k not in PRODUCT_KINDS:
                msg = f"{file}, row {row}, column kind: {k!r}; expected one of {PRODUCT_KINDS}"
                raise ValueError(msg)
        needs = {
            "account_value": fixed,
            "credited_rate": fixed,
            "term_years": fixed,
            "annual_payment": ~fixed,
        }
        values = {name: col(name) for name in (*needs, "surrender_charge", "surrender_years")}
        for name, rows in needs.items():
            bad = np.flatnonzero(rows & ~np.isfinite(values[name]))
            if len(bad):
                what = kind[bad[0]].replace("_", " ")
                msg = f"{file}, row {bad[0]}, column {name}: a {what} needs a value"
                raise ValueError(msg)
        first = np.array(
            [
                act365(vd, to_date(d, f"{file}, row {r}, column next_anniversary"))
                for r, d in enumerate(frame["next_anniversary"])
            ]
        )
        bad = np.flatnonzero(~((first > 0) & (first <= 366 / 365)))
        if len(bad):
            msg = (
                f"{file}, row {bad[0]}, column next_anniversary: must fall within a year after "
                f"the valuation date {vd}"
            )
            raise ValueError(msg)
        lapse = col("base_lapse")
        return cls(
            ids=pd.Index(frame["product_id"].astype(str), name="product_id"),
            fixed=fixed,
            age=frame["age"].to_numpy(dtype=np.int64),
            account_value=np.where(fixed, values["account_value"], 0.0),
            annual_payment=np.where(fixed, 0.0, values["annual_payment"]),
            credited_rate=np.where(fixed, values["credited_rate"], 0.0),
            surrender_charge=np.where(fixed, np.nan_to_num(values["surrender_charge"]), 0.0),
            surrender_years=np.where(fixed, np.nan_to_num(values["surrender_years"]), 0.0),
            base_lapse=np.where(fixed, np.nan_to_num(lapse, nan=0.05), 0.0),
            term_years=np.where(fixed, values["term_years"], np.inf),
            first=first,
            valuation_date=vd,
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def horizon(self) -> int:
        """Number of anniversaries any block can reach (to the term end or age 121)."""
        years = np.where(
            self.fixed,
            np.ceil(self.term_years - self.first + 1e-9) + 1,
            MAX_AGE + 1 - self.age + 1,
        )
        return int(max(years.max(initial=1), 1))

    def anniversaries(self) -> FloatArray:
        """Anniversary times (years): blocks x :attr:`horizon`."""
        return self.first[:, None] + np.arange(self.horizon)[None, :]

    def surrender_charge_at(self, t: FloatArray) -> FloatArray:
        """Surrender charge (decimal of the account value) at times `t` (blocks x times)."""
        years = np.where(self.surrender_years > 0, self.surrender_years, 1.0)[:, None]
        run_off = np.clip(1.0 - t / years, 0.0, 1.0) * (self.surrender_years[:, None] > 0)
        return np.asarray(self.surrender_charge[:, None] * run_off, dtype=np.float64)


def project(
    blocks: AnnuityBlocks,
    mortality: MortalityTable,
    market_rates: npt.ArrayLike,
    lapse: LapseCurve | None = None,
    *,
    mortality_scale: float = 1.0,
    mass_lapse: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Cash flows of every block on every path (money), by anniversary.

    Parameters
    ----------
    blocks, mortality : AnnuityBlocks, MortalityTable
        The policies and their mortality.
    market_rates : array
        The market rate (decimal) at each anniversary: paths x blocks x horizon, or blocks x
        horizon for one path.
    lapse : LapseCurve, optional
        Dynamic lapse (default :class:`LapseCurve`).
    mortality_scale : float
        Multiplies every mortality rate (the longevity stress uses 0.8).
    mass_lapse : float
        Share of fixed-annuity policies that surrender at the valuation date.

    Returns
    -------
    (flows, today)
        ``flows``: paths x blocks x horizon, paid at :meth:`AnnuityBlocks.anniversaries`;
        ``today``: per block, the mass-lapse surrenders paid at the valuation date.
    """
    curve_s = LapseCurve() if lapse is None else lapse
    r = np.asarray(market_rates, dtype=np.float64)
    r = r[None] if r.ndim == 2 else r
    times = blocks.anniversaries()
    if r.shape[1:] != times.shape:
        msg = f"project: market rates {r.shape[1:]} per path, need blocks x horizon {times.shape}"
        raise ValueError(msg)
    if not (0 <= mass_lapse <= 1 and np.isfinite(mortality_scale) and mortality_scale >= 0):
        msg = "project: mass_lapse must be in [0, 1] and mortality_scale non-negative"
        raise ValueError(msg)
    shocked = mass_lapse * blocks.fixed
    today = (
        shocked * blocks.account_value * (1.0 - blocks.surrender_charge_at(np.zeros((1,)))[:, 0])
    )
    n_paths, n_blocks, horizon = r.shape
    flows = np.zeros((n_paths, n_blocks, horizon))
    in_force = np.broadcast_to(1.0 - shocked, (n_paths, n_blocks)).copy()
    account = blocks.account_value.copy()
    charge = blocks.surrender_charge_at(times)
    prev = np.zeros(n_blocks)
    for k in range(horizon):
        t = times[:, k]
        dt_k = t - prev
        q_year = mortality.rates(blocks.age + k, k, mortality_scale)
        q = 1.0 - (1.0 - q_year) ** dt_k
        account = account * (1.0 + blocks.credited_rate) ** dt_k
        # A fixed annuity ends at the first anniversary on or after its term.
        alive = blocks.fixed & (t - 1.0 < blocks.term_years - 1e-9)
        ending = alive & (t >= blocks.term_years - 1e-9)
        deaths = in_force * q
        survivors = in_force - deaths
        paid = np.where(blocks.fixed, deaths * account, 0.0)
        paid = paid + np.where(blocks.fixed, 0.0, survivors * blocks.annual_payment)
        paid = paid + np.where(ending, survivors * account, 0.0)
        rate = np.minimum(
            1.0, blocks.base_lapse * curve_s.multiple(r[:, :, k] - blocks.credited_rate)
        )
        rate = np.where(alive & ~ending, rate, 0.0)
        paid = paid + survivors * rate * account * (1.0 - charge[:, k])
        flows[:, :, k] = np.where(blocks.fixed & ~alive, 0.0, paid)
        in_force = np.where(ending | (blocks.fixed & ~alive), 0.0, survivors * (1.0 - rate))
        prev = t
    return flows, today


def forward_market_rates(blocks: AnnuityBlocks, curve: Curve) -> FloatArray:
    """Today's forward of the :data:`MARKET_TENOR`-year zero rate at every anniversary."""
    t = blocks.anniversaries()
    log_p = np.log(np.asarray(curve.discount(t.ravel()), dtype=np.float64))
    log_q = np.log(np.asarray(curve.discount(t.ravel() + MARKET_TENOR), dtype=np.float64))
    return ((log_p - log_q) / MARKET_TENOR).reshape(t.shape)


def expected_flows(
    blocks: AnnuityBlocks,
    mortality: MortalityTable,
    curve: Curve,
    lapse: LapseCurve | None = None,
) -> pd.DataFrame:
    """Project the blocks' flows on today's forward market rates, by payment date.

    These join the fixed liability flows in the static liability stream (key-rate gaps, the
    optimizer, stresses); :func:`behaviour_risk` values the same blocks path by path.

    Returns
    -------
    DataFrame
        Columns ``date`` and ``amount`` (money), one row per date with a payment.
    """
    flows, _ = project(blocks, mortality, forward_market_rates(blocks, curve), lapse)
    vd = blocks.valuation_date
    first_dates = [vd + dt.timedelta(days=round(f * 365)) for f in blocks.first]
    rows: dict[dt.date, float] = {}
    for b, start in enumerate(first_dates):
        for k in np.flatnonzero(flows[0, b] != 0):
            d = add_months(start, 12 * int(k))
            rows[d] = rows.get(d, 0.0) + float(flows[0, b, k])
    dates = sorted(rows)
    return pd.DataFrame({"date": dates, "amount": [rows[d] for d in dates]})


def mass_lapse_cash_call(blocks: AnnuityBlocks) -> float:
    """Cash paid today if :data:`MASS_LAPSE` of fixed-annuity policies surrender (money)."""
    charge = blocks.surrender_charge_at(np.zeros(1))[:, 0]
    return float(np.sum(MASS_LAPSE * blocks.fixed * blocks.account_value * (1.0 - charge)))


@dataclass(frozen=True)
class BehaviourRisk:
    """Value and rate risk of liabilities whose annuity blocks behave on every path.

    ``value`` is the fixed flows' present value plus the blocks' mean path value (money),
    with ``value_se`` its Monte Carlo standard error; ``effective_duration`` (years) and
    ``effective_convexity`` (years squared) come from parallel zero-rate shifts of
    ``bump_bp`` with the same paths (common random numbers), so lapses respond to the move.
    ``stresses`` gives the value under ``base``, ``mass_lapse`` and ``longevity`` and the
    change from base (money), each with its standard error.
    """

    value: float
    value_se: float
    effective_duration: float
    effective_convexity: float
    static_duration: float
    static_convexity: float
    stresses: pd.DataFrame
    n_paths: int
    bump_bp: float


def _path_rates(
    blocks: AnnuityBlocks, model: G2pp, n_paths: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Per path, at each block's anniversaries: the market rate (decimal) and the discount.

    Both paths x blocks x horizon, from `n_paths` antithetic G2++ paths seeded by `seed`.
    """
    times = blocks.anniversaries()
    grid = np.unique(times.ravel())
    paths = model.simulate(n_paths, grid, seed=seed, antithetic=True)
    col = np.searchsorted(grid, times)
    rates = np.empty((n_paths, *times.shape))
    for j, t in enumerate(grid):
        where = col == j
        bond = model.zero_bond(float(t), [float(t) + MARKET_TENOR], paths.x[:, j], paths.y[:, j])
        rates[:, where] = (-np.log(bond[:, 0]) / MARKET_TENOR)[:, None]
    return rates, paths.discount[:, col]


def _path_values(
    blocks: AnnuityBlocks,
    mortality: MortalityTable,
    rates: FloatArray,
    discount: FloatArray,
    lapse: LapseCurve | None,
    **stress: float,
) -> FloatArray:
    """Per path: the blocks' flows discounted on the path (money), plus today's payments.

    `rates` and `discount` as :func:`_path_rates` gives them.
    """
    flows, today = project(blocks, mortality, rates, lapse, **stress)
    return np.asarray((flows * discount).sum(axis=(1, 2)) + today.sum(), dtype=np.float64)


def behaviour_risk(
    blocks: AnnuityBlocks,
    mortality: MortalityTable,
    fixed: CashflowStream | None,
    model: G2pp,
    *,
    lapse: LapseCurve | None = None,
    n_paths: int = 2000,
    seed: int = 0,
    bump_bp: float = 25.0,
) -> BehaviourRisk:
    """Value, effective duration and convexity of the liabilities including behaviour.

    Parameters
    ----------
    blocks, mortality : AnnuityBlocks, MortalityTable
        The behaving liabilities.
    fixed : CashflowStream or None
        The fixed liability flows, valued off the curve (no behaviour).
    model : G2pp
        The scenario model; shifted curves keep its parameters.
    n_paths, seed : int
        Antithetic G2++ paths (annual grid at the anniversaries), the same for every shift.
    bump_bp : float
        Parallel zero-rate shift (basis points).
    """
    if not (np.isfinite(bump_bp) and 0 < bump_bp < 1000):
        msg = f"behaviour_risk: `bump_bp` must be in (0, 1000) basis points, got {bump_bp}"
        raise ValueError(msg)

    def fixed_value(curve: Curve) -> float:
        return 0.0 if fixed is None else fixed.present_value(curve)

    def scenario(shift: float) -> tuple[FloatArray, FloatArray, float]:
        # The paths' rates and discount factors on the shifted curve, the fixed flows' value.
        curve = model.curve.shifted(shift) if shift else model.curve
        rates, discount = _path_rates(blocks, type(model)(curve, *model.params), n_paths, seed)
        return rates, discount, fixed_value(curve)

    def value(
        at: tuple[FloatArray, FloatArray, float], **stress: float
    ) -> tuple[FloatArray, float]:
        rates, discount, fixed_pv = at
        return _path_values(blocks, mortality, rates, discount, lapse, **stress), fixed_pv

    def pair_se(v: FloatArray) -> float:
        # Antithetic pairs are the independent draws.
        pairs = v.reshape(-1, 2).mean(axis=1) if len(v) % 2 == 0 else v
        return float(pairs.std(ddof=1) / np.sqrt(len(pairs)))

    # The stresses below run on today's paths too: simulated once, not for each stress.
    today = scenario(0.0)
    base, f0 = value(today)
    down, f_down = value(scenario(-bump_bp))
    up, f_up = value(scenario(bump_bp))
    v0, vd_, vu = base.mean() + f0, down.mean() + f_down, up.mean() + f_up
    dy = bump_bp * 1e-4
    rows = []
    for name, stress in (
        ("base", {}),
        ("mass_lapse", {"mass_lapse": MASS_LAPSE}),
        ("longevity", {"mortality_scale": LONGEVITY_SCALE}),
    ):
        v, f = (base, f0) if not stress else value(today, **stress)
        rows.append(
            {
                "stress": name,
                "value": float(v.mean() + f),
                "value_se": pair_se(v),
                "change": float(v.mean() - base.mean()),
                "change_se": pair_se(v - base),
            }
        )
    static = _static_risk(blocks, mortality, fixed, model.curve, lapse, dy)
    return BehaviourRisk(
        value=float(v0),
        value_se=pair_se(base),
        effective_duration=float((vd_ - vu) / (2 * v0 * dy)),
        effective_convexity=float((vd_ + vu - 2 * v0) / (v0 * dy * dy)),
        static_duration=static[0],
        static_convexity=static[1],
        stresses=pd.DataFrame(rows).set_index("stress"),
        n_paths=n_paths,
        bump_bp=bump_bp,
    )


def _static_risk(
    blocks: AnnuityBlocks,
    mortality: MortalityTable,
    fixed: CashflowStream | None,
    curve: Curve,
    lapse: LapseCurve | None,
    dy: float,
) -> tuple[float, float]:
    """Duration and convexity of today's expected flows held fixed (no behaviour)."""
    flows = expected_flows(blocks, mortality, curve, lapse)
    stream = CashflowStream.from_frame(flows, blocks.valuation_date)
    values = []
    for shift in (0.0, -dy * 1e4, dy * 1e4):
        c = curve.shifted(shift) if shift else curve
        values.append(stream.present_value(c) + (0.0 if fixed is None else fixed.present_value(c)))
    v0, vd_, vu = values
    return (vd_ - vu) / (2 * v0 * dy), (vd_ + vu - 2 * v0) / (v0 * dy * dy)
