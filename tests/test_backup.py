"""The backup and restore procedures of docs/deploy.md, exercised: the restored database holds exactly the same rows."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from survey import create_app
from survey.extensions import db

from .conftest import REPO, postgres_url, skip_or_fail

ANSWERS = [
    {"town": "north", "priorities": ["drugs", "litter"], "concerns/knives": "very", "concerns/asb": "fairly", "comments": "Więcej światła, proszę."},
    {"town": "south", "priorities": ["dont_know"], "concerns/knives": "not_very", "concerns/asb": "very", "comments": "رات کو روشنی نہیں"},
    {"town": "south", "concerns/knives": "fairly", "concerns/asb": "not_very", "ethnicity": "prefer_not_to_say"},
]


def all_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the app's schema, in primary-key order."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = {
            table.name: [tuple(row) for row in connection.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables
        }
    engine.dispose()
    return rows


@pytest.fixture
def some_responses(app, make_survey, submit, database_url):
    make_survey()
    for answers in ANSWERS:
        assert submit("town-test", answers).status_code == 303
    with app.app_context():
        db.engine.dispose()  # as when the service is stopped, or between requests
    rows = all_rows(database_url)
    assert len(rows["responses"]) == len(ANSWERS) and len(rows["answers"]) > len(ANSWERS)
    return rows


def _libpq(url: str) -> str:
    """pg_dump and pg_restore take libpq URLs, without SQLAlchemy's driver name."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_dump_restores_into_a_new_database_with_the_same_rows(some_responses, database_url, tmp_path):
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not (pg_dump and pg_restore):
        skip_or_fail("pg_dump and pg_restore are not installed")
    dump = tmp_path / "safer-voices.dump"
    subprocess.run([pg_dump, "--format=custom", f"--file={dump}", _libpq(database_url)], check=True, capture_output=True, timeout=120)

    name = f"safer_voices_restore_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    restored = sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run([pg_restore, "--no-owner", "--exit-on-error", f"--dbname={_libpq(restored)}", str(dump)], check=True, capture_output=True, timeout=120)
        assert all_rows(restored) == some_responses
        # The restored database is a working one: the app serves the survey from it.
        app = create_app({"SQLALCHEMY_DATABASE_URI": restored, "SECRET_KEY": "x"})
        assert app.test_client().get("/s/town-test").status_code == 200
        with app.app_context():
            db.engine.dispose()
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


def sqlite_commands() -> tuple[list[str], str]:
    """docs/deploy.md's SQLite backup lines and its check of a backup."""
    section = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8").split("### SQLite", 1)[1].split("\n## ", 1)[0]
    backup, check = (block.split("\n```", 1)[0].strip() for block in section.split("```sh\n")[1:3])
    return backup.splitlines(), check


def run_as_documented(command: str, cwd, paths: dict[str, str]) -> subprocess.CompletedProcess:
    """A command of docs/deploy.md run by bash in ``cwd``, its paths replaced by ``paths`` and its Python by ours."""
    for written, here in {".venv/bin/python": sys.executable, **paths}.items():
        command = command.replace(written, shlex.quote(here))
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_online_backup_has_the_same_rows(some_responses, app, database_url, tmp_path):
    source = sa.make_url(database_url).database
    backup_lines, check = sqlite_commands()
    assert backup_lines[0] == "mkdir -p -m 700 backups"
    # The commands in docs/deploy.md, run where backups/ does not exist yet, with the tools
    # `make setup` installs: SQLite's online backup, safe while the app runs (it includes the WAL).
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))  # the app holds a connection open meanwhile
        for line in backup_lines:
            done = run_as_documented(line, tmp_path, {"instance/safer-voices.sqlite": source})
            assert done.returncode == 0, done.stderr
        db.session.rollback()
    assert (tmp_path / "backups").stat().st_mode & 0o777 == 0o700
    [backup] = (tmp_path / "backups").iterdir()
    checked = run_as_documented(check, tmp_path, {"backups/safer-voices-2025-06-01.sqlite": str(backup)})
    assert (checked.returncode, checked.stdout) == (0, "ok\n"), checked.stderr
    restored = f"sqlite:///{backup}"
    assert all_rows(restored) == some_responses
    engine = sa.create_engine(restored)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()
    app_on_backup = create_app({"SQLALCHEMY_DATABASE_URI": restored, "SECRET_KEY": "x"})
    assert app_on_backup.test_client().get("/s/town-test").status_code == 200
    with app_on_backup.app_context():
        db.engine.dispose()


def test_the_sqlite_backup_refuses_a_database_that_is_not_there(tmp_path):
    """Run from the wrong folder, the backup fails instead of copying a new, empty database."""
    (tmp_path / "instance").mkdir()
    *_mkdir, backup = [run_as_documented(line, tmp_path, {}) for line in sqlite_commands()[0]]
    assert backup.returncode != 0 and "unable to open database file" in backup.stderr
    assert not (tmp_path / "instance" / "safer-voices.sqlite").exists()
