"""Defences every response carries: security headers and rate limits.

Rate limits use Flask-Limiter with in-process memory by default; set
RATELIMIT_STORAGE_URI (e.g. ``redis://localhost:6379/0``) so that several
workers share one count. The client address is the socket's, or the one a
trusted reverse proxy reports when PROXY_FIX_X_FOR is set (see docs/deploy.md).
"""

from __future__ import annotations

import time
from urllib.parse import unquote_to_bytes

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .extensions import csrf

limiter = Limiter(key_func=get_remote_address)

#: No inline script or style anywhere: the pages need neither, and this stops injected markup running.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def seconds_until_limit_resets() -> int:
    """For a refused request's Retry-After. (The X-RateLimit headers on every response are off: each
    costs the rate-limit storage another look-up, on the residents' busiest path, for no reader.)"""
    try:
        limit = limiter.current_limit
        return max(1, limit.reset_at - int(time.time())) if limit is not None else 60
    except Exception:  # noqa: BLE001  the limiter's storage (Redis) may be down: the refusal must still be answered
        current_app.logger.warning("Could not read the rate limit's reset time", exc_info=True)
        return 60


def submission_rate_limit() -> str:
    return current_app.config["SUBMISSION_RATE_LIMIT"]


def _add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/staff/"):
        # Staff pages show answers and one-time passwords: never keep them in a shared cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks and not _limits_outside_decorators():
        # Only the routes decorated with @limiter.limit have limits, and their decorator counts them.
        # Flask-Limiter's own check before every request would find nothing to count, at a cost on
        # every page (a resident's form and thank-you page included).
        checks.remove(limiter._check_request_limit)
    app.after_request(_add_security_headers)


def _limits_outside_decorators() -> bool:
    """Whether any limit (default, application-wide, blueprint or meta) needs the check before every request."""
    manager = limiter.limit_manager
    return any(
        getattr(holder, name, None)
        for holder, name in (
            (manager, "_default_limits"), (manager, "_application_limits"), (manager, "_blueprint_limits"), (limiter, "_meta_limits")
        )
    )


def accept_large_form(max_bytes: int, max_parts: int = 1000) -> None:
    """Raise this request's size limits, then check its CSRF token.

    The app-wide CSRF check reads the form before any view runs, under the residents' limit
    (MAX_CONTENT_LENGTH), so views that take large uploads are exempt from it (``@csrf.exempt``)
    and call this first instead: the same check, under their own limit.
    """
    request.max_content_length = max_bytes
    request.max_form_memory_size = max_bytes
    request.max_form_parts = max_parts
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()


def form_is_utf8() -> bool:
    """Whether a posted form without file fields is UTF-8 text, as every page here asks browsers to send it.

    Werkzeug keeps bytes that are not UTF-8 as ``%XX`` in URL-encoded values, and as U+FFFD in
    multipart ones, instead of refusing them: a tampered or mis-encoded post would store a
    garbled answer without a word. Call before ``request.form`` is read (the body is kept for
    it); may raise RequestEntityTooLarge as that does.
    """
    if request.mimetype == "application/x-www-form-urlencoded":
        decode = unquote_to_bytes
    elif request.mimetype == "multipart/form-data":  # no file fields: the whole body is text
        decode = bytes
    else:
        return True
    try:
        decode(request.get_data(cache=True)).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
