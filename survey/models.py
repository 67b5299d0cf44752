"""The survey data model: series, waves (surveys), their questions, and responses.

Survey *content* (titles, question texts, labels) is data held per language in
JSON columns of the form ``{"en": "...", "pl": "..."}``; a missing language
falls back to the survey's default language (see :func:`localized`).

Answers are normalised, one row per chosen option, matrix cell or text, and
composite foreign keys make the database itself refuse an answer whose option
belongs to another question or whose question belongs to another survey.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .extensions import db

#: Integer primary keys that stay 64-bit on PostgreSQL but remain SQLite's rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")

#: An answer's key columns as SQL over its other columns: what every writer of answers stores.
CHOICE_KEY_SQL = "coalesce(option_id, item_id, 0)"
POINT_KEY_SQL = "coalesce(scale_point_id, 0)"

CODE_LENGTH = 64
LocalizedText = dict[str, str]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_response_uid() -> str:
    return uuid.uuid4().hex


def new_revision() -> str:
    """A fresh mark of a survey's current content (see :func:`_mark_changed_surveys`); surveys that existed
    before migration 0003 share the mark ``initial`` until their first edit, which is harmless as the
    per-process caches key on (survey id, revision)."""
    return uuid.uuid4().hex


class InvalidTransition(Exception):
    """A survey was asked to move to a status it cannot reach from its current one."""


class SurveyStatus(str, enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionType(str, enum.Enum):
    SINGLE = "single"
    MULTI = "multi"
    MATRIX = "matrix"
    TEXT = "text"


class Channel(str, enum.Enum):
    ONLINE = "online"
    PAPER = "paper"
    EVENT = "event"
    PHONE = "phone"


def _in_list(column: str, enum_cls: type[enum.Enum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum_cls)
    return f"{column} IN ({values})"


def localized(texts: LocalizedText | None, language: str, default_language: str) -> str:
    """The text in ``language``, else in the default language, else any; never None."""
    if not texts:
        return ""
    return texts.get(language) or texts.get(default_language) or next(iter(texts.values()), "")


def wave_order(label: str) -> tuple:
    """Sort key of a wave label, its numbers by value: "Wave 9" comes before "Wave 10", "2021" before "2023"."""
    # isdecimal, not isdigit: "²" is a digit to isdigit but not a number int() reads (nor one \d finds).
    return tuple((0, int(part), "") if part.isdecimal() else (1, 0, part.casefold()) for part in re.findall(r"\d+|\D+", label))


class SurveySeries(db.Model):
    """A survey run again and again (e.g. ``community-safety``); its surveys are the waves."""

    __tablename__ = "survey_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    surveys: Mapped[list[Survey]] = relationship(back_populates="series", order_by="Survey.wave")


class Survey(db.Model):
    """One wave of a series, e.g. the 2025 community-safety survey."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("series_id", "wave"),
        CheckConstraint(_in_list("status", SurveyStatus), name="status"),
        CheckConstraint("closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at", name="dates"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False, unique=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("survey_series.id", ondelete="RESTRICT"), nullable=False)
    wave: Mapped[str] = mapped_column(String(32), nullable=False)  # label shown in reports, e.g. "2023"
    title: Mapped[LocalizedText] = mapped_column(JSON, nullable=False)
    intro: Mapped[LocalizedText] = mapped_column(JSON, nullable=False, default=dict)
    default_language: Mapped[str] = mapped_column(String(16), nullable=False)
    languages: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # offered to residents, default first
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=SurveyStatus.DRAFT.value)
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # optional schedule
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Data protection: responses older than these many days are purged (None: kept until purged by hand).
    retention_days: Mapped[int | None] = mapped_column(Integer)
    text_retention_days: Mapped[int | None] = mapped_column(Integer)  # free text may go sooner
    privacy_notice: Mapped[LocalizedText] = mapped_column(JSON, nullable=False, default=dict, server_default="{}")
    #: Changes whenever the survey, a question, option, matrix item or scale point of it changes, so each
    #: process can keep the questionnaire it serves to residents and know when it is out of date.
    revision: Mapped[str] = mapped_column(String(32), nullable=False, default=new_revision, server_default="initial")

    series: Mapped[SurveySeries] = relationship(back_populates="surveys")
    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan"
    )

    def text(self, texts: LocalizedText | None, language: str) -> str:
        return localized(texts, language, self.default_language)

    def is_accepting(self, now: datetime | None = None) -> bool:
        """Whether residents may answer right now: open, and inside any schedule."""
        if self.status != SurveyStatus.OPEN.value:
            return False
        now = now or utcnow()
        if self.opens_at and now < as_utc(self.opens_at):
            return False
        if self.closes_at and now >= as_utc(self.closes_at):
            return False
        return True

    def has_ended(self, now: datetime | None = None) -> bool:
        """Closed, or past its closing date: residents are told it has closed rather than not opened."""
        if self.status == SurveyStatus.CLOSED.value:
            return True
        return bool(self.closes_at and (now or utcnow()) >= as_utc(self.closes_at))

    def open(self) -> None:
        if self.status == SurveyStatus.OPEN.value:
            raise InvalidTransition(f"survey {self.slug} is already open")
        if not self.questions:
            raise InvalidTransition(f"survey {self.slug} has no questions")
        self.status = SurveyStatus.OPEN.value

    def close(self) -> None:
        if self.status != SurveyStatus.OPEN.value:
            raise InvalidTransition(f"survey {self.slug} is {self.status}, not open")
        self.status = SurveyStatus.CLOSED.value

    def response_count(self) -> int:
        return db.session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == self.id)) or 0


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z ("2025-06-01T10:15:00Z"), for files that leave the app: PostgreSQL
    hands back its session's time zone, SQLite none."""
    return as_utc(moment).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "code"),
        UniqueConstraint("survey_id", "id"),  # target of the answers' composite key
        CheckConstraint(_in_list("type", QuestionType), name="type"),
        CheckConstraint("max_choices IS NULL OR (type = 'multi' AND max_choices >= 1)", name="max_choices"),
        CheckConstraint("max_length IS NULL OR (type = 'text' AND max_length >= 1)", name="max_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)  # stable across waves
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # special category data
    max_choices: Mapped[int | None] = mapped_column(Integer)  # multi only; None means no limit
    max_length: Mapped[int | None] = mapped_column(Integer)  # text only
    text: Mapped[LocalizedText] = mapped_column(JSON, nullable=False)
    hint: Mapped[LocalizedText] = mapped_column(JSON, nullable=False, default=dict)

    survey: Mapped[Survey] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(order_by="Option.position", cascade="all, delete-orphan")
    items: Mapped[list[MatrixItem]] = relationship(order_by="MatrixItem.position", cascade="all, delete-orphan")
    scale: Mapped[list[ScalePoint]] = relationship(order_by="ScalePoint.position", cascade="all, delete-orphan")


class _Choice:
    """Columns shared by options, matrix items and scale points."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[LocalizedText] = mapped_column(JSON, nullable=False)


class Option(_Choice, db.Model):
    __tablename__ = "options"
    __table_args__ = (UniqueConstraint("question_id", "code"), UniqueConstraint("question_id", "id"))

    exclusive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # e.g. "Don't know"
    # Codes this option had in earlier waves (renamed or merged): the same concept in comparisons.
    same_as: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list, server_default="[]")


class MatrixItem(_Choice, db.Model):
    __tablename__ = "matrix_items"
    __table_args__ = (UniqueConstraint("question_id", "code"), UniqueConstraint("question_id", "id"))

    # Codes this item had in earlier waves (renamed or merged): the same concept in comparisons.
    same_as: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list, server_default="[]")


class ScalePoint(_Choice, db.Model):
    __tablename__ = "scale_points"
    __table_args__ = (UniqueConstraint("question_id", "code"), UniqueConstraint("question_id", "id"))

    top_box: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # counts as "concerned"


class Response(db.Model):
    """One submitted questionnaire. Holds no IP address, user agent or other identifier."""

    __tablename__ = "responses"
    __table_args__ = (
        # A replayed form or re-imported row is counted once. uid first: an index that starts with
        # survey_id would tempt PostgreSQL to check answers' foreign key on it (migration 0004).
        UniqueConstraint("uid", "survey_id", name="uq_responses_survey_id_uid"),
        UniqueConstraint("survey_id", "id"),
        CheckConstraint(_in_list("channel", Channel), name="channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    # Random id: the form's submission token online, or the response_id column of an import.
    uid: Mapped[str] = mapped_column(String(64), nullable=False, default=new_response_uid)
    language: Mapped[str] = mapped_column(String(16), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False, default=Channel.ONLINE.value)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


def _default_choice_key(context) -> int:
    given = context.get_current_parameters()
    return given.get("option_id") or given.get("item_id") or 0


def _default_point_key(context) -> int:
    return context.get_current_parameters().get("scale_point_id") or 0


class Answer(db.Model):
    """One chosen option, one matrix cell (item + scale point), or one free text.

    Stored in counting order: the primary key (question, choice, scale point, respondent) is what
    the analysis groups by, so the counts come from one range of the key, without a sort. On
    SQLite the table *is* that key (WITHOUT ROWID): an answer is written into one tree and one
    index instead of a table and two indexes: imports a fifth faster, a database a third smaller.
    ``choice_key`` and ``point_key`` repeat the option or item id and the scale point id, with 0
    for none (a key column cannot be NULL); a CHECK keeps them equal to the columns the foreign
    keys guard. Long free texts overflow SQLite's pages, but they sit in their own question's
    range of the key, away from the counting.
    """

    __tablename__ = "answers"
    __table_args__ = (
        ForeignKeyConstraint(["survey_id", "response_id"], ["responses.survey_id", "responses.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["survey_id", "question_id"], ["questions.survey_id", "questions.id"]),
        ForeignKeyConstraint(["question_id", "option_id"], ["options.question_id", "options.id"]),
        ForeignKeyConstraint(["question_id", "item_id"], ["matrix_items.question_id", "matrix_items.id"]),
        ForeignKeyConstraint(["question_id", "scale_point_id"], ["scale_points.question_id", "scale_points.id"]),
        CheckConstraint(
            "(option_id IS NOT NULL AND item_id IS NULL AND scale_point_id IS NULL AND text IS NULL)"
            " OR (option_id IS NULL AND item_id IS NOT NULL AND scale_point_id IS NOT NULL AND text IS NULL)"
            " OR (option_id IS NULL AND item_id IS NULL AND scale_point_id IS NULL AND text IS NOT NULL)",
            name="one_kind",
        ),
        CheckConstraint(f"choice_key = {CHOICE_KEY_SQL} AND point_key = {POINT_KEY_SQL}", name="keys_match"),
        # One row per option, matrix item or text within a response's question; and each
        # response's answers found by their response (its foreign key, a deletion, a breakdown).
        Index("uq_answers_one_per_choice", "response_id", "question_id", "choice_key", unique=True),
        {"sqlite_with_rowid": False},
    )

    question_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # option_id or item_id, 0 for a text; the writers' SQL derives it, an ORM insert by these defaults.
    choice_key: Mapped[int] = mapped_column(Integer, primary_key=True, default=_default_choice_key)
    point_key: Mapped[int] = mapped_column(Integer, primary_key=True, default=_default_point_key)  # scale_point_id, or 0
    response_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(Integer, nullable=False)  # denormalised for the composite keys
    option_id: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(Integer)
    scale_point_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)


@event.listens_for(Session, "before_flush")
def _mark_changed_surveys(session: Session, _context, _instances) -> None:
    """Give every survey whose content this flush adds, changes or deletes a new ``revision``.

    A new option, item or scale point marks its question as changed (its collection changed),
    and a changed question marks its survey, so every edit of a questionnaire reaches its survey.
    """
    changed: set[Survey] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, _Choice):
            instance = session.get(Question, instance.question_id) if instance.question_id is not None else None
        if isinstance(instance, Question):
            instance = instance.survey or (session.get(Survey, instance.survey_id) if instance.survey_id else None)
        if isinstance(instance, Survey):
            changed.add(instance)
    for survey in changed:
        if survey not in session.deleted:
            survey.revision = new_revision()


class Role(str, enum.Enum):
    """What a staff account may do; see survey/staff/access.py for the permissions of each."""

    ADMIN = "admin"
    EDITOR = "editor"
    ANALYST = "analyst"


class User(UserMixin, db.Model):
    """A staff account. Residents never have one: answering is anonymous."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in_list("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)  # argon2id
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    # May see raw free text and answers to sensitive questions, in pages and exports.
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated accounts
        return self.active


class AuditEvent(db.Model):
    """Who did what to which thing, and when. Rows are only ever added."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    # The actor's e-mail is copied so the record survives the account; None means the command line.
    user_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32), nullable=False)  # e.g. "survey.publish"
    target: Mapped[str] = mapped_column(String(255), nullable=False)  # e.g. "survey cs-2025"
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)


class TranslationConfirmation(db.Model):
    """A translation confirmed against one version of its default-language source text.

    A translation is *stale* when the source text it was confirmed against (its hash)
    is no longer the current one; confirming it again records the new hash.
    """

    __tablename__ = "translation_confirmations"
    __table_args__ = (UniqueConstraint("survey_id", "text_key", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    text_key: Mapped[str] = mapped_column(String(255), nullable=False)  # e.g. "q/priorities/option/asb"
    language: Mapped[str] = mapped_column(String(16), nullable=False)
    source_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class SavedResult(db.Model):
    """A comparison table kept as published, e.g. after a closed wave's responses are purged."""

    __tablename__ = "saved_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("survey_series.id", ondelete="CASCADE"), nullable=False)
    question_code: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)  # analysis.comparison_to_dict output
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))
