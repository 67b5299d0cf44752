"""The paper-entry page's own fields, posted alongside the residents' generated survey form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..i18n import _l, language_info
from ..models import Channel, Survey

#: Field names start with "paper-": question codes cannot contain a hyphen, so no survey can clash with them.
PREFIX = "paper-"

CHANNEL_LABELS = {
    Channel.PAPER.value: _l("On a paper questionnaire"),
    Channel.EVENT.value: _l("At an event"),
    Channel.PHONE.value: _l("By phone"),
}


def _listed(message):
    """The value must be one of the field's choices (WTForms' own check has a vaguer message)."""

    def check(form: FlaskForm, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(message)

    return check


class PaperDetailsForm(FlaskForm):
    class Meta:
        csrf = False  # the survey form posted with it checks the CSRF token

    channel = RadioField(
        _l("How were these answers collected?"),
        choices=[SelectChoice(value, label) for value, label in CHANNEL_LABELS.items()],
        validate_choice=False,
        validators=[_listed(_l("Choose how the answers were collected"))],
    )
    language = SelectField(
        _l("Language of the questionnaire"),
        description=_l("The language the form was printed in, or the interview was held in."),
        validate_choice=False,
        validators=[_listed(_l("Choose the language of the questionnaire"))],
    )


def build_details_form(survey: Survey, formdata: MultiDict | None = None, **defaults) -> PaperDetailsForm:
    form = PaperDetailsForm(formdata=formdata, prefix=PREFIX, **defaults)
    form.language.choices = [SelectChoice(code, language_info(code).native_name) for code in survey.languages]
    return form


def answers_only(formdata: MultiDict) -> MultiDict:
    """The posted data without this page's own fields, which the survey form would take for unexpected answers."""
    return MultiDict([(name, value) for name, value in formdata.items(multi=True) if not name.startswith(PREFIX)])
