"""The input vocabularies: rating scales, sectors and liquidity tiers, in one place.

Every table, desk and scenario reads its rating letters, sector names and liquidity tiers
from here. Ratings arrive on the S&P/Fitch scale (``BBB+``) or Moody's (``Baa1``) and are
stored on the S&P/Fitch scale with notches; sectors and tiers are matched without regard to
case, spaces or hyphens (``"Treasury Strip"`` is ``treasury_strip``). Anything else is refused
with the value and the allowed list; a custodian's own names go through a mapping file
(:mod:`fialloc.data.mapping`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = [
    "GOVERNMENT_SECTORS",
    "HIGH_YIELD_LETTERS",
    "LIQUIDITY_TIERS",
    "MOODYS",
    "RATINGS",
    "RATING_LETTERS",
    "SECTORS",
    "normalize_liquidity_tier",
    "normalize_rating",
    "normalize_rating_letter",
    "normalize_sector",
    "rating_letter",
    "rating_notch",
]

#: Ratings with notches on the S&P/Fitch scale, best first; ``rating_notch`` maps them to
#: 1 (AAA) .. 21 (C).
RATINGS: Final = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC+", "CCC", "CCC-", "CC", "C",
)  # fmt: skip
#: Letter ratings without notches, best first: the buckets of spreads and spread durations.
RATING_LETTERS: Final = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
#: Letters below investment grade (high yield).
HIGH_YIELD_LETTERS: Final = ("BB", "B", "CCC")
#: Moody's ratings and their S&P/Fitch equivalents (numeric modifiers 1, 2, 3 are the
#: notches +, none, -; Ca is CC). A Moody's letter without modifier is the middle notch.
MOODYS: Final[Mapping[str, str]] = {
    "Aaa": "AAA",
    **{
        f"{moodys}{k}": f"{sp}{notch}"
        for moodys, sp in (("Aa", "AA"), ("A", "A"), ("Baa", "BBB"), ("Ba", "BB"), ("B", "B"))
        for k, notch in ((1, "+"), (2, ""), (3, "-"))
    },
    "Caa1": "CCC+",
    "Caa2": "CCC",
    "Caa3": "CCC-",
    "Aa": "AA",
    "Baa": "BBB",
    "Ba": "BB",
    "Caa": "CCC",
    "Ca": "CC",
}
#: Not ratings: refused with the reason, since a bond needs a place on the scale.
_NOT_RATINGS: Final = {
    "NR": "not rated",
    "WR": "rating withdrawn",
    "N/A": "not available",
    "NA": "not available",
    "D": "in default",
    "SD": "in selective default",
    "RD": "in restricted default",
}
#: Qualifiers a rating may carry that do not change its place on the scale: structured
#: finance "(sf)", Moody's provisional "(P)", and watch or outlook marks.
_QUALIFIERS: Final = re.compile(r"\((sf|p|exp|u)\)|\*[+-]?|\s", re.IGNORECASE)

#: Canonical sectors and what each holds. ``GOVERNMENT_SECTORS`` carry no credit spread.
SECTORS: Final[Mapping[str, str]] = {
    "treasury": "the portfolio currency's government bonds",
    "treasury_strip": "zero-coupon strips of government bonds",
    "government": "other government bonds in the portfolio currency",
    "sovereign": "foreign governments' bonds",
    "agency": "government-sponsored agencies' debentures",
    "supranational": "supranational issuers (development banks)",
    "municipal": "state and local government bonds",
    "financial": "banks, insurers and other financial corporates",
    "industrial": "industrial corporates",
    "utility": "utility corporates",
    "corporate": "corporates not split into financial, industrial or utility",
    "high_yield": "corporates below investment grade",
    "securitized": "mortgage- and asset-backed securities, covered bonds",
    "emerging": "emerging-market sovereign and corporate bonds",
    "private_placement": "privately placed debt",
}
GOVERNMENT_SECTORS: Final = ("treasury", "treasury_strip", "government", "sovereign")
#: Liquidity tiers (Basel LCR levels) and what each holds.
LIQUIDITY_TIERS: Final[Mapping[str, str]] = {
    "level1": "Level 1 high-quality liquid assets (government bonds)",
    "level2a": "Level 2A (agencies, AA- or better corporates and covered bonds)",
    "level2b_rmbs": "Level 2B residential mortgage-backed securities",
    "level2b": "Level 2B (lower-rated corporates, municipals)",
    "illiquid": "not counted in the liquid buffer",
}

_SP_KEYS: Final = {r: r for r in RATINGS}
_MOODYS_KEYS: Final = {k.upper(): v for k, v in MOODYS.items()}


def rating_notch(rating: str) -> int:
    """Numeric notch of a canonical rating: AAA = 1, AA+ = 2, ..., BBB- = 10, ..., C = 21."""
    return RATINGS.index(rating) + 1


def rating_letter(rating: str) -> str:
    """Letter bucket (``RATING_LETTERS``) of a canonical rating; CC and C fall in CCC."""
    letter = rating.rstrip("+-")
    return letter if letter in RATING_LETTERS else "CCC"


def normalize_rating(raw: object) -> str:
    """Return the S&P/Fitch rating with notch of `raw`, given on the S&P/Fitch or Moody's scale.

    Case, spaces and the qualifiers ``(sf)``, ``(P)`` and watch marks are ignored:
    ``"Baa2"`` and ``"bbb"`` are ``"BBB"``, ``"Aa1"`` is ``"AA+"``, ``"Aaa (sf)"`` is ``"AAA"``.

    Raises
    ------
    ValueError
        For a non-rating (NR, WR, D...) with the reason, or an unknown value with the scales.
    """
    text = _QUALIFIERS.sub("", str(raw)).upper()
    if text in _NOT_RATINGS:
        msg = (
            f"{raw!r} ({_NOT_RATINGS[text]}) is not a place on the rating scale; give the "
            "rating the bond is held at (e.g. an internal rating) or map it in a mapping file"
        )
        raise ValueError(msg)
    if text in _SP_KEYS:
        return text
    if text in _MOODYS_KEYS:
        return _MOODYS_KEYS[text]
    msg = (
        f"{raw!r} is not a rating; expected S&P/Fitch {RATINGS[0]} .. {RATINGS[-1]} with "
        "notches + and - (BBB+) or Moody's Aaa .. C with modifiers 1, 2, 3 (Baa1)"
    )
    raise ValueError(msg)


def normalize_rating_letter(raw: object) -> str:
    """Return the letter rating (``RATING_LETTERS``) of `raw` (either scale, no notch).

    Raises
    ------
    ValueError
        If `raw` is not a rating or carries a notch (letter tables have one row per letter).
    """
    rating = normalize_rating(raw)
    if rating not in RATING_LETTERS:
        msg = f"{raw!r} is not a letter rating; expected one of {', '.join(RATING_LETTERS)}"
        raise ValueError(msg)
    return rating


def _key(raw: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(raw).strip().lower())


def _normalize(raw: object, allowed: Mapping[str, str], what: str) -> str:
    key = _key(raw)
    if key in allowed:
        return key
    msg = (
        f"{raw!r} is not a known {what}; expected one of {', '.join(allowed)} "
        "(any case; map other names in a mapping file)"
    )
    raise ValueError(msg)


def normalize_sector(raw: object) -> str:
    """Return the canonical sector (``SECTORS``) of `raw`, ignoring case, spaces and hyphens.

    Raises
    ------
    ValueError
        Naming the value and the canonical list.
    """
    return _normalize(raw, SECTORS, "sector")


def normalize_liquidity_tier(raw: object) -> str:
    """Return the liquidity tier (``LIQUIDITY_TIERS``) of `raw`, ignoring case and spaces.

    Raises
    ------
    ValueError
        Naming the value and the canonical list.
    """
    return _normalize(raw, LIQUIDITY_TIERS, "liquidity tier")
