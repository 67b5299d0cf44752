"""Forms of the staff survey pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

from ..definitions.schema import SLUG_PATTERN
from ..i18n import _l


class ResponsesUploadForm(FlaskForm):
    """Earlier responses in the answer encoding (docs/answer-encoding.md), as `flask responses import` reads them."""

    file = FileField(
        _l("Responses file (CSV, UTF-8)"),
        validators=[FileRequired(_l("Choose a CSV file of responses")), FileAllowed(["csv"], _l("The file must be CSV (.csv)"))],
    )


class DefinitionUploadForm(FlaskForm):
    file = FileField(
        _l("Definition file (YAML or JSON)"),
        validators=[
            FileRequired(_l("Choose a definition file")),
            FileAllowed(["yaml", "yml", "json"], _l("The file must be YAML (.yaml, .yml) or JSON (.json)")),
        ],
    )
    submit = SubmitField(_l("Upload definition"))


class NextWaveForm(FlaskForm):
    wave = StringField(_l("Wave label, for example the year"), validators=[DataRequired(_l("Enter a wave label")), Length(max=32)])
    slug = StringField(
        _l("Web address name (slug)"),
        validators=[
            DataRequired(_l("Enter a slug")),
            Length(max=64),
            Regexp(SLUG_PATTERN, message=_l("Use lower-case letters, digits and hyphens, starting with a letter or digit")),
        ],
    )
    submit = SubmitField(_l("Start next wave"))
