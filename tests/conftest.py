"""Shared fixtures: an app per test on a real database (SQLite and PostgreSQL), clients, factories.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server's `test`
database). Where it cannot be reached its tests are skipped, except when
SAFER_VOICES_REQUIRE_ALL=1 (set by .ci/run): then a missing service fails.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from survey import create_app
from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.models import Answer, MatrixItem, Option, Question, Response, ScalePoint

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REQUIRE_ALL = os.environ.get("SAFER_VOICES_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI a skipped database or browser test is a failure."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (SAFER_VOICES_REQUIRE_ALL=1: this test may not be skipped)")
    pytest.skip(reason)


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_ALL and skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(f"{skipped} test(s) skipped while SAFER_VOICES_REQUIRE_ALL=1: failing the run.", red=True)


def postgres_url() -> str:
    """The PostgreSQL database for tests; under pytest-xdist, one per worker (each empties its tables)."""
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL  # empty means unset, as in .ci/run
    suffix = worker_suffix()
    return _worker_database(url, suffix) if suffix else url


def worker_suffix() -> str:
    """"_gw0" and so on under pytest-xdist, for names two workers must not share; "" otherwise."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


_worker_databases: dict[str, str] = {}


def _worker_database(url: str, suffix: str) -> str:
    """``url``'s database with this worker's suffix, created on the same server if it is missing."""
    if url not in _worker_databases:
        given = sa.make_url(url)
        name = given.database[: 63 - len(suffix)] + suffix  # PostgreSQL cuts names at 63 bytes: keep the suffix
        for maintenance in (given, given.set(database="postgres")):  # the given database may not exist itself
            engine = sa.create_engine(maintenance, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as connection:
                    if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                        connection.execute(sa.text(f"CREATE DATABASE {engine.dialect.identifier_preparer.quote(name)}"))
                break
            except sa.exc.DBAPIError:
                continue  # unreachable, or not allowed: the tests that need it say so (skip_or_fail) when they first connect
            finally:
                engine.dispose()
        _worker_databases[url] = given.set(database=name).render_as_string(hide_password=False)
    return _worker_databases[url]


_pg_prepared: dict[str, bool] = {}


def _prepare_postgres(url: str) -> None:
    """Recreate the schema once per session; tests then start from emptied tables."""
    if url in _pg_prepared:
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        _pg_prepared[url] = False
        engine.dispose()
        skip_or_fail(f"PostgreSQL not reachable at {url}: {error.orig}")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    db.metadata.create_all(engine)
    engine.dispose()
    _pg_prepared[url] = True


def _empty_tables() -> None:
    names = ", ".join(table.name for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    url = postgres_url()
    if _pg_prepared.get(url) is False:
        skip_or_fail(f"PostgreSQL not reachable at {url}")
    _prepare_postgres(url)
    request.node.add_marker(pytest.mark.postgres)
    return url


@pytest.fixture
def app_config(database_url) -> dict:
    """Overrides for the app under test; tests may change it before `app` is first used."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Tests submit forms at machine speed from one address; the defences have their own tests.
        "RATELIMIT_ENABLED": False,
        "MIN_FILL_SECONDS": 0,
        # Every page asks whether the survey changed, so a test sees an edit at once (tests of the
        # delay set their own).
        "SURVEY_RECHECK_SECONDS": 0,
    }


@pytest.fixture
def app(app_config):
    """The app on an empty database. No app context stays pushed: each request gets its own,
    as in production (a shared one would carry `g`, and the CSRF token cached in it, across requests)."""
    app = create_app(app_config)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.create_all()
        else:
            _empty_tables()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    """For tests that work on the database directly, without requests."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def reference_definition() -> dict:
    """The every-feature definition as data, to be varied by tests."""
    return yaml.safe_load((TESTS / "data" / "every-feature.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def make_survey(app):
    """Load the every-feature survey (or a variation) and return it; open by default."""

    def make(status: str = "open", **overrides) -> str:
        data = copy.deepcopy(reference_definition())
        data.update(overrides)
        with app.app_context():
            survey = load_definition(parse_definition(data)).survey
            if status != "draft":
                survey.open()
            if status == "closed":
                survey.close()
            db.session.commit()
            return survey.slug

    return make


def form_tokens(html: str) -> dict[str, str]:
    """The hidden fields a browser would send back: CSRF token, submission id, start time."""
    return dict(re.findall(r'<input id="(?:csrf_token|submission_id|started)" name="([a-z_]+)" type="hidden" value="([^"]*)"', html))


STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(app):
    """Create a staff account (password STAFF_PASSWORD) and return its e-mail address."""

    def make(role: str = "admin", email: str | None = None, sensitive: bool = False) -> str:
        from survey.accounts.service import create_user

        email = email or f"{role}{'-sensitive' if sensitive else ''}@council.example"
        with app.app_context():
            create_user(email, STAFF_PASSWORD, role, sensitive=sensitive)
            db.session.commit()
        return email

    return make


def sign_in(client, email: str, password: str = STAFF_PASSWORD):
    """POST the login form with its CSRF token, as a browser would; returns the response."""
    page = client.get("/staff/login")
    token = form_tokens(page.get_data(as_text=True))["csrf_token"]
    return client.post("/staff/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def login(client, make_user):
    """Sign the test client in as a new account of ``role``; returns its e-mail address."""

    def login(role: str = "admin", sensitive: bool = False, email: str | None = None) -> str:
        email = make_user(role, email=email, sensitive=sensitive)
        response = sign_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return email

    return login


@pytest.fixture
def submit(client):
    """GET the survey form, then POST `answers` with its tokens, as a browser would."""

    def submit(slug: str, answers: dict, *, lang: str = "en", tokens: dict | None = None, **kwargs):
        page = client.get(f"/s/{slug}?lang={lang}")
        data = {**form_tokens(page.get_data(as_text=True)), **(tokens or {}), **answers}
        return client.post(f"/s/{slug}?lang={lang}", data=data, **kwargs)

    return submit


def response_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Response))


def stored_answers(app, response_id: int | None = None) -> set[tuple]:
    """Stored answers (of one response, or all) as (question, option, item, scale point, text) codes."""
    with app.app_context():
        query = (
            sa.select(Question.code, Option.code, MatrixItem.code, ScalePoint.code, Answer.text)
            .join(Question, Question.id == Answer.question_id)
            .outerjoin(Option, Option.id == Answer.option_id)
            .outerjoin(MatrixItem, MatrixItem.id == Answer.item_id)
            .outerjoin(ScalePoint, ScalePoint.id == Answer.scale_point_id)
        )
        if response_id is not None:
            query = query.where(Answer.response_id == response_id)
        return {tuple(row) for row in db.session.execute(query)}
