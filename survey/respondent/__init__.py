"""Public respondent pages: the home page, a survey's form and its thank-you page."""

from flask import Blueprint

bp = Blueprint("respondent", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
