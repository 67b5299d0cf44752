"""Deleting responses past their survey's retention period (`flask responses purge`).

A survey's ``retention_days`` says how long a response is kept after it was submitted;
``text_retention_days`` may remove the free-text answers sooner, keeping the rest of the
response for the comparison tables. Surveys with neither are never touched.

:func:`plan_purge` only counts; :func:`apply_purge` deletes with one statement per survey and
kind (answers go with their response through the foreign key's ON DELETE CASCADE) and
does not commit: the caller commits once, so a purge happens entirely or not at all.
Running it twice deletes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, and_, delete, func, select

from ..audit import record
from ..extensions import db
from ..models import Answer, Question, QuestionType, Response, Survey, as_utc, utcnow


@dataclass(frozen=True)
class SurveyPurge:
    """What the purge removes from one survey: responses submitted before ``responses_before``,
    and the free-text answers of responses submitted before ``texts_before`` that are kept."""

    slug: str
    survey_id: int
    retention_days: int | None
    text_retention_days: int | None
    responses_before: datetime | None  # None: responses are kept
    texts_before: datetime | None  # None: free text is kept as long as its response
    responses: int  # responses to delete (with all their answers)
    text_answers: int  # free-text answers to delete from responses that stay


@dataclass(frozen=True)
class PurgePlan:
    now: datetime
    surveys: list[SurveyPurge]  # every survey with a retention period, by slug
    unlimited: list[str]  # slugs of surveys without one: kept until deleted by hand

    @property
    def responses(self) -> int:
        return sum(survey.responses for survey in self.surveys)

    @property
    def text_answers(self) -> int:
        return sum(survey.text_answers for survey in self.surveys)


def plan_purge(now: datetime | None = None) -> PurgePlan:
    """Count what is past retention at ``now`` (default: the current time to the second, so that
    the cut-offs shown are the ones applied; naive means UTC), per survey."""
    now = as_utc(now or utcnow().replace(microsecond=0)).astimezone(timezone.utc)
    plans, unlimited = [], []
    for survey in db.session.scalars(select(Survey).order_by(Survey.slug)):
        if survey.retention_days is None and survey.text_retention_days is None:
            unlimited.append(survey.slug)
            continue
        responses_before = _cutoff(now, survey.retention_days)
        texts_before = _cutoff(now, survey.text_retention_days)
        responses = 0
        if responses_before is not None:
            responses = db.session.scalar(
                select(func.count()).select_from(Response).where(_responses_past(survey.id, responses_before))
            )
        text_answers = 0
        if texts_before is not None:
            text_answers = db.session.scalar(
                select(func.count()).select_from(Answer).where(_texts_past(survey.id, texts_before, responses_before))
            )
        plans.append(
            SurveyPurge(
                slug=survey.slug,
                survey_id=survey.id,
                retention_days=survey.retention_days,
                text_retention_days=survey.text_retention_days,
                responses_before=responses_before,
                texts_before=texts_before,
                responses=responses or 0,
                text_answers=text_answers or 0,
            )
        )
    return PurgePlan(now=now, surveys=plans, unlimited=unlimited)


def apply_purge(plan: PurgePlan) -> PurgePlan:
    """Delete what the plan describes; returns the plan with the counts actually deleted.

    Records one "responses.purge" audit event with the counts. The caller commits."""
    done = []
    for survey in plan.surveys:
        text_answers = responses = 0
        if survey.texts_before is not None:
            text_answers = db.session.execute(
                delete(Answer)
                .where(_texts_past(survey.survey_id, survey.texts_before, survey.responses_before))
                .execution_options(synchronize_session=False)
            ).rowcount
        if survey.responses_before is not None:
            responses = db.session.execute(
                delete(Response)
                .where(_responses_past(survey.survey_id, survey.responses_before))
                .execution_options(synchronize_session=False)
            ).rowcount
        done.append(replace(survey, responses=responses, text_answers=text_answers))
    result = PurgePlan(now=plan.now, surveys=done, unlimited=plan.unlimited)
    record(
        "responses.purge",
        "responses past retention",
        at=plan.now.isoformat(),
        responses=result.responses,
        text_answers=result.text_answers,
        surveys={
            survey.slug: {"responses": survey.responses, "text_answers": survey.text_answers}
            for survey in result.surveys
            if survey.responses or survey.text_answers
        },
    )
    db.session.expire_all()  # bulk deletes bypass the session: nothing stale may be read afterwards
    return result


def _cutoff(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def _responses_past(survey_id: int, before: datetime) -> ColumnElement[bool]:
    return and_(Response.survey_id == survey_id, Response.submitted_at < before)


def _texts_past(survey_id: int, before: datetime, responses_before: datetime | None) -> ColumnElement[bool]:
    """Free-text answers of responses submitted before ``before`` that the purge keeps."""
    kept_but_old = and_(Response.survey_id == survey_id, Response.submitted_at < before)
    if responses_before is not None:
        kept_but_old = and_(kept_but_old, Response.submitted_at >= responses_before)
    text_questions = select(Question.id).where(Question.survey_id == survey_id, Question.type == QuestionType.TEXT.value)
    return and_(
        Answer.survey_id == survey_id,
        Answer.question_id.in_(text_questions),
        Answer.text.is_not(None),
        Answer.response_id.in_(select(Response.id).where(kept_but_old)),
    )
