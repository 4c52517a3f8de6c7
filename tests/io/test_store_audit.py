"""A run folder audited alone: constraints, tracking error and path statistics from its files.

Everything below reads only the folder (Parquet tables, ``results.json`` and the manifest) and
recomputes with numpy and the standard library, independently of fialloc's code: with the
duration overlay on (its positions, exposures, carry and margins enter the limits, and its own
limits are checked) and with manager weights only.
"""

import dataclasses
import json
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import fialloc.data as data
from fialloc import pipeline, store
from fialloc.data.demo import DEMO_VALUATION, synthetic_tables
from fialloc.results import build_response

N01 = NormalDist()
#: The path statistics the audit recomputes: kind and level (see fialloc.mc_estimators).
STATS = {"mean": ("mean", None), "p05": ("quantile", 0.05), "median": ("quantile", 0.5),
         "shortfall_probability": ("below_zero", None),
         "expected_shortfall_95": ("expected_shortfall", 0.05)}  # fmt: skip


@pytest.fixture(scope="module")
def book():
    return data.synthetic(12, 400, seed=5)


@pytest.fixture(scope="module", params=["overlay", "weights only", "global sleeve"])
def folder(request, tmp_path_factory, book):
    # A book other than the demo, and a mandate with an exit, so that every limit is exercised;
    # with the duration overlay (the default) and without it; and the same book with a global
    # manager's EUR, GBP, JPY and CAD sovereigns, whose run's control variates include every
    # economy's states.
    if request.param == "global sleeve":
        tables, _ = synthetic_tables(12, 400, 5, global_sleeve=True)
        book = data.from_tables(tables, DEMO_VALUATION, {"min_allocation": 0.01})
    smallest = str(book.current_weights.idxmin())
    overlay = book.mandate.overlay
    if request.param == "weights only":
        overlay = overlay.model_copy(
            update={"swap_notional": 0.0, "futures_notional": 0.0, "strips": 0.0}
        )
    portfolio = dataclasses.replace(
        book,
        mandate=book.mandate.model_copy(update={"exit_managers": (smallest,), "overlay": overlay}),
    )
    result = pipeline.run(portfolio, n_paths=400, scenario_seed=9, horizons=4, frontier_points=3)
    assert (result.allocation.overlay is None) == (request.param == "weights only")
    root = tmp_path_factory.mktemp("audit")
    record = store.write_run(str(root), result, build_response(result), source="synthetic")
    return Path(record.url)


def _table(folder, name):
    return pd.read_parquet(folder / "tables" / f"{name}.parquet")


def _overlay(folder, allocation, factors):
    """The overlay's positions and what they add, from the folder alone (None without one)."""
    if not (folder / "tables" / "overlay_units.parquet").exists():
        return None
    m = json.loads((folder / "manifest.json").read_text())["parameters"]["mandate"]["overlay"]
    t = _table(folder, "problem_overlay_instruments")
    changes = _table(folder, "problem_overlay_stress_changes").to_numpy()
    u = _table(folder, "overlay_units")[allocation].to_numpy()
    kind, funded = t["kind"].to_numpy(), t["funded"].to_numpy(dtype=bool)
    x = t.reindex(columns=factors, fill_value=0.0).to_numpy()
    rows = {
        "overlay swap notional": np.abs(u[kind == "swap"]).sum(),
        "overlay futures notional": np.abs(u[kind == "future"]).sum(),
        "overlay STRIPS": np.abs(u[kind == "strips"]).sum(),
        "overlay per instrument": np.abs(u).max(),
        "overlay STRIPS long only": u[funded].min(),
    }
    limits = {
        "overlay swap notional": m["swap_notional"],
        "overlay futures notional": m["futures_notional"],
        "overlay STRIPS": m["strips"],
        "overlay per instrument": m["per_instrument"],
        "overlay STRIPS long only": 0.0,
    }
    return {
        "exposure": x.T @ u,
        "funded": u[funded].sum(),
        "carry": t["carry"].to_numpy() @ u,
        # Initial margin on gross positions, variation margin of the worst stress.
        "margin": t["initial_margin"].to_numpy() @ np.abs(u) + max(0.0, (-(changes @ u)).max()),
        "rows": rows,
        "limits": limits,
    }


def _constraints(folder, w, allocation=None):
    """Every mandate limit at weights `w` (and the overlay of `allocation`, when the folder
    has one), from the folder's tables and manifest alone."""
    m = json.loads((folder / "manifest.json").read_text())["parameters"]["mandate"]
    pm = _table(folder, "problem_managers")
    cov = _table(folder, "problem_factor_covariance")
    liability = _table(folder, "problem_liability")["per_unit_of_value"]
    totals = _table(folder, "problem_totals").iloc[0]
    sectors = _table(folder, "problem_sectors")
    factors = list(cov.columns)
    ov = None if allocation is None else _overlay(folder, allocation, factors)
    extra = np.zeros(len(factors)) if ov is None else ov["exposure"]
    funded, carry, liquid = (0.0, 0.0, 0.0) if ov is None else (
        ov["funded"], ov["carry"], ov["funded"] - ov["margin"])  # fmt: skip
    w0 = pm["current_weight"].to_numpy()
    x = pm[factors].to_numpy()
    active = x.T @ w + extra - liability[factors].to_numpy()
    te = np.sqrt(active @ cov.to_numpy() @ active + np.sum((w * pm["residual_vol"]) ** 2))
    exits = pm.index.isin(m["exit_managers"])
    shifted = ~exits if m["exit_immediately"] else np.ones(len(w), dtype=bool)
    l1, l2a, l2b = (pm[f"hqla_{lv}"].to_numpy() @ w for lv in ("level1", "level2a", "level2b"))
    # STRIPS are Level 1 assets; margin is paid out of them.
    l1 += liquid
    # The LCR buffer with the Basel Level 2B (15%) and Level 2 (40%) cap adjustments
    adj15 = max(l2b - 15 / 85 * (l1 + l2a), l2b - 15 / 60 * l1, 0.0)
    adj40 = max(l2a + l2b - adj15 - 2 / 3 * l1, 0.0)
    values = {
        "min allocation": w[~exits].min(),
        "max allocation": w.max(),
        # STRIPS are bought with the managers' cash: that share is traded too.
        "turnover (one-way)": 0.5 * (np.abs(w - w0).sum() + funded),
        "max shift": np.abs(w - w0)[shifted].max(),
        "yield": pm["yield"].to_numpy() @ w + carry,
        "tracking error": te,
        "liquidity buffer": l1 + l2a + l2b - adj15 - adj40,
        "illiquid share": pm["illiquid_share"].to_numpy() @ w,
        "rating drift (notches)": abs(pm["notch"].to_numpy() @ (w - w0)),
        "sector overweight": (sectors.to_numpy().T @ (w - w0)).max(),
    }
    if exits.any():
        values["exited managers"] = w[exits].sum()
    # A sleeve nothing of which trades on the market can be sold or held, not bought.
    untraded = pm["tradable_share"].to_numpy() <= 0
    if untraded.any():
        values["purchases of untraded sleeves"] = max(0.0, (w - w0)[untraded].max())
    # The base currency's key rates are limited; other currencies' (krd_EUR_10y) are
    # factors of the tracking error only, as the liabilities hold none.
    keys = [f for f in factors if f.startswith("krd_") and f.removeprefix("krd_")[0].isdigit()]
    at = [factors.index(k) for k in keys]
    target = liability[keys].to_numpy() * totals["liabilities"] / totals["assets"]
    net = pm[keys].to_numpy().T @ w + extra[at]
    for key, gap in zip(keys, np.abs(net - target), strict=True):
        values[f"key-rate gap {key.removeprefix('krd_')}"] = gap
    if ov is not None:
        values.update(ov["rows"])
    return values


def test_every_constraint_and_the_tracking_error_recompute_from_the_folder(folder):
    weights = _table(folder, "weights")
    stored = _table(folder, "optimizer_constraints")
    w = weights["recommended"].to_numpy()
    values = _constraints(folder, w, "recommended")
    assert set(values) == set(stored.index)
    for name, value in values.items():
        assert value == pytest.approx(stored.loc[name, "value"], rel=1e-9, abs=1e-12), name
    # Each limit's status follows from its value, today's and the limit alone (today holds no
    # overlay).
    today = _constraints(folder, weights["current"].to_numpy())
    overlay = _overlay(folder, "recommended", list(_table(folder, "problem_factor_covariance")))
    for name, row in stored.iterrows():
        sign = 1.0 if row["sense"] == "<=" else -1.0
        now = today.get(name, 0.0)
        if name.startswith("overlay "):
            assert row["limit"] == overlay["limits"][name], name
        after, before = sign * (values[name] - row["limit"]), sign * (now - row["limit"])
        status = "met" if after <= 1e-6 else "closing" if after < before - 1e-6 else "not met"
        assert row["status"] == status, name
    strategy = json.loads((folder / "results.json").read_text())["integrated_strategy"]
    te = {"before": today["tracking error"], "after": values["tracking error"]}
    for when in ("before", "after"):
        assert te[when] == pytest.approx(strategy[f"tracking_error_{when}"], rel=1e-9)
    # The weights and the overlay's STRIPS hold the assets.
    strips = 0.0 if overlay is None else overlay["funded"]
    assert w.sum() + strips == pytest.approx(1.0, abs=1e-12)
    if overlay is not None:
        # The overlay is on, and the stored gaps are net of it.
        assert overlay["rows"]["overlay per instrument"] > 0
        gaps = _table(folder, "optimizer_gaps")
        for tenor, row in gaps.iterrows():
            assert abs(row["gap_after"]) == pytest.approx(
                values[f"key-rate gap {tenor}"], rel=1e-9, abs=1e-12
            )
        # The least-shortfall weights with their own overlay meet what they must, too.
        robust = _constraints(folder, weights["least_shortfall"].to_numpy(), "least_shortfall")
        paced = ["turnover (one-way)", "max shift"] + [r for r in stored.index if "overlay " in r]
        for name in paced:
            if name == "overlay STRIPS long only":
                assert robust[name] >= -1e-9
                continue
            limit = stored.loc[name, "limit"]
            assert robust[name] <= limit + 1e-6, name


def _influence(v, kind, a):
    """Statistic and per-path influence values (independent of fialloc.mc_estimators)."""
    if kind == "mean":
        return v.mean(), v - v.mean()
    if kind == "below_zero":
        return (v < 0).mean(), (v < 0) - (v < 0).mean()
    q = np.quantile(v, a)
    if kind == "expected_shortfall":
        t = q + np.minimum(v - q, 0) / a
        return t.mean(), t - t.mean()
    iqr = np.subtract(*np.quantile(v, [0.75, 0.25])) / 1.349
    h = 0.9 * min(v.std(ddof=1), iqr) * len(v) ** -0.2
    density = np.mean([N01.pdf(u) for u in (v - q) / h]) / h
    return q, (a - (v <= q)) / density


def _gaussian(kind, a, loc, sd):
    if kind == "mean":
        return loc
    if kind == "below_zero":
        return N01.cdf(-loc / sd)
    z = N01.inv_cdf(a)
    return loc + sd * z if kind == "quantile" else loc - sd * N01.pdf(z) / a


def test_path_statistics_and_paired_changes_recompute_from_the_folder(folder):
    surplus = _table(folder, "robustness_surplus").astype(float)
    states = _table(folder, "robustness_states").astype(float)
    covariance = _table(folder, "robustness_state_covariance")
    stored = _table(folder, "robustness_paths")
    pairs = _table(folder, "robustness_comparisons")
    checked = 0
    allocations = surplus.index.unique("allocation")
    for column in surplus.columns:
        h = float(column)
        z = states.xs(h, level="horizon").to_numpy()
        c = covariance.xs(h, level="horizon").to_numpy()
        found = {}
        for alloc in allocations:
            for stat, (value, infl) in _statistics(surplus.loc[alloc, column].to_numpy(), z, c):
                found[alloc, stat] = (value, infl)
                se = infl.std(ddof=1) / np.sqrt(len(infl))
                row = stored.loc[(alloc, h)]
                scale = abs(row["mean"])  # float32 paths keep about 7 digits of money
                assert value == pytest.approx(row[stat], abs=1e-6 * scale + 1e-3), (alloc, h, stat)
                assert se == pytest.approx(row[f"{stat}_se"], rel=1e-3, abs=1e-6), (alloc, h, stat)
                checked += 1
        for stat in STATS:
            d = found["recommended", stat][1] - found["current", stat][1]
            se = d.std(ddof=1) / np.sqrt(len(d))
            assert se == pytest.approx(
                pairs.loc[("recommended", h, stat), "se"], rel=1e-3, abs=1e-6
            ), (h, stat)
    assert checked == len(allocations) * len(STATS) * len(surplus.columns)
    # Every economy simulated has its states among the controls: three for the base, four
    # (with the log FX rate or index ratio) for each other.
    economies = json.loads((folder / "manifest.json").read_text())["parameters"]["economies"]
    assert states.shape[1] == covariance.shape[1] == 3 + 4 * (len(economies) - 1)
    assert list(states.columns[:3]) == ["x", "y", "integrated_rate"]
    assert {"current", "recommended", "least_shortfall"} <= set(allocations)


def _statistics(v, z, c):
    """Each statistic of outcomes `v` with the states `z` (covariance `c`) as controls."""
    design = np.column_stack([np.ones(len(z)), z])
    coef = np.linalg.lstsq(design, v, rcond=None)[0]
    sd = np.sqrt(coef[1:] @ c @ coef[1:])
    for stat, (kind, a) in STATS.items():
        value, infl = _influence(v, kind, a)
        sample, infl_c = _influence(design @ coef, kind, a)
        dc = infl_c - infl_c.mean()
        # No control when the prediction never crosses (e.g. never below zero).
        beta = (infl - infl.mean()) @ dc / (dc @ dc) if dc @ dc > 0 else 0.0
        value -= beta * (sample - _gaussian(kind, a, coef[0], sd))
        yield stat, (value, infl - beta * infl_c)


def test_path_statistics_with_and_without_the_overlay_recompute_from_the_folder(folder):
    # The overlay's own value on every path is stored apart from the surplus that includes
    # it: the figures of each allocation with and without its overlay, and the overlay's
    # paired effect, recompute from the folder alone.
    tables = folder / "tables"
    if not (tables / "overlay_units.parquet").exists():
        assert not (tables / "robustness_overlay.parquet").exists()
        return
    surplus = _table(folder, "robustness_surplus").astype(float)
    overlay = _table(folder, "robustness_overlay").astype(float)
    states = _table(folder, "robustness_states").astype(float)
    covariance = _table(folder, "robustness_state_covariance")
    stored = _table(folder, "robustness_paths")
    units = _table(folder, "overlay_units")
    assert set(overlay.index.unique("allocation")) == set(units.columns)
    assert list(overlay.columns) == list(surplus.columns)
    for alloc in units.columns:
        held = np.abs(units[alloc].to_numpy()).sum() > 0
        for column in surplus.columns:
            h = float(column)
            z = states.xs(h, level="horizon").to_numpy()
            c = covariance.xs(h, level="horizon").to_numpy()
            value = overlay.loc[alloc, column].to_numpy()
            # Positions held move with the rates: the G2++ states explain their value path
            # by path (swaps, futures and STRIPS are near linear in the factors), so the
            # table is aligned with the paths; no positions, no value.
            design = np.column_stack([np.ones(len(z)), z])
            fitted = design @ np.linalg.lstsq(design, value, rcond=None)[0]
            if held:
                assert np.corrcoef(fitted, value)[0, 1] ** 2 > 0.9, (alloc, h)
            else:
                assert np.abs(value).max() == 0.0
            with_overlay = surplus.loc[alloc, column].to_numpy()
            without = dict(_statistics(with_overlay - value, z, c))
            row = stored.loc[(alloc, h)]
            for stat, (est, infl) in _statistics(with_overlay, z, c):
                scale = abs(row["mean"])
                assert est == pytest.approx(row[stat], abs=1e-6 * scale + 1e-3), (alloc, h, stat)
                # The overlay's effect: the paired difference on the same paths, with its
                # standard error; no positions, no effect.
                effect = est - without[stat][0]
                se = (infl - without[stat][1]).std(ddof=1) / np.sqrt(len(infl))
                if not held:
                    assert effect == 0.0, (alloc, h, stat)
                    assert se == 0.0, (alloc, h, stat)
