"""Ranked top-N tables per wave and honest year-on-year changes: pure functions over aggregates.

The input is one :class:`WaveCounts` per wave, built by :mod:`analysis.loading`
from GROUP BY results. Nothing here touches a database or Flask, and no input
is modified: every function returns new objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import pandas as pd

from .errors import AnalysisError
from .stats import two_proportion_z_test, wilson_interval

ROW_COLUMNS = ["rank", "code", "wave_codes", "label", "count", "base", "percent", "ci_low", "ci_high", "tied"]
ROW_DTYPES = {"rank": "int64", "code": "str", "wave_codes": "object", "label": "str", "count": "int64", "base": "int64",
              "percent": "float64", "ci_low": "float64", "ci_high": "float64", "tied": "bool"}
CHANGE_COLUMNS = ["code", "label", "from_wave", "to_wave", "comparable", "reason", "change_pp", "p_value", "significant"]
COUNT_COLUMNS = ("code", "label", "position", "count", "base")  # and optionally wave_codes
SUPPRESSED = "[c]"
SUPPRESSED_CELLS = ["count", "percent", "ci_low", "ci_high"]
QUESTION_TYPES = {"single": "a single-choice question", "multi": "a choose-several question", "matrix": "a matrix question"}
BASE_RULES = {"answered": "respondents who answered", "all": "all respondents", "mentions": "all mentions"}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five",
                6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


@dataclass(frozen=True)
class WaveCounts:
    """One wave's counts for one question, as the loader got them from the database."""

    wave: str  # wave label, e.g. "2023"; waves are given oldest first
    survey: str  # survey slug
    question_type: str  # single | multi | matrix
    max_choices: int | None  # single → 1; multi → its limit or None (no limit); matrix → None
    base_rule: str  # answered | all | mentions
    question_text: str  # this wave's wording, default language
    counts: pd.DataFrame  # code, label, position, count, base (and wave_codes): one row per concept
    top_box: tuple[str, ...] = ()  # matrix: the scale codes counted (the top box, e.g. very or fairly concerned)
    respondents: int = 0  # respondents who answered the question
    top_box_labels: tuple[str, ...] = ()  # matrix: those scale points' labels in this wave's wording


@dataclass(frozen=True)
class WaveTable:
    """One wave ranked: the top N for display and every row for computing changes."""

    wave: str
    survey: str
    question_type: str
    max_choices: int | None
    base_rule: str
    question_text: str
    respondents: int
    top_box: tuple[str, ...]
    tie_at_cutoff: bool  # a tie straddles the N-th place, so more than N rows are shown
    rows: pd.DataFrame  # ROW_COLUMNS: every row ranked within the top N
    all_rows: pd.DataFrame  # ROW_COLUMNS: every option or item
    suppressed: bool = False  # too few respondents in a breakdown group: nothing of the wave is shown
    top_box_labels: tuple[str, ...] = ()  # matrix: the labels of top_box's scale points, in this wave's wording


@dataclass(frozen=True)
class Comparison:
    """A question's ranked waves side by side and the changes between consecutive waves."""

    question: str
    question_text: str  # the newest wave's wording
    top: int
    waves: list[WaveTable]
    changes: pd.DataFrame  # CHANGE_COLUMNS
    group: tuple[str, str] | None = None  # (code, label) of a breakdown group; None for the whole sample
    suppressed_threshold: int | None = None  # cells under this count show [c]
    skipped_waves: tuple[tuple[str, str], ...] = ()  # (wave, why) for waves that asked the question but cannot be ranked


def round_half_up(value: Fraction | float | int, places: int = 1) -> float:
    """Rounding as readers expect (12.25 → 12.3, −5.25 → −5.3), not banker's rounding or float drift."""
    exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    scaled = abs(exact) * 10**places
    rounded = Fraction(math.floor(scaled + Fraction(1, 2)), 10**places)
    return float(rounded if exact >= 0 else -rounded)


def rank_wave(counts: WaveCounts, top: int = 5) -> WaveTable:
    """Rank by share with competition ranking: equal shares share a rank ("4=") and keep questionnaire order."""
    _check_wave(counts, top)
    usable = counts.counts.loc[counts.counts["base"] > 0].to_dict("records")
    ordered = sorted(usable, key=lambda row: (-_share(row), row["position"]))
    ranks = _competition_ranks([_share(row) for row in ordered])
    records = [_ranked_row(row, rank, ranks.count(rank) > 1) for row, rank in zip(ordered, ranks)]
    all_rows = pd.DataFrame(records, columns=ROW_COLUMNS).astype(ROW_DTYPES)
    rows = all_rows[all_rows["rank"] <= top].reset_index(drop=True)
    return WaveTable(
        wave=counts.wave,
        survey=counts.survey,
        question_type=counts.question_type,
        max_choices=counts.max_choices,
        base_rule=counts.base_rule,
        question_text=counts.question_text,
        respondents=int(counts.respondents),
        top_box=tuple(counts.top_box),
        top_box_labels=tuple(counts.top_box_labels),
        tie_at_cutoff=len(rows) > top,
        rows=rows,
        all_rows=all_rows,
    )


def _check_wave(counts: WaveCounts, top: int) -> None:
    """Refuse requests the ranking cannot answer honestly, naming the wave."""
    if top < 1:
        raise AnalysisError(f"top must be at least 1, not {top}")
    if counts.question_type not in QUESTION_TYPES:
        raise AnalysisError(f"wave {counts.wave}: '{counts.question_type}' questions are not ranked (only single, multi, matrix)")
    if counts.base_rule not in BASE_RULES:
        raise AnalysisError(f"wave {counts.wave}: unknown base rule '{counts.base_rule}' (answered, all, mentions)")
    missing = [column for column in COUNT_COLUMNS if column not in counts.counts.columns]
    if missing:
        raise AnalysisError(f"wave {counts.wave}: counts lack the column(s) {', '.join(missing)}")


def _share(row: dict) -> Fraction:
    """Exact share, so equal shares on different bases (1/3, 2/6) tie and nothing ties by float accident."""
    return Fraction(int(row["count"]), int(row["base"]))


def _competition_ranks(shares: list[Fraction]) -> list[int]:
    """"1, 2, 2, 4" ranks for shares already sorted from largest to smallest."""
    ranks: list[int] = []
    for index, share in enumerate(shares):
        ranks.append(ranks[-1] if index and share == shares[index - 1] else index + 1)
    return ranks


def _ranked_row(row: dict, rank: int, tied: bool) -> dict:
    count, base = int(row["count"]), int(row["base"])
    low, high = wilson_interval(count, base)
    wave_codes = row.get("wave_codes")
    return {
        "rank": rank, "code": str(row["code"]), "label": str(row["label"]), "count": count, "base": base,
        "wave_codes": list(wave_codes) if isinstance(wave_codes, (list, tuple)) else [str(row["code"])],
        "percent": round_half_up(Fraction(count * 100, base)),
        "ci_low": round_half_up(low * 100), "ci_high": round_half_up(high * 100), "tied": tied,
    }


def choices_wording(table: WaveTable | WaveCounts) -> str:
    """'one answer', 'up to five', 'any number of answers': how many answers the wave allowed."""
    allowed = _answers_allowed(table)
    if allowed == 1:
        return "one answer"
    if allowed is None:
        return "any number of answers"
    return f"up to {NUMBER_WORDS.get(allowed, str(allowed))}"


def _answers_allowed(table: WaveTable | WaveCounts) -> int | None:
    return 1 if table.question_type == "single" else table.max_choices


def comparability(older: WaveTable, newer: WaveTable) -> tuple[bool, str]:
    """Whether two waves asked the question the same way and, if not, why, in plain English."""
    a, b = older.wave, newer.wave
    reasons = []
    same_choices = _answers_allowed(older) == _answers_allowed(newer)
    types_differ = older.question_type != newer.question_type
    if types_differ and ("matrix" in (older.question_type, newer.question_type) or same_choices):
        reasons.append(f"{a} asked {QUESTION_TYPES[older.question_type]}, {b} {QUESTION_TYPES[newer.question_type]}")
    elif not same_choices:
        reasons.append(f"{a} allowed {choices_wording(older)}, {b} {choices_wording(newer)}")
    if older.base_rule != newer.base_rule:
        reasons.append(f"{a} percentages are of {BASE_RULES[older.base_rule]}, {b} of {BASE_RULES[newer.base_rule]}")
    if older.question_type == newer.question_type == "matrix" and set(older.top_box) != set(newer.top_box):
        reasons.append(f"{a} counted {top_box_wording(older)} as the top box, {b} {top_box_wording(newer)}")
    return not reasons, "; ".join(reasons)


def top_box_wording(table: WaveTable | WaveCounts) -> str:
    """'“Very concerned” or “Fairly concerned”': the scale points counted, in the wave's own words (codes if unknown)."""
    names = [f"“{name}”" for name in (table.top_box_labels or table.top_box)]
    if not names:
        return "nothing"
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]


def wave_changes(older: WaveTable, newer: WaveTable) -> pd.DataFrame:
    """One row per concept in both waves: the tested change where comparable, the reason where not."""
    comparable, reason = comparability(older, newer)
    before = {row["code"]: row for row in older.all_rows.to_dict("records")}
    records = []
    for after in newer.all_rows.to_dict("records"):
        if after["code"] not in before:
            continue
        record = {"code": after["code"], "label": after["label"], "from_wave": older.wave, "to_wave": newer.wave,
                  "comparable": comparable, "reason": reason, "change_pp": None, "p_value": None, "significant": None}
        if comparable:
            record.update(_tested_change(before[after["code"]], after))
        records.append(record)
    return _changes_frame(records)


def _changes_frame(records: list[dict]) -> pd.DataFrame:
    """Object columns from the start, so a missing figure stays None rather than becoming NaN."""
    return pd.DataFrame(records, columns=CHANGE_COLUMNS, dtype=object)


def _tested_change(old: dict, new: dict) -> dict:
    """Change in points from the unrounded shares, and the z-test where it can be computed."""
    change = Fraction(new["count"] * 100, new["base"]) - Fraction(old["count"] * 100, old["base"])
    result = {"change_pp": round_half_up(change)}
    test = two_proportion_z_test(old["count"], old["base"], new["count"], new["base"])
    if test is not None:
        result.update(p_value=round_half_up(test[1], 4), significant=bool(test[1] < 0.05))
    return result


def compare_waves(waves: list[WaveCounts], top: int = 5, question: str = "") -> Comparison:
    """Rank each wave (oldest first) and compare each wave with the one before it."""
    if not waves:
        raise AnalysisError(f"no wave asks question '{question}'")
    labels = [wave.wave for wave in waves]
    if len(set(labels)) != len(labels):
        raise AnalysisError(f"question '{question}': a wave is given twice ({', '.join(labels)})")
    tables = [rank_wave(wave, top) for wave in waves]
    changes = [wave_changes(older, newer) for older, newer in zip(tables, tables[1:])]
    frame = pd.concat(changes, ignore_index=True) if changes else _changes_frame([])
    return Comparison(
        question=question,
        question_text=tables[-1].question_text,
        top=top,
        waves=tables,
        changes=frame.astype(object),
    )


def suppress_small_cells(comparison: Comparison, threshold: int = 10) -> Comparison:
    """A new Comparison where cells of fewer than ``threshold`` respondents show [c], so nobody is singled out."""
    if threshold < 1:
        raise AnalysisError(f"the small-cell threshold must be at least 1, not {threshold}")
    tables, hidden = [], set()
    for table in comparison.waves:
        if table.respondents < threshold:
            # Not even ranks or ties: their order would tell how the hidden counts compare.
            hidden |= {(table.wave, code) for code in table.all_rows["code"]}
            nothing = table.all_rows.iloc[0:0].astype(object)
            tables.append(replace(table, rows=nothing, all_rows=nothing, tie_at_cutoff=False, suppressed=True))
            continue
        # One answer each (single, or multi of at most one) or mentions: the counts add up to a total shown.
        adds_up = _answers_allowed(table) == 1 or table.base_rule == "mentions"
        all_rows, rows, codes = _suppress(table.all_rows, threshold, comparison.top, adds_up=adds_up)
        hidden |= {(table.wave, code) for code in codes}
        ranked_shown = int(rows["rank"].notna().sum())
        tables.append(replace(table, rows=rows, all_rows=all_rows, tie_at_cutoff=ranked_shown > comparison.top))
    changes = [_suppress_change(change, hidden, threshold) for change in _hidden_last(comparison.changes.to_dict("records"), hidden)]
    return replace(comparison, waves=tables, changes=_changes_frame(changes), suppressed_threshold=threshold)


def _count(row: dict) -> int:
    return 0 if row["count"] == SUPPRESSED else int(row["count"])


def _touches(change: dict, hidden: set[tuple[str, str]]) -> bool:
    return (change["from_wave"], change["code"]) in hidden or (change["to_wave"], change["code"]) in hidden


def _hidden_last(changes: list[dict], hidden: set[tuple[str, str]]) -> list[dict]:
    """Per pair of waves, the changes touching a hidden cell after the others, A to Z: their order
    (by the newer wave's share) would rank the hidden counts."""
    pairs: dict[tuple[str, str], int] = {}
    for change in changes:
        pairs.setdefault((change["from_wave"], change["to_wave"]), len(pairs))

    def place(change: dict) -> tuple:
        touched = _touches(change, hidden)
        alphabetical = (str(change["label"]).casefold(), str(change["code"])) if touched else ("", "")
        return (pairs[(change["from_wave"], change["to_wave"])], touched, *alphabetical)

    return sorted(changes, key=place)


def _suppress(ranked: pd.DataFrame, threshold: int, top: int, *, adds_up: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Every row and the rows to show, small cells as [c] (object columns), and the codes hidden.

    The rows shown are ranked among themselves (top N, ties among them only); the hidden ones
    follow all of them, unranked and in alphabetical order, so that neither a rank, a tie nor a
    place in the list tells how a hidden count compares with another (a matrix item rated by
    three people, all "very concerned", would otherwise share first place with a 100% item).
    A base under the threshold (a matrix item rated by few) is hidden too. Where the counts
    ``adds_up`` to a total that is shown, the hidden cells together are the total less the
    others: the next smallest shown cells are hidden with them until there are two or more and
    together at least ``threshold`` (one cell alone, or several that must all be 0, would be known).
    """
    def too_small(value) -> bool:
        return value == SUPPRESSED or int(value) < threshold

    records = ranked.to_dict("records")  # largest share first
    small = [row for row in records if too_small(row["count"])]
    shown = [row for row in records if not too_small(row["count"])]
    while adds_up and small and shown and (len(small) == 1 or sum(_count(row) for row in small) < threshold):
        small.append(shown.pop())  # the smallest share shown: with a common base, the smallest count
    ranks = _competition_ranks([_share(row) for row in shown])
    shown = [{**row, "rank": rank, "tied": ranks.count(rank) > 1} for row, rank in zip(shown, ranks)]
    hidden = [
        {**row, **dict.fromkeys(SUPPRESSED_CELLS, SUPPRESSED), "rank": None, "tied": False,
         "base": SUPPRESSED if too_small(row["base"]) else row["base"]}
        for row in sorted(small, key=lambda row: (str(row["label"]).casefold(), str(row["code"])))
    ]
    every = pd.DataFrame(shown + hidden, columns=ROW_COLUMNS, dtype=object)
    display = pd.DataFrame([row for row in shown if row["rank"] <= top] + hidden, columns=ROW_COLUMNS, dtype=object)
    return every, display, {row["code"] for row in hidden}


def _suppress_change(change: dict, hidden: set[tuple[str, str]], threshold: int) -> dict:
    touched = (change["from_wave"], change["code"]) in hidden or (change["to_wave"], change["code"]) in hidden
    if not touched:
        return change
    note = f"suppressed: fewer than {threshold} respondents"
    # A change that was not comparable keeps saying why, as well as that it is suppressed.
    reason = f"{change['reason']}; {note}" if change["reason"] and not change["comparable"] else note
    return {**change, "reason": reason, "change_pp": None, "p_value": None, "significant": None}


ROW_KEYS = ["rank", "code", "wave_codes", "label", "count", "percent", "ci_low", "ci_high", "tied", "base"]


def comparison_to_dict(comparison: Comparison) -> dict:
    """The documented JSON contract (docs/analysis.md): plain JSON types only, NaN as None."""
    return {
        "question": comparison.question,
        "question_text": comparison.question_text,
        "top": comparison.top,
        "group": {"code": comparison.group[0], "label": comparison.group[1]} if comparison.group else None,
        "suppressed_below": comparison.suppressed_threshold,
        "skipped_waves": [{"wave": wave, "reason": reason} for wave, reason in comparison.skipped_waves],
        "waves": [_wave_to_dict(table) for table in comparison.waves],
        "changes": [{key: _plain(change[key]) for key in CHANGE_COLUMNS} for change in comparison.changes.to_dict("records")],
    }


def _wave_to_dict(table: WaveTable) -> dict:
    return {
        "wave": table.wave,
        "survey": table.survey,
        "question_type": table.question_type,
        "max_choices": _plain(table.max_choices),
        "base": table.base_rule,
        "respondents": SUPPRESSED if table.suppressed else _plain(table.respondents),
        "suppressed": table.suppressed,
        "tie_at_cutoff": bool(table.tie_at_cutoff),
        "top_box": list(table.top_box),
        "top_box_labels": list(table.top_box_labels),
        "rows": [{key: _plain(row[key]) for key in ROW_KEYS} for row in table.rows.to_dict("records")],
    }


def _plain(value):
    """numpy scalars, NaN and pd.NA → JSON-ready Python values."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
