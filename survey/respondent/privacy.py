"""The privacy notice of a survey: what the survey is for, what is stored with an answer, and for how long."""

from __future__ import annotations

from flask import render_template
from flask_babel import get_locale

from ..database import statements_without_transaction
from ..i18n import language_info
from . import bp
from .views import load_survey


@bp.get("/s/<slug>/privacy")
def privacy(slug: str):
    """Shown whatever the survey's status, so a notice linked from a leaflet or report keeps working."""
    statements_without_transaction()
    survey = load_survey(slug, recheck=False)
    language = str(get_locale())
    notices = survey.privacy_notice or {}
    # The notice in the page language, else the survey's default language (marked with its own lang).
    shown = next((code for code in (language, survey.default_language, *notices) if notices.get(code)), None)
    return render_template(
        "respondent/privacy.html",
        survey=survey,
        notice=notices.get(shown, ""),
        notice_language=language_info(shown) if shown and shown != language else None,
    )
