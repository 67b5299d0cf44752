"""Turning validated answers into a stored response."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from ..extensions import db
from ..models import Answer, Channel, Response, Survey
from .encoding import answer_fields
from .rules import clean_values, normalise_text


def response_exists(survey: Survey, uid: str) -> bool:
    return db.session.scalar(select(Response.id).where(Response.survey_id == survey.id, Response.uid == uid)) is not None


def build_response(
    survey: Survey,
    values: Mapping[str, list[str]],
    *,
    uid: str,
    language: str,
    channel: str = Channel.ONLINE.value,
) -> Response:
    """A Response with one Answer per chosen option, matrix cell or text.

    ``values`` must already have passed the rules in :mod:`.rules`; codes are
    looked up here, and the database's composite keys back that up.
    """
    response = Response(survey_id=survey.id, uid=uid, language=language, channel=channel)
    for question in survey.questions:
        for field_name, item in answer_fields(question):
            given = values.get(field_name, [])
            if question.type == "text":
                text = normalise_text(given[0]) if given else ""
                if text:
                    response.answers.append(_answer(survey, question.id, text=text))
            elif item is not None:
                scale = {point.code: point.id for point in question.scale}
                for code in clean_values(given):
                    response.answers.append(
                        _answer(survey, question.id, item_id=item.id, scale_point_id=scale[code])
                    )
            else:
                options = {option.code: option.id for option in question.options}
                for code in clean_values(given):
                    response.answers.append(_answer(survey, question.id, option_id=options[code]))
    return response


def _answer(survey: Survey, question_id: int, **columns) -> Answer:
    return Answer(survey_id=survey.id, question_id=question_id, **columns)
