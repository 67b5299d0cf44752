"""Thin views: load the survey, validate the generated form, store, redirect."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..database import statements_without_transaction
from ..errors import DATABASE_UNAVAILABLE
from ..extensions import csrf, db
from ..models import Survey, SurveyStatus
from ..responses.store import Submission, answer_rows, store_submission
from ..security import form_is_utf8, limiter, submission_rate_limit
from . import bp
from .bots import looks_automated
from .forms import CheckedSubmission, FormTokens, build_survey_form, quick_check
from .pages import PageWithHoles
from .snapshot import SurveyView, current_snapshot, kept_snapshot


def load_survey(slug: str, *, recheck: bool = True) -> SurveyView:
    """The survey as residents are served it (see snapshot.py), or 404; also makes its languages
    the ones this page can be shown in. ``recheck=False`` accepts a snapshot up to
    ``SURVEY_RECHECK_SECONDS`` old: for pages that show the survey, never for storing answers."""
    max_age = 0.0 if recheck else current_app.config["SURVEY_RECHECK_SECONDS"]
    survey = current_snapshot(slug, max_age)
    if survey is None:
        abort(404)
    g.survey = survey
    return survey


@bp.get("/")
def home():
    surveys = db.session.scalars(select(Survey).where(Survey.status == SurveyStatus.OPEN.value).order_by(Survey.slug))
    open_surveys = [survey for survey in surveys if survey.is_accepting()]
    return render_template("respondent/home.html", surveys=open_surveys)


def form_page(survey: SurveyView, language: str) -> str:
    """The unanswered form page with this visit's tokens. The rest of the page is the same for
    every resident, so it is rendered once per survey revision and language (pages.py)."""

    def render(tokens: FormTokens) -> str:
        return render_template("respondent/form.html", survey=survey, form=build_survey_form(survey, language), tokens=tokens)

    key = (language, bool(g.get("mark_fallbacks")), request.script_root)
    if key not in survey.pages:
        survey.pages[key] = PageWithHoles.render(render)
    page, tokens = survey.pages[key], FormTokens.new()
    return page.fill(tokens) if page is not None else render(tokens)  # None: the page cannot be filled in


#: Times a submission is checked again when the survey changed under it, before giving up with a 503.
SUBMISSION_ATTEMPTS = 3


@bp.get("/s/<slug>")
def answer(slug: str):
    statements_without_transaction()  # showing the form only reads (if it needs the database at all)
    survey = load_survey(slug, recheck=False)
    if not survey.is_accepting():
        return render_template("respondent/unavailable.html", survey=survey)
    return form_page(survey, str(get_locale()))


# A view of its own, so that only posting pays for the rate limit (Flask-Limiter's decorator
# resolves its limits on every call, whatever the method).
@bp.post("/s/<slug>")
@csrf.exempt  # the generated form checks its own token, so an expired one can keep the answers
@limiter.limit(submission_rate_limit)
def send_answers(slug: str):
    for attempt in range(SUBMISSION_ATTEMPTS):
        reply = submit(slug, recheck=attempt > 0)
        if reply is not None:
            return reply
    abort(503)


def submit(slug: str, *, recheck: bool):
    """Check and store a resident's answers, and the reply; None when that must be done again on the
    survey as it is now in the database: the answers were refused by a copy of the survey that may
    be a moment old (``SURVEY_RECHECK_SECONDS``), or the survey changed before they were stored."""
    survey = load_survey(slug, recheck=recheck)
    decisive = recheck or current_app.config["SURVEY_RECHECK_SECONDS"] <= 0  # a refusal needs the survey as it is now
    language = str(get_locale())
    if not survey.is_accepting():
        return (render_template("respondent/unavailable.html", survey=survey), 400) if decisive else None
    try:
        if not form_is_utf8():
            return render_template("respondent/not_sent.html", survey=survey, reason="not_utf8"), 400
        formdata = request.form
    except RequestEntityTooLarge:
        return render_template("respondent/not_sent.html", survey=survey, reason="too_large"), 400
    thanks = redirect(url_for("respondent.thanks", slug=survey.slug, lang=language), code=303)
    checked = quick_check(survey, language, formdata)
    if checked is None:  # the form decides: bots are thanked and dropped, mistakes shown with their messages
        form = build_survey_form(survey, language, formdata)
        if looks_automated(form.website.data, form.started.data, current_app.config["MIN_FILL_SECONDS"], current_app.config["SECRET_KEY"]):
            return thanks  # before validation: a bot learns nothing from the reply
        if not form.validate():
            return (render_template("respondent/form.html", survey=survey, form=form, tokens=FormTokens.of(form)), 400) if decisive else None
        checked = CheckedSubmission(form.submission_id.data, answer_rows(form.rules, form.answers()))
    # Stored straight away (no look-up first): a replayed form or a double click keeps one response.
    stored = store_submission(survey, checked.rows, uid=checked.submission_id, language=language)
    return None if stored is Submission.SURVEY_CHANGED else thanks


@bp.get("/s/<slug>/thanks")
def thanks(slug: str):
    statements_without_transaction()
    try:
        survey = load_survey(slug, recheck=False)
    except DATABASE_UNAVAILABLE as error:
        # The answers were stored before the redirect here. Thank the resident from this app's copy
        # of the survey: an error page might make them answer again. Without a copy, errors.py's 503.
        survey = kept_snapshot(slug)
        if survey is None:
            raise
        current_app.logger.warning("Database unavailable, thank-you page shown from memory: %s", error)
        g.survey = survey
    return render_template("respondent/thanks.html", survey=survey)
