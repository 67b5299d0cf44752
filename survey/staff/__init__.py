"""The staff area shell: dashboard and each survey's page (status, publish, close, next wave, files)."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from . import views  # noqa: E402,F401  (registers the routes)
