"""Analysis for staff: `flask analysis …` and the analysis page (year-on-year top-N comparisons)."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/staff/analysis")

from . import views  # noqa: E402,F401  (registers the routes)
