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


_ANSWERS_AT_0004 = (
    "INSERT INTO answers (response_id, survey_id, question_id, option_id, item_id, scale_point_id, text)"
    " VALUES (:response, :survey, :question, :option, :item, :point, :text)"
)


def _answer_indexes(connection) -> set[str]:
    """The answers table's own indexes besides its primary key, expression indexes too (which reflection skips)."""
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'answers' AND sql IS NOT NULL"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'answers' AND indexname <> 'pk_answers'"
    return set(connection.execute(sa.text(query)).scalars())


def _answer_constraints() -> tuple:
    """The names of the answers table's primary key, foreign keys and CHECK constraints."""
    inspector = sa.inspect(db.engine)
    return (
        inspector.get_pk_constraint("answers")["name"],
        {key["name"] for key in inspector.get_foreign_keys("answers")},
        {check["name"] for check in inspector.get_check_constraints("answers")},
    )


def _answers(connection) -> set[tuple]:
    return set(connection.execute(sa.text(
        "SELECT response_id, survey_id, question_id, option_id, item_id, scale_point_id, text FROM answers"
    )).all())


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0005_keeps_every_answer_keys_it_in_counting_order_and_downgrade_gives_ids_back(empty_database_url):
    """Answers stored before 0005 survive it with their keys derived, and survive its downgrade with ids again."""
    from survey.definitions import load_definition, parse_definition

    from .conftest import reference_definition

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "x"})
    load_migrations(app)
    with app.app_context():
        upgrade(revision="0004")
        survey = load_definition(parse_definition(reference_definition())).survey  # tables 0005 leaves alone
        town = next(q for q in survey.questions if q.code == "town")
        priorities = next(q for q in survey.questions if q.type == "multi")
        matrix = next(q for q in survey.questions if q.type == "matrix")
        text = next(q for q in survey.questions if q.type == "text")
        rows = [
            (town.id, town.options[1].id, None, None, None),
            (priorities.id, priorities.options[0].id, None, None, None),
            (priorities.id, priorities.options[2].id, None, None, None),
            (matrix.id, None, matrix.items[0].id, matrix.scale[1].id, None),
            (matrix.id, None, matrix.items[1].id, matrix.scale[0].id, None),
            (text.id, None, None, None, "Better lighting on Park Road"),
        ]
        survey_id, another_option = survey.id, (priorities.id, priorities.options[1].id)
        db.session.commit()
        db.session.remove()
        with db.engine.begin() as connection:
            response = connection.execute(sa.text(
                "INSERT INTO responses (survey_id, uid, language, channel, submitted_at)"
                " VALUES (:survey, 'r1', 'en', 'online', CURRENT_TIMESTAMP) RETURNING id"
            ), {"survey": survey_id}).scalar_one()
            connection.execute(sa.text(_ANSWERS_AT_0004), [
                {"response": response, "survey": survey_id, "question": q, "option": o, "item": i, "point": p, "text": t}
                for q, o, i, p, t in rows
            ])
            before = _answers(connection)
        assert len(before) == len(rows)
        constraints_before = _answer_constraints()
        assert constraints_before[0] == "pk_answers" and constraints_before[2] == {"ck_answers_one_kind"}

        upgrade()
        # The names the models give: a later migration can find each constraint by its name.
        assert _answer_constraints() == (constraints_before[0], constraints_before[1], {"ck_answers_one_kind", "ck_answers_keys_match"})
        inspector = sa.inspect(db.engine)
        assert inspector.get_pk_constraint("answers")["constrained_columns"] == ["question_id", "choice_key", "point_key", "response_id"]
        assert "id" not in {column["name"] for column in inspector.get_columns("answers")}
        with db.engine.connect() as connection:
            assert _answer_indexes(connection) == {"uq_answers_one_per_choice"}
            assert _answers(connection) == before
            keys = connection.execute(sa.text("SELECT option_id, item_id, scale_point_id, choice_key, point_key FROM answers")).all()
            if connection.dialect.name == "sqlite":
                table_sql = connection.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'answers'")).scalar_one()
                assert table_sql.rstrip().endswith("WITHOUT ROWID")
        assert [(choice, point) for _, _, _, choice, point in keys] == [(o or i or 0, p or 0) for o, i, p, _, _ in keys]

        downgrade(revision="0004")
        assert _answer_constraints() == constraints_before
        inspector = sa.inspect(db.engine)
        assert inspector.get_pk_constraint("answers")["constrained_columns"] == ["id"]
        with db.engine.begin() as connection:
            assert _answer_indexes(connection) == {"ix_answers_counting", "uq_answers_one_per_choice"}
            assert _answers(connection) == before
            ids = connection.execute(sa.text("SELECT id FROM answers")).scalars().all()
            assert len(set(ids)) == len(rows) and None not in ids
            # New answers are numbered after them, as before 0005.
            connection.execute(sa.text(_ANSWERS_AT_0004), {
                "response": response, "survey": survey_id, "question": another_option[0],
                "option": another_option[1], "item": None, "point": None, "text": None,
            })
            assert connection.execute(sa.text("SELECT max(id) FROM answers")).scalar_one() > max(ids)
        upgrade()
        db.engine.dispose()
