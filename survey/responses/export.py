"""Export a survey's responses in the shared answer encoding (CSV or XLSX), streaming."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timezone
from typing import BinaryIO, TextIO
from zipfile import ZIP_DEFLATED, ZipFile

from sqlalchemy import select

from analysis.spreadsheet import neutralise_formula

from ..audit import record
from ..extensions import db
from ..models import Answer, Question, QuestionType, Response, Survey, iso_utc
from .csv_import import META_COLUMNS
from .encoding import CELL_SEPARATOR, CSV_MULTI_SEPARATOR, answer_fields
from .masking import mask_personal_data

XLSX_MAX_ROWS = 1_048_576
_STREAM_CHUNK = 10_000


def exported_questions(survey: Survey, include_sensitive: bool = True) -> list[Question]:
    """Every question, or without free text and sensitive questions for staff lacking that permission."""
    return [q for q in survey.questions if include_sensitive or not (q.sensitive or q.type == QuestionType.TEXT.value)]


def export_header(survey: Survey, include_sensitive: bool = True) -> list[str]:
    questions = exported_questions(survey, include_sensitive)
    return [*META_COLUMNS, *(name for question in questions for name, _ in answer_fields(question))]


def export_rows(survey: Survey, include_sensitive: bool = True, *, mask: bool = False) -> Iterator[list[str]]:
    """One list of cells per response, in the order of export_header(); cells are plain (not neutralised).

    Without ``include_sensitive`` the answers of free-text and sensitive questions are never read.
    With ``mask`` e-mail addresses, phone numbers and postcodes in free text are masked (see masking.py)."""
    questions = exported_questions(survey, include_sensitive)
    # id → (field name, position, code): multi answers are written in questionnaire order.
    option_cell = {
        option.id: (question.code, position, option.code)
        for question in questions
        for position, option in enumerate(question.options)
    }
    matrix_cell = {
        (item.id, point.id): (f"{question.code}{CELL_SEPARATOR}{item.code}", 0, point.code)
        for question in questions
        for item in question.items
        for point in question.scale
    }
    text_field = {question.id: question.code for question in questions}
    answer_columns = export_header(survey, include_sensitive)[len(META_COLUMNS) :]
    rows = db.session.execute(
        select(
            Response.id, Response.uid, Response.submitted_at, Response.language, Response.channel,
            Answer.question_id, Answer.option_id, Answer.item_id, Answer.scale_point_id, Answer.text,
        )
        .outerjoin(Answer, (Answer.response_id == Response.id) & Answer.question_id.in_([q.id for q in questions]))
        .where(Response.survey_id == survey.id)
        .order_by(Response.id, Answer.question_id, Answer.choice_key)
        .execution_options(yield_per=_STREAM_CHUNK)
    )
    with rows:  # a caller that stops early (a failed write) closes the generator, and so the cursor
        for _, answers in itertools.groupby(rows, key=lambda row: row.id):
            answers = list(answers)
            values: dict[str, list[tuple[int, str]]] = {}
            for row in answers:
                if row.option_id is not None:
                    name, position, code = option_cell[row.option_id]
                elif row.item_id is not None:
                    name, position, code = matrix_cell[(row.item_id, row.scale_point_id)]
                elif row.text is not None:
                    name, position, code = text_field[row.question_id], 0, mask_personal_data(row.text) if mask else row.text
                else:
                    continue  # a response with no answers at all
                values.setdefault(name, []).append((position, code))
            first = answers[0]
            meta = [first.uid, iso_utc(first.submitted_at), first.language, first.channel]
            yield meta + [CSV_MULTI_SEPARATOR.join(code for _, code in sorted(values.get(name, []))) for name in answer_columns]


def write_csv(survey: Survey, out: TextIO, include_sensitive: bool = True, *, mask: bool = False) -> int:
    """Write the CSV; returns the number of responses. Risky text cells are neutralised."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(export_header(survey, include_sensitive))
    count = 0
    with closing(export_rows(survey, include_sensitive, mask=mask)) as rows:
        for count, row in enumerate(rows, start=1):
            writer.writerow([neutralise_formula(cell) for cell in row])
    return count


def write_xlsx(survey: Survey, out: BinaryIO, include_sensitive: bool = True, *, mask: bool = False) -> int:
    """Write an XLSX workbook (streamed by openpyxl's write-only mode); returns the number of responses."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    if survey.response_count() + 1 > XLSX_MAX_ROWS:
        raise ValueError(f"{survey.response_count()} responses do not fit in one worksheet; export CSV instead")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(survey.slug[:31])
    sheet.append(export_header(survey, include_sensitive))
    count = 0
    with closing(export_rows(survey, include_sensitive, mask=mask)) as rows:
        for count, row in enumerate(rows, start=1):
            sheet.append([neutralise_formula(cell) for cell in row])
    # What workbook.save(out) does (openpyxl 3.1's save_workbook), but the archive is closed here
    # even when writing fails (a full disk): left to the garbage collector, it would try to finish
    # a file closed by then.
    workbook.properties.modified = datetime.now(timezone.utc).replace(tzinfo=None)
    with ZipFile(out, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    return count


def write_export(survey: Survey, out: BinaryIO, file_format: str, *, include_sensitive: bool, mask: bool) -> int:
    """Write the responses as CSV (UTF-8 with a BOM, which Excel needs) or XLSX, and record the
    export in the audit log (the caller commits, so a file can be kept only once it is recorded).
    Returns the number of responses; ValueError when they do not fit an XLSX sheet."""
    if file_format == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        count = write_csv(survey, text, include_sensitive, mask=mask)
        text.flush()
        text.detach()  # the caller's stream stays open
    else:
        count = write_xlsx(survey, out, include_sensitive, mask=mask)
    record("responses.export", f"survey {survey.slug}", format=file_format, responses=count,
           sensitive_included=include_sensitive, masked=mask)
    return count
