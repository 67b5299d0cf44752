"""Real-browser fixtures: the app served over HTTP on an SQLite file, and Chromium driven by Playwright.

One live server and one browser serve the whole folder (start-up is the slow part); every test gets a
fresh browser context, so cookies, the chosen language and the CSRF session never leak between tests.
The server's database is shared, so tests compare the responses before and after their own submission.
Staff pages are the exception: one signed-in context per role (staff_context) serves every test, since
signing in runs a deliberately slow password hash; tests that sign in themselves use new_context.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from survey import create_app
from survey.accounts.service import create_user
from survey.definitions import load_definition, read_definition_file
from survey.extensions import db
from survey.models import Response

from ..conftest import REPO, STAFF_PASSWORD, skip_or_fail, stored_answers

#: The demo survey every browser test answers.
DEMO_FILE = REPO / "examples" / "community-safety-2025.yaml"
DEMO_SLUG = "cs-2025"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
#: Staff work at a desk.
DESKTOP = {"width": 1280, "height": 900}
#: Playwright waits up to 30 s by default; the app answers in milliseconds, so fail fast instead.
TIMEOUT_MS = 10_000


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app on its own SQLite file with the demo survey loaded and open."""
    database = tmp_path_factory.mktemp("browser") / "browser.sqlite"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SECRET_KEY": "browser-test",
            "TESTING": True,
            # Playwright fills a form in milliseconds, where a person takes far longer than the bot check's
            # minimum; and every test submits from 127.0.0.1. The defences have their own tests (test_defences.py).
            "MIN_FILL_SECONDS": 0,
            "RATELIMIT_ENABLED": False,
            # The staff journey's analysis shows its one response: small-cell suppression has its own tests.
            "SMALL_CELL_THRESHOLD": 1,
            # A survey closed by the staff journey is closed to its resident at once, not up to two seconds
            # later (residents' pages may use a snapshot that old; test_respondent_fast_path.py tests the delay).
            "SURVEY_RECHECK_SECONDS": 0,
        }
    )
    with app.app_context():
        db.create_all()
        survey = load_definition(read_definition_file(DEMO_FILE)).survey
        survey.open()
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """Base URL of the app served by Werkzeug in a daemon thread, e.g. ``http://127.0.0.1:41234``."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; skipped locally (failed in CI) when it cannot start."""
    path = chromium_path()
    if not Path(path).exists():
        skip_or_fail(f"Chromium not found at {path} (set CHROMIUM_PATH)")
    playwright = sync_playwright().start()
    try:
        try:
            chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            skip_or_fail(f"Chromium at {path} could not be launched: {error.message.splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def locale() -> str:
    """The browser's locale (Accept-Language); tests override it with ``parametrize("locale", ...)``."""
    return "en-GB"


@pytest.fixture
def javascript_enabled() -> bool:
    """Whether pages may run scripts; the app uses none, so journeys switch it off (axe needs it on)."""
    return True


@pytest.fixture
def page(browser, live_server, locale, javascript_enabled):
    """A fresh phone-sized browser context per test; relative URLs resolve against the live server."""
    context = browser.new_context(
        viewport=PHONE, locale=locale, base_url=live_server, java_script_enabled=javascript_enabled
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


# --- reading back what the server stored -------------------------------------------------------

def response_ids(app) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Response.id)))


def stored_response(app, response_id: int) -> tuple[str, str, set[tuple]]:
    """(language, channel, answers) of one response; answers as (question, option, item, scale point, text) codes."""
    with app.app_context():
        response = db.session.get(Response, response_id)
        language, channel = response.language, response.channel
    return language, channel, stored_answers(app, response_id)


# --- staff accounts and signed-in browser contexts -----------------------------------------------

@pytest.fixture(scope="session")
def staff_account(live_app):
    """Create a staff account (password STAFF_PASSWORD) on the live server, once per e-mail; returns the e-mail."""
    made: set[str] = set()

    def make(role: str = "admin", email: str | None = None, sensitive: bool = False) -> str:
        email = email or f"browser-{role}{'-sensitive' if sensitive else ''}@council.example"
        if email not in made:
            with live_app.app_context():
                create_user(email, STAFF_PASSWORD, role, sensitive=sensitive)
                db.session.commit()
            made.add(email)
        return email

    return make


@pytest.fixture
def new_context(browser, live_server):
    """Fresh desktop browser contexts (no cookies), closed when the test ends."""
    contexts: list[BrowserContext] = []

    def make(javascript_enabled: bool = True, locale: str = "en-GB") -> BrowserContext:
        context = browser.new_context(
            viewport=DESKTOP, locale=locale, base_url=live_server, java_script_enabled=javascript_enabled
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, email: str, password: str = STAFF_PASSWORD) -> None:
    """Sign in through the login form as a person would, and land on the surveys dashboard."""
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/staff/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture(scope="session")
def staff_context(browser, live_server, staff_account):
    """A signed-in desktop context per role, made on first use and shared by the session's tests
    (signing in runs a deliberately slow password hash). Tests open and close their own pages in it."""
    contexts: dict[str, BrowserContext] = {}

    def get(role: str = "admin") -> BrowserContext:
        """``role``, or e.g. "analyst-sensitive" for an account with the sensitive permission."""
        if role not in contexts:
            context = browser.new_context(viewport=DESKTOP, locale="en-GB", base_url=live_server)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            sign_in(page, staff_account(role.removesuffix("-sensitive"), sensitive=role.endswith("-sensitive")))
            page.close()
            contexts[role] = context
        return contexts[role]

    yield get
    for context in contexts.values():
        context.close()
