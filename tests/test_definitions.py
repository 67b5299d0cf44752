"""Definition files: validation with located messages, load/dump round trips, and the structure lock."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
import yaml

from survey.definitions import (
    DefinitionError,
    definition_from_survey,
    dump_definition,
    load_definition,
    parse_definition,
    read_definition_file,
)
from survey.definitions.store import structural_changes
from survey.extensions import db

from .conftest import REPO, TESTS, reference_definition, response_count

EVERY_FEATURE = TESTS / "data" / "every-feature.yaml"


def with_change(path: str, value) -> dict:
    """The reference definition with one value replaced, addressed like 'questions.1.max_choices'."""
    data = copy.deepcopy(reference_definition())
    *parents, last = [int(step) if step.isdigit() else step for step in path.split(".")]
    node = data
    for step in parents:
        node = node[step]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


INVALID = {
    "code with capitals": ("questions.0.code", "Town", "questions[0] (Town) > code: String should match pattern"),
    "option code repeated": (
        "questions.0.options.1.code",
        "north",
        "questions[0] (town) > options: option code 'north' is used more than once",
    ),
    "question code repeated": ("questions.1.code", "town", "questions: question code 'town' is used more than once"),
    "unknown type": ("questions.0.type", "ranking", "questions[0] (town) > type: Input should be 'single', 'multi'"),
    "max_choices on single": ("questions.0.max_choices", 2, "max_choices applies only to a multi question"),
    "max_choices zero": ("questions.1.max_choices", 0, "questions[1] (priorities) > max_choices: Input should be greater than or equal to 1"),
    "exclusive on single": ("questions.0.options.0.exclusive", True, "exclusive applies only to options of a multi question"),
    "matrix without scale": ("questions.2.scale", [], "a matrix question needs items and at least two scale points"),
    "single without options": ("questions.0.options", [], "a single question needs options"),
    "misspelt key": ("questions.1.max_choice", 3, "questions[1] (priorities) > max_choice: Extra inputs are not permitted"),
    "default language not offered": ("default_language", "sk", "default_language 'sk' is not in languages"),
    "unknown language": ("languages", ["en", "pl", "ur", "zz-qq"], "'zz-qq' is not a known language code"),
    "text in a language not offered": ("questions.0.text", {"en": "Where?", "de": "Wo?"}, "question 'town' text has text in 'de', which is not in languages"),
    "missing default-language text": ("questions.0.text", {"pl": "Gdzie?"}, "question 'town' text has no text in the default language 'en'"),
    "empty label": ("questions.0.options.0.label", {"en": "  "}, "String should have at least 1 character"),
    "missing slug": ("slug", KeyError, "slug: Field required"),
    "bad slug": ("slug", "Town Test!", "slug: String should match pattern"),
    "same_as naming a code of this wave": (
        "questions.1.options.1.same_as",
        ["litter"],
        "option 'bikes' is same_as 'litter', which is a code of this wave too",
    ),
    "same_as claimed twice": (
        "questions.1.options.1.same_as",
        ["drug_supply"],
        "earlier code 'drug_supply' is claimed by more than one option in same_as",
    ),
    "dates backwards": ("closes_at", "2020-01-01T00:00:00Z", "closes_at must be after opens_at"),
}


@pytest.mark.parametrize("path, value, message", INVALID.values(), ids=INVALID.keys())
def test_invalid_definitions_are_refused_with_where_and_what(path, value, message):
    data = with_change(path, value)
    if path == "closes_at":
        data["opens_at"] = "2024-01-01T00:00:00Z"
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems


def test_plain_string_labels_are_the_default_language():
    definition = parse_definition(reference_definition())
    assert definition.questions[0].options[0].label == {"en": "North"}
    assert definition.questions[0].options[1].label == {"en": "South", "pl": "Południe"}


def test_wave_written_as_a_number_is_text():
    assert parse_definition(with_change("wave", 2025)).wave == "2025"


def test_text_question_gets_a_default_length_limit():
    data = with_change("questions.4.max_length", KeyError)
    assert parse_definition(data).questions[4].max_length == 2000


def test_broken_yaml_is_reported_with_line_and_column(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("slug: x\nquestions: [\n  {code: a\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        read_definition_file(broken)
    assert "line 4, column 1" in refused.value.problems[0]


def test_json_definitions_are_accepted(app_ctx, tmp_path):
    as_json = tmp_path / "survey.json"
    as_json.write_text(json.dumps(reference_definition()), encoding="utf-8")
    assert read_definition_file(as_json) == read_definition_file(EVERY_FEATURE)


def test_load_dump_load_loses_nothing(app_ctx, tmp_path):
    original = read_definition_file(EVERY_FEATURE)
    survey = load_definition(original).survey
    db.session.commit()
    dumped = dump_definition(definition_from_survey(survey))
    again = tmp_path / "again.yaml"
    again.write_text(dumped, encoding="utf-8")
    assert read_definition_file(again) == original
    assert yaml.safe_load(dumped)["questions"][1]["options"][3] == {
        "code": "dont_know",
        "label": {"en": "Don't know"},
        "exclusive": True,
    }


def test_demo_survey_round_trips(app_ctx, tmp_path):
    demo = read_definition_file(REPO / "examples" / "community-safety-2025.yaml")
    survey = load_definition(demo).survey
    db.session.commit()
    again = tmp_path / "demo.yaml"
    again.write_text(dump_definition(definition_from_survey(survey)), encoding="utf-8")
    assert read_definition_file(again) == demo


def test_reload_without_responses_replaces_the_structure(app_ctx):
    load_definition(parse_definition(reference_definition()))
    data = reference_definition()
    data["questions"] = data["questions"][:2]
    data["questions"][0]["options"].append({"code": "east", "label": "East"})
    result = load_definition(parse_definition(data))
    db.session.commit()
    assert not result.created
    assert [q.code for q in result.survey.questions] == ["town", "priorities"]
    assert [o.code for o in result.survey.questions[0].options] == ["north", "south", "east"]


def _answered_survey(app, client, make_survey, submit):
    make_survey()
    assert submit("town-test", {"town": "north", "concerns/knives": "very", "concerns/asb": "very"}).status_code == 303


def test_wording_changes_apply_once_there_are_responses(app, client, make_survey, submit):
    _answered_survey(app, client, make_survey, submit)
    data = reference_definition()
    data["questions"][0]["text"] = {"en": "Which area do you live in?", "pl": "W jakiej okolicy mieszkasz?", "ur": "آپ کس علاقے میں رہتے ہیں؟"}
    data["questions"][0]["options"][0]["label"] = {"en": "North ward", "ur": "شمالی وارڈ"}
    with app.app_context():
        result = load_definition(parse_definition(data))
        db.session.commit()
        assert result.wording_only
        town = result.survey.questions[0]
        assert town.text["ur"] == "آپ کس علاقے میں رہتے ہیں؟"
        assert town.options[0].label == {"en": "North ward", "ur": "شمالی وارڈ"}
    assert response_count(app) == 1


def test_same_as_links_may_change_once_there_are_responses(app, client, make_survey, submit):
    _answered_survey(app, client, make_survey, submit)
    data = reference_definition()
    data["questions"][1]["options"][1]["same_as"] = ["motorbikes"]
    with app.app_context():
        survey = load_definition(parse_definition(data)).survey
        db.session.commit()
        assert survey.questions[1].options[1].same_as == ["motorbikes"]
        assert survey.questions[2].items[0].same_as == ["knife_crime"]


STRUCTURAL = {
    "question removed": (lambda d: d["questions"].pop(3), "question 'ethnicity' would be removed"),
    "option added": (
        lambda d: d["questions"][0]["options"].append({"code": "east", "label": "East"}),
        "question 'town': option 'east' would be added",
    ),
    "max_choices changed": (
        lambda d: d["questions"][1].update(max_choices=3),
        "question 'priorities': max_choices would change from 2 to 3",
    ),
    "type changed": (
        lambda d: d["questions"][1].update(type="single", max_choices=None, options=d["questions"][1]["options"][:3]),
        "question 'priorities': type would change from 'multi' to 'single'",
    ),
    "scale reordered": (
        lambda d: d["questions"][2]["scale"].reverse(),
        "question 'concerns': the order of its scale points would change",
    ),
    "exclusive dropped": (
        lambda d: d["questions"][1]["options"][3].update(exclusive=False),
        "question 'priorities': option 'dont_know' exclusive would change to False",
    ),
}


@pytest.mark.parametrize("change, message", STRUCTURAL.values(), ids=STRUCTURAL.keys())
def test_structural_changes_are_refused_once_there_are_responses(app, client, make_survey, submit, change, message):
    _answered_survey(app, client, make_survey, submit)
    data = reference_definition()
    change(data)
    with app.app_context():
        with pytest.raises(DefinitionError) as refused:
            load_definition(parse_definition(data))
        db.session.rollback()
        assert any(message in problem for problem in refused.value.problems), refused.value.problems
        assert "already has responses" in refused.value.problems[0]


def test_identical_definitions_have_no_structural_changes():
    definition = parse_definition(reference_definition())
    assert structural_changes(definition, definition) == []


@pytest.mark.parametrize("code, why", [
    *((code, "is a field of the form itself") for code in ["website", "started", "submission_id", "csrf_token"]),
    # A question coded "language" would be read as the response's language on import, and its
    # column would appear twice in an export.
    *((code, "is a column of the response files") for code in ["response_id", "submitted_at", "language", "channel"]),
])
def test_question_codes_may_not_take_the_name_of_a_form_field_or_a_file_column(code, why):
    data = reference_definition()
    data["questions"][0]["code"] = code
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data)
    assert f"questions[0] ({code}) > code: '{code}' {why}" in refused.value.problems[0]


@pytest.mark.parametrize("field, value, problem", [
    ("retention_days", 3_000_000_000, "retention_days: Input should be less than or equal to 36525"),
    ("text_retention_days", 1_000_000, "text_retention_days: Input should be less than or equal to 36525"),
    ("opens_at", "0001-01-01T00:00:00+01:00", "opens_at: must be a date from 1998 to 2199"),
    ("closes_at", "9999-12-31T23:59:59-05:00", "closes_at: must be a date from 1998 to 2199"),
    ("closes_at", "2200-01-01T00:00:00Z", "closes_at: must be a date from 1998 to 2199"),
])
def test_numbers_and_dates_out_of_any_sensible_range_are_refused(field, value, problem):
    # Each would be stored and then break pages, the purge or PostgreSQL's integer columns.
    data = {**reference_definition(), field: value}
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data)
    assert any(problem in line for line in refused.value.problems), refused.value.problems


def test_max_choices_out_of_range_is_refused():
    data = reference_definition()
    multi = next(question for question in data["questions"] if question["type"] == "multi")
    multi["max_choices"] = 9_999_999_999
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data)
    assert any("max_choices: Input should be less than or equal to 1000" in line for line in refused.value.problems)


def test_opening_times_are_kept_in_utc():
    # British Summer Time: 23:59 in London is 22:59 UTC; SQLite would otherwise keep 23:59 and close an hour late.
    definition = parse_definition({**reference_definition(), "opens_at": "2026-06-01T09:00:00", "closes_at": "2026-06-30T23:59:00+01:00"})
    assert definition.closes_at == datetime(2026, 6, 30, 22, 59, tzinfo=timezone.utc)
    assert definition.opens_at == datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)  # no offset: UTC


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)
    )
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb, encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        read_definition_file(path)
    assert "line 2, column" in refused.value.problems[0] and "aliases (*name) are not allowed" in refused.value.problems[0]


@pytest.mark.parametrize("name, text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep-object.json", '{"a":' * 3000 + "1" + "}" * 3000),
    ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000),
])
def test_definitions_nested_absurdly_deep_are_refused_not_crashed_on(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        read_definition_file(path)
    assert refused.value.problems == [f"{path}: lists or sections are nested far too deeply to be a survey definition"]


def test_a_survey_stored_before_the_file_column_rule_still_opens(app, runner, tmp_path):
    from survey.extensions import db
    from survey.models import Question

    assert runner.invoke(args=["survey", "load", str(TESTS / "data" / "every-feature.yaml")]).exit_code == 0
    with app.app_context():  # as an earlier version could store it
        db.session.query(Question).filter_by(code="ethnicity").update({"code": "language"})
        db.session.commit()
    dumped = runner.invoke(args=["survey", "dump", "town-test"])
    assert dumped.exit_code == 0, dumped.output
    assert "code: language" in dumped.output
    with pytest.raises(DefinitionError) as refused:  # a new definition may not take it up
        parse_definition(yaml.safe_load(dumped.output))
    assert "'language' is a column of the response files" in str(refused.value)
