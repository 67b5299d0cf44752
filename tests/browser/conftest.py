"""Real-browser fixtures: the app served over HTTP on an SQLite file, and Chromium driven by Playwright.

One live server and one browser serve the whole folder (start-up is the slow part); every test gets a
fresh browser context, so cookies, the chosen language and the CSRF session never leak between tests.
The server's database is shared, so tests compare the responses before and after their own submission.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from survey import create_app
from survey.definitions import load_definition, read_definition_file
from survey.extensions import db
from survey.models import Response

from ..conftest import REPO, skip_or_fail, stored_answers

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
