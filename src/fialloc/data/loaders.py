"""Read inputs from files, a directory or in-memory tables; validate them all at once.

A directory holds one file per table, named after it (``securities.csv``, ``holdings.parquet``,
``managers.json``, ...), plus ``valuation.json`` and an optional ``mandate.json``. Today's curve
is one of two tables: ``curve_quotes`` (instrument quotes, bootstrapped) or ``curve`` (zero
rates, discount factors or par yields). ``valuation.json`` holds ``valuation_date``
(YYYY-MM-DD) and optionally the curve's ``interpolation`` and ``extrapolation`` and the run's
``key_tenors`` (years; the mandate may set them too). Every problem found is reported, each
naming file, row and column, and nothing is kept unless everything is valid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from pydantic import ValidationError

from fialloc.curve_set import CURRENCIES, build_curve_set
from fialloc.curves import EXTRAPOLATIONS, INTERPOLATIONS
from fialloc.data.benchmark_checks import benchmark_problems, mix_columns
from fialloc.data.csv_files import read_csv, read_csv_blocks
from fialloc.data.fx import fx_rates
from fialloc.data.history_checks import history_problems
from fialloc.data.mandate import Mandate, validation_problems
from fialloc.data.mapping import ColumnMapping, TableMapping, read_mapping, renamed_problems
from fialloc.data.observed_prices import price_problems, spread_problems
from fialloc.data.option_checks import call_schedule_problems
from fialloc.data.portfolio import Portfolio, todays_curve
from fialloc.data.product_checks import product_problems
from fialloc.data.run_requirements import book_value, run_problems
from fialloc.data.schema import SCHEMAS, CappedProblems, Problem, TableCoercion, cap_problems
from fialloc.data.schema_doc import schema_markdown
from fialloc.errors import InputError

__all__ = [
    "InputError",
    "exit_manager_problems",
    "from_tables",
    "load",
    "read_table",
    "validate",
    "write_tables",
]

REQUIRED: Final = ("securities", "holdings", "managers", "liabilities")
#: Today's curve: exactly one of these tables (quotes to bootstrap, or points).
CURVE_TABLES: Final = ("curve_quotes", "curve")
#: Keys ``valuation.json`` may hold besides ``valuation_date``.
VALUATION_SETTINGS: Final = ("interpolation", "extrapolation", "key_tenors")
OPTIONAL: Final = (
    "manager_returns",
    "spreads",
    "market_history",
    "manager_characteristics",
    "holdings_history",
    "benchmark_holdings",
    "security_spreads",
    "prices",
    "benchmarks",
    "benchmark_characteristics",
    "overlay_futures",
    "mbs_pools",
    "pool_factors",
    "linkers",
    "cpi_history",
    "inflation_swaps",
    "fx_spot",
    "call_schedule",
    "liability_products",
    "mortality",
)
#: Optional tables of inflation-linked bonds, kept as None when absent.
INFLATION_TABLES: Final = ("linkers", "cpi_history", "inflation_swaps")
SUFFIXES: Final = (".csv", ".parquet", ".json")
#: Optional tables a Portfolio keeps as None when absent (holdings-based attribution's inputs).
HISTORIES: Final = (
    "holdings_history",
    "benchmark_holdings",
    "security_spreads",
    "prices",
    "benchmarks",
    "benchmark_characteristics",
)


def read_table(path: Path) -> pd.DataFrame:
    """Read one table from CSV, Parquet or JSON (a list of records).

    Raises
    ------
    InputError
        If the file cannot be read or parsed; the problem names the file (and the line for
        malformed JSON). A CSV file is read a block at a time and refused at its first
        structural error (see :func:`fialloc.data.csv_files.read_csv`).
    """
    try:
        if path.suffix == ".csv":
            return read_csv(path)
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".json":
            text = path.read_text()
            records = json.loads(text)
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise InputError(
                    [Problem(path.name, None, None, "expected a JSON list of records")]
                )
            return pd.DataFrame(records)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        raise InputError([Problem(path.name, None, None, msg)]) from None
    except InputError:
        raise
    except Exception as exc:  # a parser's own error: report it against the file
        raise InputError([Problem(path.name, None, None, f"cannot be read: {exc}")]) from None
    raise InputError([Problem(path.name, None, None, f"unsupported file type {path.suffix}")])


def _read_coerced(
    path: Path, name: str, table: TableMapping
) -> tuple[TableCoercion, list[Problem]]:
    """Read, translate (`table`) and coerce table `name` from `path`; CSV a block at a time.

    Each block of a CSV file is converted as it is read and its text let go, so memory
    follows the coerced table, not the file's text. Returns the coerced table and the cells
    the mapping could not translate (rows numbered in the file).

    Raises
    ------
    InputError
        If the file cannot be read (see :func:`read_table`).
    """
    coercion = TableCoercion(SCHEMAS[name], path.name)
    untranslated: list[Problem] = []
    for block in read_csv_blocks(path) if path.suffix == ".csv" else [read_table(path)]:
        start = coercion.rows
        translated, found = table.translate(block, path.name)
        found = [
            dataclasses.replace(p, row=start + p.row) if p.row is not None else p for p in found
        ]
        skip: dict[str, set[int]] = {}
        for problem in found:  # reported here, so not reported as missing again
            if problem.column is not None and problem.row is not None:
                skip.setdefault(problem.column, set()).add(problem.row)
        coercion.add(translated, untranslated=skip)
        untranslated += found
    return coercion, untranslated


def _find(directory: Path, name: str, mapped: str | None) -> Path | None:
    if mapped is not None:
        return directory / mapped if (directory / mapped).exists() else None
    hits = [directory / f"{name}{s}" for s in SUFFIXES if (directory / f"{name}{s}").exists()]
    return hits[0] if hits else None


#: A table as read: its file's name and its columns coerced to their kinds.
Coerced = tuple[str, TableCoercion]


def _read_dir(
    directory: Path, mapping: ColumnMapping
) -> tuple[dict[str, Coerced], dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    tables: dict[str, Coerced] = {}
    for name in (*REQUIRED, *CURVE_TABLES, *OPTIONAL):
        table = mapping.table(name)
        path = _find(directory, name, table.file)
        if path is None:
            if name in REQUIRED:
                file = table.file or f"{name}.csv"
                problems.append(Problem(file, None, None, "required file is missing"))
            continue
        try:
            coercion, found = _read_coerced(path, name, table)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        tables[name] = (path.name, coercion)
        problems.extend(found)
    if not any(_find(directory, name, mapping.table(name).file) for name in CURVE_TABLES):
        msg = "required file is missing: today's curve as curve_quotes.csv or curve.csv"
        problems.append(Problem("curve_quotes.csv", None, None, msg))
    meta: dict[str, Any] = {}
    for name in ("valuation", "mandate"):
        path = directory / f"{name}.json"
        if not path.exists():
            if name == "valuation":
                problems.append(Problem(path.name, None, None, "required file is missing"))
            continue
        try:
            meta[name] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            msg = f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            problems.append(Problem(path.name, None, None, msg))
    return tables, meta, problems


def renormalized(weights: pd.Series, groups: list[pd.Series] | None = None) -> pd.Series:
    """Weights that passed the load check (sum 1 within 1e-6) scaled to sum to 1 exactly.

    Exactly means to the rounding of a float sum: weights already that close are returned
    unchanged, so loading what was written reproduces it bit for bit, and nothing downstream
    (attribution checks sums to 1e-9) refuses what the loader accepted. With `groups`, the
    weights sum to 1 within each group (a benchmark's month).
    """
    sums = weights.groupby(groups, sort=False).transform("sum") if groups else weights.sum()
    total = np.asarray(sums, dtype=float)
    return weights / np.where(np.abs(total - 1.0) <= 1e-12, 1.0, total)


def _cross_checks(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], vd: dt.date
) -> list[Problem]:
    """Check across tables, on whatever was read: missing tables and values are skipped.

    Values that failed their own column's check are None here and are not checked again.
    """
    problems = _holding_problems(t, files)
    problems += _pool_problems(t, files)
    # Only what is held today must be alive: the master may keep matured or sold bonds.
    held_today = _known(t, "holdings", "security_id") or set()
    for row, (sid, date) in enumerate(
        zip(
            _column(t, "securities", "security_id"),
            _column(t, "securities", "maturity"),
            strict=True,
        )
    ):
        if date is not None and date <= vd and sid in held_today:
            msg = f"{date} is on or before the valuation date {vd}, but the bond is held today"
            problems.append(Problem(files["securities"], row, "maturity", msg))
    problems += call_schedule_problems(t, files)
    problems += product_problems(t, files, vd)
    for table, name in (("liabilities", "date"), ("overlay_futures", "delivery")):
        for row, date in enumerate(_column(t, table, name)):
            if date is not None and date <= vd:
                msg = f"{date} is on or before the valuation date {vd}"
                problems.append(Problem(files[table], row, name, msg))
    problems += _allocation_problems(t, files)
    problems += _inflation_problems(t, files)
    problems += price_problems(t, files, vd)
    problems += benchmark_problems(t, files, vd)
    problems += _return_problems(t, files)
    return problems


def _column(t: Mapping[str, pd.DataFrame], table: str, name: str) -> list[Any]:
    """Return a column's values as a list (empty when the table or column is absent)."""
    frame = t.get(table)
    return [] if frame is None or name not in frame.columns else frame[name].tolist()


def _known(t: Mapping[str, pd.DataFrame], table: str, name: str) -> set[Any] | None:
    """Return a column's distinct values (None when the table or column is absent)."""
    frame = t.get(table)
    if frame is None or name not in frame.columns:
        return None
    return set(frame[name].dropna().unique().tolist())


def _holding_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Find holdings of securities without a master row or by unknown managers."""
    problems: list[Problem] = []
    holdings = t.get("holdings")
    for key, ids, what in (
        (
            "security_id",
            _known(t, "securities", "security_id"),
            "{!r} has no row in the security master",
        ),
        ("manager_id", _known(t, "managers", "manager_id"), "unknown manager id {!r}"),
    ):
        if ids is None or holdings is None or key not in holdings.columns:
            continue
        # Vectorized: holdings run to millions of rows, and a row loop took minutes.
        values = holdings[key]
        unknown = np.flatnonzero((values.notna() & ~values.isin(list(ids))).to_numpy())
        found = values.to_numpy(dtype=object)[unknown]
        capped = CappedProblems(files["holdings"], key)
        for i, v in zip(unknown.tolist(), found.tolist(), strict=True):
            capped.add(i, what.format(v))
        problems += capped.problems()
    return problems


def _pool_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Find MBS pools not in the master or not securitized, and factors of unknown pools."""
    problems: list[Problem] = []
    securities = _known(t, "securities", "security_id")
    sectors = dict(
        zip(
            _column(t, "securities", "security_id"), _column(t, "securities", "sector"), strict=True
        )
    )
    for row, sid in enumerate(_column(t, "mbs_pools", "security_id")):
        if sid is None or securities is None:
            continue
        if sid not in securities:
            msg = f"{sid!r} has no row in the security master"
            problems.append(Problem(files["mbs_pools"], row, "security_id", msg))
        elif sectors.get(sid) != "securitized":
            msg = f"{sid!r} is in sector {sectors.get(sid)!r}; a pool's sector is securitized"
            problems.append(Problem(files["mbs_pools"], row, "security_id", msg))
    pools = set(_column(t, "mbs_pools", "security_id"))
    for row, sid in enumerate(_column(t, "pool_factors", "security_id")):
        if sid is not None and sid not in pools:
            msg = f"{sid!r} has no row in mbs_pools; factors are given for pools"
            problems.append(Problem(files["pool_factors"], row, "security_id", msg))
    return problems


def _allocation_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Find managers given an allocation and no holdings."""
    problems: list[Problem] = []
    if _known(t, "managers", "manager_id") is None or "holdings" not in t:
        return problems
    holders = _known(t, "holdings", "manager_id") or set()
    allocations = zip(
        _column(t, "managers", "manager_id"),
        _column(t, "managers", "current_allocation"),
        strict=True,
    )
    for row, (mid, share) in enumerate(allocations):
        if mid is not None and share is not None and share > 0 and mid not in holders:
            msg = f"manager {mid!r} has an allocation of {share:g} and no holdings"
            problems.append(Problem(files["managers"], row, "current_allocation", msg))
    return problems


def _return_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Find returns of unknown managers, and managers without returns."""
    problems: list[Problem] = []
    managers = _known(t, "managers", "manager_id")
    if "manager_returns" not in t or managers is None:
        return problems
    returned = _column(t, "manager_returns", "manager_id")
    for row, mid in enumerate(returned):
        if mid is not None and mid not in managers:
            problems.append(
                Problem(files["manager_returns"], row, "manager_id", f"unknown manager id {mid!r}")
            )
    missing = sorted(managers - set(returned))
    if missing and returned:
        problems.append(
            Problem(
                files["manager_returns"],
                None,
                "manager_id",
                f"no returns for manager(s) {', '.join(missing)}",
            )
        )
    return problems


def _inflation_problems(t: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Problem]:
    """Linkers must be securities and every index they follow needs a history and swaps."""
    linkers = t.get("linkers")
    if linkers is None:
        return [
            Problem(files[name], None, None, "given without linkers, which it serves")
            for name in ("cpi_history", "inflation_swaps")
            if name in t
        ]
    problems: list[Problem] = []
    securities = t.get("securities")
    known = set() if securities is None else set(securities["security_id"])
    for row, sid in enumerate(linkers["security_id"]):
        if sid is not None and securities is not None and sid not in known:
            msg = f"{sid!r} has no row in the security master"
            problems.append(Problem(files["linkers"], row, "security_id", msg))
    # An index without swaps takes its breakevens from its linkers' prices (checked in full
    # when the curve is built, see Portfolio.breakeven_curves).
    priced = _priced_securities(t)
    by_prices = {
        index for index, sid in zip(linkers["index"], linkers["security_id"], strict=True)
        if sid in priced
    }  # fmt: skip
    for name in ("cpi_history", "inflation_swaps"):
        frame = t.get(name)
        have = set() if frame is None else set(frame["index"]) - {None}
        if name == "inflation_swaps":
            have |= by_prices
        for row, index in enumerate(linkers["index"]):
            if index is not None and index not in have:
                msg = (
                    f"index {index!r} has no rows in {name}"
                    + (" (the file is missing)" if frame is None else "")
                    + "; a linker needs its index's history, and inflation swaps or a price "
                    "of one of its linkers"
                )
                problems.append(Problem(files["linkers"], row, "index", msg))
    return problems


def _priced_securities(t: Mapping[str, pd.DataFrame]) -> set[object]:
    """Securities with an observed price in the ``prices`` table or the holdings."""
    priced: set[object] = set()
    prices = t.get("prices")
    if prices is not None:
        priced |= set(prices["security_id"])
    holdings = t.get("holdings")
    if holdings is not None and "price" in holdings.columns:
        priced |= set(holdings.loc[holdings["price"].notna(), "security_id"])
    return priced


def _quotes_base_curve(quotes: pd.DataFrame | None, mandate: object) -> bool:
    """Whether the quotes give the base currency's government curve (some row does)."""
    if quotes is None:
        return False
    base = "USD"
    if isinstance(mandate, Mandate):
        base = mandate.base_currency
    elif isinstance(mandate, Mapping) and mandate.get("base_currency") in CURRENCIES:
        base = str(mandate["base_currency"])
    currency = (
        quotes["currency"].fillna(base)
        if "currency" in quotes.columns
        else pd.Series(base, index=quotes.index)
    )
    curve = (
        quotes["curve"].fillna("government")
        if "curve" in quotes.columns
        else pd.Series("government", index=quotes.index)
    )
    return bool(((currency == base) & (curve == "government")).any())


def _currency_problems(
    t: Mapping[str, pd.DataFrame], files: Mapping[str, str], base: str
) -> list[Problem]:
    """Check that every currency held has an FX spot and a government curve.

    The base currency's own FX row, if given, must be worth 1 with no basis.
    """
    problems: list[Problem] = []
    fx = t.get("fx_spot")
    spots = {base}
    if fx is not None:
        basis = fx["basis"] if "basis" in fx.columns else pd.Series(None, index=fx.index)
        for row, (ccy, rate, b) in enumerate(zip(fx["currency"], fx["rate"], basis, strict=True)):
            spots.add(ccy)
            if ccy == base and (rate != 1.0 or (b is not None and not np.isnan(b))):
                msg = f"{base} is the base currency (worth 1, no basis); leave its row out"
                problems.append(Problem(files["fx_spot"], row, "currency", msg))
    quotes = t.get("curve_quotes")
    curves = {base}
    if "curve_quotes" in files and quotes is None:  # unreadable: its own problems say why
        curves = set(CURRENCIES)
    elif quotes is not None and "currency" in quotes.columns:
        kind = (
            quotes["curve"].fillna("government")
            if "curve" in quotes.columns
            else pd.Series("government", index=quotes.index)
        )
        curves = {base} | set(quotes["currency"][kind == "government"].dropna())
    securities = t.get("securities")
    if securities is None or "holdings" not in t:
        return problems
    held = set(t["holdings"]["security_id"])
    seen: set[str] = set()
    for row, (sid, ccy) in enumerate(
        zip(securities["security_id"], securities["currency"], strict=True)
    ):
        if ccy is None or ccy in seen or sid not in held:
            continue
        missing = [
            what
            for what, have in (
                (f"an FX spot into {base} (a row of fx_spot)", spots),
                ("a government curve (curve_quotes rows with this currency)", curves),
            )
            if ccy not in have
        ]
        if missing:
            seen.add(ccy)
            msg = f"{ccy} bonds are held but the inputs lack {' and '.join(missing)}"
            problems.append(Problem(files["securities"], row, "currency", msg))
    return problems


def exit_manager_problems(exits: tuple[str, ...], managers: set[str], source: str) -> list[Problem]:
    """Return a problem for each manager to exit that is not among `managers`, naming the known ids.

    Parameters
    ----------
    exits : tuple of str
        Manager ids the mandate exits (``exit_managers``, ``--exit``).
    managers : set of str
        The managers of the book.
    source : str
        Where the exits were given (file name or "command-line flags").
    """
    known = ", ".join(sorted(managers))
    return [
        Problem(source, None, "exit_managers", f"unknown manager {m!r}; the managers are {known}")
        for m in exits
        if m not in managers
    ]


def _derived_problems(portfolio: Portfolio, files: Mapping[str, str]) -> list[Problem]:
    """Return what the run refuses when it builds the bond book and the liabilities.

    ``run`` computes these first; building them here makes ``validate`` refuse whatever
    ``run`` would, against the file the value came from.
    """
    steps = (
        ("linkers", "the inflation-linked bonds' index ratios", lambda: portfolio.linker_book),
        ("inflation_swaps", "the breakeven curves", lambda: portfolio.breakeven_curves),
        ("securities", "the bonds' cash flows and prices", lambda: book_value(portfolio)),
        ("liability_products", "the annuity blocks' flows", lambda: portfolio.liability_flows),
        ("liabilities", "the liability cash flows", lambda: portfolio.liability_stream),
        ("market_history", "the zero-rate history", lambda: portfolio.zero_history),
        ("call_schedule", "the callable bonds' OAS", lambda: portfolio.option_adjusted),
    )
    problems = []
    for table, what, build in steps:
        try:
            build()
        except (ValueError, ArithmeticError) as exc:  # OverflowError: absurd tenors, amounts
            msg = f"cannot build {what}: {exc}"
            problems.append(Problem(files.get(table, table), None, None, msg))
    return problems


def _in_file_terms(problems: list[Problem]) -> list[Problem]:
    """Capped per rule (see Problem), then rows as CSV line numbers (the header is line 1).

    The checks that meet a problem per row count past the cap where they find them
    (:class:`~fialloc.data.schema.CappedProblems`); capping here merges those counts with
    every other problem of the same rule.
    """
    return [
        dataclasses.replace(p, row=p.row + 2)
        if p.row is not None and p.file.endswith(".csv")
        else p
        for p in cap_problems(problems)
    ]


def _curve_settings(
    valuation: Mapping[str, Any], clean: Mapping[str, pd.DataFrame], files: Mapping[str, str]
) -> tuple[dict[str, str], list[Problem]]:
    """Today's curve's interpolation and extrapolation: a column of `curve` or valuation.json."""
    settings: dict[str, str] = {}
    problems: list[Problem] = []
    points = clean.get("curve")
    for key, choices in (("interpolation", INTERPOLATIONS), ("extrapolation", EXTRAPOLATIONS)):
        given = valuation.get(key)
        if given is not None and given not in choices:
            msg = f"{given!r} is not one of {', '.join(choices)}"
            problems.append(Problem("valuation.json", None, key, msg))
            continue
        column = (
            points[key].dropna().unique().tolist()
            if points is not None and key in points.columns
            else []
        )
        if column and given is not None and column[0] != given:
            msg = f"{column[0]} here but {given} in valuation.json; give the {key} once"
            problems.append(Problem(files["curve"], None, key, msg))
        value = column[0] if column else given
        if value is not None:
            settings[key] = value
    return settings, problems


def _validate(
    raw: Mapping[str, Coerced], valuation: Mapping[str, Any], mandate: object
) -> tuple[Portfolio | None, list[Problem]]:
    files = {name: file for name, (file, _) in raw.items()}
    clean, typed, problems = _table_problems(raw)
    curves = [name for name in CURVE_TABLES if name in raw]
    if len(curves) > 1 and _quotes_base_curve(typed.get("curve_quotes"), mandate):
        msg = (
            "today's curve is given twice (curve_quotes and curve); keep one (curve_quotes "
            "may hold the other currencies' and OIS curves beside a curve table)"
        )
        problems.append(Problem(files["curve"], None, None, msg))
    unknown = sorted(set(valuation) - {"valuation_date", *VALUATION_SETTINGS})
    for key in unknown:
        msg = f"unknown key; expected valuation_date, {', '.join(VALUATION_SETTINGS)}"
        problems.append(Problem("valuation.json", None, key, msg))
    settings, found = _curve_settings(valuation, clean, files)
    problems.extend(found)
    vd = _valuation_date(valuation, problems)
    mandate_obj = _mandate(valuation, mandate, problems)
    if "managers" in typed:
        names = set(typed["managers"]["manager_id"]) - {None}
        problems.extend(exit_manager_problems(mandate_obj.exit_managers, names, "mandate.json"))
    if vd is not None:
        problems.extend(_cross_checks(typed, files, vd))
        problems.extend(_currency_problems(typed, files, mandate_obj.base_currency))
        # The histories' checks read whole tables: only once every table passed its own.
        if not problems and set(REQUIRED) <= set(typed):
            problems.extend(spread_problems(clean, files, vd))
            problems.extend(history_problems(clean, files, vd))
    if problems or vd is None or not set(REQUIRED) <= set(clean) or not curves:
        return None, problems
    portfolio = _portfolio(vd, clean, mandate_obj, settings)
    if found := _curve_problems(portfolio, files, curves):
        return None, found
    return (None, found) if (found := _derived_problems(portfolio, files)) else (portfolio, [])


def _table_problems(
    raw: Mapping[str, Coerced],
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], list[Problem]]:
    """Check each coerced table's key and its own rules, after its columns' problems.

    Returns every table coerced, those with every required column, and the problems found.
    """
    problems: list[Problem] = []
    clean: dict[str, pd.DataFrame] = {}
    typed: dict[str, pd.DataFrame] = {}  # tables with every required column, coerced
    for name, (file, coercion) in raw.items():
        out, found = coercion.result()
        if name in ("benchmark_characteristics", "manager_characteristics"):
            out, mixes = mix_columns(out, file)
            found += mixes
        clean[name] = out
        problems.extend(found)
        if all(c.name in out.columns for c in SCHEMAS[name].columns if c.required):
            typed[name] = out
    return clean, typed, problems


def _valuation_date(valuation: Mapping[str, Any], problems: list[Problem]) -> dt.date | None:
    """Return valuation.json's date, or None with a problem added to `problems`."""
    valuation_date = valuation.get("valuation_date")
    try:
        return dt.date.fromisoformat(str(valuation_date))
    except ValueError:
        problems.append(
            Problem(
                "valuation.json",
                None,
                "valuation_date",
                f"{valuation_date!r} is not a date in YYYY-MM-DD format",
            )
        )
        return None


def _mandate(valuation: Mapping[str, Any], mandate: object, problems: list[Problem]) -> Mandate:
    """Return the mandate (with valuation.json's key tenors); the default one on a problem."""
    mandate_fields = dict(mandate) if isinstance(mandate, Mapping) else mandate
    if "key_tenors" in valuation and isinstance(mandate_fields, dict):
        if "key_tenors" in mandate_fields and list(mandate_fields["key_tenors"]) != list(
            valuation["key_tenors"]
        ):
            msg = "key_tenors differ from valuation.json's; give them once"
            problems.append(Problem("mandate.json", None, "key_tenors", msg))
        mandate_fields["key_tenors"] = valuation["key_tenors"]
    try:
        return Mandate.model_validate(mandate_fields or {})
    except ValidationError as exc:
        problems.extend(validation_problems(exc, "mandate.json"))
        return Mandate()


def _portfolio(
    vd: dt.date, clean: Mapping[str, pd.DataFrame], mandate: Mandate, settings: Mapping[str, str]
) -> Portfolio:
    """Build the portfolio from valid tables (absent optional tables empty or None)."""
    empty = {
        name: pd.DataFrame(columns=[c.name for c in SCHEMAS[name].columns]) for name in OPTIONAL
    }
    tables = {**empty, **clean}
    managers = tables["managers"].copy()
    managers["current_allocation"] = renormalized(managers["current_allocation"])
    bench = clean.get("benchmark_holdings")
    if bench is not None:
        bench = bench.assign(
            weight=renormalized(bench["weight"], [bench["benchmark_id"], bench["month"]])
        )
    return Portfolio(
        valuation_date=vd,
        securities=tables["securities"].set_index("security_id", drop=False),
        holdings=tables["holdings"],
        managers=managers.set_index("manager_id", drop=False),
        manager_returns=tables["manager_returns"],
        liabilities=tables["liabilities"],
        curve_quotes=clean.get("curve_quotes"),
        spreads=tables["spreads"],
        market_history=tables["market_history"],
        manager_characteristics=tables["manager_characteristics"]
        if "manager_characteristics" in clean
        else None,
        holdings_history=clean.get("holdings_history"),
        benchmark_holdings=bench,
        security_spreads=clean.get("security_spreads"),
        prices=clean.get("prices"),
        benchmarks=clean.get("benchmarks"),
        benchmark_characteristics=clean.get("benchmark_characteristics"),
        overlay_futures=clean.get("overlay_futures"),
        mbs_pools=clean.get("mbs_pools"),
        pool_factors=clean.get("pool_factors"),
        linkers=clean.get("linkers"),
        cpi_history=clean.get("cpi_history"),
        inflation_swaps=clean.get("inflation_swaps"),
        fx_spot=clean.get("fx_spot"),
        call_schedule=clean.get("call_schedule"),
        liability_products=clean.get("liability_products"),
        mortality=clean.get("mortality"),
        mandate=mandate,
        curve_points=clean.get("curve"),
        **settings,  # type: ignore[arg-type]
    )


def _curve_problems(
    portfolio: Portfolio, files: Mapping[str, str], curves: list[str]
) -> list[Problem]:
    """Build today's curves as a run does first thing: one that cannot be built is a problem."""
    vd, mandate = portfolio.valuation_date, portfolio.mandate
    # CSV rows are the file's line numbers, as in every other message.
    first_row = {name: 2 if files[name].endswith(".csv") else 0 for name in curves}
    base_curve = None
    try:
        if portfolio.curve_points is not None:
            base_curve = todays_curve(
                vd,
                portfolio.curve_points,
                None,
                portfolio.interpolation,
                portfolio.extrapolation,
                where="",
                first_row=first_row["curve"],
            )
    except (ValueError, OverflowError) as exc:  # a tenor of 9000Y runs past the last date
        return [Problem(files["curve"], None, None, f"cannot build today's curve: {exc}")]
    try:
        if portfolio.curve_quotes is not None:
            spots, bases = fx_rates(portfolio.fx_spot, mandate.base_currency)
            build_curve_set(
                portfolio.curve_quotes,
                vd,
                mandate.base_currency,
                spots,
                bases,
                interpolation=portfolio.interpolation,
                extrapolation=portfolio.extrapolation,
                base_curve=base_curve,
                where="",
                first_row=first_row["curve_quotes"],
            )
    except (ValueError, OverflowError) as exc:
        msg = f"cannot build today's curves: {exc}"
        return [Problem(files["curve_quotes"], None, None, msg)]
    return []


def _collect(
    source: str | Path, mapping: ColumnMapping | str | Path | None
) -> tuple[Portfolio | None, list[Problem]]:
    """Read and validate a directory, collecting every problem (a portfolio only if none)."""
    directory = Path(source)
    if not directory.is_dir():
        return None, [Problem(str(directory), None, None, "is not a directory")]
    if not isinstance(mapping, ColumnMapping):
        try:
            mapping = ColumnMapping() if mapping is None else read_mapping(mapping)
        except InputError as exc:
            return None, exc.problems
    raw, meta, read_problems = _read_dir(directory, mapping)
    valuation = meta.get("valuation")
    if valuation is not None and not isinstance(valuation, dict):
        read_problems.append(Problem("valuation.json", None, None, "expected a JSON object"))
        valuation = None
    # A cell the mapping could not translate (a date off its format) is reported once.
    untranslated = {(p.file, p.row, p.column) for p in read_problems if p.row is not None}
    portfolio, problems = _validate(raw, valuation or {}, meta.get("mandate"))
    files = {name: file for name, (file, _) in raw.items()}
    if portfolio is not None:
        problems = run_problems(portfolio, files)
    if valuation is None:  # already reported as missing or unreadable
        problems = [p for p in problems if p.file != "valuation.json"]
    problems = [p for p in problems if (p.file, p.row, p.column) not in untranslated]
    problems = renamed_problems(_in_file_terms(read_problems + problems), mapping, files)
    return (portfolio if not problems else None), problems


def validate(
    source: str | Path, mapping: ColumnMapping | str | Path | None = None
) -> list[Problem]:
    """Every problem in a directory of inputs (an empty list when it is valid).

    Each file that can be read is checked even when others are missing or unreadable, and
    checks across tables run on whatever values passed their own column's checks. `mapping`
    (a :class:`~fialloc.data.mapping.ColumnMapping` or the path of a mapping file) adapts
    another layout of the files first; problems then name the user's columns.
    """
    return _collect(source, mapping)[1]


def load(source: str | Path, mapping: ColumnMapping | str | Path | None = None) -> Portfolio:
    """Load and validate a directory of input files (adapted by `mapping`, see `validate`).

    Raises
    ------
    InputError
        Listing every problem (file, row, column, what was expected); nothing is returned
        unless all inputs are valid.
    """
    portfolio, problems = _collect(source, mapping)
    if portfolio is None:
        raise InputError(problems)
    return portfolio


def from_tables(
    tables: Mapping[str, pd.DataFrame | list[dict[str, Any]]],
    valuation_date: dt.date | str,
    mandate: Mandate | Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Portfolio:
    """Validate in-memory tables (DataFrames or lists of records) into a :class:`Portfolio`.

    Parameters
    ----------
    tables : mapping of table name to DataFrame or records
        As the files of a directory (see the module docstring).
    valuation_date : date or "YYYY-MM-DD"
    mandate : Mandate or mapping, optional
    settings : mapping, optional
        What ``valuation.json`` may hold besides the date: ``interpolation``,
        ``extrapolation``, ``key_tenors``.

    Raises
    ------
    InputError
        Listing every problem; table names stand in for file names.
    """
    unknown = sorted(set(tables) - set(SCHEMAS))
    problems = [Problem(name, None, None, "unknown table") for name in unknown]
    problems += [
        Problem(name, None, None, "required table is missing")
        for name in REQUIRED
        if name not in tables
    ]
    if not any(name in tables for name in CURVE_TABLES):
        msg = "required table is missing: today's curve as curve_quotes or curve"
        problems.append(Problem("curve_quotes", None, None, msg))
    if problems:
        raise InputError(problems)
    raw: dict[str, Coerced] = {}
    for name, given in tables.items():
        frame = given if isinstance(given, pd.DataFrame) else pd.DataFrame(given)
        coercion = TableCoercion(SCHEMAS[name], name)
        coercion.add(frame)  # one block: the table is in memory already
        raw[name] = (name, coercion)
    m = mandate.model_dump(exclude_unset=True) if isinstance(mandate, Mandate) else mandate
    valuation = {**(settings or {}), "valuation_date": str(valuation_date)}
    portfolio, problems = _validate(raw, valuation, m)
    if portfolio is None:
        raise InputError(_in_file_terms(problems))
    return portfolio


def write_tables(portfolio: Portfolio, directory: str | Path) -> Path:
    """Write a portfolio's inputs as files (CSV, plus ``valuation.json`` and ``mandate.json``)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "securities": portfolio.securities,
        "holdings": portfolio.holdings,
        "managers": portfolio.managers,
        "manager_returns": portfolio.manager_returns,
        "liabilities": portfolio.liabilities,
        "spreads": portfolio.spreads,
        "market_history": portfolio.market_history,
    }
    if portfolio.curve_points is not None:
        frames["curve"] = portfolio.curve_points
    if portfolio.curve_quotes is not None:
        frames["curve_quotes"] = portfolio.curve_quotes
    optional = (
        "overlay_futures",
        "fx_spot",
        *INFLATION_TABLES,
        "call_schedule",
        "liability_products",
        "mortality",
        "mbs_pools",
        "pool_factors",
    )
    for name in ("manager_characteristics", *HISTORIES, *optional):
        frame = getattr(portfolio, name)
        if frame is not None:
            frames[name] = frame
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)  # repr: shortest exact digits
    valuation: dict[str, Any] = {"valuation_date": portfolio.valuation_date.isoformat()}
    valuation |= {
        "interpolation": portfolio.interpolation,
        "extrapolation": portfolio.extrapolation,
    }
    (out / "valuation.json").write_text(json.dumps(valuation, indent=2) + "\n")
    (out / "mandate.json").write_text(portfolio.mandate.model_dump_json(indent=2) + "\n")
    (out / "SCHEMA.md").write_text(schema_markdown(REQUIRED, CURVE_TABLES))
    return out
