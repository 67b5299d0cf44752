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

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")

# A UK number: +44 / 0044 (an optional 0 or "(0)" after it) or a leading 0, then the national
# number, its first digit 1-3, 5 or 7-9 (landlines, non-geographic numbers, mobiles), written
# whole or in groups of at least three digits after a first one of two or more (of any length
# for a mobile, "07 700 900 123"), split by a space or a dash of any kind (pasted text has
# non-breaking spaces, word processors en dashes); the area code may be bracketed, "(0121) 496
# 0000". Letters may come right before it ("tel07700900123", also a reference like INC0123456789:
# masking errs on the safe side), digits may not. A date such as 01-02-2023 has groups too short.
_GAP = r"[ \u00a0\u2009\u202f\-\u2010\u2011\u2012\u2013]"
_PHONE = re.compile(
    r"(?<![\d+])"
    rf"(?:(?:\+|00)44{_GAP}?(?:\(0\){_GAP}?|0{_GAP}?)?|\(0(?=\d{{2,5}}\))|0)"
    rf"(?P<national>(?:7\d{{0,9}}|[1-35789]\d{{1,9}})(?:(?:{_GAP}|\){_GAP}?)\d{{3,}})*)"
    r"(?!\d)"
)
_DIGIT_GROUP = re.compile(r"\d+")
#: Digits in a UK national number (without its leading 0).
_NATIONAL_DIGITS = (9, 10)


def _mask_phone(match: re.Match) -> str:
    """[phone] for the longest run of the match's digit groups that is a whole national number.

    Greedy matching may take in a number written after the phone number ("0121 496 0000 2024"):
    such trailing groups stay as they were."""
    whole = match.group()
    offset = match.start("national") - match.start()
    digits, cut = 0, None
    for group in _DIGIT_GROUP.finditer(match.group("national")):
        digits += len(group.group())
        if digits > _NATIONAL_DIGITS[1]:
            break
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
