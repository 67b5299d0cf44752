"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..i18n import _

_hasher = PasswordHasher()  # argon2id
MIN_PASSWORD_LENGTH = 12
_dummy_hash: str | None = None  # see _take_as_long_as_a_verification


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _take_as_long_as_a_verification(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _take_as_long_as_a_verification(password: str) -> None:
    """For an unknown e-mail, so a wrong address takes as long as a wrong password.

    Verifies against a hash made at the first such sign-in; making it takes as long as verifying,
    so that first one is no quicker or slower either. (Not made at import: most processes, every
    command and every worker serving residents, never check a password.)
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
        return
    try:
        _hasher.verify(_dummy_hash, password)
    except (VerificationError, InvalidHashError):
        pass


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
