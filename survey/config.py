"""Configuration: defaults in code, overrides from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: UI languages shipped with catalogues in translations/.
DEFAULT_LANGUAGES = ["en", "pl", "pa", "ur", "ro", "sk"]


def _make_instance_dir(instance_path: Path) -> None:
    """Create instance/ for the owner alone (0700): the SQLite database and its -wal and -shm
    files (residents' answers) and the secret key live there, and SQLite creates its files
    readable by everyone under the usual umask 022. A directory that exists is left as it is."""
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, else one generated once and kept under instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    _make_instance_dir(instance_path)
    key = secrets.token_hex(32)
    # Create with owner-only permissions: the key signs session cookies.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        _make_instance_dir(instance_path)
        return f"sqlite:///{instance_path / 'safer-voices.sqlite'}"
    # Heroku-style and plain postgres URLs should use the psycopg 3 driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def build_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """The application's settings, read when the app is created (never at import time).

    Keys in ``overrides`` win; the secret key and database file are only
    created under instance/ when nothing else provides them.
    """
    overrides = overrides or {}
    languages = os.environ.get("LANGUAGES")
    config = {
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": overrides.get("SQLALCHEMY_DATABASE_URI") or _database_url(instance_path),
        # hide_parameters: a failed statement's error (logged) never carries residents' answers.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "LANGUAGES": [code.strip() for code in languages.split(",")] if languages else DEFAULT_LANGUAGES,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "translations"),
        # A survey page posts a few kilobytes; anything far larger is hostile.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 256 * 1024)),
        "MAX_FORM_MEMORY_SIZE": int(os.environ.get("MAX_CONTENT_LENGTH", 256 * 1024)),
        # Earlier responses uploaded on a survey's page (larger files: `flask responses import`).
        "RESPONSES_UPLOAD_BYTES": int(os.environ.get("RESPONSES_UPLOAD_BYTES", 20 * 1024 * 1024)),
        # ...and at most this many rows: a few seconds of import, well inside a worker's timeout and,
        # on SQLite, residents' wait for the write lock (its busy timeout is 10 s).
        "RESPONSES_UPLOAD_ROWS": int(os.environ.get("RESPONSES_UPLOAD_ROWS", 50_000)),
        # Tokens outlive a slow resident; an expired one re-renders the answers anyway.
        "WTF_CSRF_TIME_LIMIT": int(os.environ.get("WTF_CSRF_TIME_LIMIT", 6 * 3600)),
        # Breakdown cells with fewer respondents than this are shown as [c].
        "SMALL_CELL_THRESHOLD": int(os.environ.get("SMALL_CELL_THRESHOLD", 10)),
        # Staff sessions: idle timeout, and login slowing down then locking after failures.
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", 30)),
        "LOGIN_SLOW_AFTER": int(os.environ.get("LOGIN_SLOW_AFTER", 3)),
        "LOGIN_SLOW_SECONDS": int(os.environ.get("LOGIN_SLOW_SECONDS", 5)),
        "LOGIN_LOCK_AFTER": int(os.environ.get("LOGIN_LOCK_AFTER", 10)),
        # Rate limits per client address (Flask-Limiter syntax); memory storage unless set.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") == "1",
        "RATELIMIT_HEADERS_ENABLED": False,  # a refused request still says when to retry (errors.py)
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute; 100 per day"),
        "SUBMISSION_RATE_LIMIT": os.environ.get("SUBMISSION_RATE_LIMIT", "20 per minute"),
        # Pages that only show a survey reuse this process's copy for so long before asking whether it
        # changed (answers are always checked against the survey as it is when they are stored).
        "SURVEY_RECHECK_SECONDS": float(os.environ.get("SURVEY_RECHECK_SECONDS", 2)),
        # Bot defences on the survey form: a submission faster than this is silently dropped.
        "MIN_FILL_SECONDS": float(os.environ.get("MIN_FILL_SECONDS", 3)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        # Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none, use the peer address).
        "PROXY_FIX_X_FOR": int(os.environ.get("PROXY_FIX_X_FOR", 0)),
    }
    config.update(overrides)
    return config
