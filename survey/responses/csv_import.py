"""Streaming CSV import in the shared answer encoding: all rows or none.

Rows are checked with the same compiled rules as the web form and written in
batches inside one transaction; the first problem stops the writing (checking
goes on, so the report lists every problem) and the transaction is rolled back.
Memory stays flat: one batch at a time, and duplicate response ids are found
in the database rather than in a set that grows with the file.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import BinaryIO

from sqlalchemy import bindparam, func, select, text

from ..extensions import db
from ..models import Channel, Response, Survey
from .encoding import CELL_SEPARATOR, CSV_MULTI_SEPARATOR
from .rules import FieldRule, compile_rules

META_COLUMNS = ("response_id", "submitted_at", "language", "channel")
MAX_REPORTED_PROBLEMS = 50
BATCH_SIZE = 5000
_KNOWN_CELLS_LIMIT = 50_000
_CHANNELS = frozenset(channel.value for channel in Channel)
_TRUE, _FALSE = {"1", "yes", "true", "y", "x"}, {"0", "no", "false", "n", ""}


@dataclass(frozen=True)
class ImportProblem:
    row: int  # the spreadsheet row: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportFailed(Exception):
    """Nothing was imported; ``problems`` holds the first 50 and ``total`` counts them all."""

    def __init__(self, problems: list[ImportProblem], total: int):
        super().__init__(f"{total} problem(s)")
        self.problems, self.total = problems, total


@dataclass
class ImportResult:
    added: int = 0
    already_there: int = 0  # rows whose response_id was imported before


@dataclass
class _Field:
    """One field of the answer encoding and the CSV columns that feed it."""

    rule: FieldRule
    value_columns: list[tuple[int, str]] = field(default_factory=list)  # (index, name): codes or labels
    flag_columns: list[tuple[int, str, str]] = field(default_factory=list)  # (index, name, option code): 0/1

    #: Raw cell → its answer rows, for fields fed by one code column: most cells repeat, so the
    #: rules run once per distinct value rather than once per row.
    known_cells: dict[str, tuple] | None = None

    def __post_init__(self) -> None:
        self.question = (self.rule.question_id,)

    @property
    def cacheable(self) -> bool:
        return not self.rule.is_text and not self.flag_columns and len(self.value_columns) == 1

    @property
    def column_name(self) -> str:
        names = [name for _, name in self.value_columns] + [name for _, name, _ in self.flag_columns]
        return names[0] if len(names) == 1 else self.rule.field_name


@dataclass(frozen=True)
class _Target:
    """The survey's few facts the row loop needs, read once rather than through the ORM per row."""

    id: int
    default_language: str
    languages: frozenset[str]


@dataclass
class _Problems:
    found: list[ImportProblem] = field(default_factory=list)
    total: int = 0

    def add(self, row: int, column: str, message: str) -> None:
        self.total += 1
        if len(self.found) < MAX_REPORTED_PROBLEMS:
            self.found.append(ImportProblem(row, column, message))


def import_responses(
    survey: Survey,
    stream: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import a CSV (UTF-8, with or without BOM) into ``survey``; raises ImportFailed on any problem.

    The caller commits on success (and rolls back on failure, which this also does).
    """
    problems = _Problems()
    writer = _BatchWriter(survey)
    result = ImportResult()
    rows = _read_rows(stream, problems)
    header = next(rows, None)
    if header is None:
        if not problems.total:
            problems.add(1, "", "the file is empty: it needs a header row naming the columns")
        _fail(problems)
    row_number, cells = header
    fields, meta = _map_header(survey, cells, problems)
    if problems.total:
        _fail(problems)

    target = _Target(survey.id, survey.default_language, frozenset(survey.languages))
    batch: list[tuple[int, dict, list]] = []
    for row_number, cells in rows:
        parsed = _parse_row(target, row_number, cells, fields, meta, len(header[1]), problems)
        if parsed is None or problems.total:
            continue
        batch.append((row_number, *parsed))
        if len(batch) >= batch_size:
            writer.write(batch, result, problems)
            batch = []
            if progress:
                progress(stream.tell())
    if batch and not problems.total:
        writer.write(batch, result, problems)
    if problems.total:
        _fail(problems)
    if progress:
        progress(stream.tell())
    return result


def _fail(problems: _Problems) -> None:
    db.session.rollback()
    raise ImportFailed(problems.found, problems.total)


def _decoded_lines(stream: BinaryIO, problems: _Problems) -> Iterator[str]:
    """Lines decoded one at a time, so a byte that is not UTF-8 is reported on its own line."""
    for line_number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.add(line_number, "", f"line {line_number} is not UTF-8 text (byte {error.start + 1} of the line); save the file as CSV UTF-8")
            return
        yield line.removeprefix("\ufeff") if line_number == 1 else line


def _read_rows(stream: BinaryIO, problems: _Problems) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) per record; encoding and quoting errors become problems and stop the read."""
    reader = csv.reader(_decoded_lines(stream, problems), strict=True)
    row_number = 0
    try:
        for cells in reader:
            row_number += 1
            if cells:
                yield row_number, cells
    except csv.Error as error:
        problems.add(row_number + 1, "", f"the CSV is malformed: {error} (check the quotes)")


def _map_header(survey: Survey, cells: list[str], problems: _Problems) -> tuple[list[_Field], dict[str, int]]:
    rules = compile_rules(survey)
    fields: dict[str, _Field] = {}
    meta: dict[str, int] = {}
    seen: set[str] = set()
    for index, raw_name in enumerate(cells):
        name = raw_name.strip()
        if name in seen:
            problems.add(1, name, "this column appears more than once")
            continue
        seen.add(name)
        question_code, _, option_code = name.partition(CELL_SEPARATOR)
        if name in META_COLUMNS:
            meta[name] = index
        elif name in rules:
            fields.setdefault(name, _Field(rules[name])).value_columns.append((index, name))
        elif option_code and question_code in rules and not rules[question_code].is_text:
            if option_code not in rules[question_code].codes:
                problems.add(1, name, f"'{option_code}' is not an option of question '{question_code}'")
                continue
            fields.setdefault(question_code, _Field(rules[question_code])).flag_columns.append((index, name, option_code))
        else:
            expected = "a question code, question/item, question/option or one of " + ", ".join(META_COLUMNS)
            problems.add(1, name, f"not a question of this survey (expected {expected})")
    for entry in fields.values():
        if entry.cacheable:
            entry.known_cells = {}
    return list(fields.values()), meta


def _parse_row(survey: _Target, row_number: int, cells: list[str], fields: list[_Field], meta: dict[str, int], width: int, problems: _Problems):
    """The row's response fields and answer rows, or None (problems recorded)."""
    if len(cells) != width:
        problems.add(row_number, "", f"has {len(cells)} cells but the header has {width}")
        return None
    before = problems.total
    answers = []
    language = survey.default_language
    for entry in fields:
        known = entry.known_cells
        if known is not None:
            cell = cells[entry.value_columns[0][0]]
            rows = known.get(cell)
            if rows is not None:
                answers.extend(rows)
                continue
        found, evaluated = entry.rule.evaluate(_values(entry, cells, row_number, problems), language)
        for message in found:
            problems.add(row_number, entry.column_name, message)
        rows = tuple(entry.question + row for row in evaluated)
        if known is not None and not found and len(known) < _KNOWN_CELLS_LIMIT:
            known[cell] = rows
        answers.extend(rows)
    response = _parse_meta(survey, row_number, cells, meta, problems)
    if problems.total != before or response is None:
        return None
    return response, answers


def _values(entry: _Field, cells: list[str], row_number: int, problems: _Problems) -> list[str]:
    """The field's values in the answer encoding, labels turned into codes."""
    rule = entry.rule
    if not entry.flag_columns and len(entry.value_columns) == 1:
        cell = cells[entry.value_columns[0][0]]
        if rule.is_text:
            return [_undo_formula_guard(cell)]
        if CSV_MULTI_SEPARATOR not in cell:
            return [rule.code_for(cell.strip())] if cell else []
    values: list[str] = []
    for index, _name in entry.value_columns:
        cell = cells[index]
        if rule.is_text:
            values.append(_undo_formula_guard(cell))
        elif CSV_MULTI_SEPARATOR in cell:
            values.extend(rule.code_for(part.strip()) for part in cell.split(CSV_MULTI_SEPARATOR))
        elif cell:
            values.append(rule.code_for(cell.strip()))
    for index, name, option_code in entry.flag_columns:
        flag = cells[index].strip().casefold()
        if flag in _TRUE:
            values.append(option_code)
        elif flag not in _FALSE:
            problems.add(row_number, name, f"'{cells[index]}' should be 1 (chosen) or 0 (not chosen)")
    return values


def _undo_formula_guard(cell: str) -> str:
    """Exports prefix risky text with an apostrophe; importing the export gives the text back."""
    if cell.startswith("'") and cell[1:2] and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def _parse_meta(survey: _Target, row_number: int, cells: list[str], meta: dict[str, int], problems: _Problems) -> dict | None:
    def cell(name: str) -> str:
        return cells[meta[name]].strip() if name in meta else ""

    response = {
        "uid": _undo_formula_guard(cell("response_id")) or uuid.uuid4().hex,
        "language": cell("language") or survey.default_language,
        "channel": cell("channel") or Channel.ONLINE.value,
        "submitted_at": None,  # the time of the import
    }
    ok = True
    if len(response["uid"]) > 64:
        problems.add(row_number, "response_id", "is longer than 64 characters")
        ok = False
    if response["language"] not in survey.languages:
        problems.add(row_number, "language", f"'{response['language']}' is not one of the survey's languages ({', '.join(sorted(survey.languages))})")
        ok = False
    if response["channel"] not in _CHANNELS:
        problems.add(row_number, "channel", f"'{response['channel']}' is not one of online, paper, event, phone")
        ok = False
    if cell("submitted_at"):
        try:
            moment = datetime.fromisoformat(cell("submitted_at").replace("Z", "+00:00"))
        except ValueError:
            problems.add(row_number, "submitted_at", f"'{cell('submitted_at')}' is not a date and time like 2025-06-01T10:15:00Z")
            ok = False
        else:
            response["submitted_at"] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return response if ok else None


class _BatchWriter:
    """Writes batches of responses and answers with the driver's fastest path."""

    def __init__(self, survey: Survey):
        self.survey_id = survey.id
        self.connection = db.session.connection()
        self.dialect = self.connection.dialect.name
        if self.dialect == "sqlite":
            # Take SQLite's write lock now, so the highest id read next cannot be taken by another writer.
            self.connection.execute(text("UPDATE surveys SET status = status WHERE id = :id"), {"id": survey.id})
        self.started = datetime.now(timezone.utc)
        self.started_text = _sqlite_timestamp(self.started)
        self.first_new_id = (self.connection.scalar(select(func.coalesce(func.max(Response.id), 0))) or 0) + 1
        self.next_id = self.first_new_id

    def write(self, batch: list[tuple[int, dict, list]], result: ImportResult, problems: _Problems) -> None:
        existing = self._existing_ids([response["uid"] for _, response, _ in batch])
        in_batch: set[str] = set()
        new = []
        for row_number, response, rows in batch:
            uid = response["uid"]
            if uid in in_batch or existing.get(uid, 0) >= self.first_new_id:
                problems.add(row_number, "response_id", f"'{uid}' appears more than once in the file")
            elif uid in existing:
                result.already_there += 1
            else:
                in_batch.add(uid)
                new.append((response, rows))
        if problems.total:
            return
        responses, answers = [], []
        for response_id, (response, rows) in zip(self._allocate_ids(len(new)), new):
            responses.append(
                (response_id, self.survey_id, response["uid"], response["language"], response["channel"], response["submitted_at"])
            )
            owner = (response_id, self.survey_id)
            answers.extend([owner + row for row in rows])
        self._insert(responses, answers)
        result.added += len(responses)

    def _existing_ids(self, uids: list[str]) -> dict[str, int]:
        if self.dialect == "postgresql":
            # One array parameter, and no prepared statement: a generic plan made while the table
            # looked empty would scan every row this import has added so far.
            cursor = self.connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(
                    "SELECT uid, id FROM responses WHERE survey_id = %s AND uid = ANY(%s)", (self.survey_id, uids), prepare=False
                )
                return dict(cursor.fetchall())
            finally:
                cursor.close()
        query = select(Response.uid, Response.id).where(
            Response.survey_id == self.survey_id, Response.uid.in_(bindparam("uids", expanding=True))
        )
        found: dict[str, int] = {}
        for start in range(0, len(uids), 900):  # SQLite allows ~32k parameters; stay far below
            found.update(self.connection.execute(query, {"uids": uids[start : start + 900]}).all())
        return found

    def _allocate_ids(self, count: int) -> list[int]:
        if self.dialect == "postgresql":
            # The sequence hands out ids that concurrent web submissions will not also take.
            return list(
                self.connection.scalars(
                    text("SELECT nextval(pg_get_serial_sequence('responses', 'id')) FROM generate_series(1, :n)"), {"n": count}
                )
            )
        first, self.next_id = self.next_id, self.next_id + count
        return list(range(first, self.next_id))

    def _insert(self, responses: list[tuple], answers: list[tuple]) -> None:
        if not responses:
            return
        raw = self.connection.connection.dbapi_connection
        cursor = raw.cursor()
        try:
            if self.dialect == "postgresql":
                with cursor.copy("COPY responses (id, survey_id, uid, language, channel, submitted_at) FROM STDIN") as copy:
                    for record in responses:
                        copy.write_row((*record[:5], record[5] or self.started))
                with cursor.copy(
                    "COPY answers (response_id, survey_id, question_id, option_id, item_id, scale_point_id, text) FROM STDIN"
                ) as copy:
                    for record in answers:
                        copy.write_row(record)
            else:
                marks = ", ".join("?" * 6)
                cursor.executemany(
                    f"INSERT INTO responses (id, survey_id, uid, language, channel, submitted_at) VALUES ({marks})",
                    [(*r[:5], _sqlite_timestamp(r[5]) if r[5] else self.started_text) for r in responses],
                )
                cursor.executemany(
                    "INSERT INTO answers (response_id, survey_id, question_id, option_id, item_id, scale_point_id, text)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    answers,
                )
        finally:
            cursor.close()


def _sqlite_timestamp(moment: datetime) -> str:
    """The text form SQLAlchemy's DateTime reads back from SQLite (UTC, no offset)."""
    return moment.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")[:26]
