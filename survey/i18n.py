"""Translation helpers and language choice.

Import ``_``, ``_l`` (lazy, for anything evaluated at import time) and
``ngettext`` from here. UI chrome is gettext; survey content is data (see
:func:`survey.models.localized`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask import current_app, g, has_request_context, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

__all__ = ["_", "_l", "ngettext", "Language", "language_info", "select_locale", "current_languages"]

SESSION_KEY = "lang"


@dataclass(frozen=True)
class Language:
    code: str
    native_name: str  # the language's name in its own script, for the switcher
    direction: str  # "ltr" or "rtl"


@lru_cache(maxsize=256)
def language_info(code: str) -> Language:
    """Name and writing direction from CLDR via Babel, so any of 87 languages works without a table."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Language(code, code, "ltr")
    name = locale.get_display_name(locale) or code
    direction = "rtl" if locale.character_order == "right-to-left" else "ltr"
    return Language(code, name[:1].upper() + name[1:], direction)


def current_languages() -> list[str]:
    """Languages the current page can be shown in: the survey's, or the app's UI languages."""
    survey = g.get("survey")
    if survey is not None:
        return list(survey.languages)
    return list(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """?lang= first, then the resident's earlier choice, then Accept-Language, then the default."""
    if not has_request_context():  # CLI commands speak the default UI language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    available = current_languages()
    asked = request.args.get("lang")
    if asked in available:
        # A staff preview in Urdu should not turn the staff pages Urdu. Written only when it changes:
        # an unchanged session sends no new cookie.
        if not g.get("mark_fallbacks") and session.get(SESSION_KEY) != asked:
            session[SESSION_KEY] = asked
        return asked
    remembered = session.get(SESSION_KEY)
    if remembered in available:
        return remembered
    best = request.accept_languages.best_match(available)
    if best:
        return best
    survey = g.get("survey")
    if survey is not None:
        return survey.default_language
    return current_app.config["BABEL_DEFAULT_LOCALE"]
