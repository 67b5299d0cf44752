"""The one answer encoding shared by the web form, CSV import and CSV export.

The field (or column) name is the question code, or ``question_code/item_code``
for a matrix cell; the value is an option or scale-point code. A multi question
has several values (repeated form fields; ``;``-separated in CSV). A text
question's value is the text itself. See docs/answer-encoding.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..models import MatrixItem, Question

CELL_SEPARATOR = "/"
CSV_MULTI_SEPARATOR = ";"


def cell_field(question: Question, item: MatrixItem) -> str:
    return f"{question.code}{CELL_SEPARATOR}{item.code}"


def answer_fields(question: Question) -> Iterator[tuple[str, MatrixItem | None]]:
    """Each field a question is answered in, with its matrix item (None for other types)."""
    if question.type == "matrix":
        for item in question.items:
            yield cell_field(question, item), item
    else:
        yield question.code, None


def html_id(field_name: str) -> str:
    """An HTML id for a field: the error summary links to it."""
    return "q-" + field_name.replace(CELL_SEPARATOR, "--")
