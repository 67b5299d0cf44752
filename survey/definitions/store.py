"""Apply a definition to the database, and read a survey back as a definition.

Loading never commits: the caller (CLI command or view) commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from sqlalchemy import select

from ..extensions import db
from ..models import MatrixItem, Option, Question, ScalePoint, Survey, SurveySeries, as_utc
from ..translating.service import confirm_unrecorded
from .schema import DefinitionError, QuestionDefinition, SurveyDefinition


@dataclass
class LoadResult:
    survey: Survey
    created: bool
    #: Texts updated on a survey that already has responses (its structure stayed as it was).
    wording_only: bool = False
    #: What such an update changed (see changed_parts; empty: the file said what the survey had).
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_definition(definition: SurveyDefinition, confirm_translations: bool = True) -> LoadResult:
    """Create the survey as a draft, or update it.

    A survey without responses is rebuilt from the definition. Once it has
    responses only wording and translations may change; any structural
    change is refused with a message naming it. ``confirm_translations``
    (a file's author supplies texts and translations together) records the
    translations without a confirmation as confirmed; the builder, which edits
    only the default language, turns it off.
    """
    survey = db.session.scalar(select(Survey).where(Survey.slug == definition.slug))
    clash = db.session.scalar(
        select(Survey.slug).join(SurveySeries)
        .where(SurveySeries.code == definition.series, Survey.wave == definition.wave, Survey.slug != definition.slug)
    )
    if clash is not None:
        raise DefinitionError([f"wave: series '{definition.series}' already has a wave '{definition.wave}' (survey '{clash}')"])
    if survey is None:
        survey = Survey(slug=definition.slug)
        _apply_survey_fields(survey, definition)
        _build_questions(survey, definition.questions)
        db.session.add(survey)
        db.session.flush()
        if confirm_translations:
            confirm_unrecorded(survey)  # the file's translations come with its texts
        return LoadResult(survey=survey, created=True)

    if survey.response_count() == 0:
        _apply_survey_fields(survey, definition)
        survey.questions.clear()
        db.session.flush()  # old questions go before new ones reuse their codes
        _build_questions(survey, definition.questions)
        db.session.flush()
        if confirm_translations:
            confirm_unrecorded(survey)  # the file's translations come with its texts
        return LoadResult(survey=survey, created=False)

    current = definition_from_survey(survey)
    changes = structural_changes(current, definition)
    if changes:
        raise DefinitionError(
            [f"survey '{survey.slug}' already has responses, so its structure cannot change:"]
            + [f"  - {change}" for change in changes]
        )
    _apply_survey_fields(survey, definition)
    for question, new in zip(survey.questions, definition.questions, strict=True):
        question.text, question.hint = new.text, new.hint
        for entries, new_entries in ((question.options, new.options), (question.items, new.items), (question.scale, new.scale)):
            for entry, new_entry in zip(entries, new_entries, strict=True):
                entry.label = new_entry.label
                if hasattr(new_entry, "same_as"):
                    entry.same_as = list(new_entry.same_as)
    db.session.flush()
    if confirm_translations:
        confirm_unrecorded(survey)  # the file's translations come with its texts
    return LoadResult(survey=survey, created=False, wording_only=True, changed=changed_parts(current, definition))


def _apply_survey_fields(survey: Survey, definition: SurveyDefinition) -> None:
    series = db.session.scalar(select(SurveySeries).where(SurveySeries.code == definition.series))
    if series is None:
        series = SurveySeries(code=definition.series)
        db.session.add(series)
    survey.series = series
    survey.wave = definition.wave
    survey.title = definition.title
    survey.intro = definition.intro
    survey.default_language = definition.default_language
    survey.languages = list(definition.languages)
    survey.opens_at = definition.opens_at
    survey.closes_at = definition.closes_at
    survey.retention_days = definition.retention_days
    survey.text_retention_days = definition.text_retention_days
    survey.privacy_notice = dict(definition.privacy_notice)


def _build_questions(survey: Survey, questions: list[QuestionDefinition]) -> None:
    for position, new in enumerate(questions, start=1):
        question = Question(
            code=new.code,
            type=new.type,
            position=position,
            required=new.required,
            sensitive=new.sensitive,
            max_choices=new.max_choices,
            max_length=new.max_length,
            text=new.text,
            hint=new.hint,
        )
        question.options = [
            Option(code=o.code, label=o.label, exclusive=o.exclusive, same_as=list(o.same_as), position=i)
            for i, o in enumerate(new.options, 1)
        ]
        question.items = [
            MatrixItem(code=i.code, label=i.label, same_as=list(i.same_as), position=n) for n, i in enumerate(new.items, 1)
        ]
        question.scale = [
            ScalePoint(code=s.code, label=s.label, top_box=s.top_box, position=n) for n, s in enumerate(new.scale, 1)
        ]
        survey.questions.append(question)


def definition_from_survey(survey: Survey) -> SurveyDefinition:
    """The survey as a definition: the inverse of load_definition."""
    return SurveyDefinition.model_validate(
        {
            "slug": survey.slug,
            "series": survey.series.code,
            "wave": survey.wave,
            "title": survey.title,
            "intro": survey.intro,
            "default_language": survey.default_language,
            "languages": survey.languages,
            "opens_at": survey.opens_at and as_utc(survey.opens_at),
            "closes_at": survey.closes_at and as_utc(survey.closes_at),
            "retention_days": survey.retention_days,
            "text_retention_days": survey.text_retention_days,
            "privacy_notice": survey.privacy_notice or {},
            "questions": [
                {
                    "code": q.code,
                    "type": q.type,
                    "required": q.required,
                    "sensitive": q.sensitive,
                    "max_choices": q.max_choices,
                    "max_length": q.max_length,
                    "text": q.text,
                    "hint": q.hint,
                    "options": [
                        {"code": o.code, "label": o.label, "exclusive": o.exclusive, "same_as": o.same_as}
                        for o in q.options
                    ],
                    "items": [{"code": i.code, "label": i.label, "same_as": i.same_as} for i in q.items],
                    "scale": [{"code": s.code, "label": s.label, "top_box": s.top_box} for s in q.scale],
                }
                for q in survey.questions
            ],
        },
        # Rules added since the survey was stored must not stop its pages from opening.
        context={"stored_codes": {question.code for question in survey.questions}},
    )


def dump_definition(definition: SurveyDefinition) -> str:
    """YAML in the definition format, omitting values that equal their defaults."""
    data = definition.model_dump(mode="json", exclude_defaults=True)
    # The wave and languages are always written, even where they match a default.
    data = {"slug": data.pop("slug"), "series": data.pop("series"), "wave": definition.wave, **data}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def structural_changes(old: SurveyDefinition, new: SurveyDefinition) -> list[str]:
    """What differs between two definitions apart from wording, translations and same_as links."""
    changes: list[str] = []
    if old.series != new.series:
        changes.append(f"series would change from '{old.series}' to '{new.series}'")
    if old.wave != new.wave:
        changes.append(f"wave would change from '{old.wave}' to '{new.wave}'")
    old_codes = [q.code for q in old.questions]
    new_codes = [q.code for q in new.questions]
    for code in old_codes:
        if code not in new_codes:
            changes.append(f"question '{code}' would be removed")
    for code in new_codes:
        if code not in old_codes:
            changes.append(f"question '{code}' would be added")
    if not changes and old_codes != new_codes:
        changes.append("the order of the questions would change")
    new_by_code = {q.code: q for q in new.questions}
    for before in old.questions:
        after = new_by_code.get(before.code)
        if after is not None:
            changes.extend(_question_changes(before, after))
    return changes


def changed_parts(old: SurveyDefinition, new: SurveyDefinition) -> list[str]:
    """What differs between two definitions with the same structure: "wording" (texts and their
    translations), "same_as" (links), "languages", "dates", "retention", "privacy_notice"."""

    def differ(*names: str) -> bool:
        return any(getattr(old, name) != getattr(new, name) for name in names)

    differs = {
        "wording": differ("title", "intro") or _texts(old) != _texts(new),
        "same_as": _links(old) != _links(new),
        "languages": differ("default_language", "languages"),
        "dates": differ("opens_at", "closes_at"),
        "retention": differ("retention_days", "text_retention_days"),
        "privacy_notice": differ("privacy_notice"),
    }
    return [part for part, changed in differs.items() if changed]


def _texts(definition: SurveyDefinition) -> list:
    return [(q.text, q.hint, [entry.label for entry in (*q.options, *q.items, *q.scale)]) for q in definition.questions]


def _links(definition: SurveyDefinition) -> list:
    return [[entry.same_as for entry in (*q.options, *q.items)] for q in definition.questions]


def _question_changes(before: QuestionDefinition, after: QuestionDefinition) -> list[str]:
    where = f"question '{before.code}'"
    changes = [
        f"{where}: {name} would change from {getattr(before, name)!r} to {getattr(after, name)!r}"
        for name in ("type", "required", "sensitive", "max_choices", "max_length")
        if getattr(before, name) != getattr(after, name)
    ]
    for kind, old_entries, new_entries, flag in (
        ("option", before.options, after.options, "exclusive"),
        ("item", before.items, after.items, None),
        ("scale point", before.scale, after.scale, "top_box"),
    ):
        old_codes = [e.code for e in old_entries]
        new_codes = [e.code for e in new_entries]
        changes += [f"{where}: {kind} '{c}' would be removed" for c in old_codes if c not in new_codes]
        changes += [f"{where}: {kind} '{c}' would be added" for c in new_codes if c not in old_codes]
        if set(old_codes) == set(new_codes) and old_codes != new_codes:
            changes.append(f"{where}: the order of its {kind}s would change")
        if flag:
            new_flags = {e.code: getattr(e, flag) for e in new_entries}
            changes += [
                f"{where}: {kind} '{e.code}' {flag} would change to {new_flags[e.code]}"
                for e in old_entries
                if e.code in new_flags and new_flags[e.code] != getattr(e, flag)
            ]
    return changes
