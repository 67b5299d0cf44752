"""Ranked top-N tables per wave and honest year-on-year changes: pure functions over aggregates.

The input is one :class:`WaveCounts` per wave, built by :mod:`analysis.loading`
from GROUP BY results. Nothing here touches a database or Flask, and no input
is modified.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from .errors import AnalysisError
from .stats import two_proportion_z_test, wilson_interval

ROW_COLUMNS = ["rank", "code", "label", "count", "base", "percent", "ci_low", "ci_high", "tied"]
CHANGE_COLUMNS = ["code", "label", "from_wave", "to_wave", "comparable", "reason", "change_pp", "p_value", "significant"]
SUPPRESSED = "[c]"
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
_KIND = {"single": "a single-choice question", "multi": "a choose-several question", "matrix": "a matrix question"}
_BASE_WORDS = {"answered": "respondents who answered", "all": "all respondents", "mentions": "all mentions"}


@dataclass(frozen=True)
class WaveCounts:
    """One wave's counts for one question, as the loader got them from the database."""

    wave: str
    survey: str
    question_type: str  # single | multi | matrix
    max_choices: int | None  # single → 1; multi → its limit or None; matrix → None
    base_rule: str  # answered | all | mentions
    question_text: str
    counts: pd.DataFrame  # code, label, position, count, base
    top_box: tuple[str, ...] = ()
    respondents: int = 0  # respondents who answered the question


@dataclass(frozen=True)
class WaveTable:
    wave: str
    survey: str
    question_type: str
    max_choices: int | None
    base_rule: str
    question_text: str
    respondents: int
    top_box: tuple[str, ...]
    tie_at_cutoff: bool
    rows: pd.DataFrame  # the top N (more where a tie crosses the cut-off), ROW_COLUMNS
    all_rows: pd.DataFrame  # every option or item, ROW_COLUMNS


@dataclass(frozen=True)
class Comparison:
    question: str
    question_text: str
    top: int
    waves: list[WaveTable]
    changes: pd.DataFrame  # CHANGE_COLUMNS
    group: tuple[str, str] | None = None  # (code, label) of a breakdown group
    suppressed_threshold: int | None = None
    notes: list[str] = field(default_factory=list)


def round_half_up(value: float, places: int = 1) -> float:
    """Rounding as readers expect (12.25 → 12.3), not banker's rounding."""
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def rank_wave(counts: WaveCounts, top: int = 5) -> WaveTable:
    """Rank by share; equal shares share a rank ("4=") and keep questionnaire order."""
    if top < 1:
        raise AnalysisError("top must be at least 1")
    frame = counts.counts[counts.counts["base"] > 0].copy()
    frame["share"] = frame["count"] / frame["base"]
    frame = frame.sort_values(["share", "position"], ascending=[False, True], kind="stable")
    frame["rank"] = frame["share"].rank(method="min", ascending=False).astype(int)
    frame["tied"] = frame.duplicated("rank", keep=False)
    frame["percent"] = [round_half_up(share * 100) for share in frame["share"]]
    intervals = [wilson_interval(int(c), int(b)) for c, b in zip(frame["count"], frame["base"])]
    frame["ci_low"] = [round_half_up(low * 100) for low, _ in intervals]
    frame["ci_high"] = [round_half_up(high * 100) for _, high in intervals]
    all_rows = frame[ROW_COLUMNS].astype({"count": int, "base": int}).reset_index(drop=True)
    rows = all_rows[all_rows["rank"] <= top].reset_index(drop=True)
    return WaveTable(
        wave=counts.wave,
        survey=counts.survey,
        question_type=counts.question_type,
        max_choices=counts.max_choices,
        base_rule=counts.base_rule,
        question_text=counts.question_text,
        respondents=counts.respondents,
        top_box=tuple(counts.top_box),
        tie_at_cutoff=len(rows) > top,
        rows=rows,
        all_rows=all_rows,
    )


def choices_wording(table: WaveTable | WaveCounts) -> str:
    """'one answer', 'up to five', 'any number of answers' — how many answers the wave allowed."""
    if table.question_type == "single" or table.max_choices == 1:
        return "one answer"
    if table.max_choices is None:
        return "any number of answers"
    return f"up to {_NUMBER_WORDS.get(table.max_choices, str(table.max_choices))}"


def comparability(older: WaveTable, newer: WaveTable) -> tuple[bool, str]:
    """Whether two waves asked the question the same way, and if not, why, in plain English."""
    reasons = []
    a, b = older.wave, newer.wave
    kinds = {older.question_type, newer.question_type}
    if "matrix" in kinds and len(kinds) > 1:
        reasons.append(f"{a} asked {_KIND[older.question_type]}, {b} {_KIND[newer.question_type]}")
    elif choices_wording(older) != choices_wording(newer):
        reasons.append(f"{a} allowed {choices_wording(older)}, {b} {choices_wording(newer)}")
    if older.base_rule != newer.base_rule:
        reasons.append(f"{a} percentages are of {_BASE_WORDS[older.base_rule]}, {b} of {_BASE_WORDS[newer.base_rule]}")
    if older.question_type == newer.question_type == "matrix" and set(older.top_box) != set(newer.top_box):
        reasons.append(f"{a} counted {' or '.join(older.top_box) or 'nothing'} as concerned, {b} {' or '.join(newer.top_box) or 'nothing'}")
    return not reasons, "; ".join(reasons)


def wave_changes(older: WaveTable, newer: WaveTable) -> pd.DataFrame:
    """One row per concept in both waves: the change where comparable, the reason where not."""
    comparable, reason = comparability(older, newer)
    before = older.all_rows.set_index("code")
    records = []
    for row in newer.all_rows.itertuples(index=False):
        if row.code not in before.index:
            continue
        old = before.loc[row.code]
        record = {
            "code": row.code, "label": row.label, "from_wave": older.wave, "to_wave": newer.wave,
            "comparable": comparable, "reason": reason, "change_pp": None, "p_value": None, "significant": None,
        }
        if comparable:
            test = two_proportion_z_test(int(old["count"]), int(old["base"]), int(row.count), int(row.base))
            share_change = row.count / row.base - old["count"] / old["base"]
            record["change_pp"] = round_half_up(share_change * 100)
            if test is not None:
                record["p_value"] = round_half_up(test[1], 4)
                record["significant"] = test[1] < 0.05
        records.append(record)
    return pd.DataFrame(records, columns=CHANGE_COLUMNS).astype(object)


def compare_waves(waves: list[WaveCounts], top: int = 5, question: str = "") -> Comparison:
    """Rank each wave (oldest first) and compare each wave with the one before it."""
    if not waves:
        raise AnalysisError(f"no wave asks question '{question}'")
    tables = [rank_wave(wave, top) for wave in waves]
    changes = [wave_changes(older, newer) for older, newer in zip(tables, tables[1:])]
    changes_frame = pd.concat(changes, ignore_index=True) if changes else pd.DataFrame(columns=CHANGE_COLUMNS)
    return Comparison(
        question=question,
        question_text=tables[-1].question_text,
        top=top,
        waves=tables,
        changes=changes_frame.astype(object),
    )


def suppress_small_cells(comparison: Comparison, threshold: int = 10) -> Comparison:
    """A new Comparison where cells of fewer than ``threshold`` respondents show [c], so nobody is singled out."""
    suppressed_codes: dict[str, set[str]] = {}
    tables = []
    for table in comparison.waves:
        whole_wave = table.respondents < threshold
        rows, hidden_rows = _suppress(table.rows, threshold, whole_wave)
        all_rows, hidden = _suppress(table.all_rows, threshold, whole_wave)
        suppressed_codes[table.wave] = hidden | hidden_rows
        tables.append(replace(table, rows=rows, all_rows=all_rows))
    changes = comparison.changes.copy()
    for index, change in changes.iterrows():
        if change["code"] in suppressed_codes.get(change["from_wave"], set()) | suppressed_codes.get(change["to_wave"], set()):
            changes.loc[index, ["change_pp", "p_value", "significant"]] = None
            changes.loc[index, "reason"] = f"suppressed: fewer than {threshold} respondents"
    return replace(comparison, waves=tables, changes=changes, suppressed_threshold=threshold)


def _suppress(rows: pd.DataFrame, threshold: int, everything: bool) -> tuple[pd.DataFrame, set[str]]:
    rows = rows.astype(object).copy()
    small = pd.Series(True, index=rows.index) if everything else rows["count"].astype(int) < threshold
    rows.loc[small, ["count", "percent", "ci_low", "ci_high"]] = SUPPRESSED
    return rows, set(rows.loc[small, "code"])


def comparison_to_dict(comparison: Comparison) -> dict:
    """The documented JSON contract (docs/analysis.md), plain JSON types only."""
    return {
        "question": comparison.question,
        "question_text": comparison.question_text,
        "top": comparison.top,
        "group": {"code": comparison.group[0], "label": comparison.group[1]} if comparison.group else None,
        "suppressed_below": comparison.suppressed_threshold,
        "waves": [
            {
                "wave": table.wave,
                "survey": table.survey,
                "question_type": table.question_type,
                "max_choices": table.max_choices,
                "base": table.base_rule,
                "respondents": _plain(table.respondents),
                "tie_at_cutoff": table.tie_at_cutoff,
                "top_box": list(table.top_box),
                "rows": [{key: _plain(value) for key, value in row.items()} for row in table.rows.to_dict("records")],
            }
            for table in comparison.waves
        ],
        "changes": [{key: _plain(value) for key, value in row.items()} for row in comparison.changes.to_dict("records")],
    }


def _plain(value):
    """numpy scalars and NaN → JSON-ready Python values."""
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
