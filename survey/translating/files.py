"""Files for translators: one language's texts as a PO file (Babel) or an XLSX workbook, and back.

Each entry carries its key (PO: msgctxt), the default-language source text (msgid) and
the translation (msgstr). Reading is all or nothing: a malformed file raises UploadError
naming the line or row, before anything is stored.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from datetime import datetime, timezone

from analysis.spreadsheet import FORMULA_PREFIXES, neutralise_formula

from ..i18n import _, language_info
from ..models import Survey
from .service import Row, Status, UploadEntry, UploadError

#: Entries a file may hold: far more than any survey has texts.
MAX_ENTRIES = 20_000
#: An XLSX is a zip; refuse one that would unpack to more than this (a "zip bomb").
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024
KEY_HEADER = "key"
STATUS_HEADER = "status"
_LANGUAGE_IN_HEADER = re.compile(r"^(source|translation)\s*\(([^)]*)\)$", re.IGNORECASE)


def po_bytes(survey: Survey, language: str, rows: list[Row]) -> bytes:
    """A PO file: msgctxt = key, msgid = source, msgstr = translation; stale entries are fuzzy."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    title = survey.text(survey.title, survey.default_language)
    catalog = Catalog(
        locale=language.replace("-", "_"),
        project=survey.slug,
        version=survey.wave,
        header_comment=(
            f"# {title} ({survey.slug}, wave {survey.wave}): texts in {language_info(language).native_name} ({language}).\n"
            "# Translate each msgstr. Keep msgctxt (the text's key) and msgid (the source text) as they are.\n"
            "# Entries marked fuzzy need checking: their source text changed since they were translated."
        ),
        language_team=f"{language_info(language).native_name} ({language})",
        msgid_bugs_address="",
        creation_date=datetime.now(timezone.utc),
        fuzzy=False,
    )
    for row in rows:
        catalog.add(
            row.source,
            row.translation,
            context=row.key,
            flags=("fuzzy",) if row.status is Status.STALE else (),
            auto_comments=[row.label],
        )
    out = io.BytesIO()
    write_po(out, catalog, no_location=True)
    return out.getvalue()


def read_po_upload(raw: bytes, language: str) -> list[UploadEntry]:
    from babel import UnknownLocaleError
    from babel.messages.pofile import PoFileError, read_po

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise UploadError([_("Line %(line)d is not UTF-8 text: save the file as UTF-8.", line=line)]) from None
    try:
        catalog = read_po(io.StringIO(text), abort_invalid=True)
    except PoFileError as error:
        raise UploadError(
            [_("Line %(line)d: %(problem)s. Is this the PO file downloaded from this page?", line=error.lineno + 1, problem=str(error).rsplit(" on ", 1)[0])]
        ) from None
    except (UnknownLocaleError, ValueError) as error:
        raise UploadError([_("The file's header cannot be read: %(problem)s.", problem=str(error))]) from None
    if catalog.locale is not None and str(catalog.locale) != language.replace("-", "_"):
        raise UploadError(
            [_("This file holds texts in '%(found)s', not '%(language)s'.", found=str(catalog.locale), language=language)]
        )
    entries = []
    for message in catalog:
        if not message.id:  # the header
            continue
        where = _("line %(line)d", line=message.lineno or 0)
        if isinstance(message.id, tuple) or isinstance(message.string, tuple):
            raise UploadError([_("%(where)s: plural forms are not used for survey texts.", where=where)])
        if not message.context:
            raise UploadError([_("%(where)s: the entry has no msgctxt (the text's key).", where=where)])
        entries.append(UploadEntry(where, message.context, message.id, message.string or "", fuzzy=message.fuzzy))
        if len(entries) > MAX_ENTRIES:
            raise UploadError([_("The file has more than %(max)d entries.", max=MAX_ENTRIES)])
    if not entries:
        raise UploadError([_("The file holds no translations. Is this the PO file downloaded from this page?")])
    return entries


def xlsx_bytes(survey: Survey, language: str, rows: list[Row]) -> bytes:
    """A workbook with columns key, source, translation, status; formula-like cells neutralised."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    status_labels = {Status.MISSING: _("missing"), Status.STALE: _("stale"), Status.CONFIRMED: _("confirmed")}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{survey.slug} {language}"[:31]
    sheet.append([KEY_HEADER, f"source ({survey.default_language})", f"translation ({language})", STATUS_HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append(
            [row.key, neutralise_formula(row.source), neutralise_formula(row.translation), status_labels[row.status]]
        )
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap
    for column, width in zip("ABCD", (28, 60, 60, 14), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell_text(value) -> str:
    """A cell as text, without the apostrophe neutralise_formula put in front of formula-like text."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def read_xlsx_upload(raw: bytes, language: str) -> list[UploadEntry]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    not_a_workbook = _("The file is not an XLSX workbook. Is this the file downloaded from this page?")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise UploadError([not_a_workbook]) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise UploadError([_("The workbook is too large once unpacked; send only the sheet downloaded from this page.")])
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions other spreadsheet programs write; they do not matter here.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
            try:
                rows = list(_sheet_rows(workbook.worksheets[0] if workbook.worksheets else None))
            finally:
                workbook.close()
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, SyntaxError) as error:
        # SyntaxError: the XML parser's ParseError, for a damaged sheet.
        raise UploadError(
            [_("The file is not an XLSX workbook that can be read (%(problem)s). Is this the file downloaded from this page?", problem=str(error))]
        ) from None
    if not rows:
        raise UploadError([not_a_workbook])
    header = [_cell_text(value).strip().lower() for value in rows[0][:4]]
    columns = _check_header(header, language)
    entries: list[UploadEntry] = []
    first_seen: dict[str, int] = {}
    for number, values in enumerate(rows[1:], start=2):
        cells = [_cell_text(values[index]) if index < len(values) else "" for index in columns]
        key, source, translation = cells
        if not any(cell.strip() for cell in cells):
            continue
        key = key.strip()
        if not key:
            raise UploadError([_("Row %(row)d has no key in column A.", row=number)])
        if key in first_seen:
            raise UploadError(
                [_("Row %(row)d: key '%(key)s' is already on row %(first)d.", row=number, key=key, first=first_seen[key])]
            )
        first_seen[key] = number
        entries.append(UploadEntry(_("row %(row)d", row=number), key, source, translation, fuzzy=None))
    if not entries:
        raise UploadError([_("The workbook holds no translations.")])
    return entries


def _sheet_rows(sheet):
    if sheet is None:
        return
    for count, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if count > MAX_ENTRIES + 1:
            raise UploadError([_("The workbook has more than %(max)d rows.", max=MAX_ENTRIES)])
        yield values


def _check_header(header: list[str], language: str) -> tuple[int, int, int]:
    """Columns of key, source and translation; the translation column must be in ``language``."""
    expected = _("Row 1 must name the columns key, source, translation and status, as in the downloaded file.")
    if len(header) < 3 or header[0] != KEY_HEADER:
        raise UploadError([expected])
    names = {}
    for index, name in enumerate(header[1:3], start=1):
        match = _LANGUAGE_IN_HEADER.match(name)
        kind, code = (match.group(1).lower(), match.group(2).strip()) if match else (name, "")
        names[kind] = index
        if kind == "translation" and code and code != language.lower():
            raise UploadError(
                [_("This file holds texts in '%(found)s', not '%(language)s'.", found=code, language=language)]
            )
    if set(names) != {"source", "translation"}:
        raise UploadError([expected])
    return 0, names["source"], names["translation"]
