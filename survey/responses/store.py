"""Turning validated answers into a stored response."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Answer, Channel, Response, Survey
from .rules import FieldRule, compile_rules


def response_exists(survey: Survey, uid: str) -> bool:
    return db.session.scalar(select(Response.id).where(Response.survey_id == survey.id, Response.uid == uid)) is not None


def commit_once(survey_id: int, uid: str) -> bool:
    """Commit the session's new response; False when another request stored the same submission
    id first (a double click, a replayed form): the unique (survey, uid) key keeps one response."""
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        stored = select(Response.id).where(Response.survey_id == survey_id, Response.uid == uid)
        if db.session.scalar(stored) is None:
            raise  # some other constraint: a real error
        return False


def build_response(
    survey: Survey,
    values: Mapping[str, list[str]],
    *,
    rules: Mapping[str, FieldRule] | None = None,
    uid: str,
    language: str,
    channel: str = Channel.ONLINE.value,
) -> Response:
    """A Response with one Answer per chosen option, matrix cell or text.

    ``values`` must already have passed the rules; the database's composite
    keys back them up. Pass the ``rules`` the values were checked with to avoid compiling them again.
    """
    response = Response(survey_id=survey.id, uid=uid, language=language, channel=channel)
    for name, rule in (rules if rules is not None else compile_rules(survey)).items():
        for option_id, item_id, scale_point_id, text in rule.answer_rows(values.get(name, [])):
            response.answers.append(
                Answer(
                    survey_id=survey.id,
                    question_id=rule.question_id,
                    option_id=option_id,
                    item_id=item_id,
                    scale_point_id=scale_point_id,
                    text=text,
                )
            )
    return response
