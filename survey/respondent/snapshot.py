"""The questionnaire residents are served, kept per process until the survey changes.

Loading a survey's questions, options, items and scale points through the ORM, and
rendering the blank form, were most of the work of a resident's request. Both now
happen once per process for each ``Survey.revision`` (a mark that every edit of
the survey replaces, see ``models._mark_changed_surveys``): a request reads the
survey's id and revision in one small query and reuses the rest. Pages that only
show the survey may skip even that query for ``SURVEY_RECHECK_SECONDS`` after the
last one; a submission is always checked against the revision it was validated with
(``responses.store.store_submission``).

The snapshot is plain, frozen data with the attribute names of the models, so the
templates, the answer rules and the generated form read it as they read a survey.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..database import request_connection
from ..extensions import db
from ..models import LocalizedText, MatrixItem, Option, Question, ScalePoint, Survey
from ..responses.rules import StructureCache, structure_key

#: Snapshots one process keeps; the least recently used goes first.
SNAPSHOTS_KEPT = 32


@dataclass(frozen=True, slots=True)
class ChoiceView:
    """An option, matrix item or scale point."""

    id: int
    code: str
    position: int
    label: LocalizedText
    exclusive: bool = False
    top_box: bool = False


@dataclass(frozen=True, slots=True)
class QuestionView:
    id: int
    code: str
    type: str
    position: int
    required: bool
    sensitive: bool
    max_choices: int | None
    max_length: int | None
    text: LocalizedText
    hint: LocalizedText
    options: tuple[ChoiceView, ...]
    items: tuple[ChoiceView, ...]
    scale: tuple[ChoiceView, ...]


@dataclass(frozen=True, slots=True)
class SurveyView:
    id: int
    revision: str
    slug: str
    title: LocalizedText
    intro: LocalizedText
    default_language: str
    languages: tuple[str, ...]
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    retention_days: int | None
    text_retention_days: int | None
    privacy_notice: LocalizedText
    questions: tuple[QuestionView, ...]
    #: ``rules.structure_key`` of the survey, worked out once (it is the key of the generated form class).
    structure: tuple | None = field(default=None, compare=False)
    #: Whole pages that are the same for every resident, by what else they depend on (views.form_page).
    pages: dict[tuple, object] = field(default_factory=dict, compare=False)

    # The same rules as the model's, read from the snapshot.
    text = Survey.text
    is_accepting = Survey.is_accepting
    has_ended = Survey.has_ended


def _choice(choice: Option | MatrixItem | ScalePoint) -> ChoiceView:
    return ChoiceView(
        id=choice.id,
        code=choice.code,
        position=choice.position,
        label=dict(choice.label or {}),
        exclusive=bool(getattr(choice, "exclusive", False)),
        top_box=bool(getattr(choice, "top_box", False)),
    )


def _question(question: Question) -> QuestionView:
    return QuestionView(
        id=question.id,
        code=question.code,
        type=question.type,
        position=question.position,
        required=question.required,
        sensitive=question.sensitive,
        max_choices=question.max_choices,
        max_length=question.max_length,
        text=dict(question.text or {}),
        hint=dict(question.hint or {}),
        options=tuple(map(_choice, question.options)),
        items=tuple(map(_choice, question.items)),
        scale=tuple(map(_choice, question.scale)),
    )


def snapshot_of(survey: Survey) -> SurveyView:
    """A frozen copy of ``survey`` and its whole questionnaire."""
    snapshot = SurveyView(
        id=survey.id,
        revision=survey.revision,
        slug=survey.slug,
        title=dict(survey.title or {}),
        intro=dict(survey.intro or {}),
        default_language=survey.default_language,
        languages=tuple(survey.languages),
        status=survey.status,
        opens_at=survey.opens_at,
        closes_at=survey.closes_at,
        retention_days=survey.retention_days,
        text_retention_days=survey.text_retention_days,
        privacy_notice=dict(survey.privacy_notice or {}),
        questions=tuple(map(_question, survey.questions)),
    )
    return dataclasses.replace(snapshot, structure=structure_key(snapshot))


#: The whole questionnaire in five queries, instead of one query per question for each of its lists.
WHOLE_QUESTIONNAIRE = selectinload(Survey.questions).options(
    selectinload(Question.options), selectinload(Question.items), selectinload(Question.scale)
)


#: Snapshots by (survey id, revision); the least recently used goes first.
_snapshots = StructureCache(SNAPSHOTS_KEPT)


def current_snapshot(slug: str, max_age: float = 0.0) -> SurveyView | None:
    """The survey called ``slug`` as it is now in the database, or None when there is none.

    One small query when this process already has the survey's current revision. (If an edit is
    committed between that query and the load, the newer content is kept under the older revision:
    only requests that read the older revision before the commit can meet it, and they get newer
    content, never older.) With ``max_age`` > 0, not even that query when this app read the
    revision less than ``max_age`` seconds ago: an edit then reaches residents that much later.
    """
    checked = current_app.extensions.setdefault("survey_revision_checked", {})  # slug -> (asked at, id, revision)
    if max_age > 0:
        last = checked.get(slug)
        if last is not None and time.monotonic() - last[0] < max_age:
            kept = _snapshots.peek(last[1:])
            if kept is not None:
                return kept
    asked_at = time.monotonic()  # before the query: the snapshot is at least this fresh
    surveys = Survey.__table__  # a Core query: this runs on every resident request
    current = request_connection().execute(select(surveys.c.id, surveys.c.revision).where(surveys.c.slug == slug)).first()
    if current is None:
        checked.pop(slug, None)
        return None

    def load() -> SurveyView | None:
        loaded = db.session.scalar(select(Survey).where(Survey.id == current.id).options(WHOLE_QUESTIONNAIRE))
        return snapshot_of(loaded) if loaded is not None else None  # None: deleted in between

    snapshot = _snapshots.get((current.id, current.revision), load)
    if snapshot is not None:
        checked[slug] = (asked_at, current.id, current.revision)
    return snapshot


def kept_snapshot(slug: str) -> SurveyView | None:
    """The snapshot of ``slug`` this app last served, however old, or None; never asks the database.
    For a page that may show a survey from memory while the database cannot be reached."""
    last = current_app.extensions.get("survey_revision_checked", {}).get(slug)
    return _snapshots.peek(last[1:]) if last is not None else None
