"""What makes an answer acceptable: one place for the web form, paper entry and CSV import.

Each check takes the raw values given for one field and returns problems as
translated sentences without a location; callers add "Question 3" or
"row 12, column priorities" as fits them.
"""

from __future__ import annotations

import re
import unicodedata

from ..i18n import _, ngettext
from ..models import MatrixItem, Question

#: Control characters other than tab and newline cannot be stored (PostgreSQL refuses NUL) or shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SHOWN_VALUE_LENGTH = 40


def clean_values(values: list[str]) -> list[str]:
    """Drop empty values: an unticked box and a blank text are no answer."""
    return [value.strip() for value in values if value and value.strip()]


def normalise_text(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_VALUE_LENGTH else value[: _SHOWN_VALUE_LENGTH - 1] + "…"


def choice_problems(question: Question, values: list[str], language: str) -> list[str]:
    """Problems with the option codes given for a single or multi question."""
    if not values:
        return [_("Select an answer")] if question.required else []
    options = {option.code: option for option in question.options}
    unknown = [value for value in values if value not in options]
    if unknown:
        return [_("“%(value)s” is not one of the answers to this question", value=_shown(unknown[0]))]
    if len(set(values)) != len(values):
        return [_("An answer was given more than once")]
    if question.type == "single" and len(values) > 1:
        return [_("Choose only one answer")]
    chosen = [options[value] for value in values]
    exclusive = [option for option in chosen if option.exclusive]
    if exclusive and len(chosen) > 1:
        label = question.survey.text(exclusive[0].label, language)
        return [_("“%(option)s” cannot be combined with other answers", option=label)]
    if question.max_choices is not None and len(chosen) > question.max_choices:
        return [
            ngettext(
                "Choose no more than %(num)d answer",
                "Choose no more than %(num)d answers",
                question.max_choices,
            )
        ]
    return []


def cell_problems(question: Question, item: MatrixItem, values: list[str], language: str) -> list[str]:
    """Problems with the scale code given for one matrix item."""
    label = question.survey.text(item.label, language)
    if not values:
        return [_("Select an answer for “%(item)s”", item=label)] if question.required else []
    if len(values) > 1:
        return [_("Choose only one answer for “%(item)s”", item=label)]
    if values[0] not in {point.code for point in question.scale}:
        return [_("“%(value)s” is not on the scale for “%(item)s”", value=_shown(values[0]), item=label)]
    return []


def text_problems(question: Question, values: list[str]) -> list[str]:
    """Problems with a free-text answer."""
    if len(values) > 1:
        return [_("Give one answer")]
    text = normalise_text(values[0]) if values else ""
    if not text:
        return [_("Enter an answer")] if question.required else []
    if _CONTROL.search(text):
        return [_("Your answer contains characters that cannot be saved")]
    limit = question.max_length
    if limit is not None and len(text) > limit:
        return [
            ngettext(
                "Your answer must be %(num)d character or fewer",
                "Your answer must be %(num)d characters or fewer",
                limit,
            )
        ]
    return []


def field_problems(question: Question, item: MatrixItem | None, values: list[str], language: str) -> list[str]:
    """Problems with the values of one field in the answer encoding."""
    if question.type == "text":
        return text_problems(question, values)
    values = clean_values(values)
    if item is not None:
        return cell_problems(question, item, values, language)
    return choice_problems(question, values, language)
