"""Alembic environment: the database and metadata come from the Flask app (`flask db …`)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    """Emit SQL to standard output (`flask db upgrade --sql`) without a connection."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty_autogenerate(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    conf_args.setdefault("render_as_batch", True)
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying it and dropping the original; with foreign
            # keys on, that drop would cascade-delete every row that refers to it.
            _sqlite_foreign_keys(connection, "OFF")
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, "ON")


def _sqlite_foreign_keys(connection, state):
    """Set the pragma on the raw connection: it is ignored inside a transaction."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys = {state}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
