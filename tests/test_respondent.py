"""The resident's journey over real HTTP handling: pages, languages, storing, and refusing bad input."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import Response

from .conftest import form_tokens, response_count, stored_answers

GOOD_ANSWERS = {
    "town": "south",
    "priorities": ["drugs", "litter"],
    "concerns/knives": "very",
    "concerns/asb": "not_very",
    "ethnicity": "prefer_not_to_say",
    "comments": "More lighting in the park, please.",
}


def test_home_lists_only_open_surveys(app, client, make_survey):
    make_survey()
    make_survey(status="draft", slug="draft-one", wave="2020", title={"en": "Hidden draft"})
    page = client.get("/").get_data(as_text=True)
    assert "Test survey" in page
    assert "Hidden draft" not in page


def test_home_says_when_nothing_is_open(app, client):
    page = client.get("/").get_data(as_text=True)
    assert "There are no surveys open at the moment" in page


def test_form_renders_every_question_type(app, client, make_survey):
    make_survey()
    page = client.get("/s/town-test").get_data(as_text=True)
    assert 'type="radio" name="town" value="north"' in page
    assert 'type="checkbox" name="priorities" value="dont_know"' in page
    assert 'type="radio" name="concerns/knives" value="fairly"' in page
    assert '<textarea class="textarea" id="q-comments" name="comments"' in page
    assert page.count("<legend") == 1 + 1 + 3 + 1  # town, priorities, concerns + its two items, ethnicity
    assert "Please do not name anyone." in page


def test_valid_post_stores_exactly_the_answers(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", GOOD_ANSWERS)
    assert reply.status_code == 303
    assert reply.headers["Location"].startswith("/s/town-test/thanks")
    assert response_count(app) == 1
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        assert (response.language, response.channel) == ("en", "online")
        assert re.fullmatch(r"[0-9a-f]{32}", response.uid)
    assert stored_answers(app) == {
        ("town", "south", None, None, None),
        ("priorities", "drugs", None, None, None),
        ("priorities", "litter", None, None, None),
        ("concerns", None, "knives", "very", None),
        ("concerns", None, "asb", "not_very", None),
        ("ethnicity", "prefer_not_to_say", None, None, None),
        ("comments", None, None, None, "More lighting in the park, please."),
    }
    thanks = client.get(reply.headers["Location"])
    assert "Your answers have been sent." in thanks.get_data(as_text=True)


def test_free_text_is_stored_exactly_as_written(app, make_survey, submit):
    """Quotes, backslashes, line breaks, Urdu and emoji survive the trip into the answers table (sent as JSON)."""
    make_survey()
    comment = 'Say "no" to \\ & \'dealing\'\nرات کو 💡'
    assert len(comment) <= 50  # the test survey's limit
    assert submit("town-test", {**GOOD_ANSWERS, "comments": comment}).status_code == 303
    assert ("comments", None, None, None, comment) in stored_answers(app)


def test_response_records_the_language_it_was_answered_in(app, client, make_survey, submit):
    make_survey()
    assert submit("town-test", GOOD_ANSWERS, lang="pl").status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Response.language)) == "pl"


def test_optional_questions_may_be_left_blank(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", {"town": "north", "concerns/knives": "fairly", "concerns/asb": "very", "comments": "  "})
    assert reply.status_code == 303
    assert stored_answers(app) == {
        ("town", "north", None, None, None),
        ("concerns", None, "knives", "fairly", None),
        ("concerns", None, "asb", "very", None),
    }


def test_same_form_submitted_twice_stores_one_response(app, client, make_survey):
    make_survey()
    page = client.get("/s/town-test").get_data(as_text=True)
    data = {**form_tokens(page), **GOOD_ANSWERS}
    first = client.post("/s/town-test", data=data)
    replay = client.post("/s/town-test", data=data)
    assert first.status_code == replay.status_code == 303
    assert response_count(app) == 1
    assert len(stored_answers(app)) == 7


def test_each_page_load_is_a_new_submission(app, client, make_survey, submit):
    make_survey()
    submit("town-test", GOOD_ANSWERS)
    submit("town-test", GOOD_ANSWERS)
    assert response_count(app) == 2


BAD_INPUTS = {
    "unknown option": ({"town": "atlantis"}, "“atlantis” is not one of the answers to this question"),
    "two answers to a single question": ({"town": ["north", "south"]}, "Choose only one answer"),
    "too many choices": ({"priorities": ["drugs", "bikes", "litter"]}, "Choose no more than 2 answers"),
    "exclusive combined": ({"priorities": ["drugs", "dont_know"]}, "“Don&#39;t know” cannot be combined with other answers"),
    "value off the scale": ({"concerns/knives": "terrified"}, "“terrified” is not on the scale for “Knife crime”"),
    "matrix item missing": ({"concerns/knives": ""}, "Select an answer for “Knife crime”"),
    "required question missing": ({"town": ""}, "Select an answer"),
    "text over its limit": ({"comments": "x" * 51}, "Your answer must be 50 characters or fewer"),
    "control characters in text": ({"comments": "nul\x00byte"}, "Your answer contains characters that cannot be saved"),
    "field the survey does not have": ({"favourite_colour": "blue"}, "this survey does not ask"),
    "matrix item the survey does not have": ({"concerns/aliens": "very"}, "this survey does not ask"),
    "submission id tampered": ({"submission_id": "not-a-token"}, "The form was incomplete"),
}


@pytest.mark.parametrize("change, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_refused_field_by_field_and_stores_nothing(app, client, make_survey, submit, change, message):
    make_survey()
    reply = submit("town-test", {**GOOD_ANSWERS, **change})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert message in page
    assert "There is a problem" in page
    assert re.search(r"<title>Error: Test survey", page)
    assert response_count(app) == 0
    # The answers that were given are still there.
    assert re.search(r'value="not_very"\s+id="q-concerns--asb-not_very"\s+checked', page)


def test_error_summary_links_to_each_field(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", {**GOOD_ANSWERS, "town": "", "concerns/asb": "", "comments": "y" * 60})
    page = reply.get_data(as_text=True)
    start = page.index("error-summary")
    summary = page[start : page.index("</ul>", start)]
    assert re.findall(r'href="#([^"]+)"', summary) == ["q-town", "q-concerns--asb", "q-comments"]
    for target in ("q-town", "q-concerns--asb", "q-comments"):
        assert f'id="{target}"' in page
    assert 'id="q-town-error"' in page
    assert 'aria-describedby="q-concerns--asb-error"' in page
    assert ">" + "y" * 60 + "</textarea>" in page


def test_missing_csrf_token_is_refused_but_keeps_the_answers(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", GOOD_ANSWERS, tokens={"csrf_token": ""})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert response_count(app) == 0
    assert "Your session timed out" in page
    assert re.search(r'value="south"\s+id="q-town-south"\s+checked', page)
    fresh = form_tokens(page)["csrf_token"]
    assert fresh  # a new token to send the answers again with
    again = client.post("/s/town-test?lang=en", data={**form_tokens(page), **GOOD_ANSWERS})
    assert again.status_code == 303
    assert response_count(app) == 1


def test_wrong_csrf_token_is_refused(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", GOOD_ANSWERS, tokens={"csrf_token": "forged.token.value"})
    assert reply.status_code == 400
    assert response_count(app) == 0


@pytest.fixture
def short_csrf_lifetime(app_config):
    app_config["WTF_CSRF_TIME_LIMIT"] = 1


def test_expired_csrf_token_rerenders_answers_with_a_fresh_token(short_csrf_lifetime, app, client, make_survey):
    make_survey()
    page = client.get("/s/town-test").get_data(as_text=True)
    tokens = form_tokens(page)
    time.sleep(2.1)
    reply = client.post("/s/town-test", data={**tokens, **GOOD_ANSWERS})
    rerendered = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert "Your session timed out" in rerendered
    assert "More lighting in the park, please.</textarea>" in rerendered
    assert response_count(app) == 0
    assert client.post("/s/town-test", data={**form_tokens(rerendered), **GOOD_ANSWERS}).status_code == 303
    assert response_count(app) == 1


def test_body_over_the_size_limit_is_refused(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", {**GOOD_ANSWERS, "comments": "z" * 300_000})
    assert reply.status_code == 400
    assert "too long to send" in reply.get_data(as_text=True)
    assert response_count(app) == 0
    assert client.get("/s/town-test").status_code == 200  # the server is unharmed


def test_json_body_is_not_accepted_as_answers(app, client, make_survey):
    make_survey()
    reply = client.post("/s/town-test", json=GOOD_ANSWERS)
    assert reply.status_code == 400
    assert response_count(app) == 0


def test_answers_not_sent_as_utf8_are_refused_not_stored_garbled(app, client, make_survey):
    """Werkzeug would keep a Latin-1 "é" as the text "%E9": the post is refused instead."""
    make_survey()
    page = client.get("/s/town-test?lang=en").get_data(as_text=True)
    answers = {**form_tokens(page), **GOOD_ANSWERS, "comments": "Café by the station"}
    latin1 = urlencode(answers, doseq=True, encoding="latin-1")
    reply = client.post("/s/town-test?lang=en", data=latin1, content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 400
    assert "Your answers could not be read" in reply.get_data(as_text=True)
    assert response_count(app) == 0
    boundary = "x-boundary"
    parts = [(name, value) for name, values in answers.items() for value in (values if isinstance(values, list) else [values])]
    multipart = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode("latin-1") + b"\r\n"
        for name, value in parts
    ) + f"--{boundary}--\r\n".encode()
    refused = client.post("/s/town-test?lang=en", data=multipart, content_type=f"multipart/form-data; boundary={boundary}")
    assert refused.status_code == 400 and "Your answers could not be read" in refused.get_data(as_text=True)
    assert response_count(app) == 0
    utf8 = urlencode(answers, doseq=True)  # the same form sent as a browser sends it
    assert client.post("/s/town-test?lang=en", data=utf8, content_type="application/x-www-form-urlencoded").status_code == 303
    assert ("comments", None, None, None, "Café by the station") in stored_answers(app)


@pytest.mark.parametrize("status, message", [("draft", "not open yet"), ("closed", "has now closed")])
def test_unavailable_survey_says_so_politely_and_stores_nothing(app, client, make_survey, status, message):
    make_survey(status=status)
    page = client.get("/s/town-test")
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    assert "<form" not in page.get_data(as_text=True)
    posted = client.post("/s/town-test", data=GOOD_ANSWERS)
    assert posted.status_code == 400
    assert response_count(app) == 0


def test_unknown_survey_is_404(app, client):
    reply = client.get("/s/no-such-survey")
    assert reply.status_code == 404
    assert "Page not found" in reply.get_data(as_text=True)


def test_language_from_query_then_session_then_accept_language_then_default(app, client, make_survey):
    make_survey()

    def page_language(**kwargs) -> str:
        return re.search(r'<html lang="([^"]+)"', client.get("/s/town-test", **kwargs).get_data(as_text=True)).group(1)

    assert page_language() == "en"  # the survey default
    assert page_language(headers={"Accept-Language": "ur, en;q=0.5"}) == "ur"
    assert page_language(headers={"Accept-Language": "de, fr"}) == "en"  # not offered: default
    client.get("/s/town-test?lang=pl")
    assert page_language(headers={"Accept-Language": "ur"}) == "pl"  # the earlier choice wins
    assert page_language(query_string={"lang": "ur"}) == "ur"
    assert page_language(query_string={"lang": "xx"}) == "ur"  # unknown ?lang= is ignored


def test_urdu_page_is_right_to_left_with_a_native_switcher(app, client, make_survey):
    make_survey()
    page = client.get("/s/town-test?lang=ur").get_data(as_text=True)
    assert '<html lang="ur" dir="rtl">' in page
    assert "آزمائشی سروے" in page  # survey content in Urdu
    assert "Where do you live?" in page  # untranslated question falls back to English
    assert re.search(r'<a href="[^"]*lang=pl"[^>]* lang="pl" hreflang="pl" dir="ltr">Polski</a>', page)
    assert re.search(r'<span lang="ur" dir="rtl" aria-current="true">اردو</span>', page)


def test_survey_only_offers_its_own_languages(app, client, make_survey):
    make_survey()
    page = client.get("/s/town-test").get_data(as_text=True)
    switcher = page[page.index("language-switcher") : page.index("</nav>")]
    assert re.findall(r'\slang="([a-z]+)"', switcher) == ["en", "pl", "ur"]


def test_fonts_for_gurmukhi_and_urdu_are_served(app, client):
    with client.get("/static/css/fonts.css") as reply:
        css = reply.get_data(as_text=True)
    for family, font in (("Safer Voices Gurmukhi", "noto-sans-gurmukhi-400"), ("Safer Voices Urdu", "noto-nastaliq-urdu-400")):
        assert f'font-family: "{family}"' in css
        with client.get(f"/static/fonts/{font}.woff2") as served:
            assert served.status_code == 200 and served.data[:4] == b"wOF2"
