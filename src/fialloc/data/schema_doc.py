"""SCHEMA.md: every input file, column, allowed value and mandate field, written from code.

``fialloc demo --write DIR`` puts it next to the demo's files, so what a user reads is what
the validator checks.
"""

from __future__ import annotations

import json
from typing import Final

from pydantic import BaseModel

from fialloc.curves import EXTRAPOLATIONS, INTERPOLATIONS
from fialloc.data.mandate import Mandate, ObjectiveWeights
from fialloc.data.schema import MAX_AMOUNT, SCHEMAS, Column
from fialloc.data.vocabulary import LIQUIDITY_TIERS, MOODYS, RATING_LETTERS, RATINGS, SECTORS
from fialloc.schedule import DAY_COUNTS, FREQUENCIES

__all__ = ["schema_markdown"]

_KIND_VALUES: Final = {
    "rating": (
        f"S&P/Fitch {', '.join(RATINGS)}; or Moody's {', '.join(MOODYS)} (Baa2 = BBB, "
        "Aa1 = AA+, Ca = CC); any case, `(sf)` and watch marks ignored; NR, WR, D refused"
    ),
    "rating_letter": f"{', '.join(RATING_LETTERS)} (or Moody's Aaa, Aa, A, Baa, Ba, B, Caa)",
    "sector": f"{', '.join(SECTORS)} (any case; spaces and hyphens as underscores)",
    "liquidity_tier": f"{', '.join(LIQUIDITY_TIERS)} (any case)",
    "day_count": f"{', '.join(DAY_COUNTS)} (common spellings accepted)",
    "frequency": f"{', '.join(str(f) for f in FREQUENCIES)} coupons a year (0: zero coupon)",
    "date": "YYYY-MM-DD",
    "bool": "true or false",
}


def _allowed(col: Column) -> str:
    if col.choices is not None:
        return ", ".join(col.choices)
    if col.kind in _KIND_VALUES:
        return _KIND_VALUES[col.kind]
    if col.kind not in ("float", "int"):
        return "text"
    parts = ["decimal, below 1 in size"] if col.decimal else []
    if col.minimum is not None:
        parts.append(f"{'>' if col.exclusive_minimum else '>='} {col.minimum:g}")
    if col.maximum is not None:
        parts.append(f"<= {col.maximum:g}")
    return ", ".join(parts) or "any number"


def _definitions(title: str, entries: dict[str, str]) -> list[str]:
    return [f"### {title}", "", *(f"- `{k}`: {v}" for k, v in entries.items()), ""]


def schema_markdown(required: tuple[str, ...], curve_tables: tuple[str, ...]) -> str:
    """Return SCHEMA.md: every table (`required`, one of `curve_tables`), vocabulary, JSON file."""
    lines = [
        "# fialloc input files",
        "",
        "One file per table (CSV, Parquet or JSON records), plus `valuation.json` and an "
        "optional `mandate.json`. Problems name the file, the row (in a CSV file, its line "
        "number: the header is line 1) and the column. A custodian's export with other column "
        "names, rating scales, units or date formats loads through a mapping file "
        "(`--mapping FILE`, see the README).",
        "",
        f"Money is in the portfolio currency, at most {MAX_AMOUNT:g} per value; rates and "
        "spreads are decimals (0.045 for 4.5%).",
        "",
    ]
    lines += _table_sections(required, curve_tables)
    lines += [
        "## Vocabularies",
        "",
        *_definitions("Sectors", dict(SECTORS)),
        *_definitions("Liquidity tiers", dict(LIQUIDITY_TIERS)),
    ]
    lines += _json_sections()
    return "\n".join(lines)


def _table_sections(required: tuple[str, ...], curve_tables: tuple[str, ...]) -> list[str]:
    """Describe each table: whether it is required, what it holds, its columns and key."""
    lines: list[str] = []
    for name, spec in SCHEMAS.items():
        need = (
            "required"
            if name in required
            else f"one of {' and '.join(curve_tables)} is required"
            if name in curve_tables
            else "optional"
        )
        lines += [
            f"## {name} ({need})",
            "",
            spec.description,
            "",
            "| column | type | required | allowed values |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {c.name} | {c.kind} | {'yes' if c.required else 'no'} | {_allowed(c)} |"
            for c in spec.columns
        ]
        if spec.key:
            lines += ["", f"Each ({', '.join(spec.key)}) appears once."]
        lines.append("")
    return lines


def _json_sections() -> list[str]:
    """Describe ``valuation.json`` and ``mandate.json``, with the mandate's defaults."""
    lines = [
        "## valuation.json (required)",
        "",
        "A JSON object: `valuation_date` (YYYY-MM-DD, required): bonds must mature and "
        "liability flows fall after it, histories end on or before it. Optionally "
        f"`interpolation` of today's curve ({', '.join(INTERPOLATIONS)}; default log_linear), "
        f"its `extrapolation` beyond the last point ({', '.join(EXTRAPOLATIONS)}; default "
        "flat_forward), and `key_tenors`, the key rates (years, increasing) every key-rate "
        "duration and gap is measured at (default 0.5, 1, 2, 3, 5, 7, 10, 20, 30; 0.25 may be "
        "added). `mandate.json` may set `key_tenors` instead, and `fialloc run --key-tenors` "
        "overrides both.",
        "",
        "## mandate.json (optional)",
        "",
        "The allocation mandate as a JSON object (or YAML through `--mandate FILE`); a field "
        "left out keeps its default. Decimals, not percentages.",
        "",
        "| field | default | meaning |",
        "|---|---|---|",
    ]
    defaults = Mandate()
    for field, info in Mandate.model_fields.items():
        value = getattr(defaults, field)
        shown = (
            "see below"
            if isinstance(value, ObjectiveWeights)
            else json.dumps(value.model_dump() if isinstance(value, BaseModel) else value)
        )
        lines.append(f"| {field} | {shown} | {info.description or ''} |")
    lines += ["", "`objective` (priority weights of the optimizer's terms, need not sum to 1):", ""]
    lines += [
        f"- `{field}`: {getattr(defaults.objective, field)}"
        for field in ObjectiveWeights.model_fields
    ]
    lines.append("")
    return lines
