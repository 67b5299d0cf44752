"""Friendly error pages in the resident's language; never a traceback."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from .extensions import db
from .i18n import _, _l
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
    500: (_l("Sorry, there is a problem with the service"), _l("This page cannot be shown just now. Please try again later.")),
    503: (
        _l("Sorry, the service is busy or unavailable"),
        _l("This page cannot be shown just now. Please try again in a few minutes."),
    ),
}

#: Views whose POST stores a survey's answers (the residents' form, paper entry): only a 500 or
#: 503 there can have lost answers, and only there does the page say so.
SUBMISSION_VIEWS = frozenset({"respondent.send_answers", "paper.entry"})
_NOT_SAVED = {
    500: _l("Your answers have not been saved. Please try again later."),
    503: _l("Your answers have not been saved. Please try again in a few minutes."),
}
#: Any other POST (staff saving an edit, a setting, an upload) may have lost a change.
_CHANGES_NOT_SAVED = {
    500: _l("Your changes have not been saved. Please try again later."),
    503: _l("Your changes have not been saved. Please try again in a few minutes."),
}
#: The thank-you page is reached only after the answers were stored: a resident who read that they
#: were lost would send them again.
_ALREADY_SENT = (_l("Thank you"), _l("Your answers have been sent."))
#: Views that take a staff member's file (the translation upload has its own page for that): a 413
#: there is about the file, not a resident's answers.
UPLOAD_VIEWS = frozenset({"staff.upload_definition", "staff.import_responses_file"})

#: The database is down, unreachable, locked for too long, read-only or full.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def _error_page(status: int) -> str:
    title, message = _PAGES[status]
    if status in _NOT_SAVED:
        if request.method == "POST":
            message = (_NOT_SAVED if request.endpoint in SUBMISSION_VIEWS else _CHANGES_NOT_SAVED)[status]
        elif request.endpoint == "respondent.thanks":
            title, message = _ALREADY_SENT
    if status == 413 and request.endpoint in UPLOAD_VIEWS and request.max_content_length:
        message = _("The file is too large. The largest file accepted is %(size)d KB.", size=request.max_content_length // 1024)
    return render_template("errors/error.html", title=title, message=message)


def _handler(status: int):
    def error_page(_error):
        if status == 500:
            db.session.rollback()
        page = _error_page(status)
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
    return _error_page(503), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def init_app(app: Flask) -> None:
    for status in _PAGES:
        app.register_error_handler(status, _handler(status))
    # OperationalError: server down or restarting, connection lost, SQLite locked, read-only or full.
    # InterfaceError: a connection that was already closed.
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)
