"""Translating a survey's texts: the completeness grid, editing per language, PO/XLSX files for translators."""

from flask import Blueprint

bp = Blueprint("translating", __name__, url_prefix="/staff/surveys")

from . import views  # noqa: E402,F401  (registers the routes)
