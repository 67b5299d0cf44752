"""Survey lifecycle for staff, as plain functions the views and tests call: publish, close,
start the next wave, replace from a definition file. Each records an audit event; the caller commits."""

from __future__ import annotations

import re

from sqlalchemy import delete as sa_delete, func, select
from sqlalchemy.orm import contains_eager

from ..audit import record
from ..definitions import DefinitionError, load_definition, parse_definition
from ..definitions.store import definition_from_survey
from ..extensions import db
from ..models import Channel, InvalidTransition, Response, Survey, SurveySeries, SurveyStatus, TranslationConfirmation, wave_order


def find_survey(slug: str) -> Survey | None:
    return db.session.scalar(select(Survey).where(Survey.slug == slug))


def all_surveys() -> list[Survey]:
    """By series, then wave in the order the analysis compares them ("Wave 9" before "Wave 10")."""
    surveys = db.session.scalars(select(Survey).join(SurveySeries).options(contains_eager(Survey.series)))
    return sorted(surveys, key=lambda survey: (survey.series.code, wave_order(survey.wave)))


def response_counts() -> dict[int, int]:
    return dict(db.session.execute(select(Response.survey_id, func.count()).group_by(Response.survey_id)).all())


def counts_by_channel(survey: Survey) -> dict[str, int]:
    rows = db.session.execute(
        select(Response.channel, func.count()).where(Response.survey_id == survey.id).group_by(Response.channel)
    )
    counts = {channel.value: 0 for channel in Channel}
    counts.update(dict(rows.all()))
    return counts


def publish(survey: Survey) -> None:
    survey.open()
    record("survey.publish", f"survey {survey.slug}")


def close(survey: Survey) -> None:
    survey.close()
    record("survey.close", f"survey {survey.slug}")


def can_delete(survey: Survey) -> bool:
    return survey.status == SurveyStatus.DRAFT.value and survey.response_count() == 0


def delete(survey: Survey) -> None:
    """Delete a draft without responses, with its questions and translation records."""
    if not can_delete(survey):
        raise InvalidTransition(f"survey {survey.slug} is {survey.status} or has responses; close it instead")
    record("survey.delete", f"survey {survey.slug}", series=survey.series.code, wave=survey.wave)
    db.session.execute(sa_delete(TranslationConfirmation).where(TranslationConfirmation.survey_id == survey.id))
    db.session.delete(survey)
    db.session.flush()


def suggest_next_wave(survey: Survey) -> tuple[str, str]:
    """A wave label and slug for the next wave: 2025 → 2026, cs-2025 → cs-2026."""
    wave = str(int(survey.wave) + 1) if survey.wave.isdigit() else f"{survey.wave}-next"
    slug = re.sub(re.escape(survey.wave) + r"$", wave, survey.slug)
    if slug == survey.slug:
        slug = f"{survey.slug}-{wave}"
    return wave, slug


def start_next_wave(survey: Survey, wave: str, slug: str) -> Survey:
    """A draft copy of the survey in the same series with every code kept, so the waves compare.

    Confirmed translations are copied too: the texts are the same until someone edits them.
    """
    data = definition_from_survey(survey).model_dump(mode="json")
    data.update(slug=slug, wave=wave, opens_at=None, closes_at=None)
    if find_survey(slug) is not None:
        raise DefinitionError([f"slug: a survey '{slug}' already exists"])
    if any(other.wave == wave for other in survey.series.surveys):
        raise DefinitionError([f"wave: series '{survey.series.code}' already has a wave '{wave}'"])
    copy = load_definition(parse_definition(data)).survey
    copy.retention_days = survey.retention_days
    copy.text_retention_days = survey.text_retention_days
    copy.privacy_notice = dict(survey.privacy_notice or {})
    # The copy's translations are exactly as confirmed (or stale) as the original's.
    db.session.execute(sa_delete(TranslationConfirmation).where(TranslationConfirmation.survey_id == copy.id))
    for confirmation in db.session.scalars(
        select(TranslationConfirmation).where(TranslationConfirmation.survey_id == survey.id)
    ):
        db.session.add(
            TranslationConfirmation(
                survey_id=copy.id, text_key=confirmation.text_key,
                language=confirmation.language, source_hash=confirmation.source_hash,
            )
        )
    record("survey.create", f"survey {copy.slug}", copied_from=survey.slug, wave=wave)
    db.session.flush()
    return copy


def replace_from_definition(survey: Survey | None, data: dict) -> Survey:
    """Create or update a survey from an uploaded definition (same rules as `flask survey load`)."""
    definition = parse_definition(data)
    if survey is not None and definition.slug != survey.slug:
        raise DefinitionError([f"slug: the file is for survey '{definition.slug}', not '{survey.slug}'"])
    result = load_definition(definition)
    action = "survey.create" if result.created else "survey.change"
    record(action, f"survey {result.survey.slug}", source="definition file", wording_only=result.wording_only)
    return result.survey
