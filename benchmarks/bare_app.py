"""The floor for benchmarks/load.py: a bare Flask endpoint that inserts one row.

Served by gunicorn exactly like the app (same workers, same database, the same
SQLite settings), so the ratio between the two is what the survey's own work costs:

    gunicorn --pythonpath benchmarks 'bare_app:create_app()'    # DATABASE_URL names the database
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, request
from sqlalchemy import event

from survey.database import _sqlite_begin, _sqlite_pragmas

metadata = sa.MetaData()
rows = sa.Table(
    "bare_rows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uid", sa.String(64), nullable=False, unique=True),
    sa.Column("value", sa.Text, nullable=False),
)


def make_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def create_app() -> Flask:
    app = Flask(__name__)
    engine = make_engine(os.environ["DATABASE_URL"])

    @app.post("/bare")
    def insert():
        with engine.begin() as connection:
            connection.execute(rows.insert().values(uid=request.form["uid"], value=request.form.get("value", "")))
        return "", 204

    return app
