"""Spreadsheet safety shared by every CSV and XLSX the platform writes."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    """Prefix text a spreadsheet would run as a formula with an apostrophe; other values pass through.

    Text that already starts with apostrophes before such a character gets one more, so that
    taking one off again (a response import) always gives back exactly the text written.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
