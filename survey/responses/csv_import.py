"""Streaming CSV import in the shared answer encoding: all rows or none.

Rows are checked with the same compiled rules as the web form and written in
batches inside one transaction; the first problem stops the writing (checking
goes on, so the report lists every problem) and the transaction is rolled back.
Memory stays flat: a few batches at a time, and duplicate response ids are
found in the database rather than in a set that grows with the file.

For speed (a million rows of fifteen answers each), a reading thread checks
rows while the database stores the previous batch, which the driver does
without holding the GIL; and each batch goes to the database as one JSON
document that the database expands itself, so Python builds no value per
answer. A row of that document is
``[uid, language, channel, submitted_at, [kind, kind, [kind, "text"], …]]``,
where a *kind* numbers one (question, option, item, scale point) of the
survey in a small temporary table. Most cells repeat, so the rules run once
per distinct cell and the cell's JSON is reused.
"""

from __future__ import annotations

import contextvars
import csv
import heapq
import json
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from json.encoder import encode_basestring as _json_string
from operator import itemgetter
from typing import BinaryIO

from sqlalchemy import func, select, text

from analysis.spreadsheet import FORMULA_PREFIXES

from ..database import in_bulk_load
from ..definitions.schema import EARLIEST_DATE, RESPONSE_FILE_COLUMNS
from ..extensions import db
from ..i18n import _, _l
from ..models import Channel, Response, Survey
from .encoding import CELL_SEPARATOR, CSV_MULTI_SEPARATOR
from .rules import AnswerRow, FieldRule, compile_rules, fold_label
from .store import insert_answers_from

META_COLUMNS = RESPONSE_FILE_COLUMNS
MAX_REPORTED_PROBLEMS = 50
BATCH_SIZE = 5000
_QUEUED_BATCHES = 2  # checked batches waiting for the database
_BATCH_CHARACTERS = 16_000_000  # a batch of long texts ends sooner: memory, and SQLite's limit on one value
_KNOWN_CELLS_LIMIT = 50_000
_CHANNELS = frozenset(channel.value for channel in Channel)
#: Submission times after now (give or take a day) or before EARLIEST_DATE are typing mistakes, and
#: would upset retention: a response dated 2099 would be kept for decades, one dated 1025 purged at once.
_CLOCK_SLACK = timedelta(days=1)
_TRUE, _FALSE = {"1", "yes", "true", "y", "x"}, {"0", "no", "false", "n", ""}
_KINDS = "import_answer_kinds"  # a temporary table: one connection's, gone at the end of the import
_KNOWN = "import_known_ids"  # a temporary table of the response ids this import found already stored
_SKIP_KNOWN_IDS = "ON CONFLICT (survey_id, uid) DO NOTHING"  # a row whose response id is known is left out
_IMPORT_LOCKS = 0x53560001  # PostgreSQL advisory locks of imports: (this number, survey id)


@dataclass(frozen=True)
class ImportProblem:
    row: int  # the spreadsheet row: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("row %(row)d, column %(column)s: %(message)s", row=self.row, column=self.column, message=self.message)
        return _("row %(row)d: %(message)s", row=self.row, message=self.message)


class ImportFailed(Exception):
    """Nothing was imported; ``problems`` holds the first 50 and ``total`` counts them all."""

    def __init__(self, problems: list[ImportProblem], total: int):
        super().__init__(f"{total} problem(s)")
        self.problems, self.total = problems, total


class ImportBusy(Exception):
    """Another import into the same survey is running (PostgreSQL); nothing was imported."""


@dataclass
class ImportResult:
    added: int = 0
    already_there: int = 0  # rows whose response_id was imported before
    without_id: int = 0  # rows added without a response_id: importing them again would add them again
    blank_rows: int = 0  # rows with nothing in any cell (a spreadsheet's empty lines), skipped


#: Labels holding a ';' are looked for in a multi cell up to this many parts long (no real label has more).
_LABEL_PARTS_SEARCHED = 6


@dataclass
class _Field:
    """One field of the answer encoding and the CSV columns that feed it."""

    rule: FieldRule
    value_columns: list[tuple[int, str]] = field(default_factory=list)  # (index, name): codes or labels
    flag_columns: list[tuple[int, str, str]] = field(default_factory=list)  # (index, name, option code): 0/1

    #: The field's cell (or cells) → its answers as JSON kinds, for cells already checked without a
    #: problem: most cells repeat, so the rules run once per distinct value rather than once per row.
    #: A text is remembered only when it is blank; other texts are too varied to be worth keeping.
    known_cells: dict = field(default_factory=dict)

    @cached_property
    def label_parts(self) -> int:
        """The most parts a label of this field splits into at ';' (1 when no label holds one), searched
        for up to _LABEL_PARTS_SEARCHED: a longer one is read whole only when it is the whole cell."""
        most = 1 + max((label.count(CSV_MULTI_SEPARATOR) for label in self.rule.code_by_label), default=0)
        return min(most, _LABEL_PARTS_SEARCHED)

    @cached_property
    def label_starts(self) -> frozenset[str]:
        """The first parts, folded, of the labels that hold a ';'."""
        return frozenset(label.split(CSV_MULTI_SEPARATOR)[0] for label in self.rule.code_by_label if CSV_MULTI_SEPARATOR in label)

    @property
    def single_column(self) -> bool:
        return not self.flag_columns and len(self.value_columns) == 1

    @property
    def column_name(self) -> str:
        names = [name for _, name in self.value_columns] + [name for _, name, _ in self.flag_columns]
        return names[0] if len(names) == 1 else self.rule.field_name

    def key(self, cells: list[str]) -> str | tuple[str, ...]:
        """What the field's answers depend on: its cell, or its cells."""
        if self.single_column:
            return cells[self.value_columns[0][0]]
        return tuple(cells[index] for index, _ in self.value_columns) + tuple(cells[index] for index, _, _ in self.flag_columns)

    def remember(self, key: str | tuple[str, ...], kinds: str) -> None:
        if (kinds == "" or not self.rule.is_text) and len(self.known_cells) < _KNOWN_CELLS_LIMIT:
            self.known_cells[key] = kinds


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

    def merged(self, other: _Problems) -> _Problems:
        """Both lists in row order, as found by one pass over the file."""
        found = list(heapq.merge(self.found, other.found, key=lambda problem: problem.row))
        return _Problems(found[:MAX_REPORTED_PROBLEMS], self.total + other.total)


#: A checked row, ready for the writer: (row number, response uid, the row as JSON).
_Row = tuple[int, str, str]


def import_responses(
    survey: Survey,
    stream: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    max_rows: int | None = None,
) -> ImportResult:
    """Import a CSV (UTF-8, with or without BOM) into ``survey``; raises ImportFailed on any problem,
    among them more than ``max_rows`` rows after the header (a web request must end in time).

    The caller commits on success (and rolls back on failure, which this also does).
    """
    problems = _Problems()
    result = ImportResult()
    writer = _BatchWriter(survey)
    rows = _read_rows(stream, problems, max_rows, result)
    header = next(rows, None)
    if header is None:
        if not problems.total:
            problems.add(1, "", _("the file is empty: it needs a header row naming the columns"))
        _fail(problems)
    fields, meta = _map_header(survey, header[1], problems)
    if problems.total:
        _fail(problems)

    target = _Target(survey.id, survey.default_language, frozenset(survey.languages))
    # The writer's problems (repeated response ids) are kept apart and merged by row at the end.
    written = _Problems()
    parser = _RowParser(target, fields, meta, len(header[1]), writer.define_kinds(fields), writer.timestamp_text)
    reader = _Reader(parser, stream, rows, problems, batch_size)
    try:
        for batch, position in reader.batches():
            if written.total:
                continue  # nothing more is written, but the reader goes on checking
            writer.write(batch, result, written)
            if written.total:
                reader.stop_batching()
            elif progress:
                progress(position)
    finally:
        reader.close()
    result.without_id = reader.without_id
    problems = problems.merged(written)
    if problems.total:
        _fail(problems)
    writer.finish()
    if progress:
        progress(stream.tell())
    return result


def _fail(problems: _Problems) -> None:
    db.session.rollback()
    raise ImportFailed(problems.found, problems.total)


class _Reader:
    """Reads, checks and batches the rows in a thread of its own, a few batches ahead of the writer.

    Checking is Python and holds the GIL; storing is mostly inside the database driver, which
    releases it, so the two overlap. This thread touches neither the session nor the ORM.
    """

    _DONE = object()

    def __init__(self, parser: _RowParser, stream: BinaryIO, rows: Iterator[tuple[int, list[str]]], problems: _Problems, batch_size: int):
        self.parser, self.stream, self.rows, self.problems, self.batch_size = parser, stream, rows, problems, batch_size
        self.queue: queue.Queue = queue.Queue(maxsize=_QUEUED_BATCHES)
        self.batching = True  # false once the writer has found a problem: nothing more will be written
        self.closed = False
        self.without_id = 0  # rows batched that have no response_id (one is made up for each)
        # Messages are translated in the app context, which the thread sees through a copy of ours.
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), name="csv-import-reader", daemon=True)
        self.thread.start()

    def batches(self) -> Iterator[tuple[list[_Row], int]]:
        """(rows, bytes read so far) per batch, until the file is read; the reader's error is raised here."""
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop_batching(self) -> None:
        self.batching = False

    def close(self) -> None:
        self.closed = True
        self.thread.join()

    def _put(self, item) -> bool:
        while not self.closed:
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def _run(self) -> None:
        try:
            self._read()
        except BaseException as error:  # noqa: BLE001 - handed to the writer's thread, which raises it
            self._put(error)
        else:
            self._put(self._DONE)

    def _read(self) -> None:
        problems, parse, size = self.problems, self.parser.parse, self.batch_size
        uid_index = self.parser.uid_index
        batch: list[_Row] = []
        characters = 0
        for row_number, cells in self.rows:
            if self.closed:
                return
            parsed = parse(row_number, cells, problems)
            if parsed is None or problems.total or not self.batching:
                continue
            batch.append(parsed)
            characters += len(parsed[2])
            if uid_index is None or not cells[uid_index].strip():
                self.without_id += 1
            if len(batch) >= size or characters >= _BATCH_CHARACTERS:
                if not self._put((batch, self.stream.tell())):
                    return
                batch, characters = [], 0
        if batch and not problems.total and self.batching:
            self._put((batch, self.stream.tell()))


class _NotUtf8(Exception):
    def __init__(self, line_number: int, byte: int):
        super().__init__(line_number, byte)
        self.line_number, self.byte = line_number, byte


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Lines decoded one at a time, so a byte that is not UTF-8 is found on its own line."""
    for line_number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _NotUtf8(line_number, error.start + 1) from None
        yield line.removeprefix("\ufeff") if line_number == 1 else line


#: What Python's csv module says, and what to tell someone holding the file.
_CSV_ERRORS = {
    "field larger than field limit": _l("a cell is longer than %(limit)s characters: a quote left open makes the rest of the file one cell (check the quotes)"),
    "new-line character seen in unquoted field": _l("a line break outside quotes, or lines ending in a carriage return alone: save the file as CSV UTF-8"),
}


def _read_rows(stream: BinaryIO, problems: _Problems, max_rows: int | None, result: ImportResult) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) per record; encoding and quoting errors become problems and stop the read.

    Rows are records, as in every other problem: a quoted cell may span lines, so an encoding
    problem gives the line of the file as well. Rows with nothing in any cell (a spreadsheet
    saves its empty lines as ",,,") are skipped: they are not responses. Those after the header
    are counted in ``result``; they do not count towards ``max_rows``.
    """
    reader = csv.reader(_decoded_lines(stream), strict=True)
    row_number = data_rows = 0
    header_read = False
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                result.blank_rows += header_read
                continue
            if header_read:
                data_rows += 1
                if max_rows is not None and data_rows > max_rows:
                    problems.add(row_number, "", _("the file has more than %(count)s rows: import it with flask responses import",
                                                   count=f"{max_rows:,}"))
                    return
            header_read = True
            yield row_number, cells
    except _NotUtf8 as error:
        problems.add(row_number + 1, "", _("not UTF-8 text (line %(line)d of the file, byte %(byte)d of the line); save the file as CSV UTF-8",
                                           line=error.line_number, byte=error.byte))
    except csv.Error as error:
        known = next((message for start, message in _CSV_ERRORS.items() if str(error).startswith(start)), None)
        message = str(known) % {"limit": f"{csv.field_size_limit():,}"} if known else _("the CSV is malformed: %(error)s (check the quotes)", error=str(error))
        problems.add(row_number + 1, "", message)


def _map_header(survey: Survey, cells: list[str], problems: _Problems) -> tuple[list[_Field], dict[str, int]]:
    rules = compile_rules(survey)
    fields: dict[str, _Field] = {}
    meta: dict[str, int] = {}
    seen: set[str] = set()
    for index, raw_name in enumerate(cells):
        name = raw_name.strip()
        if not name:
            problems.add(1, str(index + 1), _("has no name (an empty header cell, or a comma at the end of the header)"))
            continue
        if name in seen:
            problems.add(1, name, _("this column appears more than once"))
            continue
        seen.add(name)
        question_code, _separator, option_code = name.partition(CELL_SEPARATOR)
        if name in META_COLUMNS:
            meta[name] = index
        elif name in rules:
            fields.setdefault(name, _Field(rules[name])).value_columns.append((index, name))
        elif option_code and question_code in rules and not rules[question_code].is_text:
            if option_code not in rules[question_code].codes:
                problems.add(1, name, _("'%(option)s' is not an option of question '%(question)s'", option=option_code, question=question_code))
                continue
            fields.setdefault(question_code, _Field(rules[question_code])).flag_columns.append((index, name, option_code))
        else:
            problems.add(1, name, _("not a question of this survey (expected a question code, question/item, question/option or one of %(columns)s)",
                                    columns=", ".join(META_COLUMNS)))
    for name, rule in rules.items():
        # The rule every answer meets, wherever it comes from: without the column, every row would miss it.
        if rule.required and name not in fields:  # (0/1 columns are filed under the question's own name)
            problems.add(1, name, _("a required question has no column: every row must answer it"))
    for code, entry in fields.items():
        if entry.value_columns and entry.flag_columns:  # they could disagree: which one would be the answer?
            flags = ", ".join(name for _, name, _ in entry.flag_columns)
            problems.add(1, flags, _("question '%(question)s' also has a column of its own: give its answers either there or as 0/1 columns per option, not both",
                                     question=code))
    return list(fields.values()), meta


class _RowParser:
    """Turns a row into the writer's JSON, or reports its problems by row and column.

    ``parse`` first tries the fast way (cells seen before, all well-formed); a row it cannot
    take that way is checked again cell by cell in column order, reporting what is wrong.
    """

    def __init__(self, survey: _Target, fields: list[_Field], meta: dict[str, int], width: int,
                 kinds: dict[tuple, int], timestamp_text: Callable[[datetime], str]):
        self.survey, self.fields, self.width, self.kinds, self.timestamp_text = survey, fields, width, kinds, timestamp_text
        self.uid_index, self.language_index = meta.get("response_id"), meta.get("language")
        self.channel_index, self.submitted_index = meta.get("channel"), meta.get("submitted_at")
        # In kind order (see _BatchWriter.define_kinds): question, then item.
        single = sorted((entry for entry in fields if entry.single_column), key=lambda entry: (entry.rule.question_id, entry.rule.item_id or 0))
        self.single_known = [entry.known_cells for entry in single]
        indexes = [entry.value_columns[0][0] for entry in single]
        self.single_cells: Callable[[list[str]], tuple[str, ...]] = (
            itemgetter(*indexes) if len(indexes) > 1 else (lambda cells: tuple(cells[index] for index in indexes))
        )
        self.single = single
        self.others = [entry for entry in fields if not entry.single_column]
        self.language_channel: dict[tuple[str, str], str] = {}  # valid pairs only, as JSON
        # "EN" or "Paper" as other tools write them: language codes and channels are read in any case.
        self.language_codes = {code.casefold(): code for code in survey.languages}
        self.latest_submission = datetime.now(timezone.utc) + _CLOCK_SLACK

    def parse(self, row_number: int, cells: list[str], problems: _Problems) -> _Row | None:
        if len(cells) == self.width:
            answers = list(map(dict.get, self.single_known, self.single_cells(cells)))
            if None in answers or self.others:
                answers = self._complete(answers, cells)
            if answers is not None:
                response = self._response(row_number, cells, None)
                if response is not None:
                    uid, head = response
                    return row_number, uid, f"[{head},[{','.join(filter(None, answers))}]]"
        return self._parse_reporting(row_number, cells, problems)

    def _complete(self, answers: list[str | None], cells: list[str]) -> list[str] | None:
        """Check the cells not seen before; None if one has a problem."""
        for position, kinds in enumerate(answers):
            if kinds is None:
                kinds = self._check_quietly(self.single[position], cells)
                if kinds is None:
                    return None
                answers[position] = kinds
        for entry in self.others:
            kinds = entry.known_cells.get(entry.key(cells))
            if kinds is None:
                kinds = self._check_quietly(entry, cells)
                if kinds is None:
                    return None
            answers.append(kinds)
        return answers

    def _check_quietly(self, entry: _Field, cells: list[str]) -> str | None:
        scratch = _Problems()
        found, evaluated = entry.rule.evaluate(_values(entry, cells, 0, scratch), self.survey.default_language)
        if found or scratch.total:
            return None
        kinds = self._kinds(entry.rule, evaluated)
        entry.remember(entry.key(cells), kinds)
        return kinds

    def _parse_reporting(self, row_number: int, cells: list[str], problems: _Problems) -> _Row | None:
        """The row checked field by field in column order, every problem reported."""
        if len(cells) != self.width:
            problems.add(row_number, "", _("has %(cells)d cells but the header has %(width)d", cells=len(cells), width=self.width))
            return None
        before = problems.total
        answers = []
        for entry in self.fields:
            key = entry.key(cells)
            kinds = entry.known_cells.get(key)
            if kinds is None:
                field_before = problems.total
                found, evaluated = entry.rule.evaluate(_values(entry, cells, row_number, problems), self.survey.default_language)
                for message in found:
                    problems.add(row_number, entry.column_name, message)
                if problems.total != field_before:
                    continue
                kinds = self._kinds(entry.rule, evaluated)
                entry.remember(key, kinds)
            answers.append(kinds)
        response = self._response(row_number, cells, problems)
        if problems.total != before or response is None:
            return None
        uid, head = response
        return row_number, uid, f"[{head},[{','.join(filter(None, answers))}]]"

    def _kinds(self, rule: FieldRule, evaluated: list[AnswerRow]) -> str:
        """The answers as the writer's JSON: kind numbers, and [kind, "text"] for a text; in kind order."""
        answers = sorted((self.kinds[(rule.question_id, *row[:3])], row[3]) for row in evaluated)
        return ",".join(str(kind) if answer_text is None else f"[{kind},{_json_string(answer_text)}]" for kind, answer_text in answers)

    def _response(self, row_number: int, cells: list[str], problems: _Problems | None) -> tuple[str, str] | None:
        """(uid, the JSON of uid, language, channel and submission time), or None.

        With ``problems`` every problem is reported; without, the first one just returns None.
        """
        survey = self.survey
        uid = cells[self.uid_index].strip() if self.uid_index is not None else ""
        uid = _undo_formula_guard(uid) or uuid.uuid4().hex
        language = (cells[self.language_index].strip() if self.language_index is not None else "") or survey.default_language
        language = self.language_codes.get(language.casefold(), language)
        written_channel = cells[self.channel_index].strip() if self.channel_index is not None else ""
        channel = written_channel.casefold() or Channel.ONLINE.value
        submitted = cells[self.submitted_index].strip() if self.submitted_index is not None else ""
        ok = True
        if len(uid) > 64 or "\x00" in uid:  # PostgreSQL cannot store a NUL character in text
            if problems is None:
                return None
            reason = _("is longer than 64 characters") if len(uid) > 64 else _("contains a NUL character")
            problems.add(row_number, "response_id", reason)
            ok = False
        language_channel = self.language_channel.get((language, channel))
        if language_channel is None:
            if language not in survey.languages:
                if problems is None:
                    return None
                problems.add(row_number, "language", _("'%(language)s' is not one of the survey's languages (%(languages)s)",
                                                       language=language, languages=", ".join(sorted(survey.languages))))
                ok = False
            if channel not in _CHANNELS:
                if problems is None:
                    return None
                problems.add(row_number, "channel", _("'%(channel)s' is not one of online, paper, event, phone", channel=written_channel))
                ok = False
            if ok:
                language_channel = self.language_channel[(language, channel)] = f"{_json_string(language)},{_json_string(channel)}"
        moment = "null"  # the time of the import
        if submitted:
            try:
                parsed = datetime.fromisoformat(submitted.replace("Z", "+00:00"))
            except ValueError:
                if problems is None:
                    return None
                problems.add(row_number, "submitted_at", _("'%(value)s' is not a date and time like 2025-06-01T10:15:00Z", value=submitted))
                ok = False
            else:
                parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
                if EARLIEST_DATE <= parsed <= self.latest_submission:
                    moment = _json_string(self.timestamp_text(parsed))
                else:
                    if problems is None:
                        return None
                    if parsed > self.latest_submission:
                        message = _("'%(value)s' is in the future: check the year", value=submitted)
                    else:
                        message = _("'%(value)s' is before %(year)d: check the year", value=submitted, year=EARLIEST_DATE.year)
                    problems.add(row_number, "submitted_at", message)
                    ok = False
        if not ok:
            return None
        return uid, f"{_json_string(uid)},{language_channel},{moment}"


def _values(entry: _Field, cells: list[str], row_number: int, problems: _Problems) -> list[str]:
    """The field's values in the answer encoding, labels turned into codes."""
    rule = entry.rule
    values: list[str] = []
    for index, _name in entry.value_columns:
        cell = cells[index]
        if rule.is_text:
            values.append(_undo_formula_guard(cell))
        else:
            values.extend(_choices(entry, cell))
    for index, name, option_code in entry.flag_columns:
        flag = cells[index].strip().casefold()
        if flag in _TRUE:
            values.append(option_code)
        elif flag not in _FALSE:
            problems.add(row_number, name, _("'%(value)s' should be 1 (chosen) or 0 (not chosen)", value=cells[index]))
    return values


def _choices(entry: _Field, cell: str) -> list[str]:
    """The codes a cell names: one code or label, or several separated by ';'.

    A label may hold a ';' itself ("Drugs; dealing or use"): where a part starts such a label,
    the longest run of parts that is a known label is taken, so it is read whole, alone or
    among others. Only such parts are searched, so a cell of many parts costs no more.
    """
    whole = cell.strip()
    codes, starts = entry.rule.codes, entry.label_starts
    if CSV_MULTI_SEPARATOR not in whole or (starts and entry.rule.code_for(whole) in codes):
        return [entry.rule.code_for(whole)] if whole else []
    parts = whole.split(CSV_MULTI_SEPARATOR)
    values: list[str] = []
    start = 0
    while start < len(parts):
        end = start + 1
        if starts and fold_label(parts[start]) in starts:
            for longest in range(min(len(parts), start + entry.label_parts), start + 1, -1):
                if entry.rule.code_for(CSV_MULTI_SEPARATOR.join(parts[start:longest]).strip()) in codes:
                    end = longest
                    break
        values.append(entry.rule.code_for(CSV_MULTI_SEPARATOR.join(parts[start:end]).strip()))
        start = end
    return values


def _undo_formula_guard(cell: str) -> str:
    """Exports prefix risky text with an apostrophe (neutralise_formula); importing the export gives the text back."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_PREFIXES):
        return cell[1:]
    return cell


class _BatchWriter:
    """Writes batches of checked rows, each as one statement per table that expands the batch's JSON."""

    def __init__(self, survey: Survey):
        self.survey_id = survey.id
        self.connection = db.session.connection()
        self.dialect = self.connection.dialect.name
        if self.dialect == "sqlite":
            # Take SQLite's write lock now, so the highest id read next cannot be taken by another writer.
            self.connection.execute(text("UPDATE surveys SET status = status WHERE id = :id"), {"id": survey.id})
        elif not self.connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(CAST(:kind AS integer), CAST(:id AS integer))"), {"kind": _IMPORT_LOCKS, "id": survey.id}
        ):
            # Two imports of one file at once would wait for each other's rows and then report them
            # as repeated ids; one import per survey at a time can say what is going on instead.
            slug = survey.slug
            db.session.rollback()
            raise ImportBusy(_("another import into survey '%(slug)s' is running", slug=slug))
        self.may_skip_key_checks = self.dialect == "postgresql" and in_bulk_load(self.connection) and _may_skip_key_checks(self.connection)
        self.key_triggers_off = False
        self.started = datetime.now(timezone.utc)
        self.first_new_id = (self.connection.scalar(select(func.coalesce(func.max(Response.id), 0))) or 0) + 1
        self.next_id = self.first_new_id
        self.remembers_known_ids = False

    def timestamp_text(self, moment: datetime) -> str:
        """A submission time as the database reads it from the JSON."""
        return _sqlite_timestamp(moment) if self.dialect == "sqlite" else moment.isoformat()

    def define_kinds(self, fields: list[_Field]) -> dict[tuple, int]:
        """Number every (question, option, item, scale point) the fields can store, in a temporary table.

        The numbers follow the answers' unique index (question, then option or item), so a row whose
        answers are sent in number order appends to that index instead of searching it.
        """
        found: set[tuple] = set()
        for entry in fields:
            rule = entry.rule
            if rule.is_text:
                found.add((rule.question_id, None, None, None))
            elif rule.item_id is None:
                found.update((rule.question_id, option_id, None, None) for option_id in rule.codes.values())
            else:
                found.update((rule.question_id, None, rule.item_id, point_id) for point_id in rule.codes.values())
        ordered = sorted(found, key=lambda kind: (kind[0], kind[1] or kind[2] or 0, kind[3] or 0))
        kinds = {kind: number for number, kind in enumerate(ordered, start=1)}
        columns = "(id INTEGER PRIMARY KEY, question_id INTEGER NOT NULL, option_id INTEGER, item_id INTEGER, scale_point_id INTEGER)"
        cursor = self._cursor()
        try:
            if self.dialect == "postgresql":
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_KINDS}")
                cursor.execute(f"CREATE TEMPORARY TABLE {_KINDS} {columns} ON COMMIT DROP")
                cursor.executemany(f"INSERT INTO pg_temp.{_KINDS} VALUES (%s, %s, %s, %s, %s)", [(n, *k) for k, n in kinds.items()])
                cursor.execute(f"ANALYZE pg_temp.{_KINDS}")
                if self.may_skip_key_checks:
                    self.key_triggers_off = _lock_kinds_and_skip_key_checks(cursor, self.survey_id, kinds)
            else:
                cursor.execute(f"DROP TABLE IF EXISTS temp.{_KINDS}")
                cursor.execute(f"CREATE TEMPORARY TABLE {_KINDS} {columns}")
                cursor.executemany(f"INSERT INTO temp.{_KINDS} VALUES (?, ?, ?, ?, ?)", [(n, *k) for k, n in kinds.items()])
        finally:
            cursor.close()
        return kinds

    def finish(self) -> None:
        """Drop the temporary tables and switch key checks back on, for the rest of the transaction."""
        schema = "pg_temp" if self.dialect == "postgresql" else "temp"
        cursor = self._cursor()
        try:
            cursor.execute(f"DROP TABLE {schema}.{_KINDS}")
            if self.remembers_known_ids:
                cursor.execute(f"DROP TABLE {schema}.{_KNOWN}")
            if self.key_triggers_off:
                cursor.execute("SET LOCAL session_replication_role = origin")
        finally:
            cursor.close()

    def write(self, batch: list[_Row], result: ImportResult, problems: _Problems) -> None:
        document = "[" + ",".join([row for _, _, row in batch]) + "]"
        if self._insert(document, len(batch)):
            result.added += len(batch)
            return
        # Some response id is known already (a re-import) or repeated: sort the batch out row by row.
        existing = self._existing_ids(batch, document)
        known_earlier = self._known_in_earlier_batches([uid for _, uid, _ in batch if existing.get(uid, self.first_new_id) < self.first_new_id])
        in_batch: set[str] = set()
        new = []
        for row_number, uid, row in batch:
            if uid in in_batch or uid in known_earlier or existing.get(uid, 0) >= self.first_new_id:
                problems.add(row_number, "response_id", _("'%(uid)s' appears more than once in the file", uid=uid))
                continue
            in_batch.add(uid)
            if uid in existing:
                result.already_there += 1
            else:
                new.append(row)
        if problems.total or not new:
            return
        if not self._insert("[" + ",".join(new) + "]", len(new)):
            # A guard: imports into a survey take turns (SQLite's write lock, PostgreSQL's advisory lock).
            raise RuntimeError("a response id of this batch was stored by another writer during the import; nothing was imported")
        result.added += len(new)

    def _known_in_earlier_batches(self, uids: list[str]) -> set[str]:
        """Which of these already-stored ids an earlier batch of this file also had; remembers them all.

        A repeat of a new id is caught by the database (this import stored it), but a repeat of
        an id imported before would be skipped twice without a word: they are remembered in a
        temporary table, so that memory does not grow with a re-imported file.
        """
        if not uids:
            return set()
        cursor = self._cursor()
        try:
            if self.dialect == "postgresql":
                if not self.remembers_known_ids:
                    cursor.execute(f"CREATE TEMPORARY TABLE {_KNOWN} (uid text PRIMARY KEY) ON COMMIT DROP")
                cursor.execute(f"SELECT uid FROM pg_temp.{_KNOWN} WHERE uid = ANY(%s)", (uids,), prepare=False)
                found = {uid for (uid,) in cursor.fetchall()}
                cursor.execute(f"INSERT INTO pg_temp.{_KNOWN} SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (uids,), prepare=False)
            else:
                if not self.remembers_known_ids:
                    cursor.execute(f"DROP TABLE IF EXISTS temp.{_KNOWN}")
                    cursor.execute(f"CREATE TEMPORARY TABLE {_KNOWN} (uid TEXT PRIMARY KEY)")
                document = json.dumps(uids)
                cursor.execute(f"SELECT uid FROM temp.{_KNOWN} WHERE uid IN (SELECT value FROM json_each(?))", (document,))
                found = {uid for (uid,) in cursor.fetchall()}
                cursor.execute(f"INSERT OR IGNORE INTO temp.{_KNOWN} SELECT value FROM json_each(?)", (document,))
            self.remembers_known_ids = True
            return found
        finally:
            cursor.close()

    def _cursor(self):
        return self.connection.connection.dbapi_connection.cursor()

    def _existing_ids(self, batch: list[_Row], document: str) -> dict[str, int]:
        cursor = self._cursor()
        try:
            if self.dialect == "postgresql":
                # One array parameter, and no prepared statement: a generic plan made while the table
                # looked empty would scan every row this import has added so far.
                cursor.execute(
                    "SELECT uid, id FROM responses WHERE survey_id = %s AND uid = ANY(%s)",
                    (self.survey_id, [uid for _, uid, _ in batch]),
                    prepare=False,
                )
            else:
                cursor.execute(
                    "SELECT uid, id FROM responses WHERE survey_id = ?"
                    " AND uid IN (SELECT json_extract(value, '$[0]') FROM json_each(?))",
                    (self.survey_id, document),
                )
            return dict(cursor.fetchall())
        finally:
            cursor.close()

    def _insert(self, document: str, count: int) -> bool:
        """Store the rows, unless one of their response ids is stored already: then store nothing.

        The responses are inserted skipping known ids, which costs nothing when there are none (the
        usual case); when one was skipped, the batch's responses are deleted again (their answers
        are not written yet) for the caller to sort out. Not a savepoint: on PostgreSQL, more than
        64 of them in one transaction slow every other session down until it ends.
        """
        cursor = self._cursor()
        try:
            insert = self._insert_postgresql if self.dialect == "postgresql" else self._insert_sqlite
            return insert(cursor, document, count)
        finally:
            cursor.close()

    def _insert_sqlite(self, cursor, document: str, count: int) -> bool:
        first = self.next_id
        cursor.execute(
            "INSERT INTO responses (id, survey_id, uid, language, channel, submitted_at)"
            " SELECT ?1 + key, ?2, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
            " coalesce(json_extract(value, '$[3]'), ?3) FROM json_each(?4) WHERE true"
            f" {_SKIP_KNOWN_IDS}",
            (first, self.survey_id, _sqlite_timestamp(self.started), document),
        )
        if cursor.rowcount != count:
            cursor.execute("DELETE FROM responses WHERE survey_id = ? AND id >= ?", (self.survey_id, first))
            return False
        self.next_id += count
        # CROSS JOIN keeps the order of the loops: rows, then each row's answers, then the kind by its id.
        cursor.execute(
            insert_answers_from(
                "SELECT ?1 + r.key AS response_id, ?2 AS survey_id, k.question_id, k.option_id, k.item_id, k.scale_point_id,"
                " CASE a.type WHEN 'array' THEN json_extract(a.value, '$[1]') END AS text"
                f" FROM json_each(?3) AS r CROSS JOIN json_each(r.value, '$[4]') AS a CROSS JOIN temp.{_KINDS} AS k"
                " WHERE k.id = CASE a.type WHEN 'array' THEN json_extract(a.value, '$[0]') ELSE a.atom END"
            ),
            (first, self.survey_id, document),
        )
        return True

    def _insert_postgresql(self, cursor, document: str, count: int) -> bool:
        # The sequence hands out ids that concurrent web submissions will not also take.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('responses', 'id')) FROM generate_series(1, %s)", (count,), prepare=False
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO responses (id, survey_id, uid, language, channel, submitted_at)"
            " SELECT (%(ids)s::bigint[])[r.n], %(survey)s, r.v->>0, r.v->>1, r.v->>2, coalesce((r.v->>3)::timestamptz, %(started)s)"
            " FROM json_array_elements(%(rows)s::json) WITH ORDINALITY AS r(v, n)"
            f" {_SKIP_KNOWN_IDS}",
            {"ids": ids, "survey": self.survey_id, "started": self.started, "rows": document},
            prepare=False,
        )
        if cursor.rowcount != count:
            cursor.execute("DELETE FROM responses WHERE id = ANY(%s)", (ids,), prepare=False)
            return False
        cursor.execute(
            insert_answers_from(
                "SELECT (%(ids)s::bigint[])[r.n] AS response_id, %(survey)s::integer AS survey_id,"
                " k.question_id, k.option_id, k.item_id, k.scale_point_id,"
                " CASE WHEN json_typeof(a.v) = 'array' THEN a.v->>1 END AS text"
                " FROM json_array_elements(%(rows)s::json) WITH ORDINALITY AS r(v, n)"
                " CROSS JOIN LATERAL json_array_elements(r.v->4) AS a(v)"
                f" JOIN pg_temp.{_KINDS} AS k"
                " ON k.id = CASE WHEN json_typeof(a.v) = 'array' THEN (a.v->>0)::int ELSE (a.v#>>'{}')::int END"
            ),
            {"ids": ids, "survey": self.survey_id, "rows": document},
            prepare=False,
        )
        return True


def _may_skip_key_checks(connection) -> bool:
    """Whether this PostgreSQL role may switch its transaction's foreign-key triggers off.

    ``session_replication_role`` needs a superuser or, from PostgreSQL 15, ``GRANT SET ON
    PARAMETER session_replication_role`` to the app's role (docs/deploy.md).
    """
    if connection.scalar(text("SELECT current_setting('is_superuser')")) == "on":
        return True
    if connection.scalar(text("SELECT current_setting('server_version_num')::integer")) < 150000:
        return False
    return bool(connection.scalar(text("SELECT has_parameter_privilege('session_replication_role', 'SET')")))


def _lock_kinds_and_skip_key_checks(cursor, survey_id: int, kinds: dict[tuple, int]) -> bool:
    """Lock every row the import's answers will point at, then switch this transaction's
    foreign-key triggers off (PostgreSQL); True if it did.

    Checking an answer's keys runs a query and locks the rows it points at, per answer: two
    thirds of a large import's time. The import's keys are its survey's questions, options,
    items and scale points, numbered in ``import_answer_kinds``, and responses it inserts itself.
    Locking those rows once, as the checks would, keeps them from being deleted until the import
    commits. Each lock must find every row it names: one deleted since the survey was read (which
    under READ COMMITTED can happen) leaves the checks on, to refuse the import. Unique indexes
    and CHECK constraints apply either way.
    """
    table = f"pg_temp.{_KINDS}"
    locks = [
        ("SELECT 1 FROM surveys WHERE id = %(survey)s FOR KEY SHARE", 1),
        (f"SELECT 1 FROM questions WHERE survey_id = %(survey)s AND id IN (SELECT question_id FROM {table}) FOR KEY SHARE",
         len({kind[0] for kind in kinds})),
    ]
    for position, name, column in ((1, "options", "option_id"), (2, "matrix_items", "item_id"), (3, "scale_points", "scale_point_id")):
        locks.append((
            f"SELECT 1 FROM {name} WHERE (question_id, id) IN (SELECT question_id, {column} FROM {table}) FOR KEY SHARE",
            len({(kind[0], kind[position]) for kind in kinds if kind[position] is not None}),
        ))
    for statement, rows in locks:
        cursor.execute(statement, {"survey": survey_id}, prepare=False)
        if cursor.rowcount != rows:
            return False
    cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def _sqlite_timestamp(moment: datetime) -> str:
    """The text form SQLAlchemy's DateTime reads back from SQLite (UTC, no offset)."""
    return moment.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")[:26]
