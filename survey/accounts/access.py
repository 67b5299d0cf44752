"""Who may open which staff page: roles, their permissions, and the check every staff view carries.

Every view under /staff/ is wrapped in :func:`requires`; a guard run before each
request refuses (403) any /staff/ view that forgot to say what it needs, so a
new page is closed until someone decides who may see it.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from functools import wraps

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user

from ..extensions import db
from ..models import Role, User, utcnow

login_manager = LoginManager()
LAST_SEEN_KEY = "staff_last_seen"


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
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
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


def _guard_staff_area():
    """Close forgotten staff views, and end sessions left idle longer than STAFF_IDLE_MINUTES."""
    if not request.path.startswith("/staff/") or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if not hasattr(view, "required_permission"):
        abort(403)
    if current_user.is_authenticated:
        idle = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
        now = utcnow().timestamp()
        last_seen = session.get(LAST_SEEN_KEY, now)
        if now - last_seen > idle.total_seconds():
            logout_user()
            session.clear()
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?"), expired=1))
        session[LAST_SEEN_KEY] = now
    return None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.before_request(_guard_staff_area)
    app.jinja_env.globals.update(
        Permission=Permission, has_permission=has_permission, may_see_sensitive=may_see_sensitive
    )
