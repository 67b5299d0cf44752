"""Builder edits as changes to the survey's definition document.

Every edit reads the survey as a definition (the same data as a definition file),
changes it, and applies it with the same validation and the same rules as
`flask survey load`: a survey without responses is rebuilt; once it has
responses only wording, translations and same_as links may change. So the
builder can never create a survey a definition file could not describe.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pydantic import ValidationError

from ..audit import record
from ..definitions import DefinitionError, SurveyDefinition, load_definition
from ..definitions.schema import TEXT_KEYS
from ..definitions.store import definition_from_survey
from ..models import Survey

ENTRY_KINDS = ("options", "items", "scale")
FLAG_OF_KIND = {"options": "exclusive", "items": None, "scale": "top_box"}


@dataclass(frozen=True)
class Problem:
    """One reason an edit was refused: where in the document (pydantic location) and why."""

    location: tuple
    message: str


class BuilderError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def survey_document(survey: Survey) -> dict:
    """The survey as plain definition data, ready to be edited."""
    return definition_from_survey(survey).model_dump(mode="json")


def check_document(document: dict, stored_codes: frozenset[str] = frozenset()) -> SurveyDefinition:
    """The edited document as a definition; ``stored_codes`` are the survey's question codes as
    stored, which rules added since it was made do not refuse."""
    try:
        return SurveyDefinition.model_validate(document, context={"stored_codes": stored_codes})
    except ValidationError as error:
        raise BuilderError(
            [Problem(tuple(p["loc"]), p["msg"].removeprefix("Value error, ")) for p in error.errors()]
        ) from None


def save_document(survey: Survey | None, document: dict, action: str, **details) -> Survey:
    """Validate and apply an edited document, and record who did it; the caller commits."""
    definition = check_document(document, frozenset(question.code for question in survey.questions) if survey else frozenset())
    try:
        result = load_definition(definition, confirm_translations=False)  # edits the default language only
    except DefinitionError as error:
        raise BuilderError([Problem((), message.strip()) for message in error.problems]) from None
    record(action, f"survey {result.survey.slug}", **details)
    return result.survey


def code_from_label(label: str, taken: set[str], fallback: str) -> str:
    """A code made from a label: 'Anti-social behaviour' → 'anti_social_behaviour', unique among ``taken``."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    code = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:40]
    if not code or not code[0].isalpha():
        code = f"{fallback}_{code}".strip("_") if code else fallback
    candidate, number = code, 2
    while candidate in taken:
        candidate, number = f"{code}_{number}", number + 1
    return candidate


def entries_from_lines(lines: str, kind: str, language: str, taken: set[str]) -> list[dict]:
    """New options, items or scale points from text with one label per line."""
    singular = {"options": "option", "items": "item", "scale": "point"}[kind]
    entries = []
    for label in (line.strip() for line in (lines or "").splitlines()):
        if not label:
            continue
        code = code_from_label(label, taken, f"{singular}_{len(taken) + 1}")
        taken.add(code)
        entries.append({"code": code, "label": {language: label}})
    return entries


def question_index(document: dict, code: str) -> int | None:
    return next((i for i, question in enumerate(document["questions"]) if question["code"] == code), None)


def move(entries: list, index: int, step: int) -> None:
    """Move one entry up (step -1) or down (+1); at either end nothing happens."""
    target = index + step
    if 0 <= index < len(entries) and 0 <= target < len(entries):
        entries[index], entries[target] = entries[target], entries[index]


def new_question(code: str, kind: str, text: str, language: str, lines: dict[str, str]) -> dict:
    """A question for the document: its answer options (or matrix items and scale) from lines of text."""
    question = {"code": code, "type": kind, "text": {language: text}}
    if kind in ("single", "multi"):
        question["options"] = entries_from_lines(lines.get("options", ""), "options", language, set())
    elif kind == "matrix":
        question["items"] = entries_from_lines(lines.get("items", ""), "items", language, set())
        question["scale"] = entries_from_lines(lines.get("scale", ""), "scale", language, set())
    return question


def with_text(texts: dict | None, language: str, value: str) -> dict:
    """Texts with one language's value replaced (removed when empty); other translations kept."""
    texts = dict(texts or {})
    value = (value or "").strip()
    if value:
        texts[language] = value
    else:
        texts.pop(language, None)
    return texts


def drop_languages(node, keep: set[str]) -> list[str]:
    """Remove every text in a language not in ``keep`` from the document; returns the languages removed."""
    removed: set[str] = set()

    def walk(value):
        if isinstance(value, list):
            for entry in value:
                walk(entry)
        elif isinstance(value, dict):
            for key, child in value.items():
                if key in TEXT_KEYS and isinstance(child, dict):
                    for language in [code for code in child if code not in keep]:
                        removed.add(language)
                        del child[language]
                else:
                    walk(child)

    walk(node)
    return sorted(removed)


def describe_location(location: tuple, document: dict) -> str:
    """'Question 3 (priorities), option 2 (asb), code' for a pydantic location in the document."""
    words = {"options": "option", "items": "item", "scale": "scale point"}
    parts: list[str] = []
    node = document
    for step in location:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            code = node.get("code") if isinstance(node, dict) else None
            if parts:
                parts[-1] = f"{parts[-1]} {step + 1}" + (f" ({code})" if code else "")
        elif isinstance(step, str):
            node = node.get(step) if isinstance(node, dict) else None
            parts.append("question" if step == "questions" else words.get(step, step.replace("_", " ")))
    return ", ".join(parts)
