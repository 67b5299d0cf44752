"""Storing one typed-in questionnaire, and the editor's running count."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from ..audit import record
from ..models import Survey
from ..responses.rules import FieldRule
from ..responses.store import insert_response, response_exists

#: Session key: how many questionnaires this sign-in has entered, per survey slug.
ENTERED_KEY = "paper_entered"


def save_paper_response(
    survey: Survey,
    answers: Mapping[str, list[str]],
    *,
    rules: Mapping[str, FieldRule],
    uid: str,
    language: str,
    channel: str,
) -> int | None:
    """Insert the response and its audit event and return the response's id; None when this submission
    id was saved already (the same form sent twice). The caller commits."""
    if response_exists(survey, uid):
        return None
    response_id = insert_response(survey, answers, rules=rules, uid=uid, language=language, channel=channel)
    record("responses.paper_entry", f"survey {survey.slug}", channel=channel)
    return response_id


def entered_count(session: Mapping, survey: Survey) -> int:
    return int(session.get(ENTERED_KEY, {}).get(survey.slug, 0))


def count_entered(session: MutableMapping, survey: Survey) -> int:
    """Add one to this sign-in's count for the survey and return the new count."""
    counts = dict(session.get(ENTERED_KEY, {}))  # a new dict, so the session notices the change
    counts[survey.slug] = counts.get(survey.slug, 0) + 1
    session[ENTERED_KEY] = counts
    return counts[survey.slug]
