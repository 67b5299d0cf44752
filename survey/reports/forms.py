"""The analysis page's form: a GET form, so a table has a shareable address."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import Form, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..i18n import _l
from ..models import Question, Survey, SurveySeries, wave_order
from .saved import TITLE_LENGTH


class ComparisonForm(Form):
    series = SelectField(_l("Survey series"), validators=[InputRequired()])
    question = SelectField(_l("Question"), validators=[InputRequired()])
    waves = StringField(_l("Waves (optional)"), description=_l("Wave labels separated by commas, oldest first, for example 2021,2023. Leave empty for every wave."))
    top = IntegerField(_l("How many to rank"), default=5, validators=[Optional(), NumberRange(1, 50)])
    by = SelectField(_l("Break down by (optional)"), validators=[Optional()])
    base = RadioField(
        _l("Percentages of"),
        choices=[
            SelectChoice("answered", _l("respondents who answered the question")),
            SelectChoice("all", _l("all respondents of the wave")),
        ],
        default="answered",
    )
    percent_of = RadioField(
        _l("Count"),
        choices=[
            SelectChoice("respondents", _l("respondents (percent of cases)")),
            SelectChoice("mentions", _l("mentions (percent of responses)")),
        ],
        default="respondents",
    )


#: The comparison form's fields: the query string of a table's address.
COMPARISON_FIELDS = tuple(ComparisonForm()._fields)

#: Control characters, line breaks and tabs included: a title is one line (and PostgreSQL cannot store NUL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(text: str | None) -> str | None:
    """The title on one line: control characters become spaces, runs of spaces one."""
    return " ".join(_CONTROL.sub(" ", text).split()) if text is not None else None


class SaveResultForm(FlaskForm):
    """Keeps the table shown (a POST, so it carries a CSRF token); the comparison comes from the page's address."""

    title = StringField(
        _l("Title (optional)"),
        validators=[Optional(), Length(max=TITLE_LENGTH)],
        filters=[_printable],
        description=_l("Shown above the table. Leave it empty for the question and its waves."),
    )


def build_comparison_form(session: Session, args, allow_sensitive: bool = False) -> ComparisonForm:
    """The form with its choices read from the surveys, each question shown with its wording.

    Every series' questions are offered to compare (the page works without JavaScript, so the
    list cannot follow the series picked until the form is sent); where the chosen series (else
    the first) asks a code, its latest wave gives the wording. Breakdowns are offered by the
    questions the chosen series asks in every wave, as single choice. Sensitive questions (special
    category data) are offered, to compare or to break down by, only to staff with the sensitive
    permission.
    """
    form = ComparisonForm(args)
    series = session.scalars(select(SurveySeries.code).order_by(SurveySeries.code)).all()
    form.series.choices = [SelectChoice(code, code) for code in series]
    chosen = form.series.data if form.series.data in series else next(iter(series), None)
    columns = (Question.code, Question.type, Question.sensitive, Question.text, Survey.default_language, Survey.wave)
    rows = session.execute(
        select(*columns, SurveySeries.code.label("series"))
        .join(Survey, Survey.id == Question.survey_id)
        .join(SurveySeries, SurveySeries.id == Survey.series_id)
    ).all()
    # The chosen series first, then the others by code; in each, the latest wave first.
    rows.sort(key=lambda row: wave_order(row.wave), reverse=True)
    rows.sort(key=lambda row: (row.series != chosen, row.series))
    # A code that is sensitive in any wave is sensitive in all: a comparison spans the waves.
    sensitive_codes = {row.code for row in rows if row.sensitive}
    asked: dict[str, list] = {}  # code -> its waves in the first series, in the order above, that asks it
    for row in rows:
        if allow_sensitive or row.code not in sensitive_codes:
            waves = asked.setdefault(row.code, [])
            if not waves or waves[0].series == row.series:
                waves.append(row)

    def choice(code: str) -> SelectChoice:
        latest = asked[code][0]
        wording = (latest.text or {}).get(latest.default_language, "")
        return SelectChoice(code, f"{code}: {wording}" if wording else code)

    chosen_waves = {row.wave for row in rows if row.series == chosen}

    def breaks_down(waves: list) -> bool:
        """Asked by the chosen series in every wave, as single choice: a breakdown of any wave works."""
        return waves[0].series == chosen and {row.wave for row in waves} == chosen_waves and all(row.type == "single" for row in waves)

    form.question.choices = [choice(code) for code in sorted(asked) if all(row.type != "text" for row in asked[code])]
    form.by.choices = [SelectChoice("", _l("No breakdown"))] + [choice(code) for code in sorted(asked) if breaks_down(asked[code])]
    return form
