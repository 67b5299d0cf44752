"""The database itself refuses impossible states, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.models import Answer, Option, Question, Response, Survey

from .conftest import reference_definition


@pytest.fixture
def two_surveys(app_ctx):
    first = load_definition(parse_definition(reference_definition())).survey
    other = load_definition(parse_definition({**reference_definition(), "slug": "other", "wave": "2025"})).survey
    db.session.commit()
    return first, other


def _question(survey: Survey, code: str) -> Question:
    return next(q for q in survey.questions if q.code == code)


def _response(survey: Survey, uid: str = "a" * 32) -> Response:
    response = Response(survey_id=survey.id, uid=uid, language="en")
    db.session.add(response)
    db.session.flush()
    return response


def _insert_answer(**columns) -> None:
    db.session.execute(sa.insert(Answer).values(**columns))
    db.session.flush()


def test_answer_with_an_option_of_another_question_is_refused(two_surveys):
    survey, _ = two_surveys
    response = _response(survey)
    town, priorities = _question(survey, "town"), _question(survey, "priorities")
    with pytest.raises(IntegrityError):
        _insert_answer(response_id=response.id, survey_id=survey.id, question_id=town.id, option_id=priorities.options[0].id)


def test_answer_to_a_question_of_another_survey_is_refused(two_surveys):
    survey, other = two_surveys
    response = _response(survey)
    foreign = _question(other, "town")
    with pytest.raises(IntegrityError):
        _insert_answer(response_id=response.id, survey_id=survey.id, question_id=foreign.id, option_id=foreign.options[0].id)


def test_answer_must_be_exactly_one_kind(two_surveys):
    survey, _ = two_surveys
    response = _response(survey)
    town = _question(survey, "town")
    with pytest.raises(IntegrityError):
        _insert_answer(
            response_id=response.id, survey_id=survey.id, question_id=town.id, option_id=town.options[0].id, text="also text"
        )


@pytest.mark.parametrize("wrong", ["choice_key", "point_key"])
def test_answer_keys_that_disagree_with_its_columns_are_refused(two_surveys, wrong):
    """The key columns repeat option, item and scale point ids for counting: a writer that gets one
    wrong would count an answer under another option or cell, so the database refuses it."""
    survey, _ = two_surveys
    response = _response(survey)
    concerns = next(q for q in survey.questions if q.type == "matrix")
    item, point = concerns.items[0], concerns.scale[0]
    row = dict(response_id=response.id, survey_id=survey.id, question_id=concerns.id, item_id=item.id, scale_point_id=point.id)
    keys = {"choice_key": item.id, "point_key": point.id}
    keys[wrong] = concerns.items[1].id if wrong == "choice_key" else concerns.scale[1].id
    with pytest.raises(IntegrityError), db.session.begin_nested():
        _insert_answer(**row, **keys)
    _insert_answer(**row, choice_key=item.id, point_key=point.id)  # the same row with its keys right is stored


def test_same_option_twice_in_one_response_is_refused(two_surveys):
    survey, _ = two_surveys
    response = _response(survey)
    town = _question(survey, "town")
    row = dict(response_id=response.id, survey_id=survey.id, question_id=town.id, option_id=town.options[0].id)
    _insert_answer(**row)
    with pytest.raises(IntegrityError):
        _insert_answer(**row)


def test_response_counted_twice_is_refused(two_surveys):
    survey, other = two_surveys
    _response(survey, uid="b" * 32)
    _response(other, uid="b" * 32)  # the same id in another survey is another response
    with pytest.raises(IntegrityError):
        _response(survey, uid="b" * 32)


def test_code_repeated_within_its_parent_is_refused(two_surveys):
    survey, _ = two_surveys
    town = _question(survey, "town")
    db.session.add(Option(question_id=town.id, code="north", position=9, label={"en": "North again"}))
    with pytest.raises(IntegrityError):
        db.session.flush()


@pytest.mark.parametrize(
    "column, value",
    [("status", "archived"), ("type", "ranking"), ("channel", "carrier-pigeon"), ("max_choices", 0)],
)
def test_check_constraints_refuse_unknown_values(two_surveys, column, value):
    survey, _ = two_surveys
    target = {"status": survey, "channel": _response(survey)}.get(column, _question(survey, "priorities"))
    setattr(target, column, value)
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_deleting_a_response_deletes_its_answers(app, client, make_survey, submit):
    make_survey()
    submit("town-test", {"town": "north", "concerns/knives": "very", "concerns/asb": "very"})
    with app.app_context():
        db.session.delete(db.session.scalar(sa.select(Response)))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0
