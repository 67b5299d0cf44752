"""Sign in and out of the staff area, and the administrators' user pages."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..i18n import _, ngettext
from ..models import Role, User
from ..security import limiter, login_rate_limit
from . import bp
from .access import PASSWORD_STAMP_KEY, Permission, password_stamp, public_staff_view, requires
from .forms import LoginForm, UserChangeForm, UserForm
from .passwords import generate_password
from .service import AccountError, admin_count, authenticate, create_user, find_user, is_locked, set_password, unlock


def _safe_next(target: str | None) -> str:
    """Only ever go back to a page of our own staff area after signing in."""
    # isprintable(): a line break would not even fit in the Location header.
    if target and target.startswith("/staff/") and "\\" not in target and target.isprintable():
        return target
    return url_for("staff.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public_staff_view
@limiter.limit(login_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    problem = None
    if form.validate_on_submit():
        outcome = authenticate(form.email.data, form.password.data)
        if outcome.user is not None:
            session.clear()  # a fresh session: nothing carried over from before signing in
            login_user(outcome.user)
            session[PASSWORD_STAMP_KEY] = password_stamp(outcome.user)
            record("user.login", f"user {outcome.user.email}")
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        account = find_user(form.email.data)
        if account is not None:  # guesses at unknown addresses are only rate limited, not logged
            record("user.login_failed", f"user {account.email}", failed_logins=account.failed_logins,
                   locked=is_locked(account))
        db.session.commit()  # keep the failure count
        if outcome.locked:
            problem = _("This account is locked after too many failed attempts. Ask an administrator to unlock it.")
        elif outcome.wait_seconds:
            problem = ngettext(
                "Too many failed attempts. Wait %(num)d second and try again.",
                "Too many failed attempts. Wait %(num)d seconds and try again.",
                outcome.wait_seconds,
            )
        else:
            problem = _("The email address or password is not correct.")
    status = 400 if request.method == "POST" else 200
    expired = request.args.get("expired") == "1"
    return render_template("accounts/login.html", form=form, problem=problem, expired=expired), status


@bp.post("/logout")
@requires(Permission.STAFF)
def logout():
    record("user.logout", f"user {current_user.email}")
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("accounts.login"))


@bp.route("/users", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def users():
    form = UserForm()
    new_password = None
    if form.validate_on_submit():
        password = generate_password()
        try:
            user = create_user(form.email.data, password, form.role.data, sensitive=form.sensitive.data)
        except AccountError as error:
            form.email.errors = [*form.email.errors, str(error)]
        else:
            record("user.create", f"user {user.email}", role=user.role, sensitive=user.sensitive)
            db.session.commit()
            new_password = (user.email, password)
            form = UserForm(formdata=None)
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    status = 400 if form.errors else 200
    return render_template(
        "accounts/users.html", form=form, accounts=accounts, new_password=new_password, is_locked=is_locked
    ), status


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user(user_id: int):
    account = _get_user(user_id)
    form = UserChangeForm(obj=account)
    if form.validate_on_submit():
        demoting_last_admin = (
            account.role == Role.ADMIN.value
            and account.active  # an inactive admin is not counted, so changing one never leaves none
            and (form.role.data != Role.ADMIN.value or not form.active.data)
            and admin_count() <= 1
        )
        if demoting_last_admin:
            form.role.errors = [_("This is the only active administrator; make another one first.")]
        else:
            changes = {
                name: getattr(form, name).data
                for name in ("role", "sensitive", "active")
                if getattr(form, name).data != getattr(account, name)
            }
            form.populate_obj(account)
            record("user.change", f"user {account.email}", **changes)
            db.session.commit()
            flash(_("Saved the changes to %(email)s.", email=account.email))
            return redirect(url_for("accounts.users"))
    status = 400 if form.errors else 200
    return render_template("accounts/user.html", form=form, account=account, locked=is_locked(account)), status


@bp.post("/users/<int:user_id>/unlock")
@requires(Permission.MANAGE_USERS)
def unlock_user(user_id: int):
    account = _get_user(user_id)
    unlock(account)
    record("user.unlock", f"user {account.email}")
    db.session.commit()
    flash(_("Unlocked %(email)s.", email=account.email))
    return redirect(url_for("accounts.user", user_id=account.id))


@bp.post("/users/<int:user_id>/password")
@requires(Permission.MANAGE_USERS)
def reset_password(user_id: int):
    account = _get_user(user_id)
    password = generate_password()
    try:
        set_password(account, password)
    except AccountError as error:  # pragma: no cover - a generated password always qualifies
        abort(500, str(error))
    record("user.reset_password", f"user {account.email}")
    db.session.commit()
    return render_template("accounts/new_password.html", account=account, password=password)
