"""Thin views: load the survey, validate the generated form, store, redirect."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..database import read_without_transaction
from ..extensions import csrf, db
from ..models import Survey, SurveyStatus
from ..responses.store import insert_response, save_once
from ..security import limiter, submission_rate_limit
from . import bp
from .bots import looks_automated
from .forms import FormTokens, build_survey_form
from .snapshot import SurveyView, current_snapshot


def load_survey(slug: str) -> SurveyView:
    """The survey as residents are served it (see snapshot.py), or 404; also makes its languages
    the ones this page can be shown in."""
    survey = current_snapshot(slug)
    if survey is None:
        abort(404)
    g.survey = survey
    return survey


def blank_questions(survey: SurveyView, language: str) -> Markup:
    """The questions of an unanswered form in ``language``: the same for every resident, so rendered once.

    Keyed on ``g.mark_fallbacks`` too, so a page that marks untranslated texts for staff never
    shares markup with residents' pages (the builder's preview has its own view today)."""
    key = (language, bool(g.get("mark_fallbacks")))
    markup = survey.blank_questions.get(key)
    if markup is None:
        form = build_survey_form(survey, language)
        markup = Markup(render_template("respondent/_blank_questions.html", survey=survey, form=form))
        survey.blank_questions[key] = markup
    return markup


@bp.get("/")
def home():
    surveys = db.session.scalars(select(Survey).where(Survey.status == SurveyStatus.OPEN.value).order_by(Survey.slug))
    open_surveys = [survey for survey in surveys if survey.is_accepting()]
    return render_template("respondent/home.html", surveys=open_surveys)


@bp.route("/s/<slug>", methods=["GET", "POST"])
@csrf.exempt  # the generated form checks its own token, so an expired one can keep the answers
@limiter.limit(submission_rate_limit, methods=["POST"])
def answer(slug: str):
    if request.method == "GET":
        read_without_transaction()  # showing the form only reads; the POST stores in one transaction
    survey = load_survey(slug)
    language = str(get_locale())
    if not survey.is_accepting():
        return render_template("respondent/unavailable.html", survey=survey), 200 if request.method == "GET" else 400
    if request.method == "GET":
        # No form object: the questions are the same for everyone (rendered once), the tokens are new.
        questions = blank_questions(survey, language)
        return render_template("respondent/form.html", survey=survey, form=None, tokens=FormTokens.new(), blank_questions=questions)

    try:
        formdata = request.form
    except RequestEntityTooLarge:
        return render_template("respondent/too_large.html", survey=survey), 400
    form = build_survey_form(survey, language, formdata)
    if looks_automated(form, current_app.config["MIN_FILL_SECONDS"], current_app.config["SECRET_KEY"]):
        # Thanked and dropped, before validation: a bot learns nothing from the reply.
        return redirect(url_for("respondent.thanks", slug=survey.slug, lang=language), code=303)
    if not form.validate():
        return render_template("respondent/form.html", survey=survey, form=form, tokens=FormTokens.of(form)), 400

    uid, answers = form.submission_id.data, form.answers()
    # Insert straight away (no look-up first): a replayed form or a double click keeps one response.
    save_once(survey.id, uid, lambda: insert_response(survey, answers, rules=form.rules, uid=uid, language=language))
    return redirect(url_for("respondent.thanks", slug=survey.slug, lang=language), code=303)


@bp.get("/s/<slug>/thanks")
def thanks(slug: str):
    read_without_transaction()
    survey = load_survey(slug)
    return render_template("respondent/thanks.html", survey=survey)
