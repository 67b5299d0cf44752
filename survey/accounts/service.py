"""Creating accounts and checking logins, with slowing down and then locking after failures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import _
from ..models import Role, User, as_utc, utcnow
from .passwords import hash_password, needs_rehash, password_problem, verify_password


#: Something@somewhere.tld without spaces: the web form and `flask users create` check the same.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class AccountError(Exception):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    #: Seconds until the next attempt is allowed, when the account is temporarily locked.
    wait_seconds: int = 0
    #: Locked until an administrator unlocks it.
    locked: bool = False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str, role: str, sensitive: bool = False) -> User:
    email = normalise_email(email)
    if len(email) > 254 or not re.match(EMAIL_PATTERN, email):
        raise AccountError(_("'%(email)s' is not an email address.", email=email))
    if role not in {r.value for r in Role}:
        raise AccountError(_("Unknown role '%(role)s': choose admin, editor or analyst.", role=role))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if find_user(email) is not None:
        raise AccountError(_("An account for %(email)s already exists.", email=email))
    user = User(email=email, password_hash=hash_password(password), role=role, sensitive=sensitive)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    unlock(user)


def unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None


def is_locked(user: User) -> bool:
    return user.failed_logins >= current_app.config["LOGIN_LOCK_AFTER"]


def authenticate(email: str, password: str) -> LoginOutcome:
    """Check a login. Failures past LOGIN_SLOW_AFTER lock the account for a doubling
    number of seconds; at LOGIN_LOCK_AFTER it stays locked until an admin unlocks it.
    The caller commits, so failures are counted even though the login is refused."""
    config = current_app.config
    # Locked for the rest of the transaction: parallel guesses each count (PostgreSQL; SQLite
    # transactions already run one at a time).
    query = select(User).where(User.email == normalise_email(email)).with_for_update()
    user = db.session.scalar(query.execution_options(populate_existing=True))
    now = utcnow()
    if user is not None and is_locked(user):
        verify_password(None, password)  # same cost as any other attempt
        return LoginOutcome(None, locked=True)
    if user is not None and user.locked_until and as_utc(user.locked_until) > now:
        verify_password(None, password)
        return LoginOutcome(None, wait_seconds=int((as_utc(user.locked_until) - now).total_seconds()) + 1)
    if user is None or not verify_password(user.password_hash, password) or not user.active:
        if user is not None:
            user.failed_logins = (user.failed_logins or 0) + 1
            beyond = user.failed_logins - config["LOGIN_SLOW_AFTER"]
            if beyond >= 0 and not is_locked(user):
                user.locked_until = now + timedelta(seconds=config["LOGIN_SLOW_SECONDS"] * 2**beyond)
        return LoginOutcome(None)
    unlock(user)
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginOutcome(user)


def admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active)) or 0
