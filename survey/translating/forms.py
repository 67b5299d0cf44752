"""The upload form of a language's translations page (the texts themselves are posted as plain fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from ..i18n import _l


class TranslationUploadForm(FlaskForm):
    file = FileField(
        _l("Translated file (PO or XLSX)"),
        description=_l("The file downloaded from this page, with the translations filled in. Up to 5 MB."),
        validators=[
            FileRequired(_l("Choose a translated file")),
            FileAllowed(["po", "xlsx"], _l("The file must be a PO file (.po) or an XLSX workbook (.xlsx)")),
        ],
    )
