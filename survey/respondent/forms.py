"""The resident's form, built from a survey's questions by one factory."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass

from babel import support
from flask import current_app, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.datastructures import MultiDict
from wtforms import Field, HiddenField, StringField
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from ..i18n import _
from ..models import Survey
from ..responses.rules import AnswerRow, FieldRule, StructureCache, compile_rules, structure_key
from .bots import looks_automated, start_token
from .snapshot import SurveyView

_SUBMISSION_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class AnswerField(Field):
    """The raw values of one field of the answer encoding (several for a multi question)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = list(valuelist)

    def values(self) -> list[str]:
        return self.data or []


class _AnswerRule:
    """Runs the shared answer rules for one field, in the language of the form it is checking."""

    def __init__(self, rule: FieldRule):
        self.rule = rule

    def __call__(self, form: SurveyForm, field: AnswerField) -> None:
        problems = self.rule.problems(field.values(), form._language)
        if problems:
            field.errors = []  # one message per field, the first that applies
            raise ValidationError(problems[0])


def _valid_submission_id(form: FlaskForm, field: HiddenField) -> None:
    if not _SUBMISSION_PATTERN.match(field.data or ""):
        raise ValidationError(_("The form was incomplete. Please check your answers and send them again."))


class SurveyForm(FlaskForm):
    """Base of every generated survey form: answer fields plus CSRF, a submission id and the bot checks."""

    submission_id = HiddenField(validators=[_valid_submission_id])
    #: Honeypot: hidden from people (and screen readers); only a bot fills it in. See bots.py.
    website = StringField()
    #: Signed time the form was first shown, for the minimum fill time. See bots.py.
    started = HiddenField()
    #: Names of posted fields that the survey does not ask; set by validate().
    unexpected_fields: list[str]
    #: The language error messages quote the survey's labels in; set by build_survey_form().
    #: (A leading underscore: question codes start with a letter, so no field can take this name.)
    _language: str

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        posted = self._posted if self._posted is not None else MultiDict()
        self.unexpected_fields = sorted(set(posted.keys()) - set(self._fields))
        if self.unexpected_fields:
            self.form_errors.append(_("The form contained answers to questions this survey does not ask."))
        return valid and not self.unexpected_fields

    @property
    def csrf_failed(self) -> bool:
        return bool(self.meta.csrf and self.csrf_token.errors)

    def answers(self) -> dict[str, list[str]]:
        """The posted answers in the shared encoding, for storing."""
        return {name: field.values() for name, field in self._fields.items() if isinstance(field, AnswerField)}


def _generate(survey: Survey) -> tuple[dict[str, FieldRule], type[SurveyForm]]:
    """The survey's rules, and a form class with one AnswerField per question (per item for a matrix)."""
    rules = compile_rules(survey)
    # An explicit label: WTForms would otherwise translate a title made from the name, field by field.
    attributes = {name: AnswerField(label=name, validators=[_AnswerRule(rule)]) for name, rule in rules.items()}
    return rules, type("GeneratedSurveyForm", (SurveyForm,), attributes)


@functools.lru_cache(maxsize=None)
def _wtforms_translations(language: str) -> support.Translations:
    """WTForms' own messages in ``language``, read once per process (Flask-WTF reads the file on every request)."""
    return support.Translations.load(messages_path(), [language], domain="wtforms")


#: Generated form classes, kept per process for each shape of a survey (see rules.structure_key): building
#: the rules and the class is most of the work of a request, and a survey's shape rarely changes.
_generated = StructureCache()


@dataclass(frozen=True)
class FormTokens:
    """The hidden fields of the resident's form: CSRF token, submission id, signed start time."""

    csrf_token: str
    submission_id: str
    started: str

    @classmethod
    def new(cls) -> FormTokens:
        """Tokens for a form about to be shown for the first time (no form object needed to make them)."""
        return cls(generate_csrf(), uuid.uuid4().hex, start_token(current_app.config["SECRET_KEY"]))

    @classmethod
    def of(cls, form: SurveyForm) -> FormTokens:
        """The tokens to show ``form`` again with: a fresh CSRF token, the same submission id and start time."""
        csrf_token = form.csrf_token.current_token if form.meta.csrf else ""  # CSRF can be switched off in tests
        return cls(csrf_token, form.submission_id.data or "", form.started.data or "")


def build_survey_form(survey: Survey | SurveyView, language: str, formdata: MultiDict | None = None) -> SurveyForm:
    """An instance of the survey's generated form class (built once per shape of the survey)."""
    key = survey.structure if isinstance(survey, SurveyView) else structure_key(survey)
    rules, form_class = _generated.get(key, lambda: _generate(survey))
    request.wtforms_translations = _wtforms_translations(language)
    form = form_class(formdata=formdata)
    form._language = language
    form.rules = rules  # the rules the answers were checked with, reused to store them
    form._posted = formdata
    if formdata is None:
        tokens = FormTokens.new()
        form.submission_id.data, form.started.data = tokens.submission_id, tokens.started
    return form


#: The form's own fields, besides one per question (per matrix item).
_TOKEN_FIELDS = ("submission_id", "website", "started")


@dataclass(frozen=True)
class CheckedSubmission:
    """A submission that passed every check of the survey's form."""

    submission_id: str
    #: (question id, option id, item id, scale point id, text) for each answer, ready to store.
    rows: list[tuple[int, *AnswerRow]]


def quick_check(survey: SurveyView, language: str, formdata: MultiDict) -> CheckedSubmission | None:
    """The submission, when it passes every check the generated form makes, checked without building
    the form (which was most of the work of a submission); None when the form must decide: to refuse
    it with its messages, or to thank and drop a bot.

    The same checks as :class:`SurveyForm`, by the same functions: the bot defences, the CSRF
    token, the submission id, no field the survey does not ask, and each field's answer rules.
    """
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True):
        return None  # a form without a CSRF field (tests) has other fields: let it decide
    rules, _form_class = _generated.get(survey.structure, lambda: _generate(survey))
    csrf_field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    tokens = {name: formdata.getlist(name) for name in (csrf_field, *_TOKEN_FIELDS)}
    if any(len(values) != 1 for name, values in tokens.items() if name != "website") or len(tokens["website"]) > 1:
        return None
    submission_id, started = tokens["submission_id"][0], tokens["started"][0]
    honeypot = tokens["website"][0] if tokens["website"] else None
    if looks_automated(honeypot, started, config["MIN_FILL_SECONDS"], config["SECRET_KEY"]):
        return None
    if not _SUBMISSION_PATTERN.match(submission_id) or any(name not in rules and name not in tokens for name in formdata):
        return None
    try:
        validate_csrf(tokens[csrf_field][0])
    except ValidationError:
        return None
    rows = []
    for name, rule in rules.items():
        problems, answers = rule.evaluate(formdata.getlist(name), language)
        if problems:
            return None
        rows.extend((rule.question_id, *answer) for answer in answers)
    return CheckedSubmission(submission_id, rows)
