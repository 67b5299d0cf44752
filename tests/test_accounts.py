"""Staff accounts end to end: `flask users …`, signing in (slowing down, locking, rate limits),
sessions (idle timeout, cookie flags, deactivation), the administrators' pages, the audit log,
and who may see sensitive questions on the analysis page."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from survey.accounts.access import LAST_SEEN_KEY
from survey.audit import record
from survey.audit.log import events_csv
from survey.extensions import db
from survey.models import AuditEvent, User, as_utc, utcnow

from .conftest import STAFF_PASSWORD, form_tokens, sign_in

GENERIC_FAILURE = "The email address or password is not correct."
WAIT = "Too many failed attempts. Wait"
LOCKED = "This account is locked after too many failed attempts."


# Helpers -------------------------------------------------------------------------------------------


def account(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def account_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(User)).all())


def change_account(app, email: str, **values) -> None:
    """Change an account behind the app's back: the passing of time, or another administrator."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def let_the_wait_pass(app, email: str) -> None:
    change_account(app, email, locked_until=utcnow() - timedelta(seconds=1))


def audit_events(app) -> list[tuple[str | None, str, str, dict]]:
    with app.app_context():
        return [(e.user_email, e.action, e.target, e.details) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def post_login(client, email: str, password: str, query: str = "", token: str | None = None):
    if token is None:
        token = form_tokens(client.get("/staff/login").get_data(as_text=True))["csrf_token"]
    return client.post(f"/staff/login{query}", data={"email": email, "password": password, "csrf_token": token})


def signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def login_location(response) -> tuple[str, dict]:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    return parts.path, parse_qs(parts.query)


def page_token(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def shown_password(html: str) -> str:
    match = re.search(r'<code class="secret">([^<]+)</code>', html)
    assert match, "no password shown"
    return match.group(1)


# `flask users …` -----------------------------------------------------------------------------------


def test_create_with_a_prompted_password(app, runner, client):
    result = runner.invoke(args=["users", "create", "Jo.Editor@Council.example", "--role", "editor"],
                           input=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created jo.editor@council.example (editor)." in result.output
    assert STAFF_PASSWORD not in result.output
    user = account(app, "jo.editor@council.example")
    assert user.role == "editor" and not user.sensitive and user.active
    assert user.password_hash.startswith("$argon2id$")
    assert STAFF_PASSWORD not in user.password_hash
    assert audit_events(app) == [(None, "user.create", "user jo.editor@council.example", {"role": "editor", "sensitive": False})]
    assert sign_in(client, "JO.EDITOR@council.example").status_code == 302
    assert signed_in(client)


def test_create_with_a_generated_password_shows_it_once(app, runner, client):
    result = runner.invoke(args=["users", "create", "an@council.example", "--role", "analyst", "--sensitive", "--generate-password"])
    assert result.exit_code == 0, result.output
    assert "Created an@council.example (analyst, sensitive)." in result.output
    password = re.search(r"Password \(shown once, copy it now\): (\S+)", result.output).group(1)
    assert len(password) >= 12 and result.output.count(password) == 1
    assert account(app, "an@council.example").sensitive
    assert sign_in(client, "an@council.example", password).status_code == 302
    listed = runner.invoke(args=["users", "list"]).output
    assert password not in listed


@pytest.mark.parametrize(
    "args, password, exit_code, message",
    [
        (["not-an-email", "--role", "editor"], STAFF_PASSWORD, 1, "'not-an-email' is not an email address."),
        (["a@b", "--role", "editor"], STAFF_PASSWORD, 1, "'a@b' is not an email address."),
        (["@", "--role", "editor"], STAFF_PASSWORD, 1, "'@' is not an email address."),
        (["short@council.example", "--role", "editor"], "too short", 1, "at least 12 characters"),
        # A usage error (click's own, exit status 2) names the allowed roles.
        (["boss@council.example", "--role", "boss"], STAFF_PASSWORD, 2, "'boss' is not one of 'admin', 'editor', 'analyst'"),
        (["norole@council.example"], STAFF_PASSWORD, 2, "Missing option '--role'"),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(app, runner, args, password, exit_code, message):
    result = runner.invoke(args=["users", "create", *args], input=f"{password}\n{password}\n")
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert account_count(app) == 0
    assert audit_events(app) == []


def test_create_refuses_a_duplicate_whatever_the_case(app, runner, make_user):
    make_user("editor", email="jo@council.example")
    result = runner.invoke(args=["users", "create", " JO@Council.Example ", "--role", "admin", "--generate-password"])
    assert result.exit_code == 1
    assert "An account for jo@council.example already exists." in result.output
    assert "Password" not in result.output
    assert account_count(app) == 1
    assert account(app, "jo@council.example").role == "editor"


def test_the_longest_address_is_created_and_audited(app, runner):
    email = "a" * 64 + "@" + "b" * 181 + ".example"
    assert len(email) == 254
    result = runner.invoke(args=["users", "create", email, "--role", "analyst", "--generate-password"])
    assert result.exit_code == 0, result.output
    assert account(app, email) is not None
    [(_who, action, target, _details)] = audit_events(app)
    assert action == "user.create" and target.startswith(f"user {email[:200]}")


def test_list_shows_role_flag_and_state(app, runner, make_user):
    assert "No staff accounts yet" in runner.invoke(args=["users", "list"]).output
    make_user("admin")
    make_user("analyst", sensitive=True)
    make_user("editor")
    change_account(app, "editor@council.example", active=False)
    make_user("editor", email="locked@council.example")
    change_account(app, "locked@council.example", failed_logins=app.config["LOGIN_LOCK_AFTER"])
    lines = runner.invoke(args=["users", "list"]).output.splitlines()
    assert lines == [
        "admin@council.example\tadmin\tactive",
        "analyst-sensitive@council.example\tanalyst +sensitive\tactive",
        "editor@council.example\teditor\tinactive",
        "locked@council.example\teditor\tlocked",
    ]


def test_unlock_and_password_commands(app, runner, client, make_user):
    email = make_user("editor")
    change_account(app, email, failed_logins=app.config["LOGIN_LOCK_AFTER"])
    assert LOCKED in post_login(client, email, STAFF_PASSWORD).get_data(as_text=True)

    unlocked = runner.invoke(args=["users", "unlock", email])
    assert unlocked.exit_code == 0 and f"Unlocked {email}." in unlocked.output
    assert account(app, email).failed_logins == 0
    assert sign_in(client, email).status_code == 302

    changed = runner.invoke(args=["users", "password", email, "--generate-password"])
    assert changed.exit_code == 0, changed.output
    password = re.search(r"Password \(shown once, copy it now\): (\S+)", changed.output).group(1)
    other = app.test_client()
    assert post_login(other, email, STAFF_PASSWORD).status_code == 400
    assert sign_in(other, email, password).status_code == 302

    prompted = runner.invoke(args=["users", "password", email], input="a new long passphrase\na new long passphrase\n")
    assert prompted.exit_code == 0 and f"Set a new password for {email}." in prompted.output
    assert sign_in(app.test_client(), email, "a new long passphrase").status_code == 302

    too_short = runner.invoke(args=["users", "password", email], input="short\nshort\n")
    assert too_short.exit_code == 1 and "at least 12 characters" in too_short.output
    assert sign_in(app.test_client(), email, "a new long passphrase").status_code == 302

    actions = [action for _who, action, _target, _details in audit_events(app)]
    assert actions.count("user.unlock") == 1 and actions.count("user.reset_password") == 2


@pytest.mark.parametrize("command", ["unlock", "password"])
def test_commands_on_an_unknown_account_fail_clearly(runner, command):
    result = runner.invoke(args=["users", command, "nobody@council.example"], input="x\nx\n")
    assert result.exit_code == 1
    assert "No account for nobody@council.example" in result.output


# Signing in ----------------------------------------------------------------------------------------


def test_the_right_password_signs_in(app, client, make_user):
    email = make_user("editor")
    response = sign_in(client, email)
    assert login_location(response)[0] == "/staff/"
    assert signed_in(client)
    assert account(app, email).last_login_at is not None
    assert audit_events(app)[-1][:3] == (email, "user.login", f"user {email}")


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(app, client, make_user):
    email = make_user("editor")
    wrong = post_login(client, email, "not the password at all")
    unknown = post_login(client, "nobody@council.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    pages = []
    for response, address in ((wrong, email), (unknown, "nobody@council.example")):
        html = response.get_data(as_text=True)
        assert GENERIC_FAILURE in html and "<title>Error:" in html
        pages.append(re.sub(r'value="[^"]*"', 'value=""', html.replace(address, "ADDRESS")))
    assert pages[0] == pages[1]  # nothing tells an existing address from an unknown one
    assert "not the password at all" not in wrong.get_data(as_text=True)  # the password is never echoed
    assert not signed_in(client)


@pytest.fixture
def slow_wait(app_config):
    # A wait far longer than the test, so no assertion depends on how fast the machine is.
    app_config["LOGIN_SLOW_SECONDS"] = 600


def test_signing_in_slows_down_after_repeated_failures(slow_wait, app, client, make_user):
    email = make_user("editor")
    slow_after = app.config["LOGIN_SLOW_AFTER"]
    for _ in range(slow_after - 1):
        assert GENERIC_FAILURE in post_login(client, email, "wrong password!").get_data(as_text=True)
    # Fewer failures than the limit: the right password still works, and the count starts again.
    assert post_login(client, email, STAFF_PASSWORD).status_code == 302
    assert account(app, email).failed_logins == 0
    client.post("/staff/logout", data={"csrf_token": page_token(client.get("/staff/").get_data(as_text=True))})

    for _ in range(slow_after):
        post_login(client, email, "wrong password!")
    refused = post_login(client, email, STAFF_PASSWORD)
    assert refused.status_code == 400
    assert WAIT in refused.get_data(as_text=True)
    assert not signed_in(client)
    assert as_utc(account(app, email).locked_until) > utcnow()

    let_the_wait_pass(app, email)
    assert post_login(client, email, STAFF_PASSWORD).status_code == 302


def test_an_account_locks_after_repeated_failures_until_unlocked(app, client, make_user):
    email = make_user("editor")
    for _ in range(app.config["LOGIN_LOCK_AFTER"]):
        let_the_wait_pass(app, email)  # a patient attacker waits out every slow-down
        assert post_login(client, email, "wrong password!").status_code == 400
    for _ in range(2):
        let_the_wait_pass(app, email)
        refused = post_login(client, email, STAFF_PASSWORD)
        assert refused.status_code == 400 and LOCKED in refused.get_data(as_text=True)
    assert not signed_in(client)
    # Attempts on a locked account are not even counted any more.
    assert account(app, email).failed_logins == app.config["LOGIN_LOCK_AFTER"]
    with app.app_context():
        failures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.login_failed").order_by(AuditEvent.id)
        ).all()
    assert [event.target for event in failures] == [f"user {email}"] * (app.config["LOGIN_LOCK_AFTER"] + 2)
    assert failures[-1].details == {"failed_logins": app.config["LOGIN_LOCK_AFTER"], "locked": True}


def test_a_scripted_guessing_run_gets_nowhere(slow_wait, app, client, make_user):
    """50 wrong passwords in a row, with no rate limit: never in, the account locked."""
    email = make_user("editor")
    token = form_tokens(client.get("/staff/login").get_data(as_text=True))["csrf_token"]
    statuses = {post_login(client, email, f"guess number {n:04}", token=token).status_code for n in range(50)}
    assert statuses == {400}
    assert not signed_in(client)
    user = account(app, email)
    assert user.failed_logins >= app.config["LOGIN_SLOW_AFTER"] and as_utc(user.locked_until) > utcnow()
    assert WAIT in post_login(client, email, STAFF_PASSWORD).get_data(as_text=True)


@pytest.fixture
def rate_limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True


def test_a_scripted_guessing_run_is_rate_limited(rate_limited, app, client, make_user):
    email = make_user("editor")
    token = form_tokens(client.get("/staff/login").get_data(as_text=True))["csrf_token"]
    statuses = [post_login(client, email, f"guess number {n:04}", token=token).status_code for n in range(50)]
    per_minute = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    assert statuses == [400] * per_minute + [429] * (50 - per_minute)
    # Even the right password is refused once the limit is reached, and the page says to wait.
    refused = post_login(client, email, STAFF_PASSWORD, token=token)
    assert refused.status_code == 429
    assert refused.headers.get("Retry-After")
    assert not signed_in(client)
    # Other addresses are no way round the limit: it counts the client, not the account.
    assert post_login(client, "other@council.example", "guess", token=token).status_code == 429


def test_a_deactivated_account_cannot_sign_in_and_its_session_ends(app, client, make_user):
    email = make_user("editor")
    assert sign_in(client, email).status_code == 302
    assert signed_in(client)
    change_account(app, email, active=False)
    path, query = login_location(client.get("/staff/"))
    assert path == "/staff/login" and query["next"] == ["/staff/"]
    refused = post_login(app.test_client(), email, STAFF_PASSWORD)
    assert refused.status_code == 400 and GENERIC_FAILURE in refused.get_data(as_text=True)


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(app, client, runner, make_user):
    email = make_user("editor")
    elsewhere = app.test_client()  # e.g. a session someone else took over
    assert sign_in(elsewhere, email).status_code == 302
    result = runner.invoke(args=["users", "password", email, "--generate-password"])
    assert result.exit_code == 0
    password = re.search(r"copy it now\): (\S+)", result.output).group(1)
    assert login_location(elsewhere.get("/staff/"))[0] == "/staff/login"
    assert login_location(elsewhere.get("/staff/"))[0] == "/staff/login"  # signed out, not only turned away once
    # The session signed in with the new password carries on.
    assert sign_in(client, email, password).status_code == 302
    assert signed_in(client) and signed_in(client)


@pytest.fixture
def idle_minutes(app_config):
    app_config["STAFF_IDLE_MINUTES"] = 5


def test_an_idle_session_ends(idle_minutes, app, client, make_user):
    assert sign_in(client, make_user("admin")).status_code == 302
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] -= 4 * 60  # four minutes: still within the limit
    assert client.get("/staff/users").status_code == 200
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] -= 6 * 60
    path, query = login_location(client.get("/staff/users"))
    assert path == "/staff/login" and query == {"next": ["/staff/users"], "expired": ["1"]}
    notice = client.get("/staff/login?next=/staff/users&expired=1").get_data(as_text=True)
    assert "You were signed out because the page was left unused." in notice
    assert "expired" not in login_location(client.get("/staff/users"))[1]  # signed out, not merely warned
    with client.session_transaction() as session:
        assert LAST_SEEN_KEY not in session and "_user_id" not in session


def session_cookie(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    cookie = session_cookie(sign_in(client, make_user("editor")))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # off by default, for local http


def test_the_session_cookie_is_secure_when_configured(monkeypatch, request, app_config):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = request.getfixturevalue("app")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    cookie = session_cookie(sign_in(client, request.getfixturevalue("make_user")("editor")))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    "target, landing",
    [
        ("/staff/users", "/staff/users"),
        ("/staff/audit/?action=user", "/staff/audit/?action=user"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example/staff/", "/staff/"),
        ("/s/town-test", "/staff/"),
        ("javascript:alert(1)", "/staff/"),
        ("/staff/\r\nSet-Cookie: taken=1", "/staff/"),  # not a 500 from a header with a line break
    ],
)
def test_next_only_leads_to_our_own_staff_pages(client, make_user, target, landing):
    from urllib.parse import quote

    email = make_user("admin")
    response = post_login(client, email, STAFF_PASSWORD, query=f"?next={quote(target, safe='')}")
    assert response.status_code == 302
    assert response.headers["Location"] == landing
    # Signed in already, the login page sends them on, by the same rule.
    assert client.get(f"/staff/login?next={quote(target, safe='')}").headers["Location"] == landing


def test_after_signing_in_you_come_back_to_the_page_you_asked_for(client, make_user):
    asked = client.get("/staff/audit/?action=user")
    path, query = login_location(asked)
    response = post_login(client, make_user("admin"), STAFF_PASSWORD, query=asked.headers["Location"][len(path):])
    assert response.headers["Location"] == "/staff/audit/?action=user"


def test_the_login_form_works_with_password_managers(client):
    html = client.get("/staff/login").get_data(as_text=True)
    inputs = {re.search(r'name="(\w+)"', tag).group(1): tag for tag in re.findall(r"<input[^>]*>", html)}
    assert 'autocomplete="username"' in inputs["email"] and 'type="email"' in inputs["email"]
    assert 'autocomplete="current-password"' in inputs["password"] and 'type="password"' in inputs["password"]
    assert 'for="email"' in html and 'for="password"' in html  # labelled
    for blocker in ("onpaste", "oncopy", "ondrop", "readonly"):
        assert blocker not in html.lower()


# Administrators' pages -----------------------------------------------------------------------------


@pytest.fixture
def admin(client, login) -> str:
    return login("admin")


def users_token(client) -> str:
    return form_tokens(client.get("/staff/users").get_data(as_text=True))["csrf_token"]


def test_an_admin_creates_an_account_and_sees_its_password_once(app, client, admin):
    response = client.post("/staff/users", data={"csrf_token": users_token(client), "email": "New.Analyst@council.example",
                                                 "role": "analyst", "sensitive": "y"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Created the account new.analyst@council.example." in html
    password = shown_password(html)
    assert response.headers["Cache-Control"] == "no-store"
    assert password not in client.get("/staff/users").get_data(as_text=True)
    user = account(app, "new.analyst@council.example")
    assert (user.role, user.sensitive, user.active) == ("analyst", True, True)
    assert sign_in(app.test_client(), "new.analyst@council.example", password).status_code == 302
    assert (admin, "user.create", "user new.analyst@council.example", {"role": "analyst", "sensitive": True}) in audit_events(app)


@pytest.mark.parametrize(
    "email, message",
    [
        ("", "Enter an email address"),
        ("not-an-email", "Enter a valid email address"),
        ("a@b", "Enter a valid email address"),
        ("admin@council.example", "An account for admin@council.example already exists."),
    ],
)
def test_the_create_form_refuses_bad_addresses(app, client, admin, email, message):
    response = client.post("/staff/users", data={"csrf_token": users_token(client), "email": email, "role": "editor"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "<title>Error:" in html and 'href="#email"' in html
    assert 'class="secret"' not in html
    assert account_count(app) == 1


def test_the_create_form_refuses_an_unknown_role(app, client, admin):
    response = client.post("/staff/users", data={"csrf_token": users_token(client), "email": "x@council.example", "role": "boss"})
    assert response.status_code == 400
    assert account_count(app) == 1


def user_id(app, email: str) -> int:
    return account(app, email).id


def change_form(client, app, email: str, **fields):
    url = f"/staff/users/{user_id(app, email)}"
    token = form_tokens(client.get(url).get_data(as_text=True))["csrf_token"]
    return client.post(url, data={"csrf_token": token, **fields})


def test_an_admin_changes_role_sensitive_flag_and_active(app, client, admin, make_user):
    email = make_user("editor")
    other = app.test_client()
    assert sign_in(other, email).status_code == 302

    response = change_form(client, app, email, role="analyst", sensitive="y", active="y")
    assert login_location(response)[0] == "/staff/users"
    user = account(app, email)
    assert (user.role, user.sensitive, user.active) == ("analyst", True, True)
    assert audit_events(app)[-1] == (admin, "user.change", f"user {email}", {"role": "analyst", "sensitive": True})
    # The new role applies at once to the open session.
    assert other.get("/staff/analysis/").status_code == 200
    assert other.get("/staff/surveys/any/definition.yaml").status_code == 403

    change_form(client, app, email, role="analyst", sensitive="y")  # "active" unticked
    assert account(app, email).active is False
    assert audit_events(app)[-1] == (admin, "user.change", f"user {email}", {"active": False})
    assert login_location(other.get("/staff/"))[0] == "/staff/login"
    assert "Inactive" in client.get("/staff/users").get_data(as_text=True)


@pytest.mark.parametrize("fields", [{"role": "editor", "active": "y"}, {"role": "admin"}])
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app, client, admin, fields):
    response = change_form(client, app, admin, **fields)
    assert response.status_code == 400
    assert "This is the only active administrator; make another one first." in response.get_data(as_text=True)
    user = account(app, admin)
    assert (user.role, user.active) == ("admin", True)
    assert [action for _who, action, _target, _details in audit_events(app)] == ["user.login"]


def test_another_admin_can_be_demoted_while_one_remains(app, client, admin, make_user):
    second = make_user("admin", email="second@council.example")
    assert login_location(change_form(client, app, second, role="editor", active="y"))[0] == "/staff/users"
    assert account(app, second).role == "editor"
    # An inactive administrator does not count, and changing one never leaves none.
    third = make_user("admin", email="third@council.example")
    change_account(app, third, active=False)
    assert login_location(change_form(client, app, third, role="editor"))[0] == "/staff/users"
    assert account(app, third).role == "editor"


def test_an_admin_unlocks_an_account(app, client, admin, make_user):
    email = make_user("editor")
    change_account(app, email, failed_logins=app.config["LOGIN_LOCK_AFTER"])
    url = f"/staff/users/{user_id(app, email)}"
    page = client.get(url).get_data(as_text=True)
    assert "Unlock account" in page
    assert "Locked" in client.get("/staff/users").get_data(as_text=True)
    response = client.post(f"{url}/unlock", data={"csrf_token": page_token(page)})
    assert login_location(response)[0] == url
    assert account(app, email).failed_logins == 0
    assert "Unlock account" not in client.get(url).get_data(as_text=True)
    assert audit_events(app)[-1][:3] == (admin, "user.unlock", f"user {email}")
    assert sign_in(app.test_client(), email).status_code == 302


def test_an_admin_resets_a_password(app, client, admin, make_user):
    email = make_user("editor")
    url = f"/staff/users/{user_id(app, email)}"
    response = client.post(f"{url}/password", data={"csrf_token": page_token(client.get(url).get_data(as_text=True))})
    assert response.status_code == 200
    password = shown_password(response.get_data(as_text=True))
    assert audit_events(app)[-1][:3] == (admin, "user.reset_password", f"user {email}")
    assert post_login(app.test_client(), email, STAFF_PASSWORD).status_code == 400
    assert sign_in(app.test_client(), email, password).status_code == 302
    assert signed_in(client)  # the administrator's own session is untouched
    # Without the form's token the reset is refused.
    assert client.post(f"{url}/password").status_code == 400


def test_the_audit_log_lists_and_filters_events(app, client, admin, make_user):
    email = make_user("editor")
    change_form(client, app, email, role="analyst", active="y")
    with app.app_context():
        record("survey.publish", "survey <b>town-test</b>", wave="2024")
        db.session.commit()
    html = client.get("/staff/audit/").get_data(as_text=True)
    assert "user.login" in html and "user.change" in html and "survey.publish" in html
    assert "survey &lt;b&gt;town-test&lt;/b&gt;" in html and "<b>town-test" not in html
    assert "command line" in html  # the event recorded outside a request
    assert html.index("survey.publish") < html.index("user.change")  # newest first
    only = client.get("/staff/audit/?action=user.change").get_data(as_text=True)
    body = only[only.index("<tbody>"):]
    assert "user.change" in body and "user.login" not in body and "survey.publish" not in body
    # The filter is a plain prefix: "_" and "%" are not wildcards.
    assert "No events match." in client.get("/staff/audit/?action=user_").get_data(as_text=True)
    assert "No events match." in client.get("/staff/audit/?action=%25login").get_data(as_text=True)


def test_the_audit_log_exports_as_csv_with_formulas_neutralised(app, client, make_user):
    evil = make_user("admin", email="=1+2@evil.example")
    assert sign_in(client, evil).status_code == 302
    with app.app_context():
        record("responses.export", "+SUM(A1:A2)", note="-1", url="@HYPERLINK")
        db.session.commit()
    response = client.get("/staff/audit/audit-log.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["at", "user", "action", "target", "details"]
    login_row = next(row for row in rows if row[2] == "user.login")
    assert login_row[1] == "'=1+2@evil.example"
    export_row = next(row for row in rows if row[2] == "responses.export")
    assert export_row[1] == "(command line)"
    assert export_row[3] == "'+SUM(A1:A2)"
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_the_audit_log_csv_gives_times_in_iso_8601_utc(app, client, make_user):
    assert sign_in(client, make_user("admin")).status_code == 302
    with app.app_context():
        record("survey.publish", "survey town-test").at = datetime(2026, 3, 29, 0, 30, 5, tzinfo=timezone.utc)
        db.session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get("/staff/audit/audit-log.csv").get_data(as_text=True))))
    assert next(row for row in rows if row["action"] == "survey.publish")["at"] == "2026-03-29T00:30:05Z"
    for row in rows:
        assert datetime.fromisoformat(row["at"]).utcoffset() == timedelta(0), row
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # times come back in the session's time zone
            db.session.execute(text("SET TIME ZONE 'America/New_York'"))
        assert "\n2026-03-29T00:30:05Z,(command line),survey.publish," in events_csv()


# Sensitive questions on the analysis page ----------------------------------------------------------


@pytest.fixture
def answered(make_survey, submit):
    slug = make_survey()
    for town, ethnicity in (("north", "white_british"), ("south", "prefer_not_to_say"), ("north", "prefer_not_to_say")):
        reply = submit(slug, {"town": town, "priorities": ["bikes"], "concerns/knives": "very", "concerns/asb": "very",
                              "ethnicity": ethnicity, "comments": "Streetlights"})
        assert reply.status_code == 303
    return slug


def offered(html: str, field: str) -> set[str]:
    select_html = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return set(re.findall(r'<option[^>]*value="([^"]*)"', select_html))


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_sensitive_questions_are_not_offered_without_the_flag(answered, client, login, role):
    login(role)
    page = client.get("/staff/analysis/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "town" in offered(html, "question") and "ethnicity" not in offered(html, "question")
    assert "town" in offered(html, "by") and "ethnicity" not in offered(html, "by")
    assert "comments" not in offered(html, "question")  # free text is never ranked here
    asks = [
        "/staff/analysis/?series=test-series&question=ethnicity",
        "/staff/analysis/?series=test-series&question=town&by=ethnicity",
        "/staff/analysis/download.csv?series=test-series&question=ethnicity",
        "/staff/analysis/download.json?series=test-series&question=town&by=ethnicity",
    ]
    for url in asks:
        refused = client.get(url)
        assert refused.status_code == 400, url
        assert b"White: English" not in refused.data
    assert client.get("/staff/analysis/?series=test-series&question=town").status_code == 200


def test_sensitive_questions_are_offered_with_the_flag(answered, client, login):
    login("analyst", sensitive=True)
    html = client.get("/staff/analysis/").get_data(as_text=True)
    assert "ethnicity" in offered(html, "question") and "ethnicity" in offered(html, "by")
    compared = client.get("/staff/analysis/?series=test-series&question=ethnicity")
    assert compared.status_code == 200
    assert "Prefer not to say" in compared.get_data(as_text=True)
    assert client.get("/staff/analysis/?series=test-series&question=town&by=ethnicity").status_code == 200
    download = client.get("/staff/analysis/download.csv?series=test-series&question=ethnicity")
    assert download.status_code == 200 and "Prefer not to say" in download.get_data(as_text=True)
