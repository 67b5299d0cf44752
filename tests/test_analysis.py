"""The comparison end to end: two waves imported from CSV, compared by the CLI and the analysis page.

The fixture series mirrors the report in docs/domain.md: a single-choice wave (2021)
and a choose-up-to-5 wave (2023), an option renamed between them (same_as), a tie,
a matrix question whose top box changed, and a question asked the same way twice.
"""

from __future__ import annotations

import html as html_module
import io
import json
import re
import xml.etree.ElementTree as ElementTree

import openpyxl
import pytest
import sqlalchemy as sa

from analysis.stats import two_proportion_z_test, wilson_interval
from survey.extensions import db
from survey.models import AuditEvent, SavedResult

from .conftest import STAFF_PASSWORD, form_tokens, sign_in

N = 1000  # respondents per wave


def options(*codes_and_labels):
    return [{"code": code, "label": label} for code, label in codes_and_labels]


WAVE_2021 = {
    "slug": "cs-2021", "series": "cs", "wave": "2021", "title": "Survey 2021", "default_language": "en", "languages": ["en"],
    "questions": [
        {"code": "town", "type": "single", "text": "Town?", "options": options(("north", "North"), ("south", "South"))},
        {"code": "priorities", "type": "single", "text": "Top priority?", "options": options(
            ("drug_dealing", "Drug Dealing"), ("youth_disorder", "Youth disorder"), ("burglary", "Burglary"),
            ("violent_crime", "Violent crime"), ("littering", "Littering/fly tipping"), ("asb", "ASB"))},
        {"code": "concerns", "type": "matrix", "text": "Concerned?",
         "items": options(("knife_crime", "Knife crime"), ("asb", "Anti-social behaviour")),
         "scale": [{"code": "very", "label": "Very", "top_box": True}, {"code": "fairly", "label": "Fairly"}, {"code": "not_very", "label": "Not very"}]},
        {"code": "feel_safer", "type": "multi", "text": "Safer?", "options": options(("police_presence", "More police"), ("cctv", "More CCTV"))},
        {"code": "ethnicity", "type": "single", "sensitive": True, "text": "Ethnicity?", "options": options(("a", "A"), ("b", "B"))},
    ],
}
WAVE_2023 = {
    **WAVE_2021, "slug": "cs-2023", "wave": "2023", "title": "Survey 2023",
    "questions": [
        {"code": "town", "type": "single", "text": "Town?", "options": options(("north", "North"), ("south", "South"), ("west", "West"))},
        {"code": "priorities", "type": "multi", "max_choices": 5, "text": "Priorities?", "options": [
            {"code": "littering", "label": "Littering or fly tipping"},
            {"code": "drugs", "label": "Drug dealing", "same_as": ["drug_dealing"]},
            {"code": "nuisance_bikes", "label": "Nuisance bikes"},
            {"code": "noise", "label": "Noise nuisance"},
            {"code": "drugs_public", "label": "Drugs in public places"},
            {"code": "burglary", "label": "Burglary"}]},
        {"code": "concerns", "type": "matrix", "text": "Concerned?",
         "items": options(("knife_crime", "Knife crime"), ("asb", "Anti-social behaviour")),
         "scale": [{"code": "very", "label": "Very", "top_box": True}, {"code": "fairly", "label": "Fairly", "top_box": True}, {"code": "not_very", "label": "Not very"}]},
        WAVE_2021["questions"][3],
        WAVE_2021["questions"][4],
    ],
}


def _first(i: int, counts: dict[str, int]) -> str:
    """The option respondent i chose when the counts are laid out one after another."""
    for code, count in counts.items():
        if i < count:
            return code
        i -= count
    raise AssertionError("counts do not add up")


def _scale(i: int, very: int, fairly: int) -> str:
    return "very" if i < very else "fairly" if i < very + fairly else "not_very"


def csv_2021() -> str:
    lines = ["response_id,town,priorities,concerns/knife_crime,concerns/asb,feel_safer"]
    single = {"drug_dealing": 300, "youth_disorder": 250, "burglary": 200, "violent_crime": 100, "littering": 100, "asb": 50}
    for i in range(N):
        safer = ";".join(code for code, count in (("police_presence", 370), ("cctv", 100)) if (i if code == "police_presence" else N - 1 - i) < count)
        lines.append(f"a{i},{'north' if i < 600 else 'south'},{_first(i, single)},{_scale(i, 400, 200)},{_scale(i, 300, 300)},{safer}")
    return "\n".join(lines) + "\n"


def csv_2023() -> str:
    lines = ["response_id,town,priorities,concerns/knife_crime,concerns/asb,feel_safer"]
    first_five = {"littering": 760, "drugs": 740, "nuisance_bikes": 660, "noise": 640, "drugs_public": 540}
    for i in range(N):
        chosen = [code for code, count in first_five.items() if i < count] + (["burglary"] if i >= 760 else [])
        safer = ";".join(code for code, count in (("police_presence", 320), ("cctv", 110)) if (i if code == "police_presence" else N - 1 - i) < count)
        town = "west" if i >= 995 else "north" if i < 500 else "south"
        lines.append(f"b{i},{town},{';'.join(chosen)},{_scale(i, 500, 200)},{_scale(i, 400, 270)},{safer}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def series(app, runner, tmp_path):
    import yaml

    for definition, data in ((WAVE_2021, csv_2021()), (WAVE_2023, csv_2023())):
        spec = tmp_path / f"{definition['slug']}.yaml"
        spec.write_text(yaml.safe_dump(definition), encoding="utf-8")
        assert runner.invoke(args=["survey", "load", str(spec)]).exit_code == 0
        answers = tmp_path / f"{definition['slug']}.csv"
        answers.write_text(data, encoding="utf-8")
        result = runner.invoke(args=["responses", "import", definition["slug"], str(answers)])
        assert result.exit_code == 0, result.output
    return runner


def compare(runner, *extra) -> dict | list:
    result = runner.invoke(args=["analysis", "compare", "--series", "cs", "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def row(rank, code, label, count, base, tied=False, wave_codes=None):
    percent = round(count / base * 100, 1)
    low, high = wilson_interval(count, base)
    return {"rank": rank, "code": code, "wave_codes": wave_codes or [code], "label": label, "count": count, "base": base, "percent": percent,
            "ci_low": round(low * 100, 1), "ci_high": round(high * 100, 1), "tied": tied}


def test_statistics_match_known_values():
    low, high = wilson_interval(37, 100)
    assert (round(low, 4), round(high, 4)) == (0.2818, 0.4678)
    low, high = wilson_interval(0, 20)
    assert (round(low, 4), round(high, 4)) == (0.0, 0.1611)
    z, p = two_proportion_z_test(370, 1000, 320, 1000)
    assert (round(z, 4), round(p, 4)) == (-2.3519, 0.0187)
    assert wilson_interval(0, 0) is None and two_proportion_z_test(0, 10, 0, 10) is None


def test_priorities_single_choice_year_against_choose_five_year(series):
    result = compare(series, "--question", "priorities")
    assert [wave["wave"] for wave in result["waves"]] == ["2021", "2023"]
    first, second = result["waves"]
    assert (first["question_type"], first["max_choices"], first["base"], first["respondents"]) == ("single", 1, "answered", N)
    assert first["rows"] == [
        row(1, "drugs", "Drug Dealing", 300, N, wave_codes=["drug_dealing"]),  # the concept's code; the 2021 code and wording
        row(2, "youth_disorder", "Youth disorder", 250, N),
        row(3, "burglary", "Burglary", 200, N),
        row(4, "violent_crime", "Violent crime", 100, N, tied=True),
        row(4, "littering", "Littering/fly tipping", 100, N, tied=True),
    ]
    assert first["tie_at_cutoff"] is False
    assert (second["question_type"], second["max_choices"]) == ("multi", 5)
    assert second["rows"] == [
        row(1, "littering", "Littering or fly tipping", 760, N),
        row(2, "drugs", "Drug dealing", 740, N),
        row(3, "nuisance_bikes", "Nuisance bikes", 660, N),
        row(4, "noise", "Noise nuisance", 640, N),
        row(5, "drugs_public", "Drugs in public places", 540, N),
    ]
    changes = {change["code"]: change for change in result["changes"]}
    assert set(changes) == {"drugs", "burglary", "littering"}
    assert changes["drugs"] == {
        "code": "drugs", "label": "Drug dealing", "from_wave": "2021", "to_wave": "2023", "comparable": False,
        "reason": "2021 allowed one answer, 2023 up to five", "change_pp": None, "p_value": None, "significant": None,
    }


def test_tie_across_the_cut_off_is_flagged_and_kept(series):
    first = compare(series, "--question", "priorities", "--top", "4")["waves"][0]
    assert [(r["rank"], r["code"], r["tied"]) for r in first["rows"]] == [
        (1, "drugs", False), (2, "youth_disorder", False), (3, "burglary", False), (4, "violent_crime", True), (4, "littering", True),
    ]
    assert first["tie_at_cutoff"] is True


def test_same_question_asked_the_same_way_is_tested(series):
    # Against all respondents: 370/1000 → 320/1000, the textbook example (z −2.35, p 0.019).
    result = compare(series, "--question", "feel_safer", "--base", "all")
    changes = {change["code"]: change for change in result["changes"]}
    assert changes["police_presence"] == {
        "code": "police_presence", "label": "More police", "from_wave": "2021", "to_wave": "2023", "comparable": True,
        "reason": "", "change_pp": -5.0, "p_value": 0.0187, "significant": True,
    }
    assert (changes["cctv"]["comparable"], changes["cctv"]["change_pp"], changes["cctv"]["significant"]) == (True, 1.0, False)


def test_matrix_counts_the_top_box_and_flags_a_changed_top_box(series):
    result = compare(series, "--question", "concerns")
    first, second = result["waves"]
    assert first["top_box"] == ["very"] and second["top_box"] == ["very", "fairly"]
    assert first["rows"] == [row(1, "knife_crime", "Knife crime", 400, N), row(2, "asb", "Anti-social behaviour", 300, N)]
    assert second["rows"] == [row(1, "knife_crime", "Knife crime", 700, N), row(2, "asb", "Anti-social behaviour", 670, N)]
    assert {c["reason"] for c in result["changes"]} == {"2021 counted “Very” as the top box, 2023 “Very” or “Fairly”"}


def test_base_all_and_percent_of_mentions(series):
    mentions = compare(series, "--question", "priorities", "--waves", "2023", "--percent-of", "mentions")["waves"][0]
    total = 760 + 740 + 660 + 640 + 540 + 240
    assert mentions["base"] == "mentions"
    assert mentions["rows"][0] == row(1, "littering", "Littering or fly tipping", 760, total)
    everyone = compare(series, "--question", "feel_safer", "--base", "all")["waves"][0]
    assert everyone["base"] == "all" and everyone["rows"][0]["base"] == N
    answered = compare(series, "--question", "feel_safer")["waves"][0]
    assert answered["rows"][0] == row(1, "police_presence", "More police", 370, 470)  # 470 chose at least one


def test_breakdown_suppresses_small_cells(series):
    groups = {entry["group"]["code"]: entry for entry in compare(series, "--question", "priorities", "--by", "town")}
    assert set(groups) == {"north", "south", "west"}
    north_2021 = groups["north"]["waves"][0]
    assert north_2021["rows"][0] == row(1, "drugs", "Drug Dealing", 300, 600, wave_codes=["drug_dealing"])
    west = groups["west"]["waves"][0]  # 5 respondents in 2023 only: not even the order of their answers is shown
    assert (west["wave"], west["rows"], west["respondents"], west["suppressed"]) == ("2023", [], "[c]", True)


REPORT_FORMATS = ["md", "html", "table"]


@pytest.mark.parametrize("file_format", REPORT_FORMATS)
def test_report_layouts_look_like_the_council_tables(series, file_format):
    result = series.invoke(args=["analysis", "compare", "--series", "cs", "--question", "priorities", "--format", file_format])
    assert result.exit_code == 0, result.output
    text = html_module.unescape(result.output) if file_format == "html" else result.output
    for expected in ("Respondents' top 5, 2021", "Respondents' top 5, 2023", "Drug Dealing", "30.0%", "4=", "Littering or fly tipping", "76.0%",
                     "Base: 1,000 respondents who answered", "Single choice", "Choose up to five",
                     "Drug dealing, 2021 → 2023: not comparable — 2021 allowed one answer, 2023 up to five"):
        assert expected in text, expected
    if file_format == "html":
        assert "<caption>" in text and '<th scope="col" id="comparison-1-c1">Respondents&#x27; top 5, 2021</th>' in result.output
        assert '<th id="comparison-1-r0-c1" headers="comparison-1-c1">Drug Dealing</th>' in text
    if file_format == "md":
        assert "| 1 | Drug Dealing | 30.0% | 1 | Littering or fly tipping | 76.0% |" in text


def test_csv_xlsx_and_charts(series, tmp_path):
    def write(file_format):
        out = tmp_path / f"out.{file_format}"
        result = series.invoke(args=["analysis", "compare", "--series", "cs", "--question", "priorities", "--format", file_format, "-o", str(out)])
        assert result.exit_code == 0, result.output
        return out

    lines = write("csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "group,wave,rank,code,label,count,base,percent,ci_low,ci_high,tied,question_type,max_choices,base_rule"
    assert lines[1] == ",2021,1,drugs,Drug Dealing,300,1000,30.0,27.2,32.9,False,single,1,answered"
    workbook = openpyxl.load_workbook(write("xlsx"))
    report = workbook["Report"]
    assert [cell.value for cell in report[3]] == ["Rank", "Respondents' top 5, 2021", "%", "Rank", "Respondents' top 5, 2023", "%"]
    assert [cell.value for cell in report[4]] == ["1", "Drug Dealing", 30.0, "1", "Littering or fly tipping", 76.0]
    changes = workbook["Changes"]
    assert [cell.value for cell in changes[1]][:6] == ["group", "code", "label", "from_wave", "to_wave", "comparable"]
    assert write("png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = ElementTree.parse(write("svg"))
    assert svg.getroot().tag.endswith("svg")
    assert "Drug Dealing" in write("svg").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--question", "comments_missing"], "no wave of series 'cs' asks question 'comments_missing'"),
        (["--question", "priorities", "--waves", "2021,2030"], "series 'cs' has no wave 2030"),
        (["--question", "priorities", "--by", "feel_safer"], "'feel_safer' is a multi question: breakdowns need a single-choice question"),
        (["--question", "town", "--by", "nope"], "question 'nope' is not in wave 2021"),
        (["--question", "priorities", "--format", "xlsx"], "--format xlsx writes a binary file: give -o FILE."),
        (["--question", "concerns", "--percent-of", "mentions"],
         "percent of mentions is for choice questions; wave 2021, 2023 asks 'concerns' as a matrix, whose items are each rated"),
    ],
)
def test_bad_requests_fail_clearly(series, arguments, message):
    result = series.invoke(args=["analysis", "compare", "--series", "cs", *arguments])
    assert result.exit_code == 1
    assert message in result.output


def test_unknown_series_names_the_known_ones(series):
    result = series.invoke(args=["analysis", "compare", "--series", "nope", "--question", "x"])
    assert result.exit_code == 1 and "no survey series 'nope' (series: cs)" in result.output


def test_analysis_page_shows_the_table_chart_and_downloads(series, client, login):
    login("analyst")
    page = client.get("/staff/analysis/?series=cs&question=priorities&top=5&base=answered&percent_of=respondents")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<caption>" in html and '<th id="comparison-1-r0-c1" headers="comparison-1-c1">Drug Dealing</th>' in html
    assert 'class="chart" src="/staff/analysis/download.svg?' in html
    download = client.get("/staff/analysis/download.json?series=cs&question=priorities&top=5&base=answered&percent_of=respondents")
    assert download.status_code == 200
    assert json.loads(download.get_data(as_text=True))["waves"][1]["rows"][0]["code"] == "littering"
    xlsx = client.get("/staff/analysis/download.xlsx?series=cs&question=priorities")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.data))["Report"]["B4"].value == "Drug Dealing"


def test_analysis_downloads_name_their_type_and_charset_once(series, client, login):
    login("analyst")
    content_types = {
        file_format: client.get(f"/staff/analysis/download.{file_format}?series=cs&question=priorities").headers["Content-Type"]
        for file_format in ("table", "csv", "json", "md", "html", "xlsx", "svg")
    }
    assert content_types == {
        "table": "text/plain; charset=utf-8",
        "csv": "text/csv; charset=utf-8",
        "json": "application/json",
        "md": "text/markdown; charset=utf-8",
        "html": "text/html; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "svg": "image/svg+xml; charset=utf-8",
    }


def test_analysis_page_refuses_breakdown_by_a_sensitive_question(series, client, login):
    login("analyst")
    page = client.get("/staff/analysis/?series=cs&question=priorities&by=ethnicity")
    assert page.status_code == 400
    assert "There is a problem" in page.get_data(as_text=True)


def test_analysis_page_offers_questions_by_their_wording_and_only_breakdowns_that_work(series, app, runner, tmp_path, client, login):
    import yaml

    def other_wave(wave, suffix):
        return {**WAVE_2021, "slug": f"other-{wave.split()[-1]}", "series": "other", "wave": wave, "questions": [
            {"code": "ward", "type": "single", "text": f"Ward{suffix}?", "options": options(("a", "A"), ("b", "B"))},
            {"code": "priorities", "type": "single", "text": f"Main priority{suffix}?", "options": options(("a", "A"), ("b", "B"))},
        ]}

    for wave, suffix in (("Wave 10", ""), ("Wave 9", " (old wording)")):  # "Wave 10" is the later, though not as text
        (tmp_path / "other.yaml").write_text(yaml.safe_dump(other_wave(wave, suffix)), encoding="utf-8")
        assert runner.invoke(args=["survey", "load", str(tmp_path / "other.yaml")]).exit_code == 0
    login("analyst")

    def offered(name, series):
        page = client.get(f"/staff/analysis/?series={series}").get_data(as_text=True)
        select = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        return dict(re.findall(r'<option[^>]* value="([^"]*)"[^>]*>([^<]*)</option>', select))

    # Every series' questions (the list cannot follow the series picked without JavaScript), in
    # the chosen series' latest wording; no sensitive question without the permission.
    assert offered("question", "cs") == {"concerns": "concerns: Concerned?", "feel_safer": "feel_safer: Safer?",
                                         "priorities": "priorities: Priorities?", "town": "town: Town?", "ward": "ward: Ward?"}
    assert offered("question", "other")["priorities"] == "priorities: Main priority?"
    # cs asked priorities as single choice in 2021 only, and never asked ward: breakdowns by them could only be refused.
    assert offered("by", "cs") == {"": "No breakdown", "town": "town: Town?"}
    assert offered("by", "other") == {"": "No breakdown", "priorities": "priorities: Main priority?", "ward": "ward: Ward?"}
    assert client.get("/staff/analysis/?series=other&question=priorities&by=ward").status_code == 200


def test_analysis_page_without_surveys_says_what_to_do(client, login):
    login("analyst")
    page = client.get("/staff/analysis/")
    assert page.status_code == 200
    assert "There are no surveys to analyse yet" in page.get_data(as_text=True)


def test_options_merged_with_same_as_count_each_respondent_once(app, runner, tmp_path):
    import yaml

    older = {"slug": "m-1", "series": "m", "wave": "1", "title": "One", "default_language": "en", "languages": ["en"],
             "questions": [{"code": "worries", "type": "multi", "text": "Worries?",
                            "options": options(("burglary", "Burglary"), ("theft", "Theft"), ("noise", "Noise"))}]}
    newer = {**older, "slug": "m-2", "wave": "2", "title": "Two",
             "questions": [{"code": "worries", "type": "multi", "text": "Worries?", "options": [
                 {"code": "property_crime", "label": "Property crime", "same_as": ["burglary", "theft"]},
                 {"code": "noise", "label": "Noise"}]}]}
    for definition, data in ((older, "worries\nburglary;theft\nburglary\nnoise\ntheft;noise\n"), (newer, "worries\nproperty_crime\nnoise\n")):
        (tmp_path / "d.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
        (tmp_path / "d.csv").write_text(data, encoding="utf-8")
        assert runner.invoke(args=["survey", "load", str(tmp_path / "d.yaml")]).exit_code == 0
        assert runner.invoke(args=["responses", "import", definition["slug"], str(tmp_path / "d.csv")]).exit_code == 0
    result = runner.invoke(args=["analysis", "compare", "--series", "m", "--question", "worries", "--format", "json"])
    first = json.loads(result.output)["waves"][0]
    # Three of the four respondents chose burglary or theft (one chose both): 3, not 4.
    assert [(r["code"], r["count"], r["base"]) for r in first["rows"]] == [("property_crime", 3, 4), ("noise", 2, 4)]


def test_a_question_sensitive_in_any_wave_needs_the_permission_in_every_wave(series, app, client, login):
    import sqlalchemy as sa

    from survey.extensions import db
    from survey.models import Question

    with app.app_context():
        question = db.session.scalars(sa.select(Question).where(Question.code == "priorities")).first()
        question.sensitive = True  # sensitive in one wave only
        db.session.commit()
    login("analyst")
    refused = client.get("/staff/analysis/?series=cs&question=priorities")
    assert refused.status_code == 400
    assert 'value="priorities"' not in refused.get_data(as_text=True)


def test_waves_given_out_of_order_are_compared_oldest_first(series):
    result = compare(series, "--question", "feel_safer", "--waves", "2023,2021", "--base", "all")
    assert [wave["wave"] for wave in result["waves"]] == ["2021", "2023"]
    police = next(change for change in result["changes"] if change["code"] == "police_presence")
    assert (police["from_wave"], police["to_wave"], police["change_pp"]) == ("2021", "2023", -5.0)


def load_waves(runner, tmp_path, *definitions_and_data):
    import yaml

    for definition, data in definitions_and_data:
        (tmp_path / "d.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
        (tmp_path / "d.csv").write_text(data, encoding="utf-8")
        assert runner.invoke(args=["survey", "load", str(tmp_path / "d.yaml")]).exit_code == 0
        imported = runner.invoke(args=["responses", "import", definition["slug"], str(tmp_path / "d.csv")])
        assert imported.exit_code == 0, imported.output


def chain_wave(wave: str, question: dict) -> dict:
    return {"slug": f"chain-{wave}", "series": "chain", "wave": wave, "title": wave, "default_language": "en",
            "languages": ["en"], "questions": [question]}


@pytest.fixture
def chained(app, runner, tmp_path):
    """2019 asked Alpha and Beta; 2021 merged them into one option; 2023 renamed that one."""
    def worries(*entries):
        return {"code": "worries", "type": "multi", "text": "Worries?", "options": [
            {"code": code, "label": label, **({"same_as": same_as} if same_as else {})} for code, label, same_as in entries]}

    load_waves(
        runner, tmp_path,
        (chain_wave("2019", worries(("a", "Alpha", None), ("b", "Beta", None), ("noise", "Noise", None))),
         "worries\na;b\na\nb\nnoise\na;noise\n"),
        (chain_wave("2021", worries(("ab", "Alpha or Beta", ["a", "b"]), ("noise", "Noise", None))), "worries\nab\nnoise\n"),
        (chain_wave("2023", worries(("x", "Alpha and Beta", ["ab"]), ("noise", "Noise", None))), "worries\nx\nx;noise\n"),
    )
    return runner


def test_links_are_followed_through_a_wave_left_out_of_the_comparison(chained):
    result = json.loads(chained.invoke(args=["analysis", "compare", "--series", "chain", "--question", "worries",
                                             "--waves", "2019,2023", "--format", "json"]).output)
    first, second = result["waves"]
    # Four of five respondents chose Alpha or Beta (one chose both): counted once, under both 2019 wordings.
    assert [(r["code"], r["wave_codes"], r["label"], r["count"], r["base"]) for r in first["rows"]] == [
        ("x", ["a", "b"], "Alpha / Beta", 4, 5), ("noise", ["noise"], "Noise", 2, 5)]
    assert [(r["code"], r["wave_codes"], r["count"]) for r in second["rows"]] == [("x", ["x"], 2), ("noise", ["noise"], 1)]
    assert [(c["code"], c["from_wave"], c["to_wave"], c["comparable"]) for c in result["changes"]] == [
        ("x", "2019", "2023", True), ("noise", "2019", "2023", True)]
    table = chained.invoke(args=["analysis", "compare", "--series", "chain", "--question", "worries", "--waves", "2019,2023"]).output
    # The 2019 column no longer matches 2019's own report: a note says why.
    assert "2019: “Alpha / Beta” adds up a, b, which a later wave asks as one (each respondent counted once)." in table


def test_percent_of_mentions_counts_options_merged_into_one_concept_once(chained):
    result = json.loads(chained.invoke(args=["analysis", "compare", "--series", "chain", "--question", "worries",
                                             "--waves", "2019,2021", "--percent-of", "mentions", "--format", "json"]).output)
    rows = result["waves"][0]["rows"]
    # Mentions of the concepts: 4 of Alpha-or-Beta and 2 of noise, so the shares add up to 100%.
    assert [(r["code"], r["count"], r["base"], r["percent"]) for r in rows] == [("ab", 4, 6, 66.7), ("noise", 2, 6, 33.3)]


def test_a_wave_newer_than_those_compared_changes_nothing(chained):
    result = json.loads(chained.invoke(args=["analysis", "compare", "--series", "chain", "--question", "worries",
                                             "--waves", "2019", "--format", "json"]).output)
    assert [(r["code"], r["wave_codes"], r["label"], r["count"]) for r in result["waves"][0]["rows"]] == [
        ("a", ["a"], "Alpha", 3), ("b", ["b"], "Beta", 2), ("noise", ["noise"], "Noise", 2)]


def test_a_breakdown_by_groups_merged_in_a_later_wave_adds_them_up(app, runner, tmp_path):
    def wave(year, towns):
        return {**chain_wave(year, {"code": "q", "type": "single", "text": "Q?", "options": options(("yes", "Yes"), ("no", "No"))}),
                "series": "towns", "slug": f"towns-{year}",
                "questions": [{"code": "town", "type": "single", "text": "Town?", "options": towns},
                              {"code": "q", "type": "single", "text": "Q?", "options": options(("yes", "Yes"), ("no", "No"))}]}

    load_waves(
        runner, tmp_path,
        (wave("2021", options(("north", "North"), ("east", "East"))), "town,q\n" + "north,yes\n" * 12 + "east,yes\n" * 6 + "east,no\n" * 2),
        (wave("2023", [{"code": "north_east", "label": "North East", "same_as": ["north", "east"]}, {"code": "south", "label": "South"}]),
         "town,q\n" + "north_east,yes\n" * 10 + "north_east,no\n" * 5 + "south,no\n" * 11),
    )
    result = runner.invoke(args=["analysis", "compare", "--series", "towns", "--question", "q", "--by", "town", "--format", "json"])
    assert result.exit_code == 0, result.output
    groups = {entry["group"]["code"]: entry for entry in json.loads(result.output)}
    assert set(groups) == {"north_east", "south"}
    first, second = groups["north_east"]["waves"]
    # 12 North and 8 East respondents added up. "No" is under 10, and "Yes" would be the total
    # less "No", so both are hidden (A to Z).
    assert (first["wave"], first["respondents"], [(r["code"], r["count"], r["base"]) for r in first["rows"]]) == (
        "2021", 20, [("no", "[c]", 20), ("yes", "[c]", 20)])
    assert (second["wave"], second["respondents"], [(r["code"], r["count"]) for r in second["rows"]]) == ("2023", 15, [("no", "[c]"), ("yes", "[c]")])


def test_a_wave_that_asked_the_question_as_free_text_is_left_out_and_said_so(app, runner, tmp_path):
    matrix = {"code": "concerns", "type": "matrix", "text": "Concerned?", "items": options(("knives", "Knife crime")),
              "scale": [{"code": "very", "label": "Very", "top_box": True}, {"code": "not", "label": "Not"}]}
    load_waves(
        runner, tmp_path,
        ({**chain_wave("2021", {"code": "concerns", "type": "text", "text": "What concerns you?"}), "series": "mixed", "slug": "mixed-2021"},
         "concerns\nKnife crime\n"),
        ({**chain_wave("2023", matrix), "series": "mixed", "slug": "mixed-2023"}, "concerns/knives\nvery\nnot\n"),
    )
    result = runner.invoke(args=["analysis", "compare", "--series", "mixed", "--question", "concerns", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["skipped_waves"] == [{"wave": "2021", "reason": "asked as a text question, which is not ranked"}]
    assert [wave["wave"] for wave in data["waves"]] == ["2023"]
    report = runner.invoke(args=["analysis", "compare", "--series", "mixed", "--question", "concerns", "--format", "md"]).output
    assert "- 2021: asked as a text question, which is not ranked, so it is left out." in report
    asked_for = runner.invoke(args=["analysis", "compare", "--series", "mixed", "--question", "concerns", "--waves", "2021,2023"])
    assert asked_for.exit_code == 1
    assert "'concerns' is a text question in wave 2021: only choice and matrix questions are ranked" in asked_for.output


def test_waves_follow_their_numbers_and_groups_the_questionnaire(app, runner, tmp_path):
    """"Wave 9" before "Wave 10" (not as text); groups in the newest wave's order, even when the
    oldest wave had respondents in the second group only."""
    import yaml

    towns = options(("east", "East"), ("west", "West"))
    for number, rows in ((9, ["west,a"] * 12), (10, ["east,a"] * 12 + ["west,b"] * 12)):
        definition = {"slug": f"s-{number}", "series": "small", "wave": f"Wave {number}", "title": "Small", "default_language": "en",
                      "languages": ["en"], "questions": [{"code": "town", "type": "single", "text": "Town?", "options": towns},
                                                         {"code": "q", "type": "single", "text": "Q?", "options": options(("a", "A"), ("b", "B"))}]}
        spec = tmp_path / f"s-{number}.yaml"
        spec.write_text(yaml.safe_dump(definition), encoding="utf-8")
        assert runner.invoke(args=["survey", "load", str(spec)]).exit_code == 0
        answers = tmp_path / f"s-{number}.csv"
        answers.write_text("town,q\n" + "\n".join(rows) + "\n", encoding="utf-8")
        assert runner.invoke(args=["responses", "import", f"s-{number}", str(answers)]).exit_code == 0

    def small(*extra):
        result = runner.invoke(args=["analysis", "compare", "--series", "small", "--question", "q", "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    whole = small()
    assert [wave["wave"] for wave in whole["waves"]] == ["Wave 9", "Wave 10"]
    assert [(c["code"], c["from_wave"], c["to_wave"], c["change_pp"]) for c in whole["changes"]] == [
        ("a", "Wave 9", "Wave 10", -50.0), ("b", "Wave 9", "Wave 10", 50.0)]
    groups = small("--by", "town")
    assert [(entry["group"]["code"], [wave["wave"] for wave in entry["waves"]]) for entry in groups] == [
        ("east", ["Wave 10"]), ("west", ["Wave 9", "Wave 10"])]


def test_wave_labels_sort_by_their_numbers_whatever_else_they_hold():
    from survey.models import wave_order

    # "²" is a digit to str.isdigit but no number to int(): it must not break the sort (a 500).
    assert sorted(["Wave 10", "Wave 9", "2021²", "2019 (pilot)"], key=wave_order) == ["2019 (pilot)", "2021²", "Wave 9", "Wave 10"]


# ---------------------------------------------------------------- saved results on the analysis page

COMPARISON_QUERY = "series=cs&question=priorities&top=5&base=answered&percent_of=respondents"


def save_on_the_page(client, query: str, title: str = ""):
    """POST the save form of the comparison page (its token), to the address of ``query``'s table."""
    page = client.get(f"/staff/analysis/?{COMPARISON_QUERY}")
    token = form_tokens(page.get_data(as_text=True))["csrf_token"]
    return client.post(f"/staff/analysis/saved?{query}", data={"csrf_token": token, "title": title})


def test_a_table_saved_on_the_analysis_page_is_listed_shown_downloaded_and_outlives_the_responses(series, app, client, login):
    login("analyst")
    assert "Save this table" not in client.get("/staff/analysis/?series=cs&question=priorities&by=town").get_data(as_text=True)
    live = client.get(f"/staff/analysis/download.json?{COMPARISON_QUERY}").get_json()

    saved = save_on_the_page(client, COMPARISON_QUERY, title="Top five priorities, 2021 and 2023")
    assert saved.status_code == 303 and saved.headers["Location"] == "/staff/analysis/saved/1"
    listing = client.get("/staff/analysis/saved").get_data(as_text=True)
    assert '<a href="/staff/analysis/saved/1">Top five priorities, 2021 and 2023</a>' in listing
    assert "<td>2021, 2023</td>" in listing and "analyst@council.example" in listing

    with app.app_context():
        db.session.execute(sa.text("DELETE FROM answers"))
        db.session.execute(sa.text("DELETE FROM responses"))
        db.session.commit()
    page = client.get("/staff/analysis/saved/1").get_data(as_text=True)
    assert "<caption>" in page and '<th id="comparison-1-r0-c1" headers="comparison-1-c1">Drug Dealing</th>' in page
    assert 'class="chart" src="/staff/analysis/saved/1.svg"' in page
    assert client.get("/staff/analysis/saved/1.json").get_json()["waves"] == live["waves"]
    xlsx = client.get("/staff/analysis/saved/1.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.data))["Report"]["B4"].value == "Drug Dealing"
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("analysis.save") == 1 and actions.count("analysis.export") >= 2


def test_saving_needs_a_whole_sample_table_a_short_title_and_the_token(series, app, client, login):
    login("analyst")
    refused = save_on_the_page(client, "series=cs&question=priorities&by=town")
    assert refused.status_code == 303
    assert "The table was not saved: choose a comparison without a breakdown first" in client.get(refused.headers["Location"]).get_data(as_text=True)
    too_long = save_on_the_page(client, COMPARISON_QUERY, title="x" * 256)
    assert "The table was not saved: Title (optional): Field cannot be longer than 255 characters." in client.get(too_long.headers["Location"]).get_data(as_text=True)
    unknown = save_on_the_page(client, "series=cs&question=nonexistent")
    assert "The table was not saved: Question: Not a valid choice." in client.get(unknown.headers["Location"]).get_data(as_text=True)
    assert client.post(f"/staff/analysis/saved?{COMPARISON_QUERY}", data={"title": "No token"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedResult)) == 0
    assert "No saved results yet" in client.get("/staff/analysis/saved").get_data(as_text=True)
    assert client.get("/staff/analysis/saved/1").status_code == 404


def test_a_saved_table_of_a_sensitive_question_is_shown_only_with_the_sensitive_permission(series, app, client, login):
    assert series.invoke(args=["analysis", "save", "--series", "cs", "--question", "ethnicity", "--title", "Ethnic groups"]).exit_code == 0
    login("analyst")
    assert "Ethnic groups" not in client.get("/staff/analysis/saved").get_data(as_text=True)
    assert client.get("/staff/analysis/saved/1").status_code == 404
    assert client.get("/staff/analysis/saved/1.csv").status_code == 404
    sensitive = app.test_client()
    assert sign_in(sensitive, make_sensitive_analyst(app)).status_code == 302
    assert "Ethnic groups" in sensitive.get("/staff/analysis/saved").get_data(as_text=True)
    assert sensitive.get("/staff/analysis/saved/1").status_code == 200


def make_sensitive_analyst(app) -> str:
    from survey.accounts.service import create_user

    with app.app_context():
        create_user("sensitive-analyst@council.example", STAFF_PASSWORD, "analyst", sensitive=True)
        db.session.commit()
    return "sensitive-analyst@council.example"


def test_a_saved_title_is_one_line_and_stray_query_keys_change_nothing(series, app, client, login):
    login("analyst")
    page = client.get(f"/staff/analysis/?{COMPARISON_QUERY}&endpoint=x&_external=1&file_format=png")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'action="/staff/analysis/saved?{COMPARISON_QUERY.replace("&", "&amp;")}"' in html
    assert 'maxlength="255"' in html
    saved = save_on_the_page(client, f"{COMPARISON_QUERY}&endpoint=x", title="Top\x00 five\n\tpriorities ")
    assert saved.status_code == 303 and saved.headers["Location"] == "/staff/analysis/saved/1"
    with app.app_context():
        assert db.session.scalar(sa.select(SavedResult.title)) == "Top five priorities"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_counting_reads_answers_along_their_key_without_sorting(series, app):
    """Every count is one range of the answers' key (question, choice, scale point): SQLite reads no
    other answers and sorts none for a whole-sample count; a breakdown finds each respondent's
    group through the one-per-choice index instead of scanning the table."""
    counting = []

    def remember(_connection, _cursor, statement, parameters, _context, _executemany):
        if "FROM answers" in statement and "GROUP BY" in statement:
            counting.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        compare(series, "--question", "priorities")
        compare(series, "--question", "concerns")
        whole_sample = len(counting)
        compare(series, "--question", "priorities", "--by", "town")
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    with app.app_context():
        with db.engine.connect() as connection:
            plans = [
                " | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
                for statement, parameters in counting
            ]
    joined = ["JOIN answers" in statement for statement, _ in counting]
    assert whole_sample >= 4 and not any(joined[:whole_sample]) and any(joined[whole_sample:])
    for plan, join in zip(plans, joined):
        assert "SCAN answers" not in plan and "SCAN answers_1" not in plan, plan
        assert "PRIMARY KEY (question_id=?)" in plan, plan
        if join:
            assert "INDEX uq_answers_one_per_choice (response_id=? AND question_id=?)" in plan, plan
        else:
            assert "TEMP B-TREE FOR GROUP BY" not in plan, plan
