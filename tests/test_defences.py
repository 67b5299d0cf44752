"""Defences of the public form and the staff login: bot checks, rate limits, security headers, no IP addresses.

The shared test config switches the bot time check and rate limits off (tests submit at machine speed
from one address); each test here switches on what it checks through the `app_config` fixture.
"""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest
import sqlalchemy as sa

from survey import create_app
from survey.extensions import db
from survey.models import Answer, Response
from survey.respondent.bots import looks_automated, seconds_since_start, start_token

from .conftest import REPO, form_tokens, response_count, sign_in, skip_or_fail, stored_answers

GOOD_ANSWERS = {
    "town": "south",
    "priorities": ["drugs", "litter"],
    "concerns/knives": "very",
    "concerns/asb": "not_very",
    "ethnicity": "prefer_not_to_say",
    "comments": "More lighting in the park, please.",
}
FORM = "/s/town-test"
SECRET = "test-secret-key"  # the tests' SECRET_KEY (conftest app_config)


def started_seconds_ago(seconds: float) -> str:
    """A `started` value as the form would have made it `seconds` ago."""
    return start_token(SECRET, clock=lambda: time.time() - seconds)


# ---------------------------------------------------------------- honeypot


def test_the_honeypot_is_hidden_from_everyone_and_labelled(app, client, make_survey):
    make_survey()
    page = client.get(FORM).get_data(as_text=True)
    honeypot = re.search(r'<div class="honeypot">(.*?)</div>', page, re.S).group(1)
    assert '<label for="website">Leave this field empty</label>' in honeypot
    assert re.search(r'<input id="website" name="website" type="text" autocomplete="off" value="">', honeypot)
    # display:none keeps it out of the accessibility tree and the tab order, so no one meets it.
    assert re.search(r"\.honeypot\s*\{\s*display:\s*none;?\s*\}", (REPO / "static" / "css" / "main.css").read_text())


def test_a_filled_in_honeypot_is_thanked_and_dropped(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", {**GOOD_ANSWERS, "website": "https://spam.example"})
    assert reply.status_code == 303
    assert reply.headers["Location"].startswith("/s/town-test/thanks")
    assert response_count(app) == 0


def test_an_empty_honeypot_is_fine(app, client, make_survey, submit):
    make_survey()
    assert submit("town-test", {**GOOD_ANSWERS, "website": ""}).status_code == 303
    assert response_count(app) == 1


# ---------------------------------------------------------------- minimum fill time


@pytest.fixture
def min_fill(app_config):
    app_config["MIN_FILL_SECONDS"] = 5


def test_the_form_carries_a_signed_start_time(min_fill, app, client, make_survey):
    make_survey()
    tokens = form_tokens(client.get(FORM).get_data(as_text=True))
    elapsed = seconds_since_start(tokens["started"], SECRET)
    assert elapsed is not None and 0 <= elapsed < 60


def test_a_submission_faster_than_the_minimum_is_thanked_and_dropped(min_fill, app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", GOOD_ANSWERS)  # straight after loading the form
    assert reply.status_code == 303
    assert reply.headers["Location"].startswith("/s/town-test/thanks")
    assert response_count(app) == 0


def test_a_submission_after_the_minimum_is_stored(min_fill, app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", GOOD_ANSWERS, tokens={"started": started_seconds_ago(6)})
    assert reply.status_code == 303
    assert response_count(app) == 1
    assert ("comments", None, None, None, "More lighting in the park, please.") in stored_answers(app)


@pytest.mark.parametrize(
    "started",
    [
        pytest.param(lambda good: good[:-2] + ("AA" if not good.endswith("AA") else "BB"), id="signature changed"),
        pytest.param(lambda good: "IjEi" + good[4:], id="payload changed"),
        pytest.param(lambda good: start_token("another-key", clock=lambda: time.time() - 60), id="other key"),
        pytest.param(lambda good: "", id="empty"),
        pytest.param(lambda good: "not a token", id="garbage"),
        pytest.param(lambda good: started_seconds_ago(-3600), id="from the future"),
    ],
)
def test_a_missing_or_tampered_start_time_is_thanked_and_dropped(min_fill, app, client, make_survey, submit, started):
    make_survey()
    reply = submit("town-test", GOOD_ANSWERS, tokens={"started": started(started_seconds_ago(60))})
    assert reply.status_code == 303
    assert response_count(app) == 0


def test_without_a_start_time_field_at_all_nothing_is_stored(min_fill, app, client, make_survey):
    make_survey()
    tokens = form_tokens(client.get(FORM).get_data(as_text=True))
    del tokens["started"]
    assert client.post(FORM, data={**tokens, **GOOD_ANSWERS}).status_code == 303
    assert response_count(app) == 0


def test_the_start_time_survives_an_error_so_the_corrected_form_is_stored(min_fill, app, client, make_survey, submit):
    make_survey()
    started = started_seconds_ago(10)
    reply = submit("town-test", {**GOOD_ANSWERS, "town": ""}, tokens={"started": started})
    assert reply.status_code == 400
    tokens = form_tokens(reply.get_data(as_text=True))
    assert tokens["started"] == started
    assert client.post(FORM, data={**tokens, **GOOD_ANSWERS}).status_code == 303
    assert response_count(app) == 1


def test_the_time_check_runs_before_validation(min_fill, app, client, make_survey, submit):
    """A bot learns nothing from error messages: a fast, invalid post is thanked too."""
    make_survey()
    reply = submit("town-test", {"town": "atlantis"})
    assert reply.status_code == 303
    assert response_count(app) == 0


@pytest.mark.parametrize(
    "website, age, min_seconds, automated",
    [
        ("", 10, 5, False),
        ("", 4, 5, True),
        (None, 10, 5, False),
        ("  ", 10, 5, False),
        ("x", 10, 5, True),
        ("x", 10, 0, True),
        ("", 0, 0, False),
        ("", None, 0, False),
        ("", None, 5, True),
    ],
)
def test_looks_automated(app, website, age, min_seconds, automated):
    now = 1_700_000_000.0
    started = None if age is None else start_token(SECRET, clock=lambda: now - age)
    assert looks_automated(website, started, min_seconds, SECRET, clock=lambda: now) is automated


# ---------------------------------------------------------------- rate limits


@pytest.fixture
def rate_limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True


def assert_friendly_429(reply) -> None:
    page = reply.get_data(as_text=True)
    assert reply.status_code == 429
    assert "<h1>Too many attempts</h1>" in page
    assert "Please wait a minute and try again." in page
    assert "Traceback" not in page
    assert int(reply.headers["Retry-After"]) > 0


def test_the_21st_submission_in_a_minute_is_refused_kindly(rate_limited, app, client, make_survey, submit):
    assert app.config["SUBMISSION_RATE_LIMIT"] == "20 per minute"
    make_survey()
    for _ in range(20):
        assert submit("town-test", GOOD_ANSWERS).status_code == 303
    assert response_count(app) == 20
    reply = submit("town-test", GOOD_ANSWERS)
    assert_friendly_429(reply)
    assert response_count(app) == 20
    assert client.get(FORM).status_code == 200  # reading the form is not limited


@pytest.fixture
def three_logins_per_minute(app_config, rate_limited):
    app_config["LOGIN_RATE_LIMIT"] = "3 per minute"


def test_the_login_is_rate_limited(three_logins_per_minute, app, client, make_user):
    email = make_user("editor")
    for _ in range(3):
        assert sign_in(client, email, "wrong password").status_code == 400
    assert_friendly_429(sign_in(client, email, "wrong password"))
    # Even the right password waits: guessing must not be able to outrun the limit.
    assert sign_in(client, email).status_code == 429


@pytest.fixture
def two_per_minute(app_config, rate_limited):
    app_config["SUBMISSION_RATE_LIMIT"] = "2 per minute"


def post_from(client, forwarded_for: str) -> int:
    # Any post counts, valid or not; these have no tokens and are refused with a 400.
    return client.post(FORM, data={"town": "north"}, headers={"X-Forwarded-For": forwarded_for}).status_code


@pytest.fixture
def behind_proxy(app_config):
    app_config["PROXY_FIX_X_FOR"] = 1


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(two_per_minute, behind_proxy, make_survey, client):
    make_survey()
    assert [post_from(client, "203.0.113.10") for _ in range(2)] == [400, 400]
    assert post_from(client, "203.0.113.10") == 429
    assert post_from(client, "203.0.113.20") == 400


def test_without_a_trusted_proxy_forwarded_addresses_are_ignored(two_per_minute, make_survey, client):
    make_survey()
    assert [post_from(client, "203.0.113.10") for _ in range(2)] == [400, 400]
    # A client cannot escape its limit by making up an X-Forwarded-For header.
    assert post_from(client, "203.0.113.20") == 429


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix(app_config, two_per_minute):
    """Limits kept in Redis under a key prefix of this test's own, deleted afterwards."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.RedisError as error:
        connection.close()
        skip_or_fail(f"Redis not reachable at {REDIS_URL}: {error}")
    prefix = f"safer-voices-test-{uuid.uuid4().hex}"
    app_config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    app_config["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": prefix}
    yield prefix
    for key in connection.scan_iter(f"{prefix}*"):
        connection.delete(key)
    connection.close()


def test_limits_kept_in_redis_are_shared_by_every_worker(redis_prefix, app_config, app, make_survey, client):
    make_survey()
    assert [post_from(client, "ignored") for _ in range(2)] == [400, 400]
    # A second app on the same configuration, as another gunicorn worker would be, sees the same count.
    other_worker = create_app(app_config)
    try:
        reply = other_worker.test_client().post(FORM, data={"town": "north"})
        assert_friendly_429(reply)
    finally:
        with other_worker.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- security headers


def assert_security_headers(reply) -> None:
    policy = reply.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


def test_resident_pages_carry_the_security_headers(app, client, make_survey, submit):
    make_survey()
    for path in ["/", FORM, f"{FORM}?lang=ur", f"{FORM}/thanks"]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert_security_headers(reply)
    assert_security_headers(submit("town-test", GOOD_ANSWERS))  # the redirect after a post
    assert_security_headers(submit("town-test", {"town": "atlantis"}))  # the page with errors


def test_staff_pages_carry_the_security_headers(app, client, make_survey, login):
    make_survey()
    assert_security_headers(client.get("/staff/login"))
    login("editor")
    for path in ["/staff/", "/staff/surveys/town-test/paper"]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert_security_headers(reply)
        assert reply.headers["Cache-Control"] == "no-store"


def test_error_pages_carry_the_security_headers(two_per_minute, app, client, make_survey):
    make_survey()
    assert_security_headers(client.get("/no-such-page"))
    assert_security_headers(client.get("/s/no-such-survey"))
    assert_security_headers(client.delete(FORM))  # 405
    client.post(FORM, data={})
    client.post(FORM, data={})
    reply = client.post(FORM, data={})
    assert reply.status_code == 429
    assert_security_headers(reply)


INLINE = {
    "style attribute": re.compile(r"""\sstyle\s*=""", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "script element": re.compile(r"<script\b", re.I),
    "event handler attribute": re.compile(r"""\son[a-z]+\s*=\s*["'{]""", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_has_inline_style_or_script_that_the_policy_would_block():
    templates = sorted((REPO / "templates").rglob("*.html"))
    assert templates
    problems = [
        f"{path.relative_to(REPO)}:{number}: {kind}"
        for path in templates
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for kind, pattern in INLINE.items()
        if pattern.search(line)
    ]
    assert problems == []


# ---------------------------------------------------------------- no IP address or user agent stored


def test_a_response_has_no_column_that_could_identify_the_device():
    """Any new column on responses or answers must be reviewed here against the promise on every page."""
    assert {column.name for column in Response.__table__.columns} == {"id", "survey_id", "uid", "language", "channel", "submitted_at"}
    assert {column.name for column in Answer.__table__.columns} == {
        "response_id", "survey_id", "question_id", "option_id", "item_id", "scale_point_id", "text",
        "choice_key", "point_key",  # copies of the option or item and scale point ids, for counting
    }


def test_a_submission_stores_neither_address_nor_user_agent_anywhere(behind_proxy, app, make_survey, client):
    # Behind a proxy the forwarded address is the one the app takes as the client's; the peer's is there too.
    make_survey()
    forwarded, peer, agent = "203.0.113.195", "198.51.100.77", "SaferVoicesTestBrowser/7.7"
    headers = {"X-Forwarded-For": forwarded, "User-Agent": f"Mozilla/5.0 ({agent})"}
    environ = {"REMOTE_ADDR": peer}
    page = client.get(FORM, headers=headers, environ_base=environ)
    data = {**form_tokens(page.get_data(as_text=True)), **GOOD_ANSWERS}
    assert client.post(FORM, data=data, headers=headers, environ_base=environ).status_code == 303
    assert response_count(app) == 1

    with app.app_context():
        names = sa.inspect(db.engine).get_table_names()  # every table in the database, not only the models'
        found = []
        with db.engine.connect() as connection:
            for name in names:
                for row in connection.execute(sa.select(sa.text("*")).select_from(sa.table(name))):
                    for column, value in row._mapping.items():
                        if any(marker in str(value) for marker in (forwarded, peer, agent)):
                            found.append(f"{name}.{column}")
    assert "responses" in names and "answers" in names
    assert found == []
