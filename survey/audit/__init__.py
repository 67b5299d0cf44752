"""The audit log: who created, changed, published, closed, imported, exported or deleted what, and when."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")

from .log import record  # noqa: E402

__all__ = ["bp", "record"]

from . import views  # noqa: E402,F401  (registers the routes)
