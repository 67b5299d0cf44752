"""Login and user-administration forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from ..i18n import _l
from ..models import Role
from .service import EMAIL_PATTERN

ROLE_LABELS = {
    Role.ADMIN.value: _l("Administrator: users, audit log and everything else"),
    Role.EDITOR.value: _l("Editor: surveys, translations and paper entry"),
    Role.ANALYST.value: _l("Analyst: analysis and exports"),
}


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(_l("Enter your email address")), Length(max=254)])
    # Paste is allowed and the field is a normal password input, so password managers work.
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password")), Length(max=1024)])
    submit = SubmitField(_l("Sign in"))


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in ROLE_LABELS.items()]


class UserForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter an email address")), Regexp(EMAIL_PATTERN, message=_l("Enter a valid email address")), Length(max=254)],
    )
    role = SelectField(_l("Role"), choices=_role_choices, validators=[DataRequired()])
    sensitive = BooleanField(_l("May see free-text comments and answers to sensitive questions"))
    submit = SubmitField(_l("Create account"))


class UserChangeForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_role_choices, validators=[DataRequired()])
    sensitive = BooleanField(_l("May see free-text comments and answers to sensitive questions"))
    active = BooleanField(_l("Account active"))
    submit = SubmitField(_l("Save changes"))
