"""Ranking, ties, honest changes between waves, suppression and the JSON contract: whole tables asserted."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analysis.compare import comparison_to_dict, compare_waves, rank_wave, suppress_small_cells
from analysis.errors import AnalysisError

from .builders import (
    SCALE_VERY,
    concerns,
    concerns_2021,
    concerns_2023,
    counts_frame,
    feel_safer,
    priorities_2021,
    priorities_2023,
    wave,
)

ROW_COLUMNS = ["rank", "code", "wave_codes", "label", "count", "base", "percent", "ci_low", "ci_high", "tied"]
CHANGE_COLUMNS = ["code", "label", "from_wave", "to_wave", "comparable", "reason", "change_pp", "p_value", "significant"]
ONE_OF_FIVE = "2021 allowed one answer, 2023 up to five"


def with_wave_codes(rows) -> list[tuple]:
    """(rank, code, label, …) → (rank, code, [code], label, …): the wave used the concept's own code."""
    return [(rank, code, [code], *rest) for rank, code, *rest in rows]


def table(*rows) -> pd.DataFrame:
    """Expected ranked rows: (rank, code, label, count, base, percent, ci_low, ci_high, tied)."""
    return pd.DataFrame(with_wave_codes(rows), columns=ROW_COLUMNS).astype(
        {"rank": "int64", "code": "str", "wave_codes": "object", "label": "str", "count": "int64", "base": "int64",
         "percent": "float64", "ci_low": "float64", "ci_high": "float64", "tied": "bool"}
    )


def changes(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=CHANGE_COLUMNS, dtype=object)


def untested(code, label, reason, waves=("2021", "2023")):
    return (code, label, *waves, False, reason, None, None, None)


PRIORITIES_2021_TOP = table(
    (1, "drug_dealing", "Drug dealing", 107, 1000, 10.7, 8.9, 12.8, False),
    (2, "youth_disorder", "Youth disorder", 93, 1000, 9.3, 7.7, 11.3, False),
    (3, "burglary", "Burglary", 74, 1000, 7.4, 5.9, 9.2, False),
    (4, "violent_crime", "Violent crime", 72, 1000, 7.2, 5.8, 9.0, False),
    (5, "littering", "Littering/fly tipping", 58, 1000, 5.8, 4.5, 7.4, False),
)
PRIORITIES_2023_TOP = table(
    (1, "littering", "Littering or fly tipping", 190, 500, 38.0, 33.9, 42.3, False),
    (2, "drug_dealing", "Drug Dealing", 185, 500, 37.0, 32.9, 41.3, False),
    (3, "nuisance_bikes", "Nuisance bikes", 165, 500, 33.0, 29.0, 37.2, False),
    (4, "noise", "Noise nuisance", 160, 500, 32.0, 28.1, 36.2, False),
    # The tie across fifth place keeps both, in questionnaire order.
    (5, "burglary", "Burglary", 135, 500, 27.0, 23.3, 31.1, True),
    (5, "drugs_public", "Presence of drugs in public places", 135, 500, 27.0, 23.3, 31.1, True),
)


# --- ranking ---------------------------------------------------------------------------------


def test_single_choice_wave_is_ranked_with_percent_and_wilson_interval():
    ranked = rank_wave(priorities_2021())
    assert_frame_equal(ranked.rows, PRIORITIES_2021_TOP)
    assert_frame_equal(ranked.all_rows, pd.concat([PRIORITIES_2021_TOP, table(
        (6, "asb", "Anti-social behaviour", 41, 1000, 4.1, 3.0, 5.5, False),
        (7, "nuisance_bikes", "Nuisance bikes", 30, 1000, 3.0, 2.1, 4.3, False),
        (8, "noise", "Noise nuisance", 25, 1000, 2.5, 1.7, 3.7, False),
    )], ignore_index=True))
    assert (ranked.wave, ranked.survey, ranked.question_type, ranked.max_choices, ranked.base_rule) == (
        "2021", "cs-2021", "single", 1, "answered")
    assert (ranked.respondents, ranked.top_box, ranked.tie_at_cutoff) == (1000, (), False)


def test_tie_across_the_cut_off_keeps_every_tied_row_and_says_so():
    ranked = rank_wave(priorities_2023())
    assert_frame_equal(ranked.rows, PRIORITIES_2023_TOP)
    assert ranked.tie_at_cutoff is True
    assert list(ranked.all_rows["rank"]) == [1, 2, 3, 4, 5, 5, 7, 8]  # competition ranking: no rank 6


def test_ties_within_the_top_share_a_rank_and_keep_questionnaire_order():
    counts = wave("2023", "multi", None, [
        ("a", "A", 50, 100), ("b", "B", 30, 100), ("c", "C", 60, 100), ("d", "D", 50, 100), ("e", "E", 10, 100),
    ])
    ranked = rank_wave(counts, top=4)
    assert_frame_equal(ranked.rows, table(
        (1, "c", "C", 60, 100, 60.0, 50.2, 69.1, False),
        (2, "a", "A", 50, 100, 50.0, 40.4, 59.6, True),
        (2, "d", "D", 50, 100, 50.0, 40.4, 59.6, True),
        (4, "b", "B", 30, 100, 30.0, 21.9, 39.6, False),
    ))
    assert ranked.tie_at_cutoff is False


def test_equal_shares_on_different_bases_tie_exactly():
    ranked = rank_wave(concerns_2023())
    assert_frame_equal(ranked.rows, table(
        (1, "knife_crime", "Knife crime", 700, 1000, 70.0, 67.1, 72.8, False),
        (2, "asb", "Anti-social behaviour", 670, 1000, 67.0, 64.0, 69.8, True),
        (2, "youth_violence", "Youth violence involving under-25s", 603, 900, 67.0, 63.9, 70.0, True),
        (4, "nuisance_bikes", "Nuisance bikes", 570, 1000, 57.0, 53.9, 60.0, True),
        (4, "public_violence", "Public place violence", 513, 900, 57.0, 53.7, 60.2, True),
    ))
    assert ranked.top_box == ("very", "fairly")


def test_percent_rounds_half_up_from_the_exact_share():
    counts = wave("2021", "multi", None, [("a", "A", 49, 400), ("b", "B", 21, 400), ("c", "C", 1, 8)])
    assert list(rank_wave(counts).all_rows["percent"]) == [12.5, 12.3, 5.3]  # 12.5, 12.25, 5.25


def test_rows_with_no_base_are_dropped():
    counts = wave("2021", "matrix", None, [("a", "A", 3, 10), ("b", "B", 0, 0)], top_box=("very",))
    assert list(rank_wave(counts).all_rows["code"]) == ["a"]


def test_a_wave_with_nothing_to_rank_gives_empty_tables_with_the_columns():
    ranked = rank_wave(wave("2021", "multi", None, [("a", "A", 0, 0)], respondents=0))
    assert_frame_equal(ranked.rows, table())
    assert ranked.tie_at_cutoff is False


def test_ranking_does_not_modify_its_input():
    counts = priorities_2023()
    before = counts.counts.copy(deep=True)
    rank_wave(counts)
    assert_frame_equal(counts.counts, before)


@pytest.mark.parametrize(
    "counts, top, message",
    [
        (priorities_2021(), 0, "top must be at least 1, not 0"),
        (replace(priorities_2021(), question_type="text"), 5,
         "wave 2021: 'text' questions are not ranked (only single, multi, matrix)"),
        (replace(priorities_2021(), base_rule="weighted"), 5, "wave 2021: unknown base rule 'weighted' (answered, all, mentions)"),
        (replace(priorities_2021(), counts=counts_frame(("a", "A", 1, 2)).drop(columns=["position"])), 5,
         "wave 2021: counts lack the column(s) position"),
    ],
    ids=["top", "question type", "base rule", "columns"],
)
def test_bad_ranking_requests_raise_analysis_error(counts, top, message):
    with pytest.raises(AnalysisError) as raised:
        rank_wave(counts, top=top)
    assert str(raised.value) == message


# --- changes between waves -------------------------------------------------------------------


def test_single_choice_year_against_choose_five_year_is_not_comparable():
    """The borough report in docs/domain.md: "Drug dealing 10.7% → 37%" is not a 26-point rise."""
    comparison = compare_waves([priorities_2021(), priorities_2023()], question="priorities")
    assert (comparison.question, comparison.top, comparison.group, comparison.suppressed_threshold) == (
        "priorities", 5, None, None)
    assert comparison.question_text == "Which of these should be priorities in your area? Choose up to five."
    assert_frame_equal(comparison.waves[0].rows, PRIORITIES_2021_TOP)
    assert_frame_equal(comparison.waves[1].rows, PRIORITIES_2023_TOP)
    # Every concept in both waves, shown or not, in the newer wave's order and wording.
    assert_frame_equal(comparison.changes, changes(
        untested("littering", "Littering or fly tipping", ONE_OF_FIVE),
        untested("drug_dealing", "Drug Dealing", ONE_OF_FIVE),
        untested("nuisance_bikes", "Nuisance bikes", ONE_OF_FIVE),
        untested("noise", "Noise nuisance", ONE_OF_FIVE),
        untested("burglary", "Burglary", ONE_OF_FIVE),
        untested("youth_disorder", "Youth disorder", ONE_OF_FIVE),
    ))


def test_question_asked_the_same_way_is_tested():
    comparison = compare_waves([feel_safer("2021", 370, 100), feel_safer("2023", 320, 110)], question="feel_safer")
    assert_frame_equal(comparison.changes, changes(
        ("police_presence", "Increased police presence", "2021", "2023", True, "", -5.0, 0.0187, True),
        ("cctv", "More CCTV", "2021", "2023", True, "", 1.0, 0.4657, False),
    ))


def test_matrix_with_the_same_top_box_is_tested_item_by_item():
    comparison = compare_waves([concerns_2021(), concerns_2023()], question="concerns")
    assert_frame_equal(comparison.changes, changes(
        ("knife_crime", "Knife crime", "2021", "2023", True, "", 5.0, 0.017, True),
        ("asb", "Anti-social behaviour", "2021", "2023", True, "", -3.0, 0.1487, False),
        ("youth_violence", "Youth violence involving under-25s", "2021", "2023", True, "", 7.0, 0.002, True),
        ("nuisance_bikes", "Nuisance bikes", "2021", "2023", True, "", 7.0, 0.0017, True),
        ("public_violence", "Public place violence", "2021", "2023", True, "", 5.0, 0.0332, True),
    ))


def test_matrix_whose_top_box_changed_is_not_comparable():
    comparison = compare_waves([concerns_2021(SCALE_VERY), concerns_2023()], question="concerns")
    reason = "2021 counted “Very concerned” as the top box, 2023 “Very concerned” or “Fairly concerned”"
    assert_frame_equal(comparison.changes, changes(
        untested("knife_crime", "Knife crime", reason),
        untested("asb", "Anti-social behaviour", reason),
        untested("youth_violence", "Youth violence involving under-25s", reason),
        untested("nuisance_bikes", "Nuisance bikes", reason),
        untested("public_violence", "Public place violence", reason),
    ))


def one_option(wave_label, question_type, max_choices, base_rule="answered", top_box=()):
    return wave(wave_label, question_type, max_choices, [("a", "A", 30, 100)], base_rule=base_rule, top_box=top_box)


@pytest.mark.parametrize(
    "older, newer, reason",
    [
        (one_option("2021", "single", 1), one_option("2023", "multi", 5), ONE_OF_FIVE),
        (one_option("2021", "multi", None), one_option("2023", "multi", 3), "2021 allowed any number of answers, 2023 up to three"),
        (one_option("2021", "multi", 12), one_option("2023", "multi", 10), "2021 allowed up to 12, 2023 up to ten"),
        (one_option("2021", "single", 1), one_option("2023", "multi", 1),
         "2021 asked a single-choice question, 2023 a choose-several question"),
        (one_option("2021", "matrix", None, top_box=("very",)), one_option("2023", "multi", None),
         "2021 asked a matrix question, 2023 a choose-several question"),
        (one_option("2021", "multi", 5, base_rule="all"), one_option("2023", "multi", 5),
         "2021 percentages are of all respondents, 2023 of respondents who answered"),
        (one_option("2021", "multi", None), one_option("2023", "multi", None, base_rule="mentions"),
         "2021 percentages are of respondents who answered, 2023 of all mentions"),
        (one_option("2021", "matrix", None, top_box=("very", "fairly")), one_option("2023", "matrix", None, top_box=("very",)),
         "2021 counted “very” or “fairly” as the top box, 2023 “very”"),  # without labels, the codes
        (one_option("2021", "single", 1, base_rule="all"), one_option("2023", "multi", 5),
         "2021 allowed one answer, 2023 up to five; 2021 percentages are of all respondents, 2023 of respondents who answered"),
    ],
    ids=["one vs five", "any vs three", "twelve vs ten", "single vs choose-one", "matrix vs multi",
         "all vs answered", "answered vs mentions", "top box", "two reasons"],
)
def test_waves_asked_differently_say_why_in_plain_english(older, newer, reason):
    assert_frame_equal(compare_waves([older, newer], question="q").changes, changes(untested("a", "A", reason)))


def test_top_box_in_another_order_is_still_the_same_question():
    older = one_option("2021", "matrix", None, top_box=("very", "fairly"))
    newer = one_option("2023", "matrix", None, top_box=("fairly", "very"))
    assert_frame_equal(compare_waves([older, newer], question="q").changes, changes(
        ("a", "A", "2021", "2023", True, "", 0.0, 1.0, False),
    ))


def test_changes_follow_consecutive_waves_and_skip_concepts_not_in_both():
    waves = [feel_safer("2019", 300, 90), feel_safer("2021", 370, 100),
             wave("2023", "multi", None, [("police_presence", "Increased police presence", 320, 1000), ("lighting", "Lighting", 80, 1000)])]
    comparison = compare_waves(waves, question="feel_safer")
    assert [table.wave for table in comparison.waves] == ["2019", "2021", "2023"]
    assert_frame_equal(comparison.changes, changes(
        ("police_presence", "Increased police presence", "2019", "2021", True, "", 7.0, 0.0009, True),
        ("cctv", "More CCTV", "2019", "2021", True, "", 1.0, 0.4457, False),
        ("police_presence", "Increased police presence", "2021", "2023", True, "", -5.0, 0.0187, True),
    ))


def test_one_wave_has_no_changes():
    comparison = compare_waves([priorities_2021()], question="priorities")
    assert_frame_equal(comparison.changes, changes())
    assert len(comparison.waves) == 1


@pytest.mark.parametrize(
    "waves, message",
    [([], "no wave asks question 'priorities'"),
     ([priorities_2021(), priorities_2021()], r"question 'priorities': a wave is given twice \(2021, 2021\)")],
    ids=["no waves", "same wave twice"],
)
def test_bad_comparison_requests_raise_analysis_error(waves, message):
    with pytest.raises(AnalysisError, match=message):
        compare_waves(waves, question="priorities")


def test_comparing_does_not_modify_its_input():
    waves = [priorities_2021(), priorities_2023()]
    before = [wave_counts.counts.copy(deep=True) for wave_counts in waves]
    compare_waves(waves, question="priorities")
    for wave_counts, frame in zip(waves, before):
        assert_frame_equal(wave_counts.counts, frame)


# --- small-cell suppression ------------------------------------------------------------------


def breakdown_group(code, label, older, newer):
    comparison = compare_waves([older, newer], question="feel_safer")
    return replace(comparison, group=(code, label))


def safer(wave_label, police, cctv, respondents):
    return wave(wave_label, "multi", None, [
        ("police_presence", "Increased police presence", police, respondents),
        ("cctv", "More CCTV", cctv, respondents),
    ], text="What would make you feel safer?")


def suppressed_table(*rows) -> pd.DataFrame:
    return pd.DataFrame(with_wave_codes(rows), columns=ROW_COLUMNS, dtype=object)


def test_small_cells_show_c_and_their_changes_are_withheld():
    north = breakdown_group("north", "North", safer("2021", 80, 12, 200), safer("2023", 60, 7, 150))
    hidden = suppress_small_cells(north, threshold=10)
    assert hidden.suppressed_threshold == 10 and hidden.group == ("north", "North")
    assert_frame_equal(hidden.waves[0].rows, suppressed_table(
        (1, "police_presence", "Increased police presence", 80, 200, 40.0, 33.5, 46.9, False),
        (2, "cctv", "More CCTV", 12, 200, 6.0, 3.5, 10.2, False),
    ))
    assert_frame_equal(hidden.waves[1].rows, suppressed_table(
        (1, "police_presence", "Increased police presence", 60, 150, 40.0, 32.5, 48.0, False),
        (None, "cctv", "More CCTV", "[c]", 150, "[c]", "[c]", "[c]", False),
    ))
    assert_frame_equal(hidden.waves[1].all_rows, hidden.waves[1].rows)
    assert_frame_equal(hidden.changes, changes(
        ("police_presence", "Increased police presence", "2021", "2023", True, "", 0.0, 1.0, False),
        ("cctv", "More CCTV", "2021", "2023", True, "suppressed: fewer than 10 respondents", None, None, None),
    ))


def test_a_hidden_cell_has_no_rank_tie_or_place_that_tells_how_its_count_compares():
    # "Racism" was rated by three people, all concerned: 100%, like "Knife crime" (30 of 30).
    grid = concerns("2023", ("very", "fairly"), [
        ("knife_crime", "Knife crime", 30, 30),
        ("racism", "Racism", 3, 3),
        ("asb", "Anti-social behaviour", 20, 30),
        ("burglary", "Burglary", 8, 30),
        ("bikes", "Nuisance bikes", 15, 30),
        ("arson", "Arson", 9, 30),
    ])
    hidden = suppress_small_cells(replace(compare_waves([grid], top=2, question="concerns"), group=("a", "Aton")), threshold=10)
    table = hidden.waves[0]
    # The shown rows are ranked among themselves (top 2); the hidden ones follow, unranked, A to Z.
    assert_frame_equal(table.rows, suppressed_table(
        (1, "knife_crime", "Knife crime", 30, 30, 100.0, 88.6, 100.0, False),
        (2, "asb", "Anti-social behaviour", 20, 30, 66.7, 48.8, 80.8, False),
        (None, "arson", "Arson", "[c]", 30, "[c]", "[c]", "[c]", False),
        (None, "burglary", "Burglary", "[c]", 30, "[c]", "[c]", "[c]", False),
        (None, "racism", "Racism", "[c]", "[c]", "[c]", "[c]", "[c]", False),
    ))
    assert not table.tie_at_cutoff
    assert list(table.all_rows["code"]) == ["knife_crime", "asb", "bikes", "arson", "burglary", "racism"]
    assert list(table.all_rows["rank"]) == [1, 2, 3, None, None, None]


def test_changes_touching_a_hidden_cell_come_last_alphabetically_not_by_share():
    def grid(wave_label, racism):
        return concerns(wave_label, ("very", "fairly"), [("knife_crime", "Knife crime", 50, 60), ("racism", "Racism", racism, 3),
                                                         ("asb", "Anti-social behaviour", 30, 60), ("arson", "Arson", 4, 30)])
    hidden = suppress_small_cells(replace(compare_waves([grid("2021", 1), grid("2023", 3)], question="concerns"), group=("a", "Aton")))
    # By the 2023 shares Racism (3 of 3) would come first and Arson between the shown rows.
    assert list(hidden.changes["code"]) == ["knife_crime", "asb", "arson", "racism"]


def test_a_single_hidden_count_that_the_total_would_give_away_hides_the_next_smallest():
    wave_2023 = wave("2023", "single", 1, [("alpha", "Alpha", 25, 40), ("beta", "Beta", 11, 40), ("gamma", "Gamma", 4, 40)])
    table = suppress_small_cells(replace(compare_waves([wave_2023], question="q"), group=("a", "Aton"))).waves[0]
    # Gamma alone hidden would be 40 - 25 - 11 = 4.
    assert [(row["code"], row["rank"], row["count"]) for row in table.rows.to_dict("records")] == [
        ("alpha", 1, 25), ("beta", None, "[c]"), ("gamma", None, "[c]")]
    # A choose-several question's counts add up to nothing shown: one hidden cell is enough.
    several = wave("2023", "multi", None, [("alpha", "Alpha", 25, 40), ("beta", "Beta", 11, 40), ("gamma", "Gamma", 4, 40)])
    table = suppress_small_cells(replace(compare_waves([several], question="q"), group=("a", "Aton"))).waves[0]
    assert [row["count"] for row in table.rows.to_dict("records")] == [25, 11, "[c]"]


def test_hidden_cells_that_the_total_would_give_away_together_take_more_with_them():
    def aton(kind, max_choices, counts):
        rows = [(code, code.capitalize(), count, 63) for code, count in counts]
        return suppress_small_cells(replace(compare_waves([wave("2023", kind, max_choices, rows)], question="q"), group=("a", "Aton"))).waves[0]

    # Choose one of a multi: four would be 63 - 30 - 12 - 12 = 9.
    assert [row["count"] for row in aton("multi", 1, [("one", 30), ("two", 12), ("three", 12), ("four", 9)]).rows.to_dict("records")] == [
        30, 12, "[c]", "[c]"]
    # Two hidden cells that must both be 0 (63 - 63): the smallest shown one joins them.
    assert [row["count"] for row in aton("single", 1, [("one", 53), ("two", 10), ("three", 0), ("four", 0)]).rows.to_dict("records")] == [
        53, "[c]", "[c]", "[c]"]


def test_a_wave_with_fewer_respondents_than_the_threshold_is_hidden_entirely():
    west = breakdown_group("west", "West", safer("2021", 5, 2, 8), safer("2023", 25, 12, 40))
    hidden = suppress_small_cells(west, threshold=10)
    # Not even the order of its rows: that would tell how the hidden counts compare.
    assert hidden.waves[0].suppressed and not hidden.waves[1].suppressed
    assert hidden.waves[0].rows.empty and hidden.waves[0].all_rows.empty and not hidden.waves[0].tie_at_cutoff
    assert_frame_equal(hidden.waves[1].rows, suppressed_table(
        (1, "police_presence", "Increased police presence", 25, 40, 62.5, 47.0, 75.8, False),
        (2, "cctv", "More CCTV", 12, 40, 30.0, 18.1, 45.4, False),
    ))
    assert set(hidden.changes["reason"]) == {"suppressed: fewer than 10 respondents"}
    assert set(hidden.changes["change_pp"]) == {None}


def test_a_change_that_was_not_comparable_keeps_its_reason_when_suppressed():
    hidden = suppress_small_cells(compare_waves([priorities_2021(), priorities_2023()], question="priorities"), threshold=30)
    noise = hidden.changes[hidden.changes["code"] == "noise"].iloc[0]
    assert noise["reason"] == f"{ONE_OF_FIVE}; suppressed: fewer than 30 respondents"
    # Speeding (30) is hidden too: a single choice's counts add up to the base shown.
    assert list(hidden.waves[0].all_rows["count"]) == [107, 93, 74, 72, 58, 41, "[c]", "[c]"]


def test_suppression_returns_a_new_comparison_and_leaves_the_input_alone():
    comparison = breakdown_group("north", "North", safer("2021", 80, 12, 200), safer("2023", 60, 7, 150))
    snapshot = copy.deepcopy(comparison)
    hidden = suppress_small_cells(comparison, threshold=10)
    assert hidden is not comparison and comparison.suppressed_threshold is None
    for table_before, table_after in zip(snapshot.waves, comparison.waves):
        assert_frame_equal(table_after.rows, table_before.rows)
        assert_frame_equal(table_after.all_rows, table_before.all_rows)
    assert_frame_equal(comparison.changes, snapshot.changes)


def test_suppressing_twice_gives_the_same_result():
    comparison = breakdown_group("north", "North", safer("2021", 80, 12, 200), safer("2023", 60, 7, 150))
    once = suppress_small_cells(comparison, threshold=10)
    twice = suppress_small_cells(once, threshold=10)
    assert comparison_to_dict(twice) == comparison_to_dict(once)


def test_suppression_threshold_must_be_positive():
    with pytest.raises(AnalysisError, match="the small-cell threshold must be at least 1, not 0"):
        suppress_small_cells(compare_waves([priorities_2021()], question="priorities"), threshold=0)


# --- the JSON contract -----------------------------------------------------------------------


def json_row(rank, code, label, count, base, percent, ci_low, ci_high, tied=False):
    return {"rank": rank, "code": code, "wave_codes": [code], "label": label, "count": count, "percent": percent,
            "ci_low": ci_low, "ci_high": ci_high, "tied": tied, "base": base}


def test_comparison_to_dict_is_the_documented_contract():
    comparison = compare_waves([feel_safer("2021", 370, 100), feel_safer("2023", 320, 110)], question="feel_safer")
    wave_fields = {"survey": None, "question_type": "multi", "max_choices": None, "base": "answered",
                   "respondents": 1000, "suppressed": False, "tie_at_cutoff": False, "top_box": [], "top_box_labels": []}
    assert comparison_to_dict(comparison) == {
        "question": "feel_safer",
        "question_text": "What would make you feel safer?",
        "top": 5,
        "group": None,
        "suppressed_below": None,
        "skipped_waves": [],
        "waves": [
            {**wave_fields, "wave": "2021", "survey": "cs-2021", "rows": [
                json_row(1, "police_presence", "Increased police presence", 370, 1000, 37.0, 34.1, 40.0),
                json_row(2, "cctv", "More CCTV", 100, 1000, 10.0, 8.3, 12.0),
            ]},
            {**wave_fields, "wave": "2023", "survey": "cs-2023", "rows": [
                json_row(1, "police_presence", "Increased police presence", 320, 1000, 32.0, 29.2, 35.0),
                json_row(2, "cctv", "More CCTV", 110, 1000, 11.0, 9.2, 13.1),
            ]},
        ],
        "changes": [
            {"code": "police_presence", "label": "Increased police presence", "from_wave": "2021", "to_wave": "2023",
             "comparable": True, "reason": "", "change_pp": -5.0, "p_value": 0.0187, "significant": True},
            {"code": "cctv", "label": "More CCTV", "from_wave": "2021", "to_wave": "2023",
             "comparable": True, "reason": "", "change_pp": 1.0, "p_value": 0.4657, "significant": False},
        ],
    }


def test_dict_of_a_suppressed_breakdown_group_uses_plain_json_types():
    west = suppress_small_cells(breakdown_group("west", "West", safer("2021", 5, 2, 8), safer("2023", 25, 12, 40)), threshold=10)
    data = comparison_to_dict(west)
    assert data["group"] == {"code": "west", "label": "West"} and data["suppressed_below"] == 10
    assert (data["waves"][0]["rows"], data["waves"][0]["respondents"], data["waves"][0]["suppressed"]) == ([], "[c]", True)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert {type(value) for row in data["waves"][1]["rows"] for key, value in row.items() if key != "wave_codes"} <= {int, float, str, bool}
    assert [row["wave_codes"] for row in data["waves"][1]["rows"]] == [["police_presence"], ["cctv"]]


def test_nan_becomes_null():
    comparison = compare_waves([feel_safer("2021", 370, 100), feel_safer("2023", 320, 110)], question="feel_safer")
    frame = comparison.changes.assign(p_value=[float("nan"), pd.NA])
    data = comparison_to_dict(replace(comparison, changes=frame))
    assert [change["p_value"] for change in data["changes"]] == [None, None]
