"""Paper entry: editors type in questionnaires through the residents' form and rules, one after another."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEvent, Response

from .conftest import form_tokens, response_count, stored_answers

ANSWERS = {
    "town": "north",
    "priorities": ["bikes", "litter"],
    "concerns/knives": "fairly",
    "concerns/asb": "very",
    "comments": "Street lights are out on Mill Lane.",
}
STORED = {
    ("town", "north", None, None, None),
    ("priorities", "bikes", None, None, None),
    ("priorities", "litter", None, None, None),
    ("concerns", None, "knives", "fairly", None),
    ("concerns", None, "asb", "very", None),
    ("comments", None, None, None, "Street lights are out on Mill Lane."),
}
URL = "/staff/surveys/town-test/paper"


@pytest.fixture
def editor(login):
    return login("editor")


def enter(client, answers: dict, *, channel: str = "paper", language: str = "en", tokens: dict | None = None):
    """GET the entry page, then POST one questionnaire with its tokens, as a browser would."""
    page = client.get(URL)
    data = {**form_tokens(page.get_data(as_text=True)), **(tokens or {}), "paper-channel": channel, "paper-language": language}
    return client.post(URL, data={**data, **answers})


def stored_responses(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(sa.select(Response.channel, Response.language).order_by(Response.id))]


def test_editor_enters_a_paper_questionnaire(app, client, make_survey, editor):
    make_survey()
    reply = enter(client, ANSWERS)
    assert reply.status_code == 303
    assert reply.headers["Location"] == URL
    assert stored_responses(app) == [("paper", "en")]
    assert stored_answers(app) == STORED
    page = client.get(URL).get_data(as_text=True)
    assert "Saved paper response 1" in page
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "responses.paper_entry"))
        assert (event.user_email, event.target, event.details) == (editor, "survey town-test", {"channel": "paper"})


@pytest.mark.parametrize("channel", ["event", "phone"])
def test_answers_from_events_and_phone_calls_keep_their_channel(app, client, make_survey, editor, channel):
    make_survey()
    assert enter(client, ANSWERS, channel=channel).status_code == 303
    assert stored_responses(app) == [(channel, "en")]


def test_the_questionnaire_language_is_stored_and_remembered_with_the_channel(app, client, make_survey, editor):
    make_survey()
    assert enter(client, ANSWERS, channel="event", language="pl").status_code == 303
    assert stored_responses(app) == [("event", "pl")]
    page = client.get(URL).get_data(as_text=True)
    assert re.search(r'<input checked class="choice__input" id="paper-channel-1" name="paper-channel" type="radio" value="event">', page)
    assert '<option value="pl" lang="pl" selected>' in page


def test_the_page_starts_with_paper_and_the_default_language_and_a_link_to_the_first_question(app, client, make_survey, editor):
    make_survey()
    page = client.get(URL).get_data(as_text=True)
    assert re.search(r'<input checked class="choice__input" id="paper-channel-0" name="paper-channel" type="radio" value="paper">', page)
    assert '<option value="en" lang="en" selected>' in page
    assert '<a href="#q-town">Skip to the first question</a>' in page
    assert 'id="q-town"' in page
    assert "Save and enter another" in page
    assert 'name="website"' not in page  # the residents' bot checks are not for staff


@pytest.mark.parametrize(
    "answers, message",
    [
        ({**ANSWERS, "town": ""}, "Question 1: Select an answer"),
        ({**ANSWERS, "priorities": ["drugs", "bikes", "litter"]}, "Question 2:"),
        ({**ANSWERS, "town": "atlantis"}, "Question 1:"),
    ],
)
def test_invalid_answers_are_shown_again_with_everything_typed(app, client, make_survey, editor, answers, message):
    make_survey()
    reply = enter(client, answers, channel="phone", language="pl")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert response_count(app) == 0
    assert "<title>Error: " in page
    assert "There is a problem" in page and message in page
    assert 'class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus' in page
    assert "Street lights are out on Mill Lane.</textarea>" in page
    assert re.search(r'value="fairly"\s+id="q-concerns--knives-fairly"\s+checked', page)
    assert re.search(r'value="litter"\s+id="q-priorities-litter"\s+checked', page)
    assert re.search(r'<input checked class="choice__input" id="paper-channel-2" name="paper-channel" type="radio" value="phone">', page)
    assert '<option value="pl" lang="pl" selected>' in page


def test_the_same_error_as_residents_get(app, client, make_survey, editor, submit):
    make_survey()
    staff_page = enter(client, {**ANSWERS, "town": ""}).get_data(as_text=True)
    resident_page = submit("town-test", {**ANSWERS, "town": ""}).get_data(as_text=True)
    staff_error = re.search(r'<p class="error-message" id="q-town-error">(.*?)</p>', staff_page, re.S).group(1)
    resident_error = re.search(r'<p class="error-message" id="q-town-error">(.*?)</p>', resident_page, re.S).group(1)
    assert staff_error == resident_error


def test_an_error_in_the_channel_or_language_links_to_its_field(app, client, make_survey, editor):
    make_survey()
    reply = enter(client, ANSWERS, channel="online", language="de")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert response_count(app) == 0
    assert '<a href="#paper-channel-0">Choose how the answers were collected</a>' in page
    assert '<a href="#paper-language">Choose the language of the questionnaire</a>' in page


def test_a_form_sent_twice_is_stored_once(app, client, make_survey, editor):
    make_survey()
    tokens = form_tokens(client.get(URL).get_data(as_text=True))
    data = {**tokens, "paper-channel": "paper", "paper-language": "en", **ANSWERS}
    assert client.post(URL, data=data).status_code == 303
    assert client.post(URL, data=data).status_code == 303
    assert response_count(app) == 1
    page = client.get(URL).get_data(as_text=True)
    assert "That questionnaire was already saved; it was not saved again." in page
    assert re.search(r'id="entered-count">1<', page)


def test_the_running_count_goes_up_with_each_questionnaire(app, client, make_survey, editor, submit):
    make_survey()
    submit("town-test", ANSWERS)  # one online response already there
    page = client.get(URL).get_data(as_text=True)
    assert re.search(r'id="entered-count">0<', page)
    assert "online 1, paper 0, event 0, phone 0" in page
    enter(client, ANSWERS)
    enter(client, ANSWERS, channel="phone")
    page = client.get(URL).get_data(as_text=True)
    assert "Saved paper response 2" in page
    assert re.search(r'id="entered-count">2<', page)
    assert re.search(r'id="survey-counts">3\s+\(online 1, paper 1, event 0, phone 1\)', page)


def test_closed_surveys_still_take_late_paper_forms(app, client, make_survey, editor):
    make_survey(status="closed")
    page = client.get(URL).get_data(as_text=True)
    assert "This survey is closed to residents." in page
    assert enter(client, ANSWERS).status_code == 303
    assert stored_responses(app) == [("paper", "en")]


def test_drafts_are_refused_with_an_explanation(app, client, make_survey, editor):
    make_survey(status="draft")
    make_survey(slug="open-one", wave="2023")
    page = client.get(URL)
    assert page.status_code == 200
    assert "This survey is still a draft" in page.get_data(as_text=True)
    assert 'name="paper-channel"' not in page.get_data(as_text=True)
    # A hand-made post to the draft, with a valid CSRF token from another survey's page.
    tokens = form_tokens(client.get("/staff/surveys/open-one/paper").get_data(as_text=True))
    reply = client.post(URL, data={**tokens, **ANSWERS, "paper-channel": "paper", "paper-language": "en"})
    assert reply.status_code == 400
    assert "This survey is still a draft" in reply.get_data(as_text=True)
    assert response_count(app) == 0


def test_analysts_may_not_enter_questionnaires(app, client, make_survey, login):
    make_survey()
    login("analyst")
    assert client.get(URL).status_code == 403
    assert client.post(URL, data=ANSWERS).status_code in (400, 403)
    assert response_count(app) == 0


def test_anonymous_visitors_are_sent_to_sign_in(app, client, make_survey):
    make_survey()
    reply = client.get(URL)
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/staff/login?next=")
    assert "paper" in reply.headers["Location"]


def test_unknown_survey_is_not_found(app, client, editor):
    assert client.get("/staff/surveys/nothing-here/paper").status_code == 404
