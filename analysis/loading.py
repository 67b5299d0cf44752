"""Loading aggregates from the database: the counting is pushed down as GROUP BY queries.

The result is small (one row per option or matrix item per wave, per group)
and goes to the pure functions in :mod:`analysis.compare` as ``WaveCounts``.
This module takes a SQLAlchemy session as an argument and knows nothing of Flask.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from survey.models import Answer, Question, Response, Survey, SurveySeries, localized, wave_order

from .compare import WaveCounts
from .errors import AnalysisError

BASE_RULES = ("answered", "all")
PERCENT_OF = ("respondents", "mentions")
RANKED_TYPES = ("single", "multi", "matrix")


@dataclass(frozen=True)
class Wave:
    survey: Survey
    question: Question


@dataclass(frozen=True)
class FoundWaves:
    """The waves to compare (oldest first), and those that asked the question in a way that is not ranked."""

    waves: list[Wave]
    skipped: list[tuple[str, str]]  # (wave, why)


@dataclass(frozen=True)
class Group:
    code: str
    label: str


def find_waves(session: Session, series: str, question: str, waves: list[str] | None = None) -> FoundWaves:
    """The series' waves (oldest first) that asked ``question``; errors name what is missing.

    Without ``waves``, a wave that asked the question as free text is left out and listed in
    ``skipped``; a wave named in ``waves`` that cannot be ranked is an error.
    """
    found = session.scalar(select(SurveySeries).where(SurveySeries.code == series))
    if found is None:
        known = ", ".join(session.scalars(select(SurveySeries.code).order_by(SurveySeries.code))) or "none yet"
        raise AnalysisError(f"no survey series '{series}' (series: {known})")
    surveys = sorted(found.surveys, key=lambda survey: wave_order(survey.wave))
    by_wave = {survey.wave: survey for survey in surveys}
    if waves:
        unknown = [wave for wave in waves if wave not in by_wave]
        if unknown:
            raise AnalysisError(f"series '{series}' has no wave {', '.join(unknown)} (waves: {', '.join(by_wave)})")
        surveys = sorted({by_wave[wave] for wave in waves}, key=lambda survey: wave_order(survey.wave))
    result, skipped = [], []
    for survey in surveys:
        asked = next((q for q in survey.questions if q.code == question), None)
        if asked is None:
            if waves:
                raise AnalysisError(f"question '{question}' is not in wave {survey.wave}")
            continue
        if asked.type not in RANKED_TYPES:
            why = f"'{question}' is a {asked.type} question in wave {survey.wave}: only choice and matrix questions are ranked"
            if waves:
                raise AnalysisError(why)
            skipped.append((survey.wave, f"asked as a {asked.type} question, which is not ranked"))
            continue
        result.append(Wave(survey, asked))
    if not result:
        if skipped:
            raise AnalysisError(f"no wave of series '{series}' asks '{question}' as a choice or matrix question, which are the ones ranked")
        raise AnalysisError(f"no wave of series '{series}' asks question '{question}'")
    return FoundWaves(result, skipped)


def concept_codes(questions: list[Question], attribute: str = "options") -> dict[str, str]:
    """Old code → the newest code of the same concept, following same_as links back through the
    waves (``questions``: one per wave, oldest first)."""
    canonical: dict[str, str] = {}
    for question in reversed(questions):
        for entry in getattr(question, attribute):
            current = canonical.get(entry.code, entry.code)
            for old in entry.same_as:
                canonical.setdefault(old, current)
    return canonical


def load_comparison_counts(
    session: Session,
    waves: list[Wave],
    *,
    base: str = "answered",
    percent_of: str = "respondents",
    by: str | None = None,
) -> dict[Group | None, list[WaveCounts]]:
    """WaveCounts per wave, for the whole sample (key None) or for each group of the ``by`` question."""
    if base not in BASE_RULES:
        raise AnalysisError(f"base must be one of {', '.join(BASE_RULES)}, not '{base}'")
    if percent_of not in PERCENT_OF:
        raise AnalysisError(f"percent-of must be one of {', '.join(PERCENT_OF)}, not '{percent_of}'")
    matrix_waves = [wave.survey.wave for wave in waves if wave.question.type == "matrix"]
    if percent_of == "mentions" and matrix_waves:
        raise AnalysisError(
            f"percent of mentions is for choice questions; wave {', '.join(matrix_waves)} asks "
            f"'{waves[0].question.code}' as a matrix, whose items are each rated"
        )
    attribute = "items" if waves[-1].question.type == "matrix" else "options"
    # Links are followed through the series' waves up to the newest compared, also those left out:
    # 2019's option is 2023's when a 2021 option links the two. Later waves change nothing here.
    canonical = concept_codes(_series_questions(waves, waves[0].question.code), attribute)
    groups = _group_questions(waves, by) if by else None
    group_canonical = concept_codes(_series_questions(waves, by)) if groups else {}
    counts_by_group: dict[str | None, list[WaveCounts]] = defaultdict(list)
    group_labels: dict[str, str] = {}
    for wave in waves:  # oldest first, so a group's label ends up as the newest wave's wording
        by_question = groups[wave.survey.id] if groups else None
        options = {option.id: option for option in by_question.options} if by_question else {}
        for group_option, counts in _count_wave(session, wave, by_question, base, percent_of, canonical).items():
            code = None
            if group_option is not None:
                option = options[group_option]
                code = group_canonical.get(option.code, option.code)
                group_labels[code] = _label(wave.survey, option.label)
            known = counts_by_group[code]
            if known and known[-1].wave == counts.wave:  # two of this wave's groups merged later (same_as)
                known[-1] = _merged_groups(known[-1], counts)
            else:
                known.append(counts)
    # Groups in the newest wave's questionnaire order; a group only older waves had comes last.
    newest = [group_canonical.get(option.code, option.code) for option in groups[waves[-1].survey.id].options] if groups else []
    ordered = sorted(counts_by_group.items(), key=lambda item: newest.index(item[0]) if item[0] in newest else len(newest))
    return {(Group(code, group_labels[code]) if code is not None else None): counts for code, counts in ordered}


def _series_questions(waves: list[Wave], code: str) -> list[Question]:
    """The question ``code`` in the series' waves up to the newest of ``waves`` (oldest first)."""
    newest = wave_order(waves[-1].survey.wave)
    surveys = sorted((survey for survey in waves[0].survey.series.surveys if wave_order(survey.wave) <= newest), key=lambda survey: wave_order(survey.wave))
    return [question for survey in surveys for question in survey.questions if question.code == code]


def _merged_groups(first: WaveCounts, second: WaveCounts) -> WaveCounts:
    """One wave's counts for two groups as one: a respondent is in one group only (a single-choice
    question), so counts, bases and respondents add up. Same question, so the same rows in order."""
    counts = first.counts.copy()
    for column in ("count", "base"):
        counts[column] = first.counts[column].to_numpy() + second.counts[column].to_numpy()
    return replace(first, counts=counts, respondents=first.respondents + second.respondents)


def _group_questions(waves: list[Wave], by: str) -> dict[int, Question]:
    questions = {}
    for wave in waves:
        asked = next((q for q in wave.survey.questions if q.code == by), None)
        if asked is None:
            raise AnalysisError(f"question '{by}' is not in wave {wave.survey.wave}, so results cannot be broken down by it")
        if asked.type != "single":
            raise AnalysisError(f"'{by}' is a {asked.type} question: breakdowns need a single-choice question such as a town")
        questions[wave.survey.id] = asked
    return questions


def _label(survey: Survey, texts: dict) -> str:
    return localized(texts, survey.default_language, survey.default_language)


def _count_wave(session, wave: Wave, by_question, base: str, percent_of: str, canonical: dict[str, str]):
    """{group option id or None: WaveCounts} for one wave."""
    question, survey = wave.question, wave.survey
    group_of = _group_column(by_question)
    if question.type == "matrix":
        # (item, scale point): choice_key and point_key of a matrix answer.
        rows = _aggregate(session, group_of, question, ["choice_key", "point_key"])
    else:
        rows = _aggregate(session, group_of, question, ["choice_key"])  # the option
    answered = {group: count for group, count in _aggregate(session, group_of, question, [], distinct_respondents=True)}
    # All respondents are counted only where a base or the list of groups needs them.
    everyone = _everyone(session, survey, by_question) if base == "all" or by_question is not None else {}
    result = {}
    for group in _groups_in_order(by_question, answered.keys() | everyone.keys()):
        group_rows = [row[1:] for row in rows if row[0] == group]
        respondents = answered.get(group, 0)
        if question.type == "matrix":
            counts, top_box = _matrix_counts(question, group_rows, base, everyone.get(group, 0), canonical)
        else:
            counts, merged = _choice_counts(question, group_rows, base, percent_of, respondents, everyone.get(group, 0), canonical)
            if question.type == "multi" and merged:
                counts = _recount_merged(session, group_of, question, counts, merged, group)
                if percent_of == "mentions":  # a respondent's choices merged into one concept are one mention
                    counts["base"] = int(counts["count"].sum())
            top_box = ()
        result[group] = WaveCounts(
            wave=survey.wave,
            survey=survey.slug,
            question_type=question.type,
            max_choices=1 if question.type == "single" else question.max_choices,
            base_rule="mentions" if percent_of == "mentions" and question.type != "matrix" else base,
            question_text=_label(survey, question.text),
            counts=counts,
            top_box=tuple(code for code, _ in top_box),
            top_box_labels=tuple(label for _, label in top_box),
            respondents=respondents,
        )
    return result


def _groups_in_order(by_question: Question | None, found) -> list[int | None]:
    """The groups (option ids) with respondents, in questionnaire order; [None] for the whole sample."""
    if by_question is None:
        return [None]
    return [option.id for option in by_question.options if option.id in found]


def _group_column(by_question: Question | None):
    """The `by` question's id, or None for the whole sample."""
    return None if by_question is None else by_question.id


def _aggregate(session, group_of, question: Question, keys: list[str], *, distinct_respondents=False, option_ids=None):
    """(group or None, *keys, count) rows over the question's answers: the GROUP BY that does the counting.

    ``keys`` are leading columns of the answers' primary key after the question (``choice_key``,
    then ``point_key``), so the database counts along one range of that key without sorting. The
    count is of answer rows, or of distinct respondents when ``distinct_respondents``. A group is
    the option a respondent chose at the ``group_of`` question (its choice_key).
    """
    columns = [getattr(Answer, key) for key in keys]
    count = func.count(func.distinct(Answer.response_id)) if distinct_respondents else func.count()
    statement = select(*columns, count).where(Answer.question_id == question.id)
    if option_ids is not None:
        statement = statement.where(Answer.choice_key.in_(option_ids))
    if group_of is None:
        return [(None, *row) for row in session.execute(statement.group_by(*columns))]
    grouping = aliased(Answer)
    statement = statement.join(grouping, (grouping.response_id == Answer.response_id) & (grouping.question_id == group_of))
    statement = statement.with_only_columns(grouping.choice_key, *columns, count)
    return [tuple(row) for row in session.execute(statement.group_by(grouping.choice_key, *columns))]


def _everyone(session, survey: Survey, by_question: Question | None) -> dict:
    """All respondents of the wave, per group (respondents who gave that group's answer)."""
    if by_question is None:
        return {None: session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == survey.id)) or 0}
    statement = select(Answer.choice_key, func.count()).where(Answer.question_id == by_question.id).group_by(Answer.choice_key)
    return dict(session.execute(statement).all())


def _choice_counts(question, rows, base, percent_of, respondents, everyone, canonical):
    """Counts per concept, and the option ids of concepts that merge several options of this wave."""
    by_option = {option_id: count for option_id, count in rows}
    records: dict[str, dict] = {}
    option_ids: dict[str, list[int]] = defaultdict(list)
    for position, option in enumerate(question.options, start=1):
        code = canonical.get(option.code, option.code)
        label = _label(question.survey, option.label)
        record = records.setdefault(code, {"code": code, "wave_codes": [], "label": "", "position": position, "count": 0})
        record["wave_codes"].append(option.code)
        record["label"] = f"{record['label']} / {label}" if record["label"] else label  # options merged later: both wordings
        record["count"] += by_option.get(option.id, 0)
        option_ids[code].append(option.id)
    if percent_of == "mentions":
        denominator = sum(by_option.values())
    else:
        denominator = respondents if base == "answered" else everyone
    frame = pd.DataFrame(list(records.values()), columns=["code", "wave_codes", "label", "position", "count"])
    frame["base"] = denominator
    return frame, {code: ids for code, ids in option_ids.items() if len(ids) > 1}


def _recount_merged(session, group_of, question, counts: pd.DataFrame, merged: dict[str, list[int]], group) -> pd.DataFrame:
    """Options merged into one concept (same_as): count each respondent once, not once per old option."""
    counts = counts.copy()
    for code, ids in merged.items():
        per_group = dict(_aggregate(session, group_of, question, [], distinct_respondents=True, option_ids=ids))
        counts.loc[counts["code"] == code, "count"] = per_group.get(group, 0)
    return counts


def _matrix_counts(question, rows, base, everyone, canonical):
    top = {point.id for point in question.scale if point.top_box}
    per_item: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # item id → [top-box count, answered]
    for item_id, point_id, count in rows:
        per_item[item_id][1] += count
        if point_id in top:
            per_item[item_id][0] += count
    records = [
        {
            "code": canonical.get(item.code, item.code),
            "wave_codes": [item.code],
            "label": _label(question.survey, item.label),
            "position": position,
            "count": per_item[item.id][0],
            "base": per_item[item.id][1] if base == "answered" else everyone,
        }
        for position, item in enumerate(question.items, start=1)
    ]
    top_box = tuple((point.code, _label(question.survey, point.label)) for point in question.scale if point.top_box)
    return pd.DataFrame(records, columns=["code", "wave_codes", "label", "position", "count", "base"]), top_box
