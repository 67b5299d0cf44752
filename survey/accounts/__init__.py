"""Staff accounts: users and roles, argon2id passwords, login with lockout, `flask users …`."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/staff")

from . import views  # noqa: E402,F401  (registers the routes)
