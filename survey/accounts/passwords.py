"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..i18n import _

_hasher = PasswordHasher()  # argon2id
MIN_PASSWORD_LENGTH = 12


@cache
def _dummy_hash() -> str:
    """Verified when an e-mail is unknown, so a wrong address takes as long as a wrong password.

    Made at the first sign-in rather than at import: hashing takes a tenth of a second, and most
    processes (every command, every worker serving residents) never verify a password.
    """
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password to show once: about 120 bits, easy to copy."""
    return secrets.token_urlsafe(15)


def password_problem(password: str) -> str | None:
    """Why a chosen password is refused, or None. Length matters most (NCSC guidance)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must be at least %(count)d characters long.", count=MIN_PASSWORD_LENGTH)
    if len(password) > 1024:
        return _("The password must be at most 1024 characters long.")
    return None
