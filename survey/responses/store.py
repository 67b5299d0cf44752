"""Storing validated answers: one response row and its answer rows."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import DateTime, bindparam, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError

from ..database import request_connection, statements_without_transaction
from ..extensions import db
from ..models import CHOICE_KEY_SQL, POINT_KEY_SQL, Channel, Response, Survey, utcnow
from .rules import FieldRule, compile_rules

if TYPE_CHECKING:
    from ..respondent.snapshot import SurveyView


#: Core, not ORM, statements on the resident's hot path: no ORM bookkeeping for rows nobody reads back.
RESPONSES = Response.__table__

ANSWER_VALUE_COLUMNS = "response_id, survey_id, question_id, option_id, item_id, scale_point_id, text"


def insert_answers_from(rows_sql: str) -> str:
    """An INSERT of the answers a query gives, its columns named as ANSWER_VALUE_COLUMNS; the
    key columns are derived here, the one way every writer of answers derives them."""
    return (
        f"INSERT INTO answers ({ANSWER_VALUE_COLUMNS}, choice_key, point_key)"
        f" SELECT {ANSWER_VALUE_COLUMNS}, {CHOICE_KEY_SQL}, {POINT_KEY_SQL} FROM ({rows_sql}) AS given"
    )


#: Answer rows from a JSON array of [question_id, option_id, item_id, scale_point_id, text], by dialect.
_INSERT_ANSWERS = {
    "postgresql": sql_text(insert_answers_from(
        "SELECT CAST(:response_id AS bigint) AS response_id, CAST(:survey_id AS integer) AS survey_id,"
        " (a->>0)::int AS question_id, (a->>1)::int AS option_id, (a->>2)::int AS item_id,"
        " (a->>3)::int AS scale_point_id, a->>4 AS text FROM json_array_elements(CAST(:rows AS json)) AS a"
    )),
    "sqlite": sql_text(insert_answers_from(
        "SELECT :response_id AS response_id, :survey_id AS survey_id, json_extract(value, '$[0]') AS question_id,"
        " json_extract(value, '$[1]') AS option_id, json_extract(value, '$[2]') AS item_id,"
        " json_extract(value, '$[3]') AS scale_point_id, json_extract(value, '$[4]') AS text FROM json_each(:rows)"
    )),
}


def response_exists(survey: Survey, uid: str) -> bool:
    return db.session.scalar(select(Response.id).where(Response.survey_id == survey.id, Response.uid == uid)) is not None


def answer_rows(rules: Mapping[str, FieldRule], values: Mapping[str, list[str]]) -> list[tuple]:
    """(question id, option id, item id, scale point id, text) for each answer in ``values``, which passed ``rules``."""
    return [(rule.question_id, *row) for name, rule in rules.items() for row in rule.answer_rows(values.get(name, []))]


Written = TypeVar("Written")


def save_once(survey_id: int, uid: str, write: Callable[[], Written]) -> Written | None:
    """Run ``write`` (which inserts the response with submission id ``uid``), commit, and return what it returned.

    None when another request stored the same submission id first (a double click, a replayed
    form): the unique (survey, uid) key keeps one response, and nothing of this one is kept.
    """
    try:
        written = write()
        db.session.commit()
        return written
    except IntegrityError:
        db.session.rollback()
        stored = select(Response.id).where(Response.survey_id == survey_id, Response.uid == uid)
        if db.session.scalar(stored) is None:
            raise  # some other constraint: a real error
        return None


def insert_response(
    survey: Survey,
    values: Mapping[str, list[str]],
    *,
    rules: Mapping[str, FieldRule] | None = None,
    uid: str,
    language: str,
    channel: str = Channel.ONLINE.value,
) -> int:
    """Insert a response with one answer row per chosen option, matrix cell or text, in the session's
    transaction (the caller commits); its id.

    ``values`` must already have passed the rules; the database's composite keys back them up.
    Pass the ``rules`` the values were checked with to avoid compiling them again. Two statements
    rather than ORM objects, the answers sent as one JSON document (one statement per answer row
    was most of the database's work). Paper entry stores with it; residents' submissions go
    through :func:`store_submission`.
    """
    connection = db.session.connection()
    # inserted_primary_key: RETURNING on PostgreSQL, lastrowid on SQLite (RETURNING there needs SQLite 3.35).
    response_id = connection.execute(
        insert(RESPONSES).values(survey_id=survey.id, uid=uid, language=language, channel=channel)
    ).inserted_primary_key[0]
    rows = answer_rows(rules if rules is not None else compile_rules(survey), values)
    if rows:
        statement = _INSERT_ANSWERS[connection.dialect.name]
        document = json.dumps(rows, ensure_ascii=False)  # text as itself: a \uXXXX escape fails on a non-UTF8 database
        connection.execute(statement, {"response_id": response_id, "survey_id": survey.id, "rows": document})
    return response_id


class Submission(enum.Enum):
    """What became of a resident's submission."""

    STORED = "stored"
    #: The same submission id was stored first (a double click, a replayed form): nothing more is kept.
    ALREADY_STORED = "already stored"
    #: The survey changed since the answers were checked against it: nothing is kept; check them again.
    SURVEY_CHANGED = "survey changed"


_SUBMIT_POSTGRESQL = sql_text(
    """
    WITH current_survey AS (
        SELECT id FROM surveys WHERE id = :survey_id AND revision = :revision
    ), response AS (
        INSERT INTO responses (survey_id, uid, language, channel, submitted_at)
        SELECT id, :uid, :language, :channel, :submitted_at FROM current_survey
        ON CONFLICT (survey_id, uid) DO NOTHING
        RETURNING id
    ), answer_rows AS (
        """ + insert_answers_from(
            "SELECT response.id AS response_id, CAST(:survey_id AS integer) AS survey_id, (a->>0)::int AS question_id,"
            " (a->>1)::int AS option_id, (a->>2)::int AS item_id, (a->>3)::int AS scale_point_id, a->>4 AS text"
            " FROM response CROSS JOIN json_array_elements(CAST(:rows AS json)) AS a"
        ) + """
    )
    SELECT EXISTS (SELECT FROM current_survey) AS survey_current, (SELECT id FROM response) AS response_id
    """
).bindparams(bindparam("submitted_at", type_=DateTime(timezone=True)))

#: SQLite has no INSERT inside WITH: the response row first (if the survey is unchanged), then its answers.
_INSERT_RESPONSE_IF_CURRENT_SQLITE = sql_text(
    "INSERT INTO responses (survey_id, uid, language, channel, submitted_at)"
    " SELECT id, :uid, :language, :channel, :submitted_at FROM surveys WHERE id = :survey_id AND revision = :revision"
    " ON CONFLICT (survey_id, uid) DO NOTHING"
).bindparams(bindparam("submitted_at", type_=DateTime(timezone=True)))  # stored as the ORM stores it


def store_submission(survey: SurveyView, rows: Sequence[Sequence], *, uid: str, language: str) -> Submission:
    """Store a resident's checked answers, committed, if the survey is still at the revision they were checked with.

    ``rows``: (question id, option id, item id, scale point id, text) for each answer. The
    resident's hot path: on PostgreSQL one statement outside any transaction (so no BEGIN and
    COMMIT round trips; a statement is atomic by itself), on SQLite two in one write transaction.
    The survey's revision is checked by the insert itself, so a page may have used a snapshot
    that was a moment old (``SURVEY_RECHECK_SECONDS``) without storing answers to a changed survey.
    """
    params = {
        "survey_id": survey.id,
        "revision": survey.revision,
        "uid": uid,
        "language": language,
        "channel": Channel.ONLINE.value,
        "submitted_at": utcnow(),
        "rows": json.dumps(rows, ensure_ascii=False),  # text as itself: a \uXXXX escape fails on a non-UTF8 database
    }
    if db.session.get_bind().dialect.name == "postgresql":
        statements_without_transaction()
        try:
            outcome = request_connection().execute(_SUBMIT_POSTGRESQL, params).one()
        except IntegrityError:  # an edit removed a question or option between the check and the insert
            db.session.rollback()
            return Submission.SURVEY_CHANGED
        db.session.commit()  # nothing to send when the statement ran on its own; else ends the reads before it
        if outcome.response_id is not None:
            return Submission.STORED
        return Submission.ALREADY_STORED if outcome.survey_current else Submission.SURVEY_CHANGED

    connection = db.session.connection()
    inserted = connection.execute(_INSERT_RESPONSE_IF_CURRENT_SQLITE, params)
    if inserted.rowcount == 1:
        if rows:
            answers = {"response_id": inserted.lastrowid, "survey_id": survey.id, "rows": params["rows"]}
            connection.execute(_INSERT_ANSWERS["sqlite"], answers)
        db.session.commit()
        return Submission.STORED
    revision = connection.execute(select(Survey.__table__.c.revision).where(Survey.__table__.c.id == survey.id)).scalar()
    db.session.rollback()
    return Submission.ALREADY_STORED if revision == survey.revision else Submission.SURVEY_CHANGED
