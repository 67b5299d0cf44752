"""Masking personal details that residents write into free-text answers, for exports that leave the team.

Residents are asked not to name anyone, yet comments still carry e-mail addresses, phone
numbers and postcodes. :func:`mask_personal_data` replaces them with ``[email]``,
``[phone]`` and ``[postcode]``. It is a safety net for what a pattern can recognise, not
anonymisation: names and descriptions of people are left as written.
"""

from __future__ import annotations

import re

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
POSTCODE_MASK = "[postcode]"

# Starts only where a run of address characters starts: unanchored, a long run without "@" is
# scanned again from each of its characters (seconds for 10 KB of hostile text).
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")

# A UK number: +44 / 0044 (an optional 0 or "(0)" after it) or a leading 0, then the national
# number, its first digit 1-3, 5 or 7-9 (landlines, non-geographic numbers, mobiles), written
# whole or in groups of at least two digits after a first one of two or more (of any length for a
# mobile, "07 700 900 123"), split by a space, a dash of any kind (pasted text has non-breaking
# spaces, word processors en dashes) or a dot; the area code may be bracketed, "(0121) 496 0000",
# "+44 (0121) 496 0000", and the 0 too, "(0)7700 900123". Letters may come right before it
# ("tel07700900123", also a reference like INC0123456789: masking errs on the safe side), digits
# may not. A date such as 01-02-2023 or 01.02.2024 has too few digits. Groups of two and a 0
# written apart ("07700 90 01 23", "0 7700 900123") are checked harder by _mask_phone, since
# lists of numbers look like that too.
_SPACE = r"[ \u00a0\u2009\u202f]"
_GAP = r"[ \u00a0\u2009\u202f\-\u2010\u2011\u2012\u2013.]"
# "(0)" before the rest, or the "(0" of a bracketed area code.
_BRACKETED_0 = rf"\(0(?:\){_GAP}?|(?=\d{{2,5}}\)))"
_PHONE = re.compile(
    r"(?<![\d+])"
    rf"(?:(?:\+|00)44{_GAP}?(?:{_BRACKETED_0}|\((?=\d{{2,5}}\))|0{_GAP}?)?|{_BRACKETED_0}|0(?P<apart>{_SPACE})?)"
    rf"(?P<national>(?:7\d{{0,9}}|[1-35789]\d{{1,9}})(?:(?:{_GAP}|\){_GAP}?)\d{{2,}})*)"
    r"(?!\d)"
)
_DIGIT_GROUP = re.compile(r"\d+")
#: Digits in a UK national number (without its leading 0).
_NATIONAL_DIGITS = (9, 10)


def _mask_phone(match: re.Match) -> str:
    """[phone] for the longest run of the match's digit groups that is a whole national number.

    Greedy matching may take in a number written after the phone number ("0121 496 0000 2024"):
    such trailing groups stay as they were. A 0 written apart or a group of two digits after the
    first group is also how lists are written ("0 100 200 300", "0700 10 12 14"): such a number
    is masked only with all ten digits of a national number and a first group of three or more
    (two for London's 20)."""
    whole = match.group()
    national = match.group("national")
    offset = match.start("national") - match.start()
    strict = match.group("apart") is not None
    digits, first, cut = 0, 0, None
    for index, group in enumerate(_DIGIT_GROUP.finditer(national)):
        length = len(group.group())
        if index == 0:
            first = length
        elif length < 3:
            strict = True
        digits += length
        if digits > _NATIONAL_DIGITS[1]:
            break
        if strict and (digits != _NATIONAL_DIGITS[1] or (first < 3 and not national.startswith("2"))):  # London: 0 20 7946 0000
            continue
        if digits >= _NATIONAL_DIGITS[0]:
            cut = offset + group.end()
    return whole if cut is None else PHONE_MASK + whole[cut:]


# A full postcode: the outward code (area and district: B1, WV10, SW1A, EC1A, W1A) and the inward
# code (a digit and two letters, never C, I, K, M, O or V), with or without a space (or two, or a
# dash); plus GIR 0AA.
# An outward code alone covers thousands of addresses and looks like road names (A1, M6): kept.
_OUTWARD = (
    r"(?:[A-PR-UWYZ]\d[\dA-HJKPSTUW]?"  # A9, A99, A9A
    r"|[A-PR-UWYZ][A-HK-Y]\d[\dABEHMNPRVWXY]?)"  # AA9, AA99, AA9A
)
_POSTCODE = re.compile(rf"\b(?:{_OUTWARD}(?:[ \u00a0]{{1,2}}|-)?\d[ABD-HJLNP-UW-Z]{{2}}|GIR[ \u00a0]?0AA)\b", re.IGNORECASE)


def mask_personal_data(text: str) -> str:
    """``text`` with e-mail addresses, UK phone numbers and full UK postcodes replaced by placeholders."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _PHONE.sub(_mask_phone, text)
    return _POSTCODE.sub(POSTCODE_MASK, text)
