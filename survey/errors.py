"""Friendly error pages in the resident's language; never a traceback."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from .extensions import db
from .i18n import _l
from .security import seconds_until_limit_resets

#: Seconds a client is asked to wait before trying again when the database is unavailable.
RETRY_AFTER_SECONDS = 60

_PAGES = {
    400: (_l("Something was wrong with the request"), _l("Please go back and try again.")),
    403: (_l("You do not have access to this page"), _l("Ask an administrator if you need it for your work.")),
    404: (_l("Page not found"), _l("If you typed the web address, check it is correct.")),
    405: (_l("Something was wrong with the request"), _l("Please go back and try again.")),
    413: (_l("Too much was sent"), _l("Please shorten your answers and try again.")),
    429: (_l("Too many attempts"), _l("Please wait a minute and try again.")),
    500: (_l("Sorry, there is a problem with the service"), _l("Your answers have not been saved. Please try again later.")),
    503: (
        _l("Sorry, the service is busy or unavailable"),
        _l("Your answers have not been saved. Please try again in a few minutes."),
    ),
}


def _handler(status: int):
    title, message = _PAGES[status]

    def error_page(_error):
        if status == 500:
            db.session.rollback()
        page = render_template("errors/error.html", title=title, message=message)
        if status == 429:
            return page, status, {"Retry-After": str(seconds_until_limit_resets())}
        return page, status

    return error_page


def _database_unavailable(error: SQLAlchemyError):
    """The database is down, unreachable, locked for too long, read-only or full: a 503, never a traceback."""
    current_app.logger.error("Database unavailable: %s", error, exc_info=error)
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection may be gone; the session is discarded at teardown anyway
        current_app.logger.warning("Rollback after a database error failed too", exc_info=True)
    # Objects loaded before the failure are expired by the rollback: the page must not reload them.
    g.pop("survey", None)
    title, message = _PAGES[503]
    page = render_template("errors/error.html", title=title, message=message)
    return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def init_app(app: Flask) -> None:
    for status in _PAGES:
        app.register_error_handler(status, _handler(status))
    # OperationalError: server down or restarting, connection lost, SQLite locked, read-only or full.
    # InterfaceError: a connection that was already closed.
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
