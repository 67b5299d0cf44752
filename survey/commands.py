"""What every `flask …` command group shares: failing clearly, finding a survey by slug, and
writing an output file all or nothing."""

from __future__ import annotations

import functools
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import inspect, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from .extensions import db
from .models import Survey


def fail(message: str) -> None:
    """Print in red to stderr and exit non-zero, leaving the database untouched."""
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the database itself is what failed; nothing was committed
        pass
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


@contextmanager
def output_file(path: Path, *, private: bool = False) -> Iterator[Path]:
    """A new file beside PATH for the block to write; it becomes PATH (os.replace) only when the
    whole block succeeded, its commit included. A full disk or a failed audit record then leaves
    no partial or unrecorded file, and an existing PATH as it was.

    Any failure removes the new file; one writing a file is reported in one line (exit status 1),
    others (a database failure, `fail()`) go on to be reported as they are. A ``private`` file
    (residents' answers) that is new is readable by its owner only, whatever the umask.
    """
    target = Path(os.path.realpath(path))  # through a symlink, as open() does: the link stays
    if target.exists() and not target.is_file():  # a device or pipe (/dev/stdout): nothing to move into place
        try:
            yield target
        except OSError as error:
            fail(f"Could not write {path}: {error.strerror or error}.")
        return
    temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.part")
    try:
        _create_like(temp, target, 0o600 if private else 0o666)
        yield temp
        os.replace(temp, target)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            fail(f"Could not write {path}: {error.strerror or error}. Nothing was written.")
        raise


def _create_like(temp: Path, target: Path, mode: int) -> None:
    """Create TEMP as open(mode) would create TARGET, or with TARGET's permissions if it exists:
    an export kept private stays private when written again."""
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if target.exists():
            os.fchmod(fd, stat.S_IMODE(target.stat().st_mode))
    finally:
        os.close(fd)


def write_output(content: str | bytes, output: Path | None) -> None:
    """Print CONTENT, or write it to OUTPUT (all or nothing, see output_file)."""
    if output is None:
        click.echo(content, nl=not content.endswith("\n"))
        return
    with output_file(output) as temp:
        if isinstance(content, bytes):
            temp.write_bytes(content)
        else:
            temp.write_text(content, encoding="utf-8")
    click.echo(f"Wrote {output}.", err=True)


def database_problem(error: SQLAlchemyError) -> str:
    """What to tell an operator when the database fails mid-command."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    lowered = reason.lower()
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        hint = "The database is read-only: check the file's and its folder's permissions, or the server's settings."
    elif "full" in lowered or "no space" in lowered:
        hint = "The disk or database is full: free some space, then run the command again."
    elif "locked" in lowered:
        hint = "The database stayed busy for too long: run the command again when it is quieter."
    else:
        hint = "Check DATABASE_URL and that the database server is running, then run the command again."
    return f"The database could not be used ({reason}). Nothing was changed.\n{hint}"


class DatabaseGroup(AppGroup):
    """A command group whose commands check the database is migrated before they run, and report a
    database failure clearly instead of with a traceback."""

    def command(self, *args, **kwargs):
        """As AppGroup.command, the check first: inside the command (and its app context), after its
        options are read, so `--help` needs no database and never creates an empty SQLite file."""
        register = super().command(*args, **kwargs)

        def decorator(function):
            @functools.wraps(function)
            def checked(*call_args, **call_kwargs):
                require_schema()
                return function(*call_args, **call_kwargs)

            return register(checked)

        return decorator

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as error:
            if isinstance(error, _database_failures()):
                fail(database_problem(error))
            raise


def _database_failures() -> tuple[type[Exception], ...]:
    """SQLAlchemy's, and the driver's own from code that uses its cursor directly (the CSV import)."""
    driver = db.engine.dialect.loaded_dbapi
    return (OperationalError, InterfaceError, driver.OperationalError, driver.InterfaceError)


def command_group(name: str, help: str) -> AppGroup:
    """A `flask NAME …` group whose commands all need the migrated database."""
    group = DatabaseGroup(name, help=help)
    # The app context lives as long as the group's: a failure reported by invoke() rolls back in it.
    group.callback = with_appcontext(lambda: None)
    return group
