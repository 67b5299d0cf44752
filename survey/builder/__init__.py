"""The survey builder: create a survey, edit its questions and answer options, preview it."""

from flask import Blueprint

bp = Blueprint("builder", __name__, url_prefix="/staff/surveys")

from . import views  # noqa: E402,F401  (registers the routes)
