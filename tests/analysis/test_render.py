"""Every output format of a comparison, asserted whole: text, CSV, JSON, Markdown, HTML, XLSX, PNG, SVG."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ElementTree
from dataclasses import replace

import openpyxl
import pytest

from analysis import render
from analysis.compare import compare_waves, suppress_small_cells
from analysis.errors import AnalysisError

from .builders import concerns_2021, concerns_2023, feel_safer, priorities_2021, priorities_2023, wave

TITLE = "Top priorities"
ONE_OF_FIVE = "2021 allowed one answer, 2023 up to five"
NOT_COMPARABLE = [
    f"{label}, 2021 → 2023: not comparable — {ONE_OF_FIVE}"
    for label in ("Littering or fly tipping", "Drug Dealing", "Nuisance bikes", "Noise nuisance", "Burglary", "Youth disorder")
]
TIE_NOTE = "2023: a tie at the cut-off, so more than 5 rows are shown."


@pytest.fixture
def priorities():
    return compare_waves([priorities_2021(), priorities_2023()], question="priorities")


@pytest.fixture
def concerns():
    return compare_waves([concerns_2021(), concerns_2023()], question="concerns")


@pytest.fixture
def breakdown():
    """Two towns; West has 8 respondents in 2021, so that wave is hidden, and a small cell in 2023."""
    def town(code, label, counts_2021, counts_2023):
        waves = [wave(year, "multi", None, [("police_presence", "Increased police presence", police, n), ("cctv", "=More CCTV", cctv, n)])
                 for year, (police, cctv, n) in (("2021", counts_2021), ("2023", counts_2023))]
        comparison = replace(compare_waves(waves, question="feel_safer"), group=(code, label))
        return suppress_small_cells(comparison, threshold=10)

    return [town("north", "North", (80, 12, 200), (60, 30, 150)), town("west", "-West", (5, 2, 8), (25, 9, 40))]


def test_text_table_is_aligned_like_the_council_table(priorities):
    assert render.to_text_table([priorities], TITLE) == "\n".join([
        "Top priorities",
        "",
        "Rank  Respondents' top 5, 2021              %      Rank  Respondents' top 5, 2023            %",
        "----  ------------------------------------  -----  ----  ----------------------------------  -----",
        "1     Drug dealing                          10.7%  1     Littering or fly tipping            38.0%",
        "2     Youth disorder                        9.3%   2     Drug Dealing                        37.0%",
        "3     Burglary                              7.4%   3     Nuisance bikes                      33.0%",
        "4     Violent crime                         7.2%   4     Noise nuisance                      32.0%",
        "5     Littering/fly tipping                 5.8%   5=    Burglary                            27.0%",
        "                                                   5=    Presence of drugs in public places  27.0%",
        "----  ------------------------------------  -----  ----  ----------------------------------  -----",
        "      Base: 1,000 respondents who answered               Base: 500 respondents who answered",
        "      Single choice                                      Choose up to five",
        "",
        *NOT_COMPARABLE,
        TIE_NOTE,
    ]) + "\n"


def test_markdown_report_with_bases_formats_and_reasons(priorities):
    assert render.to_markdown([priorities], TITLE) == "\n".join([
        "### Top priorities",
        "",
        "| Rank | Respondents' top 5, 2021 | % | Rank | Respondents' top 5, 2023 | % |",
        "| --- | --- | --- | --- | --- | --- |",
        "| 1 | Drug dealing | 10.7% | 1 | Littering or fly tipping | 38.0% |",
        "| 2 | Youth disorder | 9.3% | 2 | Drug Dealing | 37.0% |",
        "| 3 | Burglary | 7.4% | 3 | Nuisance bikes | 33.0% |",
        "| 4 | Violent crime | 7.2% | 4 | Noise nuisance | 32.0% |",
        "| 5 | Littering/fly tipping | 5.8% | 5= | Burglary | 27.0% |",
        "|  |  |  | 5= | Presence of drugs in public places | 27.0% |",
        "|  | Base: 1,000 respondents who answered |  |  | Base: 500 respondents who answered |  |",
        "|  | Single choice |  |  | Choose up to five |  |",
        "",
        *(f"- {note}" for note in NOT_COMPARABLE),
        f"- {TIE_NOTE}",
    ]) + "\n"


def test_markdown_of_a_tested_matrix_gives_points_and_significance(concerns):
    assert render.to_markdown([concerns], "Top concerns") == "\n".join([
        "### Top concerns",
        "",
        "| Rank | Respondents' top 5, 2021 | % | Rank | Respondents' top 5, 2023 | % |",
        "| --- | --- | --- | --- | --- | --- |",
        "| 1 | Anti-social behaviour | 70.0% | 1 | Knife crime | 70.0% |",
        "| 2 | Knife crime | 65.0% | 2= | Anti-social behaviour | 67.0% |",
        "| 3 | Youth violence involving under-25s | 60.0% | 2= | Youth violence involving under-25s | 67.0% |",
        "| 4 | Public place violence | 52.0% | 4= | Nuisance bikes | 57.0% |",
        "| 5 | Nuisance bikes | 50.0% | 4= | Public place violence | 57.0% |",
        "|  | Base: respondents who rated each item (900–1,000) |  |  | Base: respondents who rated each item (900–1,000) |  |",
        "|  | Matrix: “Very concerned” or “Fairly concerned” |  |  | Matrix: “Very concerned” or “Fairly concerned” |  |",
        "",
        "- Knife crime, 2021 → 2023: +5.0 points (significant at 95%)",
        "- Anti-social behaviour, 2021 → 2023: -3.0 points (not significant)",
        "- Youth violence involving under-25s, 2021 → 2023: +7.0 points (significant at 95%)",
        "- Nuisance bikes, 2021 → 2023: +7.0 points (significant at 95%)",
        "- Public place violence, 2021 → 2023: +5.0 points (significant at 95%)",
    ]) + "\n"


@pytest.mark.parametrize(
    "waves, base, question_format",
    [
        ([feel_safer("2023", 320, 110)], "Base: 1,000 respondents who answered", "Choose any number"),
        ([wave("2023", "multi", 1, [("a", "A", 3, 9)], base_rule="all")], "Base: all respondents (9)", "Choose one"),
        ([wave("2023", "multi", 3, [("a", "A", 30, 1200)], base_rule="mentions")], "Base: all mentions (1,200)", "Choose up to three"),
        ([wave("2023", "matrix", None, [("a", "A", 3, 9)], top_box=("very",))], "Base: 9 respondents who answered", "Matrix: “very”"),  # no labels: the codes
    ],
    ids=["any number", "all respondents", "mentions", "matrix"],
)
def test_each_column_states_its_base_and_question_format(waves, base, question_format):
    lines = render.to_markdown([compare_waves(waves, question="q")], "T").splitlines()
    assert lines[-2:] == [f"|  | {base} |  |", f"|  | {question_format} |  |"]


def test_markdown_escapes_table_syntax():
    text = render.to_markdown([compare_waves([wave("2023", "single", 1, [("a", "Fly | tipping\nand litter", 3, 9)])], question="q")], "T")
    assert "| 1 | Fly \\| tipping and litter | 33.3% |" in text


def test_csv_is_long_format_with_nothing_else(priorities):
    assert render.to_csv([priorities], TITLE) == "\r\n".join([
        "group,wave,rank,code,label,count,base,percent,ci_low,ci_high,tied,question_type,max_choices,base_rule",
        ",2021,1,drug_dealing,Drug dealing,107,1000,10.7,8.9,12.8,False,single,1,answered",
        ",2021,2,youth_disorder,Youth disorder,93,1000,9.3,7.7,11.3,False,single,1,answered",
        ",2021,3,burglary,Burglary,74,1000,7.4,5.9,9.2,False,single,1,answered",
        ",2021,4,violent_crime,Violent crime,72,1000,7.2,5.8,9.0,False,single,1,answered",
        ",2021,5,littering,Littering/fly tipping,58,1000,5.8,4.5,7.4,False,single,1,answered",
        ",2023,1,littering,Littering or fly tipping,190,500,38.0,33.9,42.3,False,multi,5,answered",
        ",2023,2,drug_dealing,Drug Dealing,185,500,37.0,32.9,41.3,False,multi,5,answered",
        ",2023,3,nuisance_bikes,Nuisance bikes,165,500,33.0,29.0,37.2,False,multi,5,answered",
        ",2023,4,noise,Noise nuisance,160,500,32.0,28.1,36.2,False,multi,5,answered",
        ",2023,5,burglary,Burglary,135,500,27.0,23.3,31.1,True,multi,5,answered",
        ",2023,5,drugs_public,Presence of drugs in public places,135,500,27.0,23.3,31.1,True,multi,5,answered",
    ]) + "\r\n"


def test_csv_of_a_breakdown_neutralises_formulas_and_shows_suppressed_cells(breakdown):
    assert render.to_csv(breakdown, TITLE) == "\r\n".join([
        "group,wave,rank,code,label,count,base,percent,ci_low,ci_high,tied,question_type,max_choices,base_rule",
        "North,2021,1,police_presence,Increased police presence,80,200,40.0,33.5,46.9,False,multi,,answered",
        "North,2021,2,cctv,'=More CCTV,12,200,6.0,3.5,10.2,False,multi,,answered",
        "North,2023,1,police_presence,Increased police presence,60,150,40.0,32.5,48.0,False,multi,,answered",
        "North,2023,2,cctv,'=More CCTV,30,150,20.0,14.4,27.1,False,multi,,answered",
        "'-West,2023,1,police_presence,Increased police presence,25,40,62.5,47.0,75.8,False,multi,,answered",
        "'-West,2023,,cctv,'=More CCTV,[c],40,[c],[c],[c],False,multi,,answered",  # a hidden row is not ranked
    ]) + "\r\n"


def test_json_of_the_whole_sample_is_one_object(priorities):
    data = json.loads(render.to_json([priorities], TITLE))
    wave_2021 = {"wave": "2021", "survey": "cs-2021", "question_type": "single", "max_choices": 1, "base": "answered",
                 "respondents": 1000, "suppressed": False, "tie_at_cutoff": False, "top_box": [], "top_box_labels": []}
    wave_2023 = {"wave": "2023", "survey": "cs-2023", "question_type": "multi", "max_choices": 5, "base": "answered",
                 "respondents": 500, "suppressed": False, "tie_at_cutoff": True, "top_box": [], "top_box_labels": []}

    def row(rank, code, label, count, base, percent, low, high, tied=False):
        return {"rank": rank, "code": code, "wave_codes": [code], "label": label, "count": count, "percent": percent,
                "ci_low": low, "ci_high": high, "tied": tied, "base": base}

    def untested(code, label):
        return {"code": code, "label": label, "from_wave": "2021", "to_wave": "2023", "comparable": False,
                "reason": ONE_OF_FIVE, "change_pp": None, "p_value": None, "significant": None}

    assert data == {
        "question": "priorities",
        "question_text": "Which of these should be priorities in your area? Choose up to five.",
        "top": 5,
        "group": None,
        "suppressed_below": None,
        "skipped_waves": [],
        "waves": [
            {**wave_2021, "rows": [
                row(1, "drug_dealing", "Drug dealing", 107, 1000, 10.7, 8.9, 12.8),
                row(2, "youth_disorder", "Youth disorder", 93, 1000, 9.3, 7.7, 11.3),
                row(3, "burglary", "Burglary", 74, 1000, 7.4, 5.9, 9.2),
                row(4, "violent_crime", "Violent crime", 72, 1000, 7.2, 5.8, 9.0),
                row(5, "littering", "Littering/fly tipping", 58, 1000, 5.8, 4.5, 7.4),
            ]},
            {**wave_2023, "rows": [
                row(1, "littering", "Littering or fly tipping", 190, 500, 38.0, 33.9, 42.3),
                row(2, "drug_dealing", "Drug Dealing", 185, 500, 37.0, 32.9, 41.3),
                row(3, "nuisance_bikes", "Nuisance bikes", 165, 500, 33.0, 29.0, 37.2),
                row(4, "noise", "Noise nuisance", 160, 500, 32.0, 28.1, 36.2),
                row(5, "burglary", "Burglary", 135, 500, 27.0, 23.3, 31.1, True),
                row(5, "drugs_public", "Presence of drugs in public places", 135, 500, 27.0, 23.3, 31.1, True),
            ]},
        ],
        "changes": [
            untested("littering", "Littering or fly tipping"),
            untested("drug_dealing", "Drug Dealing"),
            untested("nuisance_bikes", "Nuisance bikes"),
            untested("noise", "Noise nuisance"),
            untested("burglary", "Burglary"),
            untested("youth_disorder", "Youth disorder"),
        ],
    }


def test_json_of_a_breakdown_is_a_list_and_keeps_non_ascii(breakdown):
    polish = replace(breakdown[0], group=("north", "Północ"))
    text = render.to_json([polish, breakdown[1]], TITLE)
    assert "Północ" in text and text.startswith("[\n  {\n")
    data = json.loads(text)
    assert [entry["group"] for entry in data] == [{"code": "north", "label": "Północ"}, {"code": "west", "label": "-West"}]
    assert (data[1]["waves"][0]["rows"], data[1]["waves"][0]["respondents"]) == ([], "[c]")  # fewer than 10 in 2021
    assert data[1]["waves"][1]["rows"][1]["count"] == "[c]"


def test_html_fragment_is_an_accessible_table(priorities):
    html = render.to_html([priorities], TITLE)
    assert html.startswith('<section class="comparison">\n<table>\n<caption>Top priorities</caption>\n')
    assert ("<thead><tr>"
            '<th scope="col" id="comparison-1-c0">Rank</th><th scope="col" id="comparison-1-c1">Respondents&#x27; top 5, 2021</th>'
            '<th scope="col" id="comparison-1-c2">%</th><th scope="col" id="comparison-1-c3">Rank</th>'
            '<th scope="col" id="comparison-1-c4">Respondents&#x27; top 5, 2023</th><th scope="col" id="comparison-1-c5">%</th>'
            "</tr></thead>") in html
    # Each figure names its column and its own wave's label: a row holds two waves' labels.
    assert ('<tr><td headers="comparison-1-c0 comparison-1-r0-c1">1</td>'
            '<th id="comparison-1-r0-c1" headers="comparison-1-c1">Drug dealing</th>'
            '<td headers="comparison-1-c2 comparison-1-r0-c1">10.7%</td>'
            '<td headers="comparison-1-c3 comparison-1-r0-c4">1</td>'
            '<th id="comparison-1-r0-c4" headers="comparison-1-c4">Littering or fly tipping</th>'
            '<td headers="comparison-1-c5 comparison-1-r0-c4">38.0%</td></tr>') in html
    assert ('<tr><td></td><td></td><td></td><td headers="comparison-1-c3 comparison-1-r5-c4">5=</td>'
            '<th id="comparison-1-r5-c4" headers="comparison-1-c4">Presence of drugs in public places</th>'
            '<td headers="comparison-1-c5 comparison-1-r5-c4">27.0%</td></tr>') in html
    assert "scope=\"row\"" not in html
    assert ("<tfoot><tr><td></td><td>Base: 1,000 respondents who answered</td><td></td>"
            "<td></td><td>Base: 500 respondents who answered</td><td></td></tr>"
            "<tr><td></td><td>Single choice</td><td></td><td></td><td>Choose up to five</td><td></td></tr></tfoot>") in html
    assert f"<li>{NOT_COMPARABLE[1]}</li>" in html and f"<li>{TIE_NOTE}</li>" in html
    assert html.endswith("</ul>\n</section>\n")
    assert "style" not in html and "<script" not in html


def test_html_escapes_every_value_and_gives_a_section_per_group(breakdown):
    hostile = replace(breakdown[0], group=("north", "<b>North</b>"))
    hostile = replace(hostile, waves=[replace(table, rows=table.rows.assign(label="<script>alert(1)</script>"))
                                      for table in hostile.waves])
    html = render.to_html([hostile, breakdown[1]], "Safer & sound")
    assert html.count("<section") == 2
    assert "<caption>Safer &amp; sound — &lt;b&gt;North&lt;/b&gt;</caption>" in html
    assert '<th id="comparison-1-r0-c1" headers="comparison-1-c1">&lt;script&gt;alert(1)&lt;/script&gt;</th>' in html
    assert 'id="comparison-2-c0"' in html  # ids stay unique with two tables on one page
    assert "<script>" not in html and "<b>" not in html
    assert '<td headers="comparison-2-c5 comparison-2-r1-c4">[c]</td>' in html and "[c]: fewer than 10 respondents" in html


def sheet_values(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_report_sheet_has_the_council_layout(priorities):
    workbook = openpyxl.load_workbook(io.BytesIO(render.to_xlsx([priorities], TITLE)))
    assert workbook.sheetnames == ["Report", "Changes"]
    assert sheet_values(workbook["Report"]) == [
        ["Top priorities", None, None, None, None, None],
        [None] * 6,
        ["Rank", "Respondents' top 5, 2021", "%", "Rank", "Respondents' top 5, 2023", "%"],
        ["1", "Drug dealing", 10.7, "1", "Littering or fly tipping", 38.0],
        ["2", "Youth disorder", 9.3, "2", "Drug Dealing", 37.0],
        ["3", "Burglary", 7.4, "3", "Nuisance bikes", 33.0],
        ["4", "Violent crime", 7.2, "4", "Noise nuisance", 32.0],
        ["5", "Littering/fly tipping", 5.8, "5=", "Burglary", 27.0],
        [None, None, None, "5=", "Presence of drugs in public places", 27.0],
        [None, "Base: 1,000 respondents who answered", None, None, "Base: 500 respondents who answered", None],
        [None, "Single choice", None, None, "Choose up to five", None],
        [None] * 6,
        *([note, None, None, None, None, None] for note in NOT_COMPARABLE),
        [TIE_NOTE, None, None, None, None, None],
    ]
    assert sheet_values(workbook["Changes"])[:2] == [
        ["group", "code", "label", "from_wave", "to_wave", "comparable", "reason", "change_pp", "p_value", "significant"],
        [None, "littering", "Littering or fly tipping", "2021", "2023", False, ONE_OF_FIVE, None, None, None],
    ]
    # The percents are numbers, shown as printed reports show them.
    assert {workbook["Report"][cell].number_format for cell in ("C4", "C8", "F4", "F9")} == {'0.0"%"'}


def test_xlsx_keeps_numbers_numeric_and_neutralises_formula_text():
    comparison = compare_waves([feel_safer("2021", 370, 100), feel_safer("2023", 320, 110)], question="feel_safer")
    comparison = replace(comparison, group=("x", "@group"), changes=comparison.changes.assign(label=["=cmd|' /C calc'!A0", "+1"]))
    workbook = openpyxl.load_workbook(io.BytesIO(render.to_xlsx([comparison], "-title")))
    assert workbook.sheetnames == ["@group", "Changes"]
    assert workbook["@group"]["A1"].value == "'-title — @group"
    assert sheet_values(workbook["Changes"])[1:] == [
        ["'@group", "police_presence", "'=cmd|' /C calc'!A0", "2021", "2023", True, None, -5.0, 0.0187, True],
        ["'@group", "cctv", "'+1", "2021", "2023", True, None, 1.0, 0.4657, False],
    ]
    assert workbook["Changes"]["H2"].data_type == "n"  # -5.0 is a number, not neutralised text


def test_xlsx_of_a_breakdown_has_a_sheet_per_group(breakdown):
    workbook = openpyxl.load_workbook(io.BytesIO(render.to_xlsx(breakdown, TITLE)))
    assert workbook.sheetnames == ["North", "-West", "Changes"]
    assert sheet_values(workbook["-West"])[3:6] == [
        [None, None, None, "1", "Increased police presence", 62.5],
        [None, None, None, None, "'=More CCTV", "[c]"],
        [None, "Base: [c]", None, None, "Base: 40 respondents who answered", None],
    ]
    assert ["2021: fewer than 10 respondents in this group, so nothing is shown.", None, None, None, None, None] in sheet_values(workbook["-West"])
    assert workbook["-West"]["A1"].value == "Top priorities — -West"


def test_png_chart(priorities, breakdown):
    assert render.chart_png([priorities], TITLE).startswith(b"\x89PNG\r\n\x1a\n")
    assert render.chart_png(breakdown, TITLE).startswith(b"\x89PNG\r\n\x1a\n")


def test_svg_chart_is_xml_with_the_labels_as_text(priorities):
    svg = render.chart_svg([priorities], TITLE)
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {"".join(element.itertext()) for element in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {TITLE, "1 Drug dealing", "2 Drug Dealing", "10.7%", "38.0%", "Respondents' top 5, 2021", "Single choice",
            "Choose up to five", "Base: 500 respondents who answered"} <= texts
    assert render.chart_svg([priorities], TITLE) == svg  # reproducible: no date, fixed ids


def test_charts_need_something_to_draw():
    with pytest.raises(AnalysisError, match="nothing to chart"):
        render.chart_png([], TITLE)


def test_notes_of_a_group_say_suppressed_where_a_tested_change_lost_its_figures():
    # One change of the group is tested, the other touches a small cell: no "nan points".
    waves = [wave(year, "multi", None, [("police_presence", "Increased police presence", police, n), ("cctv", "More CCTV", cctv, n)])
             for year, police, cctv, n in (("2021", 80, 12, 200), ("2023", 60, 7, 150))]
    north = suppress_small_cells(replace(compare_waves(waves, question="feel_safer"), group=("north", "North")), threshold=10)
    text = render.to_markdown([north], TITLE)
    assert "- More CCTV, 2021 → 2023: suppressed: fewer than 10 respondents" in text
    assert "- Increased police presence, 2021 → 2023: +0.0 points (not significant)" in text
    assert "nan" not in text


def test_markdown_shows_html_in_labels_as_text():
    waves = [wave("2023", "multi", None, [("x", "<img src=x onerror=alert(1)> & more", 30, 100)])]
    text = render.to_markdown([compare_waves(waves, question="q")], "<b>Title</b>")
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in text and "### &lt;b&gt;Title&lt;/b&gt;" in text
    assert "<img" not in text and "<b>" not in text
