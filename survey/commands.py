"""What every `flask …` command group shares: failing clearly, and finding a survey by slug."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError

from .extensions import db
from .models import Survey


def fail(message: str) -> None:
    """Print in red to stderr and exit non-zero, leaving the database untouched."""
    db.session.rollback()
    click.secho(message, fg="red", err=True)
    raise SystemExit(1)


def get_survey(slug: str) -> Survey:
    survey = db.session.scalar(select(Survey).where(Survey.slug == slug))
    if survey is None:
        fail(f"No survey with slug '{slug}'. `flask survey list` shows the slugs.")
    return survey


def require_schema() -> None:
    """Stop with a clear next step, not a traceback, when the database is missing or not migrated."""
    try:
        ready = inspect(db.engine).has_table("surveys")
    except OperationalError as error:
        fail(f"Cannot open the database ({error.orig}). Check DATABASE_URL.")
    if not ready:
        fail("The database has no tables yet. Run `flask db upgrade` first.")


def command_group(name: str, help: str) -> AppGroup:
    """A `flask NAME …` group whose commands all need the migrated database."""
    group = AppGroup(name, help=help)
    group.callback = with_appcontext(require_schema)
    return group
