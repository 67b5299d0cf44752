"""Builder forms. Texts typed here are the survey's default-language wording; translations
are edited on the translations pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ..definitions.schema import CODE_PATTERN, SLUG_PATTERN
from ..i18n import _l

CODE_HINT = _l("Lower-case letters, digits and underscores, starting with a letter. Keep it the same in every wave.")
TYPE_CHOICES = [
    SelectChoice("single", _l("One answer (radio buttons)")),
    SelectChoice("multi", _l("Several answers (checkboxes)")),
    SelectChoice("matrix", _l("A grid: several items rated on one scale")),
    SelectChoice("text", _l("Free text")),
]


def _code_field(label) -> StringField:
    return StringField(
        label,
        description=CODE_HINT,
        validators=[
            DataRequired(_l("Enter a code")),
            Length(max=64),
            Regexp(CODE_PATTERN, message=_l("Use lower-case letters, digits and underscores, starting with a letter")),
        ],
    )


class NewSurveyForm(FlaskForm):
    series = StringField(
        _l("Series"),
        description=_l("The survey that is repeated, for example community-safety. Waves of one series are compared."),
        validators=[DataRequired(_l("Enter a series")), Length(max=64), Regexp(SLUG_PATTERN, message=_l("Use lower-case letters, digits and hyphens, starting with a letter or digit"))],
    )
    wave = StringField(_l("Wave label, for example the year"), validators=[DataRequired(_l("Enter a wave label")), Length(max=32)])
    slug = StringField(
        _l("Web address name (slug)"),
        description=_l("Part of the address residents use, for example cs-2026."),
        validators=[DataRequired(_l("Enter a slug")), Length(max=64), Regexp(SLUG_PATTERN, message=_l("Use lower-case letters, digits and hyphens, starting with a letter or digit"))],
    )
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title")), Length(max=5000)])
    default_language = SelectField(_l("Default language"), description=_l("The language the survey is written in first."))
    languages = StringField(
        _l("Languages offered to residents"),
        description=_l("Language codes separated by commas, for example en, pl, pa, ur, ro, sk."),
        validators=[DataRequired(_l("Enter at least one language code")), Length(max=1000)],
    )


class SettingsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title")), Length(max=5000)])
    intro = TextAreaField(_l("Introduction (optional)"), validators=[Optional(), Length(max=5000)])
    wave = StringField(_l("Wave label, for example the year"), validators=[DataRequired(_l("Enter a wave label")), Length(max=32)])
    languages = StringField(
        _l("Languages offered to residents"),
        description=_l("Language codes separated by commas, the default language included. Removing a language deletes its translations."),
        validators=[DataRequired(_l("Enter at least one language code")), Length(max=1000)],
    )


class NewQuestionForm(FlaskForm):
    code = _code_field(_l("Question code"))
    type = RadioField(_l("Type of question"), choices=TYPE_CHOICES, default="single", validators=[DataRequired()])
    text = TextAreaField(_l("Question text"), validators=[DataRequired(_l("Enter the question text")), Length(max=5000)])
    options = TextAreaField(_l("Answer options, one per line"), description=_l("For one-answer and several-answer questions."), validators=[Length(max=20000)])
    items = TextAreaField(_l("Grid items, one per line"), description=_l("For grid questions: the things residents rate."), validators=[Length(max=20000)])
    scale = TextAreaField(_l("Scale points, one per line"), description=_l("For grid questions: at least two, in order."), validators=[Length(max=20000)])


class EntryForm(Form):
    """One option, grid item or scale point of a question."""

    code = StringField(_l("Code"), validators=[Length(max=64)])
    wording = StringField(_l("Label"), validators=[Length(max=5000)])  # not "label": FormField has its own
    flag = BooleanField()
    same_as = StringField(_l("Codes in earlier waves (same_as)"), validators=[Length(max=1000)])


class QuestionForm(FlaskForm):
    code = _code_field(_l("Question code"))
    type = SelectField(_l("Type of question"), choices=TYPE_CHOICES)
    text = TextAreaField(_l("Question text"), validators=[DataRequired(_l("Enter the question text")), Length(max=5000)])
    hint = TextAreaField(_l("Hint (optional)"), validators=[Optional(), Length(max=5000)])
    required = BooleanField(_l("An answer is required"))
    sensitive = BooleanField(_l("Sensitive (special category data): only staff with the sensitive permission see the answers"))
    max_choices = IntegerField(_l("Most answers a resident may choose (optional)"), validators=[Optional(), NumberRange(1, 100)])
    max_length = IntegerField(_l("Longest answer in characters"), validators=[Optional(), NumberRange(1, 10_000)])
    options = FieldList(FormField(EntryForm))
    items = FieldList(FormField(EntryForm))
    scale = FieldList(FormField(EntryForm))
    new_options = TextAreaField(_l("Add answer options, one per line"), validators=[Length(max=20000)])
    new_items = TextAreaField(_l("Add grid items, one per line"), validators=[Length(max=20000)])
    new_scale = TextAreaField(_l("Add scale points, one per line"), validators=[Length(max=20000)])
