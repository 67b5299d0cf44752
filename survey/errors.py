"""Friendly error pages in the resident's language; never a traceback."""

from __future__ import annotations

from flask import Flask, render_template

from .extensions import db
from .i18n import _l

_PAGES = {
    400: (_l("Something was wrong with the request"), _l("Please go back and try again.")),
    404: (_l("Page not found"), _l("If you typed the web address, check it is correct.")),
    405: (_l("Something was wrong with the request"), _l("Please go back and try again.")),
    413: (_l("Too much was sent"), _l("Please shorten your answers and try again.")),
    429: (_l("Too many attempts"), _l("Please wait a minute and try again.")),
    500: (_l("Sorry, there is a problem with the service"), _l("Your answers have not been saved. Please try again later.")),
}


def _handler(status: int):
    title, message = _PAGES[status]

    def error_page(_error):
        if status == 500:
            db.session.rollback()
        return render_template("errors/error.html", title=title, message=message), status

    return error_page


def init_app(app: Flask) -> None:
    for status in _PAGES:
        app.register_error_handler(status, _handler(status))
