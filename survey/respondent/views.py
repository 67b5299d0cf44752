"""Thin views: load the survey, validate the generated form, store, redirect."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import csrf, db
from ..models import Question, Survey, SurveyStatus
from ..responses.store import build_response, commit_once
from ..security import limiter, submission_rate_limit
from . import bp
from .bots import looks_automated
from .forms import build_survey_form


#: The whole questionnaire in five queries, instead of one query per question for each of its lists.
WHOLE_QUESTIONNAIRE = selectinload(Survey.questions).options(
    selectinload(Question.options), selectinload(Question.items), selectinload(Question.scale)
)


def load_survey(slug: str, *, questionnaire: bool = False) -> Survey:
    """The survey or 404; also makes its languages the ones this page can be shown in.

    ``questionnaire``: load its questions with their options, items and scales up front.
    """
    query = select(Survey).where(Survey.slug == slug)
    if questionnaire:
        query = query.options(WHOLE_QUESTIONNAIRE)
    survey = db.session.scalar(query)
    if survey is None:
        abort(404)
    g.survey = survey
    return survey


@bp.get("/")
def home():
    surveys = db.session.scalars(select(Survey).where(Survey.status == SurveyStatus.OPEN.value).order_by(Survey.slug))
    open_surveys = [survey for survey in surveys if survey.is_accepting()]
    return render_template("respondent/home.html", surveys=open_surveys)


@bp.route("/s/<slug>", methods=["GET", "POST"])
@csrf.exempt  # the generated form checks its own token, so an expired one can keep the answers
@limiter.limit(submission_rate_limit, methods=["POST"])
def answer(slug: str):
    survey = load_survey(slug, questionnaire=True)
    language = str(get_locale())
    if not survey.is_accepting():
        return render_template("respondent/unavailable.html", survey=survey), 200 if request.method == "GET" else 400
    if request.method == "GET":
        return render_template("respondent/form.html", survey=survey, form=build_survey_form(survey, language))

    try:
        formdata = request.form
    except RequestEntityTooLarge:
        return render_template("respondent/too_large.html", survey=survey), 400
    form = build_survey_form(survey, language, formdata)
    if looks_automated(form, current_app.config["MIN_FILL_SECONDS"], current_app.config["SECRET_KEY"]):
        # Thanked and dropped, before validation: a bot learns nothing from the reply.
        return redirect(url_for("respondent.thanks", slug=survey.slug, lang=language), code=303)
    if not form.validate():
        return render_template("respondent/form.html", survey=survey, form=form), 400

    uid, survey_id = form.submission_id.data, survey.id
    # Insert straight away (no look-up first): a replayed form or a double click keeps one response.
    db.session.add(build_response(survey, form.answers(), rules=form.rules, uid=uid, language=language))
    commit_once(survey_id, uid)
    # ``slug``, not survey.slug: the commit expired the survey, and reading it back would cost a query.
    return redirect(url_for("respondent.thanks", slug=slug, lang=language), code=303)


@bp.get("/s/<slug>/thanks")
def thanks(slug: str):
    survey = load_survey(slug)
    return render_template("respondent/thanks.html", survey=survey)
