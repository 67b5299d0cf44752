"""Formula injection: text a spreadsheet would run is neutralised, everything else passes through."""

from __future__ import annotations

import pytest

from analysis.spreadsheet import neutralise_formula


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "carriage return"],
)
def test_risky_text_gets_an_apostrophe(value, expected):
    assert neutralise_formula(value) == expected


@pytest.mark.parametrize(
    "value",
    ["Drug dealing", "", "a=b", "10.7%", " =not first", "'quoted", -5.2, 0, 12, None, True],
    ids=["text", "empty", "equals inside", "percent", "space first", "apostrophe", "negative float", "zero", "int", "none", "bool"],
)
def test_safe_values_pass_through_unchanged(value):
    result = neutralise_formula(value)
    assert result == value and type(result) is type(value)
