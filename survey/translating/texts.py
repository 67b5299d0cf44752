"""A survey's translatable texts, each under a stable key built from codes.

Keys survive a survey being rebuilt from its definition file (database ids do not):
``title``, ``intro``, ``privacy_notice``, ``q/<code>/text``, ``q/<code>/hint``,
``q/<code>/option/<code>``, ``q/<code>/item/<code>`` and ``q/<code>/scale/<code>``.
A text exists when it has a non-empty value in the survey's default language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..i18n import _
from ..models import Question, Survey

#: The part of an item's key naming its kind, and the question attribute holding its entries.
CHOICE_KINDS = (("option", "options"), ("item", "items"), ("scale", "scale"))


@dataclass(frozen=True)
class Text:
    """One translatable text: the ``attribute`` of ``owner`` holds its ``{language: text}`` dict."""

    key: str
    owner: object
    attribute: str
    question: Question | None = None
    kind: str = ""  # "text", "hint", "option", "item" or "scale" for a question's texts
    code: str = ""  # the option's, item's or scale point's code

    @property
    def texts(self) -> dict[str, str]:
        return getattr(self.owner, self.attribute) or {}

    def value(self, language: str) -> str:
        """The text in ``language`` exactly as stored, or "" (no fallback)."""
        return self.texts.get(language) or ""


def survey_texts(survey: Survey) -> list[Text]:
    """Every text of the survey that has a default-language value, in page order."""
    candidates = [
        Text("title", survey, "title"),
        Text("intro", survey, "intro"),
        Text("privacy_notice", survey, "privacy_notice"),
    ]
    for question in survey.questions:
        base = f"q/{question.code}"
        candidates.append(Text(f"{base}/text", question, "text", question, "text"))
        candidates.append(Text(f"{base}/hint", question, "hint", question, "hint"))
        for kind, attribute in CHOICE_KINDS:
            for entry in getattr(question, attribute):
                candidates.append(Text(f"{base}/{kind}/{entry.code}", entry, "label", question, kind, entry.code))
    return [text for text in candidates if text.value(survey.default_language).strip()]


def source_hash(text: str) -> str:
    """What a confirmation records: the default-language text the translation was checked against."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe(text: Text) -> str:
    """A label staff recognise, e.g. "Question 3 (priorities): option 'asb'"."""
    if text.question is None:
        return {"title": _("Survey title"), "intro": _("Introduction"), "privacy_notice": _("Privacy notice")}[text.key]
    question = {"number": text.question.position, "question": text.question.code}
    if text.kind == "text":
        return _("Question %(number)d (%(question)s): question text", **question)
    if text.kind == "hint":
        return _("Question %(number)d (%(question)s): hint", **question)
    if text.kind == "option":
        return _("Question %(number)d (%(question)s): option '%(code)s'", code=text.code, **question)
    if text.kind == "item":
        return _("Question %(number)d (%(question)s): item '%(code)s'", code=text.code, **question)
    return _("Question %(number)d (%(question)s): scale point '%(code)s'", code=text.code, **question)
