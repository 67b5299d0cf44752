"""The resident's two requests do as little as they can: the form page is served from memory for
``SURVEY_RECHECK_SECONDS`` and filled in with each visit's tokens, and a submission is one statement
on PostgreSQL. None of that may ever store answers to a survey as it no longer is."""

from __future__ import annotations

import copy
import re
import time

import pytest
import sqlalchemy as sa

from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.models import Survey
from survey.respondent import views

from .conftest import form_tokens, reference_definition, response_count, stored_answers

ANSWERS = {"town": "south", "concerns/knives": "very", "concerns/asb": "fairly", "ethnicity": "prefer_not_to_say"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SURVEY_RECHECK_SECONDS": 3600}  # a copy never goes stale by itself during a test


def _rebuild_with_graffiti_for_litter(app) -> None:
    """Load the every-feature survey again with the option "litter" replaced by "graffiti" (no responses yet)."""
    data = copy.deepcopy(reference_definition())
    options = next(question for question in data["questions"] if question["code"] == "priorities")["options"]
    index = next(index for index, option in enumerate(options) if option["code"] == "litter")
    options[index] = {"code": "graffiti", "label": {"en": "Graffiti"}}
    with app.app_context():
        load_definition(parse_definition(data))
        db.session.commit()


def _close(app, slug: str) -> None:
    with app.app_context():
        db.session.scalar(sa.select(Survey).where(Survey.slug == slug)).close()
        db.session.commit()


class StatementLog:
    """The SQL statements the app's engine runs while it is on (pool pre-pings are not statements)."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.statements: list[str] = []
        self.on = False
        sa.event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, _connection, _cursor, statement, *_args) -> None:
        if self.on:
            self.statements.append(" ".join(statement.split()))

    def __enter__(self) -> list[str]:
        self.statements.clear()
        self.on = True
        return self.statements

    def __exit__(self, *_exc) -> None:
        self.on = False


def test_the_form_page_comes_from_memory_with_new_tokens_each_visit(app, client, make_survey):
    slug = make_survey()
    first = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)  # reads the survey, renders the page
    log = StatementLog(app)
    with log as statements:
        second = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert statements == []
    first_tokens, second_tokens = form_tokens(first), form_tokens(second)
    assert set(first_tokens) == set(second_tokens) == {"csrf_token", "submission_id", "started"}
    assert first_tokens["submission_id"] != second_tokens["submission_id"]
    for name, value in second_tokens.items():
        second = second.replace(value, first_tokens[name])
    assert second == first  # nothing but the tokens differs
    reply = client.post(f"/s/{slug}?lang=en", data={**second_tokens, **ANSWERS, "priorities": "drugs"})
    assert reply.status_code == 303 and response_count(app) == 1


def test_a_submission_is_one_statement_on_postgresql(app, client, make_survey, database_url, monkeypatch):
    slug = make_survey()
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)

    def no_form(*_args, **_kwargs):
        raise AssertionError("a valid submission is checked without building the WTForms form")

    monkeypatch.setattr(views, "build_survey_form", no_form)
    log = StatementLog(app)
    with log as statements:
        reply = client.post(f"/s/{slug}?lang=en", data={**form_tokens(page), **ANSWERS, "priorities": ["drugs", "litter"]})
    assert reply.status_code == 303
    if database_url.startswith("postgresql"):
        assert len(statements) == 1 and statements[0].startswith("WITH current_survey AS")  # no BEGIN, no COMMIT
    else:
        assert [statement.split()[:3] for statement in statements] == [["BEGIN", "IMMEDIATE"], ["INSERT", "INTO", "responses"], ["INSERT", "INTO", "answers"]]
    assert {("priorities", "drugs", None, None, None), ("priorities", "litter", None, None, None)} <= stored_answers(app)


def test_answers_checked_against_an_old_copy_are_checked_again_before_they_are_stored(app, client, make_survey):
    slug = make_survey()
    old_page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)  # this process keeps the survey with "litter"
    _rebuild_with_graffiti_for_litter(app)
    assert 'value="litter"' in client.get(f"/s/{slug}?lang=en").get_data(as_text=True)  # still the copy in memory

    stale = client.post(f"/s/{slug}?lang=en", data={**form_tokens(old_page), **ANSWERS, "priorities": "litter"})
    assert stale.status_code == 400  # the copy accepted "litter"; the survey as it is now does not
    assert "“litter” is not one of the answers to this question" in stale.get_data(as_text=True)
    assert response_count(app) == 0


def test_answers_refused_by_an_old_copy_are_checked_again_against_the_survey_as_it_is(app, client, make_survey):
    """A resident who got the new form from another process must not be refused by this one's old copy."""
    slug = make_survey()
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)  # this process keeps the survey with "litter"
    _rebuild_with_graffiti_for_litter(app)
    reply = client.post(f"/s/{slug}?lang=en", data={**form_tokens(page), **ANSWERS, "priorities": "graffiti"})
    assert reply.status_code == 303
    assert ("priorities", "graffiti", None, None, None) in stored_answers(app)


def test_a_survey_closed_a_moment_ago_stores_nothing_more(app, client, make_survey):
    slug = make_survey()
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    _close(app, slug)
    reply = client.post(f"/s/{slug}?lang=en", data={**form_tokens(page), **ANSWERS, "priorities": "drugs"})
    assert reply.status_code == 400 and "This survey has now closed" in reply.get_data(as_text=True)
    assert response_count(app) == 0


def test_a_double_click_is_stored_once(app, client, make_survey):
    slug = make_survey()
    data = {**form_tokens(client.get(f"/s/{slug}?lang=en").get_data(as_text=True)), **ANSWERS, "priorities": "drugs"}
    assert client.post(f"/s/{slug}?lang=en", data=data).status_code == 303
    assert client.post(f"/s/{slug}?lang=en", data=data).status_code == 303
    assert response_count(app) == 1


def test_an_edit_reaches_the_form_page_once_the_recheck_time_has_passed(app, client, make_survey):
    app.config["SURVEY_RECHECK_SECONDS"] = 0.3
    slug = make_survey()
    assert 'name="submission_id"' in client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    _close(app, slug)
    time.sleep(0.35)
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert "This survey has now closed" in page and 'name="submission_id"' not in page


def test_a_page_that_cannot_be_filled_in_is_rendered_for_each_visit(app, client, make_survey):
    """A survey text that happens to hold a token's placeholder must not swap tokens into the text."""
    placeholder = "\ue000csrf_token\ue000"
    slug = make_survey(title={"en": f"Survey {placeholder}"})
    pages = [client.get(f"/s/{slug}?lang=en").get_data(as_text=True) for _ in range(2)]
    for page in pages:
        assert f"Survey {placeholder}" in page
    assert form_tokens(pages[0])["submission_id"] != form_tokens(pages[1])["submission_id"]
    reply = client.post(f"/s/{slug}?lang=en", data={**form_tokens(pages[1]), **ANSWERS, "priorities": "drugs"})
    assert reply.status_code == 303 and response_count(app) == 1


def test_the_submission_time_is_stored_as_the_app_stores_every_time(app, client, make_survey, database_url):
    """On SQLite a time is text: a different format would sort wrongly against imported responses (purge)."""
    slug = make_survey()
    page = client.get(f"/s/{slug}?lang=en").get_data(as_text=True)
    assert client.post(f"/s/{slug}?lang=en", data={**form_tokens(page), **ANSWERS, "priorities": "drugs"}).status_code == 303
    with app.app_context():
        stored = db.session.connection().exec_driver_sql("SELECT submitted_at FROM responses").scalar_one()
    if database_url.startswith("sqlite"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stored), stored
    else:
        assert stored.tzinfo is not None
