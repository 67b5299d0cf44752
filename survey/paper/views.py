"""Thin view of paper entry: the residents' form and rules, a channel and language, then the next blank form."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale

from ..accounts.access import Permission, requires
from ..i18n import _
from ..models import Channel, Survey, SurveyStatus
from ..respondent.forms import build_survey_form
from ..responses.store import save_once
from ..staff.surveys import counts_by_channel, find_survey
from . import bp
from .entry import count_entered, entered_count, save_paper_response
from .forms import answers_only, build_details_form

#: Session keys: the channel last chosen, and the questionnaire language last chosen per survey.
CHANNEL_KEY = "paper_channel"
LANGUAGE_KEY = "paper_language"


def _load(slug: str) -> Survey:
    survey = find_survey(slug)
    if survey is None:
        abort(404)
    g.survey = survey  # the question macros' text() helper shows the survey's wording
    return survey


def _page(survey: Survey, form, details, status: int = 200):
    return render_template(
        "paper/entry.html",
        survey=survey,
        form=form,
        details=details,
        entered=entered_count(session, survey),
        counts=counts_by_channel(survey),
    ), status


@bp.route("/<slug>/paper", methods=["GET", "POST"])
@requires(Permission.EDIT_SURVEYS)
def entry(slug: str):
    survey = _load(slug)
    if survey.status == SurveyStatus.DRAFT.value:
        return render_template("paper/draft.html", survey=survey), 200 if request.method == "GET" else 400
    # Error messages in the editor's language; the questionnaire's own language is a field.
    ui_language = str(get_locale())

    if request.method == "GET":
        remembered = session.get(LANGUAGE_KEY, {}).get(survey.slug)
        details = build_details_form(
            survey,
            channel=session.get(CHANNEL_KEY, Channel.PAPER.value),
            language=remembered if remembered in survey.languages else survey.default_language,
        )
        return _page(survey, build_survey_form(survey, ui_language), details)

    details = build_details_form(survey, request.form)
    form = build_survey_form(survey, ui_language, answers_only(request.form))
    details_valid = details.validate()  # both validated, so every problem shows at once
    if not (form.validate() and details_valid):
        return _page(survey, form, details, 400)

    channel, language = details.channel.data, details.language.data
    session[CHANNEL_KEY] = channel
    session[LANGUAGE_KEY] = {**session.get(LANGUAGE_KEY, {}), survey.slug: language}
    uid = form.submission_id.data
    answers = form.answers()
    # None when the same form was sent twice (one after the other, or at once: then the other request stored it).
    saved = save_once(
        survey.id,
        uid,
        lambda: save_paper_response(survey, answers, rules=form.rules, uid=uid, language=language, channel=channel),
    )
    if saved is None:
        flash(_("That questionnaire was already saved; it was not saved again."))
    else:
        flash(_("Saved paper response %(number)d", number=count_entered(session, survey)))
    return redirect(url_for("paper.entry", slug=survey.slug), code=303)
