"""A resident answers the demo survey in a real browser, in English and in Urdu.

They answer through the labels as a person would (tapping a label checks its radio or box), make a
mistake on purpose, use the error summary to get back to the question, put it right and send; then the
database must hold exactly one new response with exactly those answers. The app uses no JavaScript, so
these pages run with JavaScript switched off: the whole journey must work without it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from survey.definitions import read_definition_file

from .conftest import DEMO_FILE, DEMO_SLUG, response_ids, stored_response

pytestmark = pytest.mark.browser

SURVEY_URL = f"/s/{DEMO_SLUG}"
TEXT_FIELDS = {"comments"}
PRIORITIES = ["drug_dealing", "asb", "burglary", "knife_crime", "nuisance_bikes", "speeding"]  # one too many

#: What the English resident ends up sending (the mistake, a sixth priority, is added on top).
ENGLISH_ANSWERS = {
    "town": "eastbrook",
    "priorities": PRIORITIES[:5],
    "concerns/knife_crime": "very",
    "concerns/asb": "fairly",
    "concerns/hate_crime": "not_at_all",
    "feel_safer": ["street_lighting", "youth_activities"],
    "safe_day": "fairly_safe",
    "safe_night": "fairly_unsafe",
    "comments": "More lighting on the path to the station, please.",
    "age_band": "age_35_44",
    "religion": "prefer_not_to_say",
}

#: What the Urdu resident ends up sending; they first forget the required town question.
URDU_ANSWERS = {
    "town": "central",
    "priorities": ["drug_dealing", "youth_disorder"],
    "concerns/drug_dealing": "very",
    "concerns/burglary": "not_very",
    "feel_safer": ["police_presence", "cctv"],
    "safe_day": "very_safe",
    "safe_night": "dont_know",
    "comments": "پارک میں شام کو مزید روشنی ہونی چاہیے۔",
    "sex": "female",
    "ethnicity": "asian_pakistani",
    "religion": "muslim",
}


@pytest.fixture
def javascript_enabled() -> bool:
    return False


def choice(page: Page, name: str, value: str):
    return page.locator(f'input[name="{name}"][value="{value}"]')


def label_of(page: Page, name: str, value: str):
    input_id = choice(page, name, value).get_attribute("id")
    return page.locator(f'label[for="{input_id}"]')


def values(answer: str | list[str]) -> list[str]:
    return answer if isinstance(answer, list) else [answer]


def give_answer(page: Page, name: str, answer: str | list[str]) -> None:
    """Type a text answer, or tap the label of each chosen radio button or box."""
    if name in TEXT_FIELDS:
        page.locator(f'textarea[name="{name}"]').fill(answer)
        return
    for value in values(answer):
        label_of(page, name, value).click()
        expect(choice(page, name, value)).to_be_checked()


def give_answers(page: Page, answers: dict) -> None:
    for name, answer in answers.items():
        give_answer(page, name, answer)


def expect_answers_kept(page: Page, answers: dict) -> None:
    """After a refused submission, every answer given is still there, and nothing else is chosen."""
    for name, answer in answers.items():
        if name in TEXT_FIELDS:
            expect(page.locator(f'textarea[name="{name}"]')).to_have_value(answer)
            continue
        checked = page.locator(f'input[name="{name}"]:checked')
        expect(checked).to_have_count(len(values(answer)))
        for value in values(answer):
            expect(choice(page, name, value)).to_be_checked()
    chosen_names = set(page.eval_on_selector_all("input:checked", "inputs => inputs.map(input => input.name)"))
    assert chosen_names == {name for name in answers if name not in TEXT_FIELDS}


def send(page: Page) -> int:
    """Press the send button and return the HTTP status of the POST."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    return posted.value.status


def expected_rows(answers: dict) -> set[tuple]:
    """The stored answers the given answers must become: (question, option, item, scale point, text)."""
    rows = set()
    for name, answer in answers.items():
        if name in TEXT_FIELDS:
            rows.add((name, None, None, None, answer))
        elif "/" in name:
            question, item = name.split("/")
            rows.add((question, None, item, answer, None))
        else:
            rows.update((name, value, None, None, None) for value in values(answer))
    return rows


def expect_page_language(page: Page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ur" else "ltr")


def follow_summary_link(page: Page, target_id: str) -> None:
    """The summary links to the field; following it focuses the field and brings it into view."""
    link = page.locator(f'.error-summary a[href="#{target_id}"]')
    expect(link).to_have_count(1)
    target = page.locator(f"#{target_id}")
    expect(target).to_have_count(1)
    link.click()
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    assert page.evaluate("location.hash") == f"#{target_id}"


def expect_thanks(page: Page, lang: str) -> None:
    expect(page).to_have_url(re.compile(rf"/s/{DEMO_SLUG}/thanks\?lang={lang}$"))
    expect_page_language(page, lang)
    expect(page.locator(".panel[role=status] h1")).to_have_count(1)


@pytest.mark.parametrize("locale", ["en-GB"])
def test_english_resident_corrects_too_many_priorities(page: Page, live_app, locale):
    before = response_ids(live_app)
    page.goto(f"{SURVEY_URL}?lang=en")
    expect_page_language(page, "en")
    expect(page).to_have_title("Community Safety Survey 2025 – Safer Voices")
    expect(page.locator("script")).to_have_count(0)  # the app needs no JavaScript

    with_mistake = {**ENGLISH_ANSWERS, "priorities": PRIORITIES}
    give_answers(page, with_mistake)
    assert send(page) == 400

    expect(page).to_have_title(re.compile(r"^Error: Community Safety Survey 2025"))
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary).to_be_focused()  # autofocus: a screen reader starts at the problem
    expect(summary.locator("a")).to_have_count(1)
    expect(summary.locator("a")).to_have_text("Question 2: Choose no more than 5 answers")
    expect(page.locator("#q-priorities-error")).to_contain_text("Choose no more than 5 answers")
    expect_answers_kept(page, with_mistake)
    follow_summary_link(page, "q-priorities")

    label_of(page, "priorities", PRIORITIES[5]).click()  # untick the sixth
    expect(choice(page, "priorities", PRIORITIES[5])).not_to_be_checked()
    assert send(page) == 303  # See Other: on to the thank-you page

    expect_thanks(page, "en")
    expect(page).to_have_title("Thank you – Community Safety Survey 2025 – Safer Voices")
    expect(page.locator(".panel")).to_contain_text("Your answers have been sent.")

    new = response_ids(live_app) - before
    assert len(new) == 1
    language, channel, rows = stored_response(live_app, new.pop())
    assert (language, channel) == ("en", "online")
    assert rows == expected_rows(ENGLISH_ANSWERS)


@pytest.mark.parametrize("locale", ["ur-PK"])
def test_urdu_resident_corrects_a_missing_required_answer(page: Page, live_app, locale):
    before = response_ids(live_app)
    page.goto(f"{SURVEY_URL}?lang=ur")
    expect_page_language(page, "ur")
    expect(page.locator("h1")).to_have_text(read_definition_file(DEMO_FILE).title["ur"])
    # Right to left: each label sits to the left of its radio button.
    radio, label = choice(page, "town", "central").bounding_box(), label_of(page, "town", "central").bounding_box()
    assert label["x"] + label["width"] <= radio["x"]

    without_town = {name: answer for name, answer in URDU_ANSWERS.items() if name != "town"}
    give_answers(page, without_town)
    assert send(page) == 400

    expect_page_language(page, "ur")
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator("h2")).to_have_count(1)
    expect(summary.locator("a")).to_have_count(1)
    expect(page.locator("#q-town-error")).to_have_count(1)
    expect(page.locator(".form-group--error")).to_have_count(1)
    expect_answers_kept(page, without_town)
    follow_summary_link(page, "q-town")

    give_answer(page, "town", URDU_ANSWERS["town"])
    assert send(page) == 303

    expect_thanks(page, "ur")
    expect(page.locator(".error-summary")).to_have_count(0)

    new = response_ids(live_app) - before
    assert len(new) == 1
    language, channel, rows = stored_response(live_app, new.pop())
    assert (language, channel) == ("ur", "online")
    assert rows == expected_rows(URDU_ANSWERS)


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-GB"), ("ur", "ur-PK")])
def test_keyboard_only_resident(page: Page, live_app, lang, locale):
    """Tab reaches the skip link first; it leads to the form; radios and boxes answer to Space and arrows."""
    before = response_ids(live_app)
    page.goto(f"{SURVEY_URL}?lang={lang}")

    page.keyboard.press("Tab")
    skip_link = page.locator("a.skip-link")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_have_attribute("href", "#main")
    expect(skip_link).to_be_in_viewport()  # shown when focused, not left off-screen

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    page.keyboard.press("Tab")  # the first control in the main content is the first question
    first_town, second_town = page.locator("#q-town"), page.locator("#q-town-eastbrook")
    expect(first_town).to_be_focused()
    page.keyboard.press("Space")
    expect(first_town).to_be_checked()
    page.keyboard.press("ArrowDown")  # arrows move through the group and choose as they go
    expect(second_town).to_be_focused()
    expect(second_town).to_be_checked()
    expect(first_town).not_to_be_checked()

    page.keyboard.press("Tab")  # out of the radio group, onto the next question's first box
    first_priority = page.locator("#q-priorities")
    expect(first_priority).to_be_focused()
    page.keyboard.press("Space")
    expect(first_priority).to_be_checked()
    page.keyboard.press("Space")
    expect(first_priority).not_to_be_checked()
    page.keyboard.press("Space")
    expect(first_priority).to_be_checked()

    # Sending from the keyboard: Enter on the focused button.
    page.locator("form button[type=submit]").focus()
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.keyboard.press("Enter")
    expect_thanks(page, lang)
    new = response_ids(live_app) - before
    assert len(new) == 1
    assert stored_response(live_app, new.pop()) == (
        lang,
        "online",
        {("town", "eastbrook", None, None, None), ("priorities", "drug_dealing", None, None, None)},
    )
