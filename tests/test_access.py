"""Every staff page checks who is asking: enumerated from the app's own URL map, so a new
route is covered the moment it is registered.

For each rule under /staff/ and each of its methods: anonymous users are sent to the login
page (POSTs too, before any CSRF check), each role reaches exactly the pages its permissions
allow and gets 403 elsewhere, and the permission each view declares matches a hand-written
table of who should see what, so a view carrying the wrong permission is caught as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from survey.accounts.access import ROLE_PERMISSIONS, Permission, requires
from survey.extensions import db
from survey.models import User

from .conftest import STAFF_PASSWORD, form_tokens, sign_in

ROLES = ("admin", "editor", "analyst")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
EDITORS = frozenset({"admin", "editor"})
ANALYSTS = frozenset({"admin", "analyst"})
PUBLIC = None

#: Who should reach the pages of each blueprint under /staff/, written down independently of the
#: views' own declarations. A blueprint missing here fails the test: decide, then add it.
EXPECTED_BY_BLUEPRINT: dict[str, frozenset[str]] = {
    "staff": EDITORS,  # survey pages, publishing, closing, next wave, definition files
    "builder": EDITORS,
    "translating": EDITORS,
    "paper": EDITORS,
    "reports": ANALYSTS,  # the analysis page and its downloads
    "accounts": ADMIN,  # user administration
    "audit": ADMIN,
}
#: Exceptions to the blueprint's rule.
EXPECTED_BY_ENDPOINT: dict[str, frozenset[str] | None] = {
    "accounts.login": PUBLIC,
    "accounts.logout": EVERYONE,
    "staff.dashboard": EVERYONE,
}


@dataclass(frozen=True)
class World:
    """Things that exist, for filling in URL arguments."""

    slug: str
    user_id: int


#: A value that exists for every URL argument name used under /staff/. An unknown name fails
#: the tests: add a value here so the new route is checked too.
ARGUMENTS = {
    "slug": lambda world: world.slug,
    "user_id": lambda world: world.user_id,
    "language": lambda world: "pl",
    "lang": lambda world: "pl",
    "file_format": lambda world: "csv",
    "code": lambda world: "comments",  # a question of the every-feature survey
    "result_id": lambda world: 1,  # no saved result: a 404, but only after the permission check
}


def staff_rules(app: Flask):
    return sorted((rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff/")), key=lambda r: r.rule)


def staff_requests(app: Flask, world: World) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) for every rule under /staff/ and each method it answers."""
    requests = []
    for rule in staff_rules(app):
        unknown = sorted(set(rule.arguments) - set(rule.defaults or {}) - set(ARGUMENTS))
        if unknown:
            pytest.fail(f"{rule.rule}: no test value for {', '.join(unknown)}; add one to ARGUMENTS in tests/test_access.py")
        values = {name: ARGUMENTS[name](world) for name in rule.arguments if name not in (rule.defaults or {})}
        built = rule.build(values, append_unknown=False)
        assert built is not None, f"cannot build {rule.rule} from {values}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            requests.append((rule.endpoint, method, built[1]))
    return requests


def expected_roles(endpoint: str) -> frozenset[str] | None:
    if endpoint in EXPECTED_BY_ENDPOINT:
        return EXPECTED_BY_ENDPOINT[endpoint]
    blueprint = endpoint.rpartition(".")[0]
    if blueprint not in EXPECTED_BY_BLUEPRINT:
        pytest.fail(f"{endpoint}: no expectation for blueprint '{blueprint}'; add it to EXPECTED_BY_BLUEPRINT")
    return EXPECTED_BY_BLUEPRINT[blueprint]


def declared_roles(app: Flask, endpoint: str) -> frozenset[str] | None:
    """The roles the view's own `required_permission` lets in (None: public)."""
    view = app.view_functions[endpoint]
    assert hasattr(view, "required_permission"), f"{endpoint} does not say who may use it (wrap it in @requires)"
    permission = view.required_permission
    if permission is None:
        return None
    assert isinstance(permission, Permission), f"{endpoint}: required_permission is {permission!r}"
    return frozenset(role for role, permissions in ROLE_PERMISSIONS.items() if permission in permissions)


@pytest.fixture
def app_config(app_config):
    # A page that crashes becomes a 500 to report alongside the others, not an exception ending the loop.
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def world(app, make_survey, make_user) -> World:
    slug = make_survey(status="open")
    email = make_user("editor", email="target@council.example")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
    return World(slug=slug, user_id=user_id)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/staff/login"


def test_there_are_staff_routes_to_check(app, world):
    endpoints = {endpoint for endpoint, _method, _url in staff_requests(app, world)}
    # The enumeration must find the pages we know exist; if it finds none, it proves nothing.
    assert {"staff.dashboard", "accounts.login", "accounts.users", "audit.log", "reports.compare"} <= endpoints


def test_every_staff_view_declares_the_permission_the_table_expects(app, world):
    wrong = []
    for endpoint in sorted({endpoint for endpoint, _method, _url in staff_requests(app, world)}):
        declared, expected = declared_roles(app, endpoint), expected_roles(endpoint)
        if declared != expected:
            wrong.append(f"{endpoint}: lets in {sorted(declared or ['anyone'])}, expected {sorted(expected or ['anyone'])}")
    assert not wrong, "\n".join(wrong)


def test_anonymous_users_are_sent_to_login_from_every_staff_route(app, client, world):
    checked = 0
    for endpoint, method, url in staff_requests(app, world):
        if expected_roles(endpoint) is PUBLIC:
            continue
        # No CSRF token: the signed-out user must still be sent to sign in, not shown a CSRF error.
        response = client.open(url, method=method)
        assert is_login_redirect(response), f"{method} {url} → {response.status_code}"
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        if method == "GET":
            assert query["next"] == [url], f"{method} {url} → {response.headers['Location']}"
        else:
            assert "next" not in query  # a posted form cannot be replayed after signing in
        checked += 1
    assert checked >= 10


def test_the_login_page_is_reachable_anonymously(client):
    page = client.get("/staff/login")
    assert page.status_code == 200
    assert form_tokens(page.get_data(as_text=True))["csrf_token"]
    # A login POST without a CSRF token is refused, not processed.
    assert client.post("/staff/login", data={"email": "a@b.example", "password": STAFF_PASSWORD}).status_code == 400


def csrf_token(client) -> str:
    """The session's CSRF token, as the sign-out form on every staff page carries it."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/").get_data(as_text=True))
    assert match, "no CSRF token on the dashboard"
    return match.group(1)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_its_permissions_allow(app, world, make_user, role):
    email = make_user(role)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    token = csrf_token(client)
    problems = []
    for endpoint, method, url in staff_requests(app, world):
        allowed = declared_roles(app, endpoint)
        if allowed is PUBLIC:
            continue
        if role in allowed:
            data = {"csrf_token": token} if method != "GET" else None
            response = client.open(url, method=method, data=data)
            signed_out = is_login_redirect(response) and endpoint != "accounts.logout"
            if response.status_code == 403 or response.status_code >= 500 or signed_out:
                problems.append(f"{role} {method} {url} → {response.status_code} (should be allowed)")
        else:
            # Refused before anything else is looked at: without a CSRF token too.
            response = client.open(url, method=method)
            if response.status_code != 403:
                problems.append(f"{role} {method} {url} → {response.status_code} (should be 403)")
        if client.get("/staff/").status_code != 200:  # the request signed us out (sign-out itself)
            assert sign_in(client, email).status_code == 302
            token = csrf_token(client)
    assert not problems, "\n".join(problems)


IMPORTANT = [
    # (path, roles that reach it)
    ("/staff/", EVERYONE),
    ("/staff/users", ADMIN),
    ("/staff/users/{user_id}", ADMIN),
    ("/staff/audit/", ADMIN),
    ("/staff/audit/audit-log.csv", ADMIN),
    ("/staff/analysis/", ANALYSTS),
    ("/staff/surveys/{slug}/", EDITORS),
    ("/staff/surveys/{slug}/definition.yaml", EDITORS),
    ("/staff/surveys/new", EDITORS),
    ("/staff/surveys/{slug}/edit", EDITORS),
    ("/staff/surveys/{slug}/preview", EDITORS),
    ("/staff/surveys/{slug}/translations", EDITORS),
    ("/staff/surveys/{slug}/paper", EDITORS),
    ("/staff/analysis/responses", ANALYSTS),
    ("/staff/analysis/saved", ANALYSTS),
]


@pytest.mark.parametrize("role", ROLES)
def test_important_pages_by_role(app, world, make_user, role):
    """Written out by hand: what each role may open, whatever the views declare."""
    client = app.test_client()
    assert sign_in(client, make_user(role)).status_code == 302
    for path, roles in IMPORTANT:
        url = path.format(slug=world.slug, user_id=world.user_id)
        status = client.get(url).status_code
        assert status == (200 if role in roles else 403), f"{role} GET {url} → {status}"


def test_a_staff_view_without_a_declared_permission_is_closed(app, client, make_user):
    app.add_url_rule("/staff/forgotten", "forgotten", lambda: "secret data", methods=["GET", "POST"])
    assert client.get("/staff/forgotten").status_code == 403
    assert client.post("/staff/forgotten").status_code == 403
    assert sign_in(client, make_user("admin")).status_code == 302
    for method in ("GET", "POST"):
        response = client.open("/staff/forgotten", method=method)
        assert response.status_code == 403
        assert b"secret data" not in response.data


def test_requires_checks_the_role_outside_the_staff_area_too(app, make_user):
    """The decorator itself refuses, not only the /staff/ guard (a view elsewhere, or called directly)."""
    app.add_url_rule("/elsewhere", "elsewhere", requires(Permission.MANAGE_USERS)(lambda: "users"))
    anonymous = app.test_client()
    response = anonymous.get("/elsewhere")
    assert is_login_redirect(response)
    analyst = app.test_client()
    assert sign_in(analyst, make_user("analyst")).status_code == 302
    assert analyst.get("/elsewhere").status_code == 403
    admin = app.test_client()
    assert sign_in(admin, make_user("admin")).status_code == 302
    assert admin.get("/elsewhere").data == b"users"


def test_a_forbidden_page_explains_itself(client, login):
    login("analyst")
    refused = client.get("/staff/users")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "You do not have access to this page" in html and "Ask an administrator" in html
