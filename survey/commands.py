"""What every `flask …` command group shares: failing clearly, and finding a survey by slug."""

from __future__ import annotations

import click
from sqlalchemy import select

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
