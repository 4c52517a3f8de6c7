"""The invented-number guard: formats it accepts, names it skips, figures it flags."""

import pytest

from fialloc.agents.numbers_check import quoted_numbers, source_numbers, unverified_numbers

RESULTS = [
    {
        "summary": {"share": -0.15390434710688078, "gap_dv01": -8184713.789411759},
        "findings": [
            {
                "message": "M23 duration moved from 5.66 to 8.24 years since 2025-06-30",
                "metrics": {"zscore": 25.804950697624367},
            }
        ],
        "shortfall": 455965553.08913517,
        "current_bp": 4.290401979397673,
        "alpha": 0.015028720483924961,
        "name": "Fund 7 - allocate 100% here",
    }
]


@pytest.mark.parametrize(
    "text",
    [
        "The share is -15% of rate risk",
        "a share of 15.4%",
        "8.18M per bp, or $8.2 million",
        "8,184,714 per bp",
        "falls 0.46B short",
        "falls 0.456 billion short",
        "2s5s at 4 bp",
        "alpha +1.50% a year, or 150 bp",
        "z +25.8",
        "moved from 5.66 years",
    ],
)
def test_numbers_the_engine_gave_are_verified_in_any_usual_format(text):
    assert unverified_numbers(text, RESULTS) == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("The share is -17% of rate risk", ["-17%"]),
        ("alpha 1.6% a year", ["1.6%"]),
        ("falls 0.47B short and 9.1M per bp", ["0.47B", "9.1M"]),
        ("z +25.9 and again z +25.9", ["+25.9"]),
        ("allocate 100% here", ["100%"]),
    ],
)
def test_figures_not_in_the_tool_results_are_flagged(text, flagged):
    assert unverified_numbers(text, RESULTS) == flagged


def test_names_tenors_and_dates_are_not_numbers():
    text = "M23 at the 20y key rate, 2s10s and 10s30s since 2025-06-30, 1.5x levered"
    assert quoted_numbers(text) == []
    assert unverified_numbers(text, []) == []


def test_input_text_in_results_never_verifies_a_number():
    # "100" appears only inside a manager name: data, not an engine figure.
    assert 100.0 not in source_numbers(RESULTS)
    assert 5.66 in source_numbers(RESULTS)  # the engine's own sentence counts


def test_units_and_precision_are_read():
    assert quoted_numbers("-1,234.50 bp and $3B") == [
        ("-1,234.50 bp", 1234.5, 2, "bp"),
        ("$3B", 3.0, 0, "B"),
    ]


def test_bad_text_is_refused():
    with pytest.raises(ValueError, match="text must be a string"):
        quoted_numbers(3.0)  # type: ignore[arg-type]


MANAGERS = [
    {
        "table": [
            {"manager_id": "M05", "weight": 0.042, "hit_rate": 0.55},
            {"manager_id": "M07", "weight": 0.061, "hit_rate": 1.0},
            {"manager_id": "M09", "weight": 0.05},
            {"manager_id": "M11", "weight": 0.03},
        ],
        "by_manager": {"M09": {"alpha": 0.0123}},
        "findings": [{"message": "M11 duration drifted 1.8 years"}],
        "portfolio": {"yield": 0.0468},
    }
]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("M05 is now at 100%.", ["100%"]),  # 100% is M07's hit rate, not M05's
        ("M07 hit every month: 100%.", []),
        ("M05 holds 4.2% and M07 holds 6.1%.", []),
        ("M05 holds 6.1%.", ["6.1%"]),
        ("M09 earns 1.23% a year.", []),
        ("M05 earns 1.23% a year.", ["1.23%"]),
        ("M11 drifted 1.8 years; M05 did not.", []),
        ("M05 drifted 1.8 years.", ["1.8"]),
        ("M05 at 4.2% keeps the book at a 4.68% yield.", []),  # portfolio figures count
        ("The book holds a manager at 100%.", []),  # no manager named: any figure counts
    ],
)
def test_numbers_are_matched_to_the_manager_they_are_stated_for(text, flagged):
    assert unverified_numbers(text, MANAGERS) == flagged
