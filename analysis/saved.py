"""Comparisons kept as JSON (saved results) and rebuilt from it, so a published table can be
rendered again in every format after the responses behind it were deleted.

:func:`saved_payload` is :func:`analysis.compare.comparison_to_dict` (the documented JSON
contract) plus, per wave, every ranked row (``all_rows``; the "Base:" line under a column is
computed from all of them, not only the top N). :func:`comparison_from_payload` is its
inverse for every renderer in :mod:`analysis.render`. Pure: no database, no Flask.
"""

from __future__ import annotations

import pandas as pd

from .compare import CHANGE_COLUMNS, ROW_COLUMNS, ROW_DTYPES, ROW_KEYS, SUPPRESSED, Comparison, WaveTable, _plain, comparison_to_dict
from .errors import AnalysisError

#: The version of the payload layout, should it ever change.
PAYLOAD_VERSION = 1


def saved_payload(comparison: Comparison) -> dict:
    """The comparison as plain JSON data, complete enough to render it again."""
    data = comparison_to_dict(comparison)
    for wave, table in zip(data["waves"], comparison.waves):
        wave["all_rows"] = [{key: _plain(row[key]) for key in ROW_KEYS} for row in table.all_rows.to_dict("records")]
    data["payload_version"] = PAYLOAD_VERSION
    return data


def comparison_from_payload(data: dict) -> Comparison:
    """Rebuild a Comparison from :func:`saved_payload` (or plain comparison_to_dict) output.

    Plain comparison_to_dict output has no ``all_rows``: the top rows stand in for them."""
    try:
        tables = [_wave_table(wave) for wave in data["waves"]]
        changes = pd.DataFrame(
            [{column: change.get(column) for column in CHANGE_COLUMNS} for change in data["changes"]],
            columns=CHANGE_COLUMNS,
            dtype=object,
        )
        group = data.get("group")
        return Comparison(
            question=data["question"],
            question_text=data["question_text"],
            top=int(data["top"]),
            waves=tables,
            changes=changes,
            group=(group["code"], group["label"]) if group else None,
            suppressed_threshold=data.get("suppressed_below"),
            skipped_waves=tuple((entry["wave"], entry["reason"]) for entry in data.get("skipped_waves", [])),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise AnalysisError(f"the saved result cannot be read ({error!r})") from None


def _wave_table(wave: dict) -> WaveTable:
    rows = _rows(wave["rows"])
    suppressed = bool(wave.get("suppressed", False))  # its respondents are "[c]"
    return WaveTable(
        wave=wave["wave"],
        survey=wave["survey"],
        question_type=wave["question_type"],
        max_choices=wave["max_choices"],
        base_rule=wave["base"],
        question_text="",  # not kept per wave, and no report shows it
        respondents=0 if suppressed else int(wave["respondents"]),
        top_box=tuple(wave["top_box"]),
        top_box_labels=tuple(wave.get("top_box_labels", ())),  # results saved before labels were kept: the codes
        tie_at_cutoff=bool(wave["tie_at_cutoff"]),
        rows=rows,
        all_rows=_rows(wave["all_rows"]) if "all_rows" in wave else rows,
        suppressed=suppressed,
    )


def _rows(records: list[dict]) -> pd.DataFrame:
    # Results saved before rows had wave_codes: the concept's code is the one they knew.
    filled = [{"wave_codes": [row["code"]], **row} for row in records]
    values = [{column: row[column] for column in ROW_COLUMNS} for row in filled]
    if any(row["count"] == SUPPRESSED for row in records):
        return pd.DataFrame(values, columns=ROW_COLUMNS, dtype=object)  # as suppress_small_cells made it: no rank stays None
    return pd.DataFrame(values, columns=ROW_COLUMNS).astype(ROW_DTYPES)
