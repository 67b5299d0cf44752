"""Every UI string is translated in every shipped language, and the catalogues match the code."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from babel.messages.pofile import read_po

from survey.config import DEFAULT_LANGUAGES

from .conftest import REPO

TRANSLATIONS = REPO / "translations"


def read_catalog(path):
    with open(path, "rb") as handle:
        return read_po(handle)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the code right now, extracted as `make extract-messages` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return {message.id if isinstance(message.id, str) else message.id[0] for message in read_catalog(pot) if message.id}


def test_template_is_up_to_date_with_the_code(extracted):
    committed = {m.id if isinstance(m.id, str) else m.id[0] for m in read_catalog(TRANSLATIONS / "messages.pot") if m.id}
    assert extracted - committed == set(), "run `make extract-messages` and translate the new strings"


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES)
def test_every_string_is_translated(language, extracted):
    catalog = read_catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    messages = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    assert extracted - set(messages) == set(), f"{language}: strings missing from the catalogue"
    problems = []
    for key, message in messages.items():
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy:
            problems.append(f"fuzzy: {key}")
        if not all(strings) or len(strings) < (catalog.num_plurals if message.pluralizable else 1):
            problems.append(f"untranslated: {key}")
    for message, errors in catalog.check():
        problems += [f"{message.id}: {error}" for error in errors]
    assert problems == [], f"{language}: " + "; ".join(problems)


def test_demo_survey_content_is_in_all_six_languages():
    demo = yaml.safe_load((REPO / "examples" / "community-safety-2025.yaml").read_text(encoding="utf-8"))
    assert demo["languages"] == DEFAULT_LANGUAGES
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"title", "intro", "text", "hint", "label"}:
                    absent = [lang for lang in DEFAULT_LANGUAGES if not (isinstance(value, dict) and value.get(lang))]
                    if absent:
                        missing.append(f"{where}.{key}: {absent}")
                else:
                    walk(value, f"{where}.{node.get('code', key)}" if key != "code" else where)
        elif isinstance(node, list):
            for entry in node:
                walk(entry, where)

    walk(demo, "demo")
    assert missing == []


@pytest.mark.parametrize(
    "language, count, expected",
    [
        ("pa", 0, "ਤੁਸੀਂ 0 ਅੱਖਰ ਤੱਕ ਲਿਖ ਸਕਦੇ ਹੋ।"),  # Punjabi treats 0 as singular
        ("pa", 2, "ਤੁਸੀਂ 2 ਅੱਖਰਾਂ ਤੱਕ ਲਿਖ ਸਕਦੇ ਹੋ।"),
        ("pl", 1, "Możesz wpisać do 1 znaku."),
        ("pl", 3, "Możesz wpisać do 3 znaków."),
        ("pl", 22, "Możesz wpisać do 22 znaków."),
        ("sk", 3, "Môžete napísať najviac 3 znaky."),
        ("sk", 5, "Môžete napísať najviac 5 znakov."),
        ("ro", 20, "Puteți scrie cel mult 20 de caractere."),
    ],
)
def test_plural_rules_follow_each_language(language, count, expected):
    from flask_babel import force_locale, ngettext

    from survey import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    with app.test_request_context(), force_locale(language):
        assert ngettext("You can write up to %(num)d character.", "You can write up to %(num)d characters.", count) == expected
