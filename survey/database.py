"""Per-connection database settings, and how transactions begin on SQLite."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy import Connection, event
from sqlalchemy.exc import InterfaceError, OperationalError

from .extensions import db


_KEYS_CHECKED_BY_WRITER = "safer_voices_keys_checked_by_writer"


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
    """Every transaction begins IMMEDIATE: it takes the write lock at BEGIN, where busy_timeout applies.

    A deferred transaction that reads and then writes must upgrade its lock; when another
    worker wrote in between, SQLite fails at once with "database is locked" instead of
    waiting. Immediate transactions queue for each other instead, and that holds for GET
    requests too, since some of them write (an audit record of a download). The price:
    requests on one SQLite file run their transactions one at a time. Pages that only read can
    opt out with :func:`statements_without_transaction`.
    """
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    if options.get(_KEYS_CHECKED_BY_WRITER):
        # Only outside a transaction does this take effect; _check_keys_again undoes it at check-in.
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.connection.info[_KEYS_CHECKED_BY_WRITER] = True
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _check_keys_again(dbapi_connection, record) -> None:
    if record.info.pop(_KEYS_CHECKED_BY_WRITER, False) and dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")


def begin_bulk_load() -> None:
    """Begin the session's transaction for a bulk load whose writer vouches for its keys.

    For a writer that only stores ids it read in this same transaction, under SQLite's write lock
    (the CSV import: its survey's own questions and options, responses it numbered itself): on
    SQLite its rows are not checked against their foreign keys one by one, which is a fifth of a
    large import's time (the rows are not re-verified later). Key checks are switched back on when
    the connection goes back to the pool. On PostgreSQL the writer may do the same where the
    role is allowed to (see ``csv_import``). Call before the session has begun a transaction.
    """
    session = db.session()
    if session.in_transaction():
        raise RuntimeError("begin_bulk_load() must begin the session's transaction")
    session.connection(execution_options={_KEYS_CHECKED_BY_WRITER: True})


def in_bulk_load(connection: Connection) -> bool:
    """Whether this connection's transaction was begun by :func:`begin_bulk_load`."""
    return bool(connection.get_execution_options().get(_KEYS_CHECKED_BY_WRITER))


def statements_without_transaction() -> None:
    """Run this request's statements without a transaction: for pages that only read, and for a
    write that is one statement (atomic by itself, as a resident's submission on PostgreSQL).

    Each statement then stands alone: no BEGIN and ROLLBACK round trips around them, no write
    lock taken on SQLite, and PostgreSQL's driver keeps its prepared statements (it drops them at
    every rollback). Applies to statements run on :func:`request_connection`, from when the
    request first needs the database (a page served from memory takes no connection at all); a
    request that has already begun a transaction keeps it.
    """
    g.statements_without_transaction = True


def request_connection() -> Connection:
    """The connection of the request's session, without a transaction if the request asked for that."""
    if g.get("statements_without_transaction") and not db.session().in_transaction():
        return db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return db.session.connection()


def _end_session(_error) -> None:
    """End the request's session. If the database went away after the response was made, the
    closing ROLLBACK fails: drop the broken connection instead of turning a page already rendered
    into a 500 (nothing uncommitted is lost: it was never committed)."""
    try:
        db.session.remove()
    except (OperationalError, InterfaceError):
        db.session.registry().invalidate()
        db.session.registry.clear()


def init_app(app: Flask) -> None:
    # Runs before Flask-SQLAlchemy's own teardown (teardowns run last-registered first).
    app.teardown_appcontext(_end_session)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            event.listen(engine, "checkin", _check_keys_again)
