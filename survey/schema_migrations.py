"""`flask db …` (Flask-Migrate), registered without importing Alembic until a `db` command runs.

Importing Alembic is about a third of the start-up of every other `flask` command and of
every web worker, none of which migrates anything.
"""

from __future__ import annotations

import click
from flask import Flask, g
from flask.cli import ScriptInfo, with_appcontext

from .config import REPO_ROOT
from .extensions import db

MIGRATIONS = REPO_ROOT / "migrations"


def init_app(app: Flask) -> None:
    app.cli.add_command(_migration_commands)


def load_migrations(app: Flask) -> click.Group:
    """Set Flask-Migrate up on ``app`` (once) and return its command group.

    Also what code that calls ``flask_migrate.upgrade()`` itself (tests) needs first.
    """
    from flask_migrate import Migrate
    from flask_migrate.cli import db as commands

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS))
    return commands


class _MigrationCommands(click.Group):
    """Stands in for Flask-Migrate's `db` group (same options) and hands each command over to it."""

    def _loaded(self, ctx: click.Context) -> click.Group:
        return load_migrations(ctx.ensure_object(ScriptInfo).load_app())

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._loaded(ctx).list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._loaded(ctx).get_command(ctx, cmd_name)


@click.group("db", cls=_MigrationCommands)
@click.option("-d", "--directory", default=None, help='Migration script directory (default is "migrations")')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@with_appcontext
def _migration_commands(directory, x_arg):
    """Perform database migrations."""
    g.directory = directory  # as Flask-Migrate's own group does: its commands read them from g
    g.x_arg = x_arg
