"""An editor builds a small survey in a real browser alone, a resident answers it, and the next wave keeps every code.

The editor signs in, creates the survey, adds a several-answers question with at most three choices,
translates it into Polish, previews it in Polish (untranslated text marked), publishes it; a resident
answers in Polish (too many choices first, then two); the response is counted on the survey's page
and on the analysis page; the editor closes the survey and starts the next wave. Staff pages run
with JavaScript switched off, as residents' pages do: the whole journey must work without it.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from survey.extensions import db
from survey.models import Question, Survey

from .conftest import sign_in

pytestmark = pytest.mark.browser

SERIES = "journey-safety"
SLUG, WAVE = "journey-2026", "2026"
NEXT_SLUG, NEXT_WAVE = "journey-2027", "2027"
QUESTION = "worries"
TITLE = {"en": "Feeling safe in Eastbrook", "pl": "Bezpieczeństwo w Eastbrook"}
QUESTION_TEXT = {"en": "What worries you most where you live?", "pl": "Co najbardziej niepokoi Cię w okolicy?"}
#: The answer options in English, and their Polish translations; the last is left untranslated on purpose.
OPTIONS = {
    "Street lighting": "Oświetlenie ulic",
    "Speeding cars": "Zbyt szybka jazda samochodów",
    "Drug dealing": "Handel narkotykami",
    "Litter": None,
}
#: The codes the builder makes from the English labels.
OPTION_CODES = ["street_lighting", "speeding_cars", "drug_dealing", "litter"]
#: What the resident finally sends: two of the four.
CHOSEN = ["Street lighting", "Litter"]


def survey_page(page: Page, slug: str) -> None:
    page.goto(f"/staff/surveys/{slug}/")
    expect(page.locator("h1")).to_be_visible()


def expect_flash(page: Page, text: str | re.Pattern) -> None:
    expect(page.locator(".notice[role=status]").filter(has_text=text)).to_be_visible()


def stored_codes(live_app, slug: str) -> tuple[int | None, list[str], dict]:
    """(max_choices, option codes in order, Polish texts) of the journey's question as stored."""
    with live_app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == slug))
        question = db.session.scalar(
            sa.select(Question).where(Question.survey_id == survey.id, Question.code == QUESTION)
        )
        polish = {"title": survey.title.get("pl"), "text": question.text.get("pl"),
                  "options": {option.code: option.label.get("pl") for option in question.options}}
        return question.max_choices, [option.code for option in question.options], polish


def test_an_editor_builds_translates_publishes_and_closes_a_survey(live_app, new_context, staff_account):
    editor = new_context(javascript_enabled=False).new_page()
    sign_in(editor, staff_account("editor", email="journey-editor@council.example"))

    # --- create the survey ---------------------------------------------------------------------
    editor.get_by_role("link", name="Create a survey").click()
    expect(editor).to_have_url("/staff/surveys/new")
    editor.get_by_label("Series").fill(SERIES)
    editor.get_by_label("Wave label").fill(WAVE)
    editor.get_by_label("Web address name (slug)").fill(SLUG)
    editor.get_by_label("Title").fill(TITLE["en"])
    editor.get_by_label("Default language").select_option("en")
    editor.get_by_label("Languages offered to residents").fill("en, pl")
    editor.get_by_role("button", name="Create survey").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/edit")
    expect(editor.get_by_role("heading", level=1)).to_have_text("Questions and answer options")

    # --- add a several-answers question with four options ---------------------------------------
    editor.get_by_label("Question code").fill(QUESTION)
    editor.get_by_label("Several answers (checkboxes)").check()
    editor.get_by_label("Question text").fill(QUESTION_TEXT["en"])
    editor.get_by_label("Answer options, one per line").fill("\n".join(OPTIONS))
    editor.get_by_role("button", name="Add question").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/questions/{QUESTION}")
    expect_flash(editor, f"Added question {QUESTION}.")
    for number, (label, code) in enumerate(zip(OPTIONS, OPTION_CODES), start=1):
        expect(editor.get_by_label(f"Label of option {number}", exact=True)).to_have_value(label)
        expect(editor.get_by_label(f"Code of option {number}", exact=True)).to_have_value(code)

    # --- at most three answers ------------------------------------------------------------------
    editor.get_by_label("Most answers a resident may choose").fill("3")
    editor.get_by_role("button", name="Save question").first.click()
    expect_flash(editor, f"Saved question {QUESTION}.")
    expect(editor.get_by_label("Most answers a resident may choose")).to_have_value("3")

    # --- translate into Polish: title, question text and three of the four options --------------
    editor.get_by_role("link", name=TITLE["en"]).click()  # the caption leads back to the questions
    editor.get_by_role("link", name=TITLE["en"]).click()  # and from there to the survey's page
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/")
    editor.get_by_role("link", name="Translations").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/translations")
    editor.get_by_role("link", name="Polski (pl)").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/translations/pl")
    editor.get_by_label("Survey title").fill(TITLE["pl"])
    editor.get_by_label(f"Question 1 ({QUESTION}): question text").fill(QUESTION_TEXT["pl"])
    for code, polish in zip(OPTION_CODES, OPTIONS.values()):
        if polish:
            editor.get_by_label(f"Question 1 ({QUESTION}): option '{code}'").fill(polish)
    editor.get_by_role("button", name="Save translations").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/translations/pl")
    expect_flash(editor, "Translations saved: 5 changed")
    expect(editor.locator("#completeness")).to_contain_text("1 missing")

    # --- preview in Polish: translated texts shown, the untranslated option marked ---------------
    survey_page(editor, SLUG)
    editor.get_by_role("link", name="Preview as residents see it").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/preview")
    editor.get_by_role("navigation", name="Choose a language").get_by_role("link", name="Polski").click()
    expect(editor).to_have_url(f"/staff/surveys/{SLUG}/preview?lang=pl")
    expect(editor.locator("html")).to_have_attribute("lang", "pl")
    expect(editor.locator("h1")).to_have_text(TITLE["pl"])
    expect(editor.locator(".preview-banner")).to_be_visible()
    expect(editor.locator("legend").filter(has_text=QUESTION_TEXT["pl"])).to_be_visible()
    for english, polish in OPTIONS.items():
        label = editor.locator(".choice__label").filter(has_text=polish or english)
        expect(label).to_have_count(1)
        expect(label.locator(".fallback-marker")).to_have_count(0 if polish else 1)
    expect(editor.locator(".fallback-marker")).to_have_count(1)
    expect(editor.get_by_text(QUESTION_TEXT["en"])).to_have_count(0)

    # --- publish ------------------------------------------------------------------------------------
    survey_page(editor, SLUG)
    expect(editor.locator(".tag")).to_have_text("draft")
    editor.get_by_role("button", name="Publish the survey").click()
    expect_flash(editor, "The survey is now open.")
    expect(editor.locator(".tag")).to_have_text("open")
    expect(editor.locator("#response-count")).to_contain_text("0")

    # --- a resident answers in Polish, with no staff cookies ---------------------------------------
    resident = new_context(javascript_enabled=False, locale="pl-PL").new_page()
    resident.goto(f"/s/{SLUG}?lang=pl")
    expect(resident.locator("h1")).to_have_text(TITLE["pl"])
    expect(resident.locator(".fallback-marker")).to_have_count(0)  # residents never see the marker
    polish_labels = [polish or english for english, polish in OPTIONS.items()]
    for label in polish_labels:
        resident.get_by_label(label).check()
    resident.locator("form button[type=submit]").click()
    expect(resident.locator(".error-summary")).to_be_visible()
    expect(resident.locator(".error-summary a")).to_have_count(1)
    expect(resident.locator(f'.error-summary a[href="#q-{QUESTION}"]')).to_contain_text("3")  # the limit, in Polish
    expect(resident.locator("input[type=checkbox]:checked")).to_have_count(4)  # nothing typed is lost
    for english in OPTIONS:
        if english not in CHOSEN:
            resident.get_by_label(OPTIONS[english] or english).uncheck()
    resident.locator("form button[type=submit]").click()
    expect(resident).to_have_url(f"/s/{SLUG}/thanks?lang=pl")

    # --- counted on the survey's page and on the analysis page --------------------------------------
    survey_page(editor, SLUG)
    expect(editor.locator("#response-count")).to_contain_text(re.compile(r"^\s*1\s"))
    expect(editor.locator("#response-count")).to_contain_text("online 1")

    admin = new_context(javascript_enabled=False).new_page()
    sign_in(admin, staff_account("admin", email="journey-admin@council.example"))
    admin.get_by_role("navigation", name="Staff area").get_by_role("link", name="Analysis").click()
    expect(admin).to_have_url("/staff/analysis/")
    admin.get_by_label("Survey series").select_option(SERIES)
    admin.get_by_label("Question", exact=True).select_option(QUESTION)
    admin.get_by_role("button", name="Show the comparison").click()
    table = admin.locator(".analysis-result table")
    expect(table.locator("caption")).to_be_visible()
    for english in CHOSEN:
        row = table.locator("tbody tr").filter(has=admin.locator("th", has_text=english))
        expect(row).to_have_count(1)
        expect(row.locator("td").last).to_have_text("100.0%")
    expect(table.locator("tfoot")).to_contain_text("Base: 1 respondents who answered")

    # --- close, then start the next wave --------------------------------------------------------------
    survey_page(editor, SLUG)
    editor.get_by_role("button", name="Close the survey").click()
    expect_flash(editor, "The survey is now closed.")
    expect(editor.locator(".tag")).to_have_text("closed")
    resident.goto(f"/s/{SLUG}?lang=pl")
    expect(resident.locator("form button[type=submit]")).to_have_count(0)  # closed to residents

    editor.get_by_label("Wave label").fill(NEXT_WAVE)
    editor.get_by_label("Web address name (slug)").fill(NEXT_SLUG)
    editor.get_by_role("button", name="Start next wave").click()
    expect(editor).to_have_url(f"/staff/surveys/{NEXT_SLUG}/")
    expect_flash(editor, f"Started wave {NEXT_WAVE} as a draft with every code kept.")
    expect(editor.locator(".tag")).to_have_text("draft")
    editor.get_by_role("link", name="Questions and answer options").click()
    expect(editor).to_have_url(f"/staff/surveys/{NEXT_SLUG}/edit")
    expect(editor.locator(f"#q-{QUESTION}")).to_contain_text(QUESTION)
    editor.get_by_role("link", name=QUESTION_TEXT["en"]).click()
    for number, code in enumerate(OPTION_CODES, start=1):
        expect(editor.get_by_label(f"Code of option {number}", exact=True)).to_have_value(code)

    # --- what the database holds: the limit, the codes and the translations, in both waves -------------
    first, copy = stored_codes(live_app, SLUG), stored_codes(live_app, NEXT_SLUG)
    assert first[:2] == (3, OPTION_CODES)
    assert first[2] == {
        "title": TITLE["pl"], "text": QUESTION_TEXT["pl"],
        "options": dict(zip(OPTION_CODES, OPTIONS.values())),
    }
    assert copy == first  # the copy keeps the limit, every code and the translations
