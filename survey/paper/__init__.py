"""Paper entry: editors type in questionnaires collected on paper, at events or by phone,
through the residents' own form and rules, one after another."""

from flask import Blueprint

bp = Blueprint("paper", __name__, url_prefix="/staff/surveys")

from . import views  # noqa: E402,F401  (registers the routes)
