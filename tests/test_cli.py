"""`flask survey …` commands, run through Flask's CLI runner against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, TESTS, reference_definition

EVERY_FEATURE = str(TESTS / "data" / "every-feature.yaml")


def test_load_creates_a_draft_then_open_and_close(runner):
    loaded = runner.invoke(args=["survey", "load", EVERY_FEATURE])
    assert loaded.exit_code == 0, loaded.output
    assert "Created survey town-test (5 questions, status draft)" in loaded.output
    assert runner.invoke(args=["survey", "list"]).output.split()[:4] == ["town-test", "draft", "0", "responses"]
    assert "now open" in runner.invoke(args=["survey", "open", "town-test"]).output
    assert "now closed" in runner.invoke(args=["survey", "close", "town-test"]).output


def test_list_counts_responses(runner, client, submit):
    runner.invoke(args=["survey", "load", "--open", EVERY_FEATURE])
    submit("town-test", {"town": "north", "concerns/knives": "very", "concerns/asb": "very"})
    assert runner.invoke(args=["survey", "list"]).output.split()[:3] == ["town-test", "open", "1"]


def test_list_without_surveys_says_how_to_load_one(runner):
    assert "No surveys yet" in runner.invoke(args=["survey", "list"]).output


def test_opening_an_open_survey_fails_clearly(runner):
    runner.invoke(args=["survey", "load", "--open", EVERY_FEATURE])
    result = runner.invoke(args=["survey", "open", "town-test"])
    assert result.exit_code == 1
    assert "already open" in result.output


def test_load_open_is_idempotent(runner):
    for _ in range(2):
        result = runner.invoke(args=["survey", "load", "--open", EVERY_FEATURE])
        assert result.exit_code == 0, result.output
    assert "status open" in result.output


QUESTIONS = reference_definition()["questions"]
RELOADED = {
    "same file": ({}, "Nothing changed in survey town-test"),
    "retention only": ({"retention_days": 400}, "Updated the retention periods of survey town-test"),
    "free-text retention only": ({"text_retention_days": 30}, "Updated the retention periods of survey town-test"),
    "title and retention": (
        {"title": {"en": "Our survey"}, "retention_days": 400},
        "Updated the wording and the retention periods of survey town-test",
    ),
    "a question's text": (
        {"questions": [{**QUESTIONS[0], "text": {"en": "Your area?"}}, *QUESTIONS[1:]]},
        "Updated the wording of survey town-test",
    ),
    "notice and closing time": (
        {"privacy_notice": {"en": "We keep answers for a year."}, "closes_at": "2030-01-01T00:00:00Z"},
        "Updated the opening and closing times and the privacy notice of survey town-test",
    ),
}


@pytest.mark.parametrize("changes, message", RELOADED.values(), ids=list(RELOADED))
def test_reloading_a_survey_with_responses_says_what_changed(runner, submit, tmp_path, changes, message):
    runner.invoke(args=["survey", "load", "--open", EVERY_FEATURE])
    assert submit("town-test", {"town": "north", "concerns/knives": "very", "concerns/asb": "very"}).status_code == 303
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump({**reference_definition(), **changes}, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["survey", "load", str(changed)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{message} (5 questions, status open).\n"


def test_unknown_slug_fails_clearly(runner):
    result = runner.invoke(args=["survey", "close", "nope"])
    assert result.exit_code == 1
    assert "No survey with slug 'nope'" in result.output


def test_invalid_file_fails_with_located_problems_and_stores_nothing(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(Path(EVERY_FEATURE).read_text(encoding="utf-8"))
    data["questions"][1]["max_choices"] = "five"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(args=["survey", "load", str(bad)])
    assert result.exit_code == 1
    assert "questions[1] (priorities) > max_choices" in result.output
    assert "No surveys yet" in runner.invoke(args=["survey", "list"]).output


def test_dump_writes_the_definition_format(runner, tmp_path):
    runner.invoke(args=["survey", "load", EVERY_FEATURE])
    out = tmp_path / "dumped.yaml"
    result = runner.invoke(args=["survey", "dump", "town-test", "-o", str(out)])
    assert result.exit_code == 0, result.output
    dumped = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert dumped["slug"] == "town-test" and dumped["wave"] == "2024"
    assert [q["code"] for q in dumped["questions"]] == ["town", "priorities", "concerns", "ethnicity", "comments"]


def test_demo_loads_and_opens(runner):
    result = runner.invoke(args=["survey", "load", "--open", str(REPO / "examples" / "community-safety-2025.yaml")])
    assert result.exit_code == 0, result.output
    assert "status open" in result.output


def test_make_demo_loads_earlier_waves_to_compare_once(tmp_path):
    """`make run`'s demo step: the open 2025 survey and two closed earlier waves with their
    responses, whose priorities table flags the change from one answer to five; run again, it adds nothing."""
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}", "SECRET_KEY": "demo-test"}
    environment.pop("MAKEFLAGS", None)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    # A run stopped half-way (2021 loaded and opened, nothing imported) is finished by the next one.
    for step in (["db", "upgrade"], ["survey", "load", "examples/community-safety-2021.yaml"], ["survey", "open", "cs-2021"]):
        subprocess.run([*flask, *step], cwd=REPO, env=environment, capture_output=True, check=True)
    for _ in range(2):
        made = subprocess.run(["make", "-s", "demo"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stdout + made.stderr
    assert "Imported" not in made.stdout  # the second run found the earlier waves loaded
    listed = subprocess.run([*flask, "survey", "list"], cwd=REPO, env=environment, capture_output=True, text=True, check=True).stdout
    assert [line.split()[:3] for line in listed.splitlines()] == [
        ["cs-2021", "closed", "640"], ["cs-2023", "closed", "820"], ["cs-2025", "open", "0"],
    ]
    compared = subprocess.run([*flask, "analysis", "compare", "--series", "community-safety", "--question", "priorities",
                               "--waves", "2021,2023", "--format", "json"], cwd=REPO, env=environment, capture_output=True, text=True, check=True)
    table = json.loads(compared.stdout)
    assert [wave["question_type"] for wave in table["waves"]] == ["single", "multi"]
    drugs = next(row for row in table["waves"][0]["rows"] if row["code"] == "drug_dealing")
    assert (drugs["rank"], drugs["label"], drugs["wave_codes"]) == (1, "Drugs", ["drugs"])
    assert {(change["comparable"], change["reason"]) for change in table["changes"]} == {(False, "2021 allowed one answer, 2023 up to five")}


def test_every_command_explains_itself(runner):
    for command in ("load", "dump", "open", "close", "list"):
        result = runner.invoke(args=["survey", command, "--help"])
        assert result.exit_code == 0
        assert len(result.output.split("\n\n")[1].strip()) > 20


def test_help_needs_no_database(tmp_path):
    from survey import create_app

    database = tmp_path / "never-made.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "x"})
    for args in (["responses", "purge", "--help"], ["survey", "load", "--help"], ["analysis", "compare", "--help"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output
    assert not database.exists()
    # "--help" as an option's value is a value: the command runs, and finds no tables.
    result = app.test_cli_runner().invoke(args=["analysis", "save", "--series", "cs", "--question", "q", "--title", "--help"])
    assert result.exit_code == 1 and "The database has no tables yet. Run `flask db upgrade` first." in result.output
    with app.app_context():
        from survey.extensions import db

        db.engine.dispose()


def test_commands_on_an_unmigrated_database_say_what_to_do(tmp_path):
    from survey import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}", "SECRET_KEY": "x"})
    for args in (["survey", "list"], ["responses", "export", "x", "-o", str(tmp_path / "x.csv")], ["analysis", "compare", "--series", "s", "--question", "q"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1
        assert "The database has no tables yet. Run `flask db upgrade` first." in result.output
    with app.app_context():
        from survey.extensions import db

        db.engine.dispose()


def test_command_line_changes_are_in_the_audit_log_as_the_command_line(app, runner, tmp_path):
    import sqlalchemy as sa

    from survey.extensions import db
    from survey.models import AuditEvent

    assert runner.invoke(args=["survey", "load", "--open", str(EVERY_FEATURE)]).exit_code == 0
    assert runner.invoke(args=["survey", "close", "town-test"]).exit_code == 0
    out = tmp_path / "out.csv"
    assert runner.invoke(args=["responses", "export", "town-test", "-o", str(out)]).exit_code == 0
    assert runner.invoke(args=["responses", "import", "town-test", str(out)]).exit_code == 0
    with app.app_context():
        events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.target, AuditEvent.user_email).order_by(AuditEvent.id)).all()
    assert [(action, target) for action, target, _ in events] == [
        ("survey.create", "survey town-test"), ("survey.publish", "survey town-test"), ("survey.close", "survey town-test"),
        ("responses.export", "survey town-test"), ("responses.import", "survey town-test"),
    ]
    assert {email for _, _, email in events} == {None}
