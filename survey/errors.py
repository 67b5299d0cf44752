"""Friendly error pages in the resident's language; never a traceback."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from .extensions import db
from .i18n import _


def _error_page(status: int, title: str, message: str):
    return render_template("errors/error.html", title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(400)
    def bad_request(_error: HTTPException):
        return _error_page(400, _("Something was wrong with the request"), _("Please go back and try again."))

    @app.errorhandler(404)
    def not_found(_error: HTTPException):
        return _error_page(404, _("Page not found"), _("If you typed the web address, check it is correct."))

    @app.errorhandler(405)
    def method_not_allowed(_error: HTTPException):
        return _error_page(405, _("Something was wrong with the request"), _("Please go back and try again."))

    @app.errorhandler(413)
    def too_large(_error: HTTPException):
        return _error_page(413, _("Too much was sent"), _("Please shorten your answers and try again."))

    @app.errorhandler(500)
    def server_error(_error: Exception):
        db.session.rollback()
        return _error_page(
            500,
            _("Sorry, there is a problem with the service"),
            _("Your answers have not been saved. Please try again later."),
        )
