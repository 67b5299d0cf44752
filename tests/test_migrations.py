"""The Alembic migrations build exactly the models' schema, and downgrade() removes it again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from survey import create_app
from survey.extensions import db

from .conftest import postgres_url, skip_or_fail

MIGRATION_DB = "safer_voices_migration_test"


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
