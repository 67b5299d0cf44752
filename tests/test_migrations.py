"""The Alembic migrations build exactly the models' schema, and downgrade() removes it again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from survey import create_app
from survey.extensions import db
from survey.schema_migrations import load_migrations

from .conftest import TESTS, postgres_url, skip_or_fail, worker_suffix

MIGRATION_DB = f"safer_voices_migration_test{worker_suffix()}"  # one per pytest-xdist worker


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    server = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {MIGRATION_DB}"))
            connection.execute(sa.text(f"CREATE DATABASE {MIGRATION_DB}"))
    except sa.exc.OperationalError as error:
        skip_or_fail(f"PostgreSQL not reachable: {error.orig}")
    yield sa.make_url(postgres_url()).set(database=MIGRATION_DB).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {MIGRATION_DB} WITH (FORCE)"))
    server.dispose()


# Alembic cannot reflect SQLite's expression indexes; the migration writes that one by hand.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_upgrade_matches_models_and_downgrade_empties(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "x"})
    load_migrations(app)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()  # and back up again: downgrade left nothing behind that blocks it
        assert "answers" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


@pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)  # SQLite checks on the parent key's own index
def test_answers_foreign_key_check_on_an_empty_table_uses_the_response_key(empty_database_url):
    """PostgreSQL keeps a connection's plan for checking answers' foreign key from its first use, often
    while responses is empty: that plan must look the response up by (survey_id, id), never scan the
    survey's responses (which made each submission slower than the one before, migration 0004)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "x"})
    load_migrations(app)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            connection.exec_driver_sql(
                "PREPARE fk_check(int, bigint) AS SELECT 1 FROM ONLY responses x WHERE survey_id = $1 AND id = $2 FOR KEY SHARE OF x"
            )
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN EXECUTE fk_check(1, 1)"))
        db.engine.dispose()
    assert "Index Cond: ((survey_id = $1) AND (id = $2))" in plan, plan


def test_flask_db_commands_run_through_the_cli_and_other_commands_never_import_alembic(tmp_path):
    """`flask db` is registered without importing Alembic; its commands and options still work."""
    repo = TESTS.parent
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "SECRET_KEY": "x"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    upgraded = subprocess.run([*flask, "db", "-d", "migrations", "upgrade"], cwd=repo, env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    current = subprocess.run([*flask, "db", "current"], cwd=repo, env=env, capture_output=True, text=True)
    assert current.returncode == 0 and "(head)" in current.stdout, current.stdout + current.stderr
    probe = "import sys; from app import create_app; create_app().test_cli_runner().invoke(args=['survey', 'list']); print('alembic' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stdout + imported.stderr
