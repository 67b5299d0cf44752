"""axe-core checks (WCAG 2.0, 2.1 and 2.2 A/AA rules) of every staff page, error states included.

STAFF_PAGES lists the pages: a path, who looks at it, and optionally what they do first (send a form
empty to see its errors). test_every_staff_page_is_checked fails when the app gains a /staff/ page
that is neither listed nor excluded with a reason, so a new page cannot escape the check.

A violation fails with axe's report of the rule, the element and how to fix it. Fix the template or
stylesheet; do not exclude the rule here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from survey.accounts.service import create_user
from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.reports.saved import save_comparison
from survey.reports.service import ComparisonRequest
from survey.responses.store import insert_response

from ..conftest import STAFF_PASSWORD, reference_definition
from .test_accessibility import assert_no_violations

pytestmark = pytest.mark.browser

#: The every-feature test survey (en, pl, ur; single, multi, matrix, text and a sensitive question),
#: loaded twice: a draft to edit, and an open wave with one response, whose structure is locked.
DRAFT, OPEN = "a11y-draft", "a11y-open"
SERIES = "test-series"
ONE_RESPONSE = {
    "town": ["north"], "priorities": ["drugs", "bikes"], "concerns/knives": ["very"], "concerns/asb": ["fairly"],
}
#: Accounts the user pages show: one to look at, one locked after failed sign-ins.
TARGET_USER, LOCKED_USER = "a11y-target@council.example", "a11y-locked@council.example"


@dataclass(frozen=True)
class StaffPage:
    name: str
    #: Formatted with the ids of the fixture data: {target} and {locked} are user ids.
    path: str
    #: "admin", "editor" or "analyst" (a shared signed-in context; "analyst-sensitive" with the
    #: sensitive permission), or None: signed out.
    role: str | None = "admin"
    #: What the person does on the page before it is checked, e.g. sends a form empty.
    act: Callable[[Page], None] | None = None
    #: The page shows an error summary (and its title starts "Error:").
    errors: bool = False
    status: int = 200
    #: A CSS selector the page must show, proving it is in the state meant (a table, a lock notice…).
    shows: str | None = None


def click(name: str) -> Callable[[Page], None]:
    """Press a button, the form left as it is (empty, for most error states)."""
    return lambda page: page.get_by_role("button", name=name).first.click()


def fill_and_click(values: dict[str, str], name: str) -> Callable[[Page], None]:
    def act(page: Page) -> None:
        for label, value in values.items():
            page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name=name).first.click()

    return act


DRAFT_PATH, OPEN_PATH = f"/staff/surveys/{DRAFT}", f"/staff/surveys/{OPEN}"
ANALYSIS = f"/staff/analysis/?series={SERIES}"
TABLE, LOCK_NOTICE = ".analysis-result table", ".notice[role=status]"
NEXT_WAVE_FIELDS = {"Wave label, for example the year": "", "Web address name (slug)": ""}
WRONG_LOGIN = {"Email address": "nobody@council.example", "Password": "not the password"}

STAFF_PAGES = [
    # signing in
    StaffPage("login", "/staff/login", role=None),
    StaffPage("login, sent empty", "/staff/login", role=None, act=click("Sign in"), errors=True),
    StaffPage("login, wrong password", "/staff/login", role=None,
              act=fill_and_click(WRONG_LOGIN, "Sign in"), errors=True),
    # surveys
    StaffPage("dashboard", "/staff/"),
    StaffPage("dashboard, upload without a file", "/staff/", act=click("Upload definition"), errors=True),
    StaffPage("dashboard as an analyst", "/staff/", role="analyst"),
    StaffPage("survey page, open with a response", f"{OPEN_PATH}/"),
    StaffPage("survey page, draft", f"{DRAFT_PATH}/"),
    StaffPage("survey page, next wave sent empty", f"{OPEN_PATH}/",
              act=fill_and_click(NEXT_WAVE_FIELDS, "Start next wave"), errors=True),
    StaffPage("survey page, responses import without a file", f"{OPEN_PATH}/", act=click("Import responses"), errors=True),
    StaffPage("survey page as an editor", f"{DRAFT_PATH}/", role="editor"),
    StaffPage("delete survey", f"{DRAFT_PATH}/delete"),
    StaffPage("delete survey, refused", f"{OPEN_PATH}/delete"),
    # the builder
    StaffPage("new survey", "/staff/surveys/new"),
    StaffPage("new survey, sent empty", "/staff/surveys/new", act=click("Create survey"), errors=True),
    StaffPage("questions", f"{DRAFT_PATH}/edit"),
    StaffPage("questions, new question sent empty", f"{DRAFT_PATH}/edit", act=click("Add question"), errors=True),
    StaffPage("questions, locked", f"{OPEN_PATH}/edit", shows=LOCK_NOTICE),
    StaffPage("question, single", f"{DRAFT_PATH}/questions/town"),
    StaffPage("question, multi", f"{DRAFT_PATH}/questions/priorities", shows="#max_choices"),
    StaffPage("question, matrix", f"{DRAFT_PATH}/questions/concerns", shows="#scale-list"),
    StaffPage("question, text", f"{DRAFT_PATH}/questions/comments"),
    StaffPage("question, text left empty", f"{DRAFT_PATH}/questions/town",
              act=fill_and_click({"Question text": ""}, "Save question"), errors=True),
    StaffPage("question, multi locked", f"{OPEN_PATH}/questions/priorities", shows=LOCK_NOTICE),
    StaffPage("question, matrix locked", f"{OPEN_PATH}/questions/concerns", shows=LOCK_NOTICE),
    StaffPage("delete question", f"{DRAFT_PATH}/questions/comments/delete"),
    StaffPage("delete question, locked", f"{OPEN_PATH}/questions/comments/delete"),
    StaffPage("preview, English", f"{DRAFT_PATH}/preview?lang=en"),
    StaffPage("preview, Polish (untranslated texts marked)", f"{DRAFT_PATH}/preview?lang=pl", shows=".fallback-marker"),
    StaffPage("preview, Urdu (right to left)", f"{DRAFT_PATH}/preview?lang=ur", shows="html[dir=rtl]"),
    # translations
    StaffPage("translations", f"{DRAFT_PATH}/translations", shows="#summary-pl"),
    StaffPage("translations into Polish", f"{DRAFT_PATH}/translations/pl"),
    StaffPage("translations into Urdu", f"{DRAFT_PATH}/translations/ur", shows="textarea[dir=rtl]"),
    StaffPage("translations, upload without a file", f"{DRAFT_PATH}/translations/pl",
              act=click("Upload translations"), errors=True),
    # paper entry
    StaffPage("paper entry", f"{OPEN_PATH}/paper", shows="#running-count"),
    StaffPage("paper entry, sent empty", f"{OPEN_PATH}/paper", act=click("Save and enter another"), errors=True),
    StaffPage("paper entry, draft", f"{DRAFT_PATH}/paper"),
    # users and the audit log
    StaffPage("users", "/staff/users"),
    StaffPage("users, invalid e-mail", "/staff/users",
              act=fill_and_click({"Email address": "not an address"}, "Create account"), errors=True),
    StaffPage("users, new account's password", "/staff/users",
              act=fill_and_click({"Email address": "a11y-new@council.example"}, "Create account"), shows=".secret"),
    StaffPage("user", "/staff/users/{target}"),
    StaffPage("user, locked", "/staff/users/{locked}", shows="form[action$='/unlock']"),
    StaffPage("user, new password", "/staff/users/{target}", act=click("Generate a new password"), shows=".secret"),
    StaffPage("audit log", "/staff/audit/"),
    StaffPage("audit log, filtered", "/staff/audit/?action=user"),
    # analysis
    StaffPage("analysis", "/staff/analysis/"),
    StaffPage("analysis with a table", f"{ANALYSIS}&question=priorities", shows=TABLE),
    StaffPage("analysis with a breakdown", f"{ANALYSIS}&question=priorities&by=town", shows=TABLE),
    StaffPage("analysis as an analyst", f"{ANALYSIS}&question=concerns", role="analyst", shows=TABLE),
    StaffPage("analysis, sensitive breakdown refused", f"{ANALYSIS}&question=priorities&by=ethnicity",
              errors=True, status=400),
    StaffPage("analysis, table saved", f"{ANALYSIS}&question=priorities",
              act=fill_and_click({"Title (optional)": "Priorities this year"}, "Save this table"), shows=TABLE),
    StaffPage("saved results", "/staff/analysis/saved", shows="table"),
    StaffPage("saved result", "/staff/analysis/saved/{saved}", shows=TABLE),
    StaffPage("response downloads", "/staff/analysis/responses"),
    StaffPage("response downloads, masked or as written", "/staff/analysis/responses", role="analyst-sensitive",
              shows="a[href$='mask=0']"),
    # refused
    StaffPage("403 for an editor", "/staff/users", role="editor", status=403),
]

#: GET endpoints under /staff/ that are not pages, and why.
NOT_PAGES = {
    "staff.download_definition": "a YAML file download",
    "translating.download_po": "a PO file download",
    "translating.download_xlsx": "an XLSX file download",
    "reports.download": "a file download (CSV, XLSX, JSON, Markdown, SVG, PNG…)",
    "reports.export_responses": "a CSV or XLSX file download",
    "reports.saved_download": "a file download of a saved result (the formats of reports.download)",
    "audit.export": "a CSV file download",
}


@pytest.fixture(scope="session")
def staff_data(live_app) -> dict[str, int]:
    """Load the two surveys, one response to the open one, and the accounts the user pages show."""
    with live_app.app_context():
        for slug, status in ((DRAFT, "draft"), (OPEN, "open")):
            data = copy.deepcopy(reference_definition())
            data.update(slug=slug, wave=slug)
            survey = load_definition(parse_definition(data)).survey
            if status == "open":
                survey.open()
                db.session.flush()
                insert_response(survey, ONE_RESPONSE, uid="a11y-response-1", language="en")
        target = create_user(TARGET_USER, STAFF_PASSWORD, "analyst")
        locked = create_user(LOCKED_USER, STAFF_PASSWORD, "editor")
        locked.failed_logins = live_app.config["LOGIN_LOCK_AFTER"]
        saved = save_comparison(db.session, ComparisonRequest(series=SERIES, question="priorities"), title="Priorities")
        db.session.commit()
        return {"target": target.id, "locked": locked.id, "saved": saved.id}


@pytest.fixture
def open_page(staff_context, new_context):
    """A page signed in as ``role`` (a shared context), or in a fresh signed-out context for None."""
    pages: list[Page] = []

    def open_(role: str | None) -> Page:
        context = staff_context(role) if role else new_context()
        page = context.new_page()
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


@pytest.mark.parametrize("staff_page", STAFF_PAGES, ids=lambda staff_page: staff_page.name)
def test_staff_page(staff_page: StaffPage, staff_data, open_page):
    page = open_page(staff_page.role)
    response = page.goto(staff_page.path.format(**staff_data))
    if staff_page.act is None:
        assert response.status == staff_page.status, page.url
    else:
        assert response.status == 200, page.url
        with page.expect_navigation() as navigation:
            staff_page.act(page)
        assert navigation.value.status == (400 if staff_page.errors else 200), page.url
    expect(page.locator("h1")).to_have_count(1)
    if staff_page.errors:
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page).to_have_title(re.compile(r"^Error:"))
    else:
        expect(page.locator(".error-summary")).to_have_count(0)
    if staff_page.shows:
        expect(page.locator(staff_page.shows).first).to_be_visible()
    assert_no_violations(page)


def test_every_staff_page_is_checked(live_app):
    """Every GET route under /staff/ is in STAFF_PAGES or in NOT_PAGES, and NOT_PAGES names only real routes."""
    adapter = live_app.url_map.bind("localhost")
    checked = {adapter.match(urlsplit(staff_page.path.format(target=1, locked=1, saved=1)).path, method="GET")[0]
               for staff_page in STAFF_PAGES}
    routes = {rule.endpoint for rule in live_app.url_map.iter_rules()
              if rule.rule.startswith("/staff/") and "GET" in rule.methods}
    assert routes - checked - NOT_PAGES.keys() == set(), "staff pages that no accessibility test looks at"
    assert NOT_PAGES.keys() <= routes
    assert not NOT_PAGES.keys() & checked


def test_resident_form_honeypot(staff_data, new_context):
    """The hidden honeypot field is out of sight and out of the accessibility tree, and trips no axe rule."""
    page = new_context(locale="en-GB").new_page()
    page.goto(f"/s/{OPEN}?lang=en")
    honeypot = page.locator("input[name=website]")
    expect(honeypot).to_have_count(1)
    expect(honeypot).to_be_hidden()
    expect(page.get_by_label("Leave this field empty")).to_be_hidden()
    expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
    assert_no_violations(page)
