"""The questionnaire residents are served (its rules, generated form class and blank form markup)
is kept per process until the survey's revision changes: an edited survey must never meet stale ones."""

from __future__ import annotations

import copy
import html

import pytest
import sqlalchemy as sa

from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.models import MatrixItem, Option, Question, ScalePoint, Survey
from survey.responses.store import insert_response

from .conftest import form_tokens, reference_definition, response_count, stored_answers

ANSWERS = {"town": "south", "concerns/knives": "very", "concerns/asb": "fairly", "ethnicity": "prefer_not_to_say"}


def _reload(app, change) -> None:
    """Apply ``change`` to the every-feature definition and load it over the open survey, as the builder does."""
    data = copy.deepcopy(reference_definition())
    change(data)
    with app.app_context():
        load_definition(parse_definition(data))
        db.session.commit()


def _options(data: dict, code: str) -> list[dict]:
    return next(question for question in data["questions"] if question["code"] == code)["options"]


def test_a_rebuilt_survey_refuses_codes_it_no_longer_asks(app, client, make_survey):
    slug = make_survey()
    stale_page = client.get(f"/s/{slug}?lang=en")  # builds and keeps the form for the survey as it was
    assert 'name="priorities" value="litter"' in stale_page.get_data(as_text=True)

    def swap_litter_for_graffiti(data: dict) -> None:
        options = _options(data, "priorities")
        litter = next(index for index, option in enumerate(options) if option["code"] == "litter")
        options[litter] = {"code": "graffiti", "label": {"en": "Graffiti"}}

    _reload(app, swap_litter_for_graffiti)  # no responses yet: the questions are rebuilt

    # A resident who still had the old form open sends a code the survey no longer has.
    tokens = form_tokens(stale_page.get_data(as_text=True))
    stale = client.post(f"/s/{slug}?lang=en", data={**tokens, **ANSWERS, "priorities": "litter"})
    assert stale.status_code == 400
    assert "“litter” is not one of the answers to this question" in stale.get_data(as_text=True)
    assert response_count(app) == 0

    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert 'name="priorities" value="graffiti"' in page and 'value="litter"' not in page
    fresh = client.post(f"/s/{slug}?lang=en", data={**form_tokens(page), **ANSWERS, "priorities": "graffiti"})
    assert fresh.status_code == 303
    assert ("priorities", "graffiti", None, None, None) in stored_answers(app)


def test_a_rebuilt_survey_enforces_its_new_limits(app, client, make_survey):
    slug = make_survey()
    client.get(f"/s/{slug}?lang=en")  # the form with "choose up to 2" is kept

    def one_priority_only(data: dict) -> None:
        next(question for question in data["questions"] if question["code"] == "priorities")["max_choices"] = 1

    _reload(app, one_priority_only)
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    reply = client.post(f"/s/{slug}?lang=en", data={**form_tokens(page), **ANSWERS, "priorities": ["drugs", "litter"]})
    assert reply.status_code == 400
    assert "Choose no more than 1 answer" in reply.get_data(as_text=True)
    assert response_count(app) == 0


def test_a_wording_edit_reaches_the_error_messages(app, client, make_survey, submit):
    slug = make_survey()
    assert submit(slug, {**ANSWERS, "priorities": "drugs"}).status_code == 303  # responses: only wording may change now
    answers = {**ANSWERS, "priorities": ["drugs", "dont_know"]}
    before = submit(slug, answers)
    assert "“Don't know” cannot be combined with other answers" in html.unescape(before.get_data(as_text=True))

    def reword_dont_know(data: dict) -> None:
        next(o for o in _options(data, "priorities") if o["code"] == "dont_know")["label"] = {"en": "Not sure"}

    _reload(app, reword_dont_know)  # labels change in place, ids stay
    after = submit(slug, answers)
    assert after.status_code == 400
    assert "“Not sure” cannot be combined with other answers" in after.get_data(as_text=True)
    assert response_count(app) == 1


def test_a_wording_edit_reaches_the_form_shown_to_residents(app, client, make_survey, submit):
    slug = make_survey()
    assert submit(slug, {**ANSWERS, "priorities": "drugs"}).status_code == 303
    assert "Don&#39;t know" in client.get(f"/s/{slug}?lang=en").get_data(as_text=True)  # the blank form is kept

    def reword_dont_know(data: dict) -> None:
        option = next(o for o in _options(data, "priorities") if o["code"] == "dont_know")
        option["label"] = {**option["label"], "en": "Not sure", "pl": "Nie jestem pewien"}

    _reload(app, reword_dont_know)
    assert ">Not sure<" in client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert ">Nie jestem pewien<" in client.get(f"/s/{slug}?lang=pl").get_data(as_text=True)


def test_closing_a_survey_reaches_residents_at_once(app, client, make_survey):
    slug = make_survey()
    assert 'name="submission_id"' in client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    with app.app_context():
        _survey(slug).close()
        db.session.commit()
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert "This survey has now closed" in page and 'name="submission_id"' not in page


def _revision(slug: str) -> str:
    return db.session.scalar(sa.select(Survey.revision).where(Survey.slug == slug))


def _first(model, slug: str):
    return db.session.scalars(sa.select(model).join(Question).join(Survey).where(Survey.slug == slug)).first()


def _survey(slug: str) -> Survey:
    return db.session.scalar(sa.select(Survey).where(Survey.slug == slug))


def _add_option(slug: str) -> None:
    question = db.session.get(Question, _first(Option, slug).question_id)
    question.options.append(Option(code="added", position=99, label={"en": "Added"}))


def _delete_text_question(slug: str) -> None:
    db.session.delete(next(question for question in _survey(slug).questions if question.type == "text"))


EDITS = {
    "survey title": lambda slug: setattr(_survey(slug), "title", {"en": "New"}),
    "question hint": lambda slug: setattr(_survey(slug).questions[0], "hint", {"en": "New hint"}),
    "option label": lambda slug: setattr(_first(Option, slug), "label", {"en": "Renamed"}),
    "matrix item label": lambda slug: setattr(_first(MatrixItem, slug), "label", {"en": "Renamed"}),
    "scale point label": lambda slug: setattr(_first(ScalePoint, slug), "label", {"en": "Renamed"}),
    "option added": _add_option,
    "option deleted": lambda slug: db.session.delete(_first(Option, slug)),
    "question deleted": _delete_text_question,
}


@pytest.mark.parametrize("edit", EDITS)
def test_every_edit_of_a_survey_gives_it_a_new_revision(app, make_survey, edit):
    slug = make_survey(status="draft")
    with app.app_context():
        before = _revision(slug)
        EDITS[edit](slug)
        db.session.commit()
        assert _revision(slug) != before


def test_a_response_leaves_the_revision_alone(app, make_survey):
    """Otherwise every submission would throw away every process's copy of the questionnaire."""
    slug = make_survey()
    with app.app_context():
        before = _revision(slug)
        insert_response(_survey(slug), {"town": ["south"], "priorities": ["drugs"]}, uid="r1", language="en")
        db.session.commit()
        assert _revision(slug) == before
