"""Per-connection database settings, and how transactions begin on SQLite."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from sqlalchemy import event

from .extensions import db

#: Requests that only read: their transactions need no write lock.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite: the composite keys that guard answers need them.
    # WAL and a busy timeout let several writers wait for each other instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
    # Take BEGIN away from the sqlite3 module (it skips it before SELECTs and DDL): _sqlite_begin emits it.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection) -> None:
    """BEGIN IMMEDIATE for every transaction that may write; plain BEGIN for GET requests.

    A deferred transaction that reads and then writes must upgrade its read lock; when
    another process wrote in between, SQLite fails at once with "database is locked"
    instead of waiting for busy_timeout. An IMMEDIATE transaction takes the write lock
    at BEGIN, where busy_timeout applies, so concurrent submissions (and CLI commands
    such as an import) queue for each other instead of failing. GET requests only read,
    and WAL readers never wait for writers, so they begin deferred.
    """
    read_only = has_request_context() and request.method in READ_ONLY_METHODS
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
