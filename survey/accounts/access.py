"""Who may open which staff page: roles, their permissions, and the check every staff view carries.

Every view under /staff/ is wrapped in :func:`requires`; a guard run before each
request refuses (403) any /staff/ view that forgot to say what it needs, so a
new page is closed until someone decides who may see it.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import timedelta
from functools import wraps

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user

from ..extensions import db
from ..models import Role, User, utcnow

login_manager = LoginManager()
LAST_SEEN_KEY = "staff_last_seen"
PASSWORD_STAMP_KEY = "staff_password_stamp"


class Permission(str, enum.Enum):
    STAFF = "staff"  # the dashboard and survey list
    EDIT_SURVEYS = "edit_surveys"  # builder, translations, publishing, paper entry, imports
    ANALYSE = "analyse"  # analysis page and response exports
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.ADMIN.value: frozenset(Permission),
    Role.EDITOR.value: frozenset({Permission.STAFF, Permission.EDIT_SURVEYS}),
    Role.ANALYST.value: frozenset({Permission.STAFF, Permission.ANALYSE}),
}


def has_permission(user, permission: Permission) -> bool:
    return bool(user.is_authenticated and permission in ROLE_PERMISSIONS.get(user.role, frozenset()))


def may_see_sensitive(user) -> bool:
    """Raw free text and answers to sensitive questions need the account's `sensitive` flag."""
    return bool(user.is_authenticated and user.sensitive)


def requires(permission: Permission):
    """Decorate a staff view: anonymous users go to the login page, other roles get 403."""

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not current_user.is_authenticated:
                return _login_redirect()
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        checked.required_permission = permission
        return checked

    return decorate


def public_staff_view(view):
    """Mark a /staff/ view that anonymous users must reach (the login page)."""
    view.required_permission = None
    return view


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


def password_stamp(user: User) -> str:
    """Kept in the session at sign-in; a new password changes it, ending every older session
    (the cookie holds the session, so there is nothing on the server to delete)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _login_redirect(**extra):
    # After signing in, come back to the page asked for; a form posted while signed out cannot be replayed.
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=target, **extra))


def _guard_staff_area():
    """Decide every /staff/ request before anything else runs, CSRF checks included: forgotten
    views are closed (403), sessions older than the account's password or left idle longer than
    STAFF_IDLE_MINUTES end, anonymous users go to the login page and other roles get 403,
    whatever the method and form."""
    if not request.path.startswith("/staff/") or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if not hasattr(view, "required_permission"):
        abort(403)
    if current_user.is_authenticated:
        if session.get(PASSWORD_STAMP_KEY) != password_stamp(current_user):
            logout_user()
            session.clear()
            return _login_redirect()
        idle = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
        now = utcnow().timestamp()
        last_seen = session.get(LAST_SEEN_KEY, now)
        if now - last_seen > idle.total_seconds():
            logout_user()
            session.clear()
            return _login_redirect(expired=1)
        session[LAST_SEEN_KEY] = now
    permission = view.required_permission
    if permission is None:  # the login page
        return None
    if not current_user.is_authenticated:
        return _login_redirect()
    if not has_permission(current_user, permission):
        abort(403)
    return None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    # First of all before-request functions: before CSRFProtect's, so a signed-out user posting a
    # stale form is sent to sign in rather than shown a CSRF error, and a wrong role always gets 403.
    app.before_request_funcs.setdefault(None, []).insert(0, _guard_staff_area)
    app.jinja_env.globals.update(
        Permission=Permission, has_permission=has_permission, may_see_sensitive=may_see_sensitive
    )
