"""Saved results: a comparison kept as JSON after its responses are purged renders as it did."""

from __future__ import annotations

import json
from dataclasses import replace

from analysis import render
from analysis.compare import compare_waves, suppress_small_cells
from analysis.saved import comparison_from_payload, saved_payload

from .builders import priorities_2021, priorities_2023, wave


def through_json(payload: dict) -> dict:
    return json.loads(json.dumps(payload, allow_nan=False))


def test_a_breakdown_group_with_a_hidden_wave_renders_the_same_after_saving():
    waves = [wave(year, "multi", None, [("police_presence", "Increased police presence", police, n), ("cctv", "More CCTV", cctv, n)])
             for year, police, cctv, n in (("2021", 5, 2, 8), ("2023", 25, 9, 40))]
    west = suppress_small_cells(replace(compare_waves(waves, question="feel_safer"), group=("west", "West")), threshold=10)
    restored = comparison_from_payload(through_json(saved_payload(west)))
    assert restored.waves[0].suppressed and restored.waves[0].rows.empty
    for output in (render.to_markdown, render.to_csv, render.to_json):
        assert output([restored], "Safer") == output([west], "Safer")


def test_a_result_saved_before_rows_had_wave_codes_still_renders():
    comparison = replace(compare_waves([priorities_2021(), priorities_2023()], question="priorities"), skipped_waves=(("2019", "asked as a text question, which is not ranked"),))
    payload = through_json(saved_payload(comparison))
    for wave_data in payload["waves"]:
        del wave_data["suppressed"]
        for row in (*wave_data["rows"], *wave_data["all_rows"]):
            del row["wave_codes"]
    restored = comparison_from_payload(payload)
    assert render.to_markdown([restored], "Priorities") == render.to_markdown([comparison], "Priorities")
    assert "- 2019: asked as a text question, which is not ranked, so it is left out." in render.to_markdown([restored], "Priorities")
