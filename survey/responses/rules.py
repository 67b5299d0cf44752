"""What makes an answer acceptable: one place for the web form, paper entry and CSV import.

:func:`compile_rules` turns a survey into one :class:`FieldRule` per field of the
answer encoding, with its lookups built once, so a million-row import checks
each value with a dictionary look-up. ``problems()`` returns translated sentences
without a location; callers add "Question 3" or "row 12, column priorities".
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

from ..i18n import _, ngettext
from ..models import LocalizedText, Question, Survey, localized
from .encoding import answer_fields

#: Control characters other than tab and newline cannot be stored (PostgreSQL refuses NUL) or shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SHOWN_VALUE_LENGTH = 40

#: One stored answer: (option_id, item_id, scale_point_id, text), exactly one kind filled.
AnswerRow = tuple[int | None, int | None, int | None, str | None]


def clean_values(values: list[str]) -> list[str]:
    """Drop empty values: an unticked box and a blank text are no answer."""
    return [value.strip() for value in values if value and value.strip()]


def normalise_text(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_VALUE_LENGTH else value[: _SHOWN_VALUE_LENGTH - 1] + "…"


@dataclass
class FieldRule:
    """The rules for one field: a single/multi/text question, or one matrix item."""

    field_name: str
    question_id: int
    question_type: str
    required: bool
    default_language: str
    max_choices: int | None = None
    max_length: int | None = None
    item_id: int | None = None
    item_label: LocalizedText = field(default_factory=dict)
    #: code → id of the options (single/multi) or scale points (matrix cell).
    codes: dict[str, int] = field(default_factory=dict)
    #: labels of exclusive options, by code.
    exclusive: dict[str, LocalizedText] = field(default_factory=dict)
    #: default-language label, folded, → code: imports may give labels instead of codes.
    code_by_label: dict[str, str] = field(default_factory=dict)
    #: folded labels that more than one code has: they mean none of them.
    shared_labels: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.is_text = self.question_type == "text"

    def values_for(self, raw: list[str]) -> list[str]:
        """The values this field is judged on: text kept whole, codes stripped of blanks."""
        return raw if self.is_text else clean_values(raw)

    def problems(self, raw: list[str], language: str) -> list[str]:
        if self.is_text:
            return self._text_problems(raw)
        values = clean_values(raw)
        if self.item_id is not None:
            return self._cell_problems(values, language)
        return self._choice_problems(values, language)

    def evaluate(self, raw: list[str], language: str) -> tuple[list[str], list[AnswerRow]]:
        """Problems, or else the rows to store: one call per field on the import's hot path."""
        if len(raw) == 1 and not self.is_text:
            # The common case, a single known code, needs no further checks.
            code = raw[0].strip()
            if code in self.codes:
                row = (self.codes[code], None, None, None) if self.item_id is None else (None, self.item_id, self.codes[code], None)
                return [], [row]
        problems = self.problems(raw, language)
        return problems, ([] if problems else list(self.answer_rows(raw)))

    def answer_rows(self, raw: list[str]) -> Iterator[AnswerRow]:
        """The rows to store for values that passed problems()."""
        if self.is_text:
            text = normalise_text(raw[0]) if raw else ""
            if text:
                yield None, None, None, text
        elif self.item_id is not None:
            for code in clean_values(raw):
                yield None, self.item_id, self.codes[code], None
        else:
            for code in clean_values(raw):
                yield self.codes[code], None, None, None

    def code_for(self, value: str) -> str:
        """The code a value means: itself, or the code whose default-language label it is."""
        if value in self.codes:
            return value
        return self.code_by_label.get(fold_label(value), value)

    def _label(self, texts: LocalizedText, language: str) -> str:
        return localized(texts, language, self.default_language)

    def _choice_problems(self, values: list[str], language: str) -> list[str]:
        if not values:
            return [_("Select an answer")] if self.required else []
        unknown = [value for value in values if value not in self.codes]
        if unknown:
            return [self._shared_label_problem(unknown[0]) or _("“%(value)s” is not one of the answers to this question", value=_shown(unknown[0]))]
        if len(set(values)) != len(values):
            return [_("An answer was given more than once")]
        if self.question_type == "single" and len(values) > 1:
            return [_("Choose only one answer")]
        exclusive = [value for value in values if value in self.exclusive]
        if exclusive and len(values) > 1:
            label = self._label(self.exclusive[exclusive[0]], language)
            return [_("“%(option)s” cannot be combined with other answers", option=label)]
        if self.max_choices is not None and len(values) > self.max_choices:
            return [
                ngettext(
                    "Choose no more than %(num)d answer",
                    "Choose no more than %(num)d answers",
                    self.max_choices,
                )
            ]
        return []

    def _cell_problems(self, values: list[str], language: str) -> list[str]:
        label = self._label(self.item_label, language)
        if not values:
            return [_("Select an answer for “%(item)s”", item=label)] if self.required else []
        if len(values) > 1:
            return [_("Choose only one answer for “%(item)s”", item=label)]
        if values[0] not in self.codes:
            return [self._shared_label_problem(values[0]) or _("“%(value)s” is not on the scale for “%(item)s”", value=_shown(values[0]), item=label)]
        return []

    def _shared_label_problem(self, value: str) -> str | None:
        if self.shared_labels and fold_label(value) in self.shared_labels:
            return _("“%(value)s” is the label of more than one answer: give its code", value=_shown(value))
        return None

    def _text_problems(self, raw: list[str]) -> list[str]:
        if len(raw) > 1:
            return [_("Give one answer")]
        text = normalise_text(raw[0]) if raw else ""
        if not text:
            return [_("Enter an answer")] if self.required else []
        if _CONTROL.search(text):
            return [_("Your answer contains characters that cannot be saved")]
        if self.max_length is not None and len(text) > self.max_length:
            return [
                ngettext(
                    "Your answer must be %(num)d character or fewer",
                    "Your answer must be %(num)d characters or fewer",
                    self.max_length,
                )
            ]
        return []


#: Typographic characters that word processors and other survey tools put in place of plain ones.
_PLAIN_PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"',
                                    "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})


def fold_label(label: str) -> str:
    """Labels match whatever their case, spacing and quote or dash style ("Don’t know" is "don't know")."""
    folded = " ".join(unicodedata.normalize("NFKC", label).translate(_PLAIN_PUNCTUATION).split()).casefold()
    return _AROUND_SEPARATOR.sub(r"\1", folded)


#: Spaces beside a ';' or '/' in a label: "Drugs ; dealing" is "Drugs;dealing", "Speeding / racing" is "Speeding/racing".
_AROUND_SEPARATOR = re.compile(r" ?([;/]) ?")


def _label_lookup(labelled: Iterator[tuple[str, str]]) -> dict:
    """``code_by_label`` and ``shared_labels`` for FieldRule: folded label → code, except labels
    two codes share once folded, which mean neither (the code must be given)."""
    found: dict[str, str | None] = {}
    for label, code in labelled:
        folded = fold_label(label)
        found[folded] = code if found.get(folded, code) == code else None
    return {
        "code_by_label": {folded: code for folded, code in found.items() if code is not None},
        "shared_labels": frozenset(folded for folded, code in found.items() if code is None),
    }


def _question_rules(question: Question, default_language: str) -> Iterator[FieldRule]:
    common = dict(
        question_id=question.id,
        question_type=question.type,
        required=question.required,
        default_language=default_language,
    )
    for field_name, item in answer_fields(question):
        if item is not None:
            yield FieldRule(
                field_name=field_name,
                item_id=item.id,
                item_label=item.label,
                codes={point.code: point.id for point in question.scale},
                **_label_lookup((localized(p.label, default_language, default_language), p.code) for p in question.scale),
                **common,
            )
        else:
            yield FieldRule(
                field_name=field_name,
                max_choices=question.max_choices,
                max_length=question.max_length,
                codes={option.code: option.id for option in question.options},
                exclusive={option.code: option.label for option in question.options if option.exclusive},
                **_label_lookup((localized(o.label, default_language, default_language), o.code) for o in question.options),
                **common,
            )


def compile_rules(survey: Survey) -> dict[str, FieldRule]:
    """Every field of the survey's answer encoding, in questionnaire order, with its rules."""
    return {
        rule.field_name: rule
        for question in survey.questions
        for rule in _question_rules(question, survey.default_language)
    }


# ---------------------------------------------------------------- per-process cache

#: Surveys whose rules (and generated form classes) one process keeps; the least recently used goes first.
CACHE_SIZE = 32


def _frozen(texts: LocalizedText | None) -> tuple:
    return tuple(sorted((texts or {}).items()))


def structure_key(survey: Survey) -> tuple | None:
    """Everything :func:`compile_rules` reads from ``survey``, as a hashable key; None when not all is stored yet.

    Ids are part of it, and the survey builder gives questions new ids whenever it rebuilds them, so a
    rebuilt survey never meets rules compiled for its earlier shape; limits, codes and the labels that
    error messages quote are part of it too, so an edit in place is seen as well.
    """
    questions = tuple(
        (
            question.id,
            question.code,
            question.type,
            question.required,
            question.max_choices,
            question.max_length,
            tuple((option.id, option.code, option.exclusive, _frozen(option.label)) for option in question.options),
            tuple((item.id, item.code, _frozen(item.label)) for item in question.items),
            tuple((point.id, point.code, _frozen(point.label)) for point in question.scale),
        )
        for question in survey.questions
    )
    key = (survey.id, survey.default_language, questions)
    if survey.id is None or any(_has_unsaved(question) for question in questions):
        return None
    return key


def _has_unsaved(question: tuple) -> bool:
    return question[0] is None or any(entry[0] is None for children in question[6:] for entry in children)


class StructureCache:
    """A small, thread-safe, least-recently-used map from a key (e.g. :func:`structure_key`) to what is built from it."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable | None, build: Callable[[], object]) -> object:
        if key is None:  # a survey with unsaved parts (a builder preview): built afresh, never kept
            return build()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = build()  # outside the lock: two threads may build the same thing once each, harmlessly
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def peek(self, key: Hashable) -> object | None:
        """What is kept for ``key``, or None; never builds."""
        with self._lock:
            return self._entries.get(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_rules_cache = StructureCache()


def cached_rules(survey: Survey) -> dict[str, FieldRule]:
    """:func:`compile_rules`, compiled once per process for each shape of a survey. Treat the result as read-only."""
    return _rules_cache.get(structure_key(survey), lambda: compile_rules(survey))
