"""axe-core checks (WCAG 2.0, 2.1 and 2.2 A/AA rules) of every page a resident sees, in English and Urdu.

A violation fails with axe's report of the rule, the element and how to fix it. Fix the template or
stylesheet; do not exclude the rule here.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .conftest import DEMO_SLUG, sign_in

pytestmark = pytest.mark.browser

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
LANGUAGES = [("en", "en-GB"), ("ur", "ur-PK")]

axe = Axe()


def assert_no_violations(page: Page) -> None:
    results = axe.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


def expect_page_language(page: Page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ur" else "ltr")


@pytest.mark.parametrize(("lang", "locale"), LANGUAGES)
def test_home_page(page: Page, lang, locale):
    page.goto(f"/?lang={lang}")
    expect_page_language(page, lang)
    expect(page.locator(f'a[href^="/s/{DEMO_SLUG}"]')).to_have_count(1)
    assert_no_violations(page)


@pytest.mark.parametrize(("lang", "locale"), LANGUAGES)
def test_survey_page(page: Page, lang, locale):
    page.goto(f"/s/{DEMO_SLUG}?lang={lang}")
    expect_page_language(page, lang)
    expect(page.locator("form .form-group").first).to_be_visible()
    assert_no_violations(page)


@pytest.mark.parametrize(("lang", "locale"), LANGUAGES)
def test_survey_page_with_errors(page: Page, lang, locale):
    """An answer to one question, a required one left out and too many priorities: errors in every shape."""
    page.goto(f"/s/{DEMO_SLUG}?lang={lang}")
    for value in ["drug_dealing", "asb", "burglary", "knife_crime", "nuisance_bikes", "speeding"]:
        page.locator(f'input[name="priorities"][value="{value}"]').check()
    page.locator('input[name="safe_day"][value="very_safe"]').check()
    page.locator("textarea[name=comments]").fill("x" * 2001)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".error-summary a")).to_have_count(3)  # town, priorities, comments
    expect_page_language(page, lang)
    assert_no_violations(page)


@pytest.mark.parametrize(("lang", "locale"), LANGUAGES)
def test_thank_you_page(page: Page, lang, locale):
    page.goto(f"/s/{DEMO_SLUG}?lang={lang}")
    page.locator('input[name="town"][value="westbury"]').check()
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"/s/{DEMO_SLUG}/thanks?lang={lang}")
    expect_page_language(page, lang)
    assert_no_violations(page)


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-GB")])
def test_analysis_page_with_a_result(page: Page, lang, locale, staff_account):
    sign_in(page, staff_account("analyst"))  # staff pages need an account since accounts exist
    page.goto(f"/staff/analysis/?lang={lang}")
    page.locator("#question").select_option("priorities")
    page.get_by_role("button", name="Show the comparison").click()
    expect(page.locator(".analysis-result table caption")).to_be_visible()
    assert_no_violations(page)
    page.goto("/staff/analysis/?series=community-safety&question=priorities&by=ethnicity")
    expect(page.locator(".error-summary")).to_be_visible()  # sensitive breakdowns are not offered
    assert_no_violations(page)
