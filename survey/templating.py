"""What every template can use: the page language and direction, the language switcher, field ids."""

from __future__ import annotations

from flask import Flask, g, request, url_for
from flask_babel import get_locale
from markupsafe import Markup

from .i18n import _, current_languages, language_info
from .responses.encoding import html_id


def _page_context() -> dict:
    language = str(get_locale())
    survey = g.get("survey")

    def switch_url(code: str) -> str:
        args = {**request.view_args, "lang": code} if request.view_args is not None else {"lang": code}
        return url_for(request.endpoint, **args) if request.endpoint else f"?lang={code}"

    def text(texts) -> str:
        """Survey content in the page language, falling back to the survey's default."""
        return survey.text(texts, language) if survey is not None else ""

    def fallback_marker(texts) -> Markup | str:
        """In a staff preview (g.mark_fallbacks), flag content shown in the default language
        because the page's language has no text; "" everywhere else, residents' pages included."""
        if survey is None or not g.get("mark_fallbacks") or (texts or {}).get(language):
            return ""
        if language == survey.default_language or not survey.text(texts, language):
            return ""
        return Markup(' <span class="fallback-marker">{}</span>').format(
            _("Not translated: residents see the default language")
        )

    return {
        "page_language": language_info(language),
        "languages": [language_info(code) for code in current_languages()],
        "switch_url": switch_url,
        "text": text,
        "current_survey": survey,  # the survey the page belongs to, if any (for the privacy notice link)
        "fallback_marker": fallback_marker,
        "html_id": html_id,
    }


def field_attributes(field, css_class: str, extra: dict) -> dict[str, str]:
    """A staff form field's HTML attributes, with aria-describedby tying it to its hint and error."""
    ids = [f"{field.id}-hint" if field.description else "", f"{field.id}-error" if field.errors else ""]
    attributes = {"class": css_class, **extra}
    if any(ids):
        attributes["aria-describedby"] = " ".join(value for value in ids if value)
    return attributes


def init_app(app: Flask) -> None:
    app.context_processor(_page_context)
    app.jinja_env.globals["field_attributes"] = field_attributes
    app.jinja_env.globals["language_name"] = lambda code: language_info(code).native_name
