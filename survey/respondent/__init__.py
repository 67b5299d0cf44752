"""Public respondent pages: the home page, a survey's form, its thank-you page and its privacy notice."""

from flask import Blueprint

bp = Blueprint("respondent", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
from . import privacy  # noqa: E402,F401  (the privacy notice page)
