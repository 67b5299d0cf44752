"""CSV import and CSV/XLSX export of responses, through the real CLI and database."""

from __future__ import annotations

import csv
import io
import threading

import openpyxl
import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEvent

from .conftest import TESTS, form_tokens, response_count, sign_in, worker_suffix

EVERY_FEATURE = str(TESTS / "data" / "every-feature.yaml")
HEADER = "response_id,submitted_at,language,channel,town,priorities,concerns/knives,concerns/asb,ethnicity,comments"
GOOD_ROWS = [
    "r1,2024-05-01T10:00:00Z,en,paper,north,drugs;bikes,very,fairly,,More lights",
    "r2,2024-05-02T11:30:00+01:00,pl,online,South,Drug dealing,Not very concerned,very,prefer_not_to_say,\"=HYPERLINK(\"\"http://x\"\")\"",
    "r3,,ur,event, north ,dont_know,fairly,not_very,white_british,\"Line one\nline two\"",
]


@pytest.fixture
def loaded(runner):
    result = runner.invoke(args=["survey", "load", EVERY_FEATURE])
    assert result.exit_code == 0, result.output
    return runner


def write(tmp_path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def import_csv(runner, path):
    return runner.invoke(args=["responses", "import", "town-test", path])


def export_csv(runner, tmp_path, name="out.csv") -> list[dict]:
    out = tmp_path / name
    result = runner.invoke(args=["responses", "export", "town-test", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))


def test_import_accepts_codes_labels_bom_and_quoted_newlines(app, loaded, tmp_path):
    path = write(tmp_path, "\ufeff" + "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    result = import_csv(loaded, path)
    assert result.exit_code == 0, result.output
    assert "Imported 3 responses into town-test." in result.output
    rows = {row["response_id"]: row for row in export_csv(loaded, tmp_path)}
    assert rows["r1"] == {
        "response_id": "r1", "submitted_at": "2024-05-01T10:00:00Z", "language": "en", "channel": "paper",
        "town": "north", "priorities": "drugs;bikes", "concerns/knives": "very", "concerns/asb": "fairly",
        "ethnicity": "", "comments": "More lights",
    }
    assert rows["r2"]["submitted_at"] == "2024-05-02T10:30:00Z"
    assert (rows["r2"]["town"], rows["r2"]["priorities"], rows["r2"]["concerns/knives"]) == ("south", "drugs", "not_very")
    assert rows["r3"]["comments"] == "Line one\nline two"
    assert rows["r3"]["town"] == "north"


def test_reimporting_the_same_file_adds_nothing(app, loaded, tmp_path):
    path = write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    assert import_csv(loaded, path).exit_code == 0
    again = import_csv(loaded, path)
    assert again.exit_code == 0
    assert "Imported 0 responses into town-test.\n3 rows were imported before and were skipped." in again.output
    assert response_count(app) == 3


def test_blank_rows_are_skipped_and_counted_not_imported_as_empty_responses(app, loaded, tmp_path):
    """A spreadsheet saves its empty lines as ",,,": they are not responses, even where no answer is required."""
    blank = ",,,"
    path = write(tmp_path, "\n".join(["response_id,town,concerns/knives,concerns/asb", blank, "r1,north,very,very", " , ,,", blank, ""]))
    result = import_csv(loaded, path)
    assert result.exit_code == 0, result.output
    assert "Imported 1 response into town-test.\n3 blank rows were skipped." in result.output
    assert response_count(app) == 1
    one_blank = write(tmp_path, "response_id,town,concerns/knives,concerns/asb\nr2,south,very,very\n,,,\n", "one.csv")
    assert "1 blank row was skipped." in import_csv(loaded, one_blank).output
    # Rows are still numbered as in the file: a problem after blank rows names its own row.
    after_blanks = write(tmp_path, "town,concerns/knives,concerns/asb\n,,\n,,\natlantis,very,very\n", "bad.csv")
    refused = import_csv(loaded, after_blanks)
    assert refused.exit_code == 1
    assert "row 4, column town:" in refused.output
    assert response_count(app) == 2
    # Empty lines above the header are not rows of answers: skipped, not counted.
    above_header = write(tmp_path, "\n,,\nresponse_id,town,concerns/knives,concerns/asb\nr3,north,very,very\n", "above.csv")
    result = import_csv(loaded, above_header)
    assert result.exit_code == 0, result.output
    assert "Imported 1 response into town-test." in result.output and "blank" not in result.output
    assert response_count(app) == 3


def test_language_and_channel_are_read_in_any_case(app, loaded, tmp_path):
    path = write(tmp_path, "response_id,language,channel,town,concerns/knives,concerns/asb\nr1,PL,Paper,north,very,very\nr2, En ,EVENT,south,very,very\n")
    result = import_csv(loaded, path)
    assert result.exit_code == 0, result.output
    rows = {row["response_id"]: (row["language"], row["channel"]) for row in export_csv(loaded, tmp_path)}
    assert rows == {"r1": ("pl", "paper"), "r2": ("en", "event")}


def test_one_column_per_option_is_accepted(app, loaded, tmp_path):
    path = write(tmp_path, "town,priorities/drugs,priorities/litter,priorities/dont_know,concerns/knives,concerns/asb\n"
                 "north,1,1,0,very,very\nsouth,0,0,1,fairly,fairly\n")
    assert import_csv(loaded, path).exit_code == 0
    assert [row["priorities"] for row in export_csv(loaded, tmp_path)] == ["drugs;litter", "dont_know"]


def test_export_neutralises_formulas_and_import_restores_them(app, loaded, tmp_path):
    path = write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    import_csv(loaded, path)
    exported = export_csv(loaded, tmp_path)
    assert exported[1]["comments"] == "'=HYPERLINK(\"http://x\")"
    # import → export → import loses nothing: the apostrophe is taken off again.
    loaded.invoke(args=["survey", "load", EVERY_FEATURE])
    second = tmp_path / "second"
    second.mkdir()
    reimport = write(second, (tmp_path / "out.csv").read_text(encoding="utf-8-sig"))
    with app.app_context():
        from survey.extensions import db
        from survey.models import Response

        db.session.query(Response).delete()
        db.session.commit()
    assert import_csv(loaded, reimport).exit_code == 0
    assert export_csv(loaded, second) == exported


# Tab and carriage return are covered by the pure tests of neutralise_formula: an import strips them.
@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)"])
def test_every_risky_text_cell_is_neutralised_in_csv_and_xlsx(app, loaded, tmp_path, value):
    path = tmp_path / "risky.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["response_id", "town", "concerns/knives", "concerns/asb", "comments"], [value, "north", "very", "very", value]])
    result = import_csv(loaded, str(path))
    assert result.exit_code == 0, result.output
    row = export_csv(loaded, tmp_path)[0]
    assert row["comments"] == "'" + value
    assert row["response_id"] == "'" + value
    out = tmp_path / "out.xlsx"
    assert loaded.invoke(args=["responses", "export", "town-test", "--format", "xlsx", "-o", str(out)]).exit_code == 0
    sheet = openpyxl.load_workbook(out).active
    cells = [cell.value for cell in sheet[2]]
    assert cells[0].startswith("'")
    assert all(not (isinstance(cell, str) and cell.startswith(("=", "+", "-", "@", "\t", "\r"))) for cell in cells)


def test_a_question_given_both_as_a_column_and_as_flag_columns_is_refused(app, loaded, tmp_path):
    # Which would be the answer: "drugs", or no drugs and litter?
    path = write(tmp_path, "response_id,priorities,priorities/drugs,priorities/litter,town,concerns/knives,concerns/asb\n"
                           "y-1,drugs,0,1,north,very,very\n")
    result = import_csv(loaded, path)
    assert result.exit_code == 1
    assert ("row 1, column priorities/drugs, priorities/litter: question 'priorities' also has a column of its own:"
            " give its answers either there or as 0/1 columns per option, not both") in result.output
    assert response_count(app) == 0


def test_rows_without_a_response_id_are_imported_with_a_warning_that_a_repeat_would_add_them_again(app, loaded, tmp_path):
    path = write(tmp_path, "response_id,town,concerns/knives,concerns/asb\nr1,north,very,very\n,south,very,fairly\n")
    result = import_csv(loaded, path)
    assert result.exit_code == 0, result.output
    assert "Imported 2 responses into town-test.\n1 of them had no response_id, so importing this file again would add them again." in result.output
    again = import_csv(loaded, path)
    assert "Imported 1 response into town-test.\n1 of them had no response_id" in again.output
    assert "1 row was imported before and was skipped." in again.output
    with_ids = write(tmp_path, "response_id,town,concerns/knives,concerns/asb\nr9,north,very,very\n", "ids.csv")
    assert "no response_id" not in import_csv(loaded, with_ids).output


BAD_FILES = {
    "unknown code": ("town,concerns/knives,concerns/asb\natlantis,very,very\n", "row 2, column town: “atlantis” is not one of the answers"),
    "too many choices": ("priorities,town,concerns/knives,concerns/asb\ndrugs;bikes;litter,north,very,very\n", "row 2, column priorities: Choose no more than 2 answers"),
    "exclusive combined": ("priorities,town,concerns/knives,concerns/asb\ndrugs;dont_know,north,very,very\n", "row 2, column priorities: “Don't know” cannot be combined"),
    "value off the scale": ("town,concerns/knives,concerns/asb\nnorth,terrified,very\n", "row 2, column concerns/knives: “terrified” is not on the scale"),
    "broken quoting": ("town,concerns/knives,concerns/asb\nnorth,very,very\n\"north,very,very\n", "row 3: the CSV is malformed"),
    "duplicate ids": ("response_id,town,concerns/knives,concerns/asb\na,north,very,very\nb,north,very,very\na,south,very,very\n", "row 4, column response_id: 'a' appears more than once"),
    "unknown column": ("town,colour,concerns/knives,concerns/asb\nnorth,red,very,very\n", "row 1, column colour: not a question of this survey"),
    "unknown option column": ("town,priorities/aliens,concerns/knives,concerns/asb\nnorth,1,very,very\n", "row 1, column priorities/aliens: 'aliens' is not an option"),
    "bad 0/1 flag": ("town,priorities/drugs,concerns/knives,concerns/asb\nnorth,maybe,very,very\n", "row 2, column priorities/drugs: 'maybe' should be 1"),
    "text too long": ("town,concerns/knives,concerns/asb,comments\nnorth,very,very," + "x" * 51 + "\n", "row 2, column comments: Your answer must be 50 characters or fewer"),
    "missing required": ("town,concerns/knives,concerns/asb\n,very,very\n", "row 2, column town: Select an answer"),
    "required question without a column": ("concerns/knives,concerns/asb\nvery,very\n", "row 1, column town: a required question has no column"),
    "required matrix item without a column": ("town,concerns/knives\nnorth,very\n", "row 1, column concerns/asb: a required question has no column"),
    "huge cell": ("town,concerns/knives,concerns/asb,comments\nnorth,very,very,\"" + "x" * 140_000 + "\n",
                  "row 2: a cell is longer than 131,072 characters: a quote left open"),
    "lines ending in CR alone": ("town,concerns/knives,concerns/asb\rnorth,very,very\r", "row 1: a line break outside quotes, or lines ending in a carriage return alone"),
    "header cell without a name": ("town,concerns/knives,concerns/asb,\nnorth,very,very,\n", "row 1, column 4: has no name"),
    "ragged row": ("town,concerns/knives,concerns/asb\nnorth,very\n", "row 2: has 2 cells but the header has 3"),
    "bad channel": ("town,concerns/knives,concerns/asb,channel\nnorth,very,very,Fax\n", "row 2, column channel: 'Fax' is not one of"),
    "bad date": ("town,concerns/knives,concerns/asb,submitted_at\nnorth,very,very,yesterday\n", "row 2, column submitted_at: 'yesterday' is not a date"),
    "language not offered": ("town,concerns/knives,concerns/asb,language\nnorth,very,very,de\n", "row 2, column language: 'de' is not one of the survey's languages"),
    "duplicate column": ("town,town,concerns/knives,concerns/asb\nnorth,north,very,very\n", "row 1, column town: this column appears more than once"),
    "empty file": ("", "row 1: the file is empty"),
    "date in the future": ("town,concerns/knives,concerns/asb,submitted_at\nnorth,very,very,2099-01-01T00:00:00Z\n",
                           "row 2, column submitted_at: '2099-01-01T00:00:00Z' is in the future: check the year"),
    "date long ago": ("town,concerns/knives,concerns/asb,submitted_at\nnorth,very,very,1025-06-01\n",
                      "row 2, column submitted_at: '1025-06-01' is before 1998: check the year"),
}


@pytest.mark.parametrize("content, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_csv_is_refused_with_row_and_column_and_stores_nothing(app, loaded, tmp_path, content, message):
    good_first = "town,concerns/knives,concerns/asb\nsouth,very,very\n"
    path = write(tmp_path, content)
    result = import_csv(loaded, path)
    assert result.exit_code == 1
    assert "Nothing was imported" in result.output
    assert message in result.output, result.output
    assert response_count(app) == 0
    # A good file still imports afterwards: the failure left nothing behind.
    assert import_csv(loaded, write(tmp_path, good_first, "good.csv")).exit_code == 0
    assert response_count(app) == 1


def test_wrong_encoding_is_refused_with_its_line(app, loaded, tmp_path):
    # Row 2's comment spans two lines of the file, so the bad record is row 3 on lines 4 and 5.
    text = 'town,concerns/knives,concerns/asb,comments\nnorth,very,very,"two\nlines"\nnorth,very,very,"old\ncafé"\n'
    result = import_csv(loaded, write(tmp_path, text, encoding="latin-1"))
    assert result.exit_code == 1
    assert "row 3: not UTF-8 text (line 5 of the file, byte 4 of the line); save the file as CSV UTF-8" in result.output
    assert response_count(app) == 0


def test_problems_past_the_first_fifty_are_counted(app, loaded, tmp_path):
    rows = "\n".join("atlantis,very,very" for _ in range(60))
    result = import_csv(loaded, write(tmp_path, "town,concerns/knives,concerns/asb\n" + rows + "\n"))
    assert result.exit_code == 1
    assert "60 problems." in result.output
    assert "… and 10 more problems." in result.output
    assert result.output.count("is not one of the answers") == 50


def test_problems_found_while_writing_and_while_checking_are_listed_in_row_order(app, loaded, tmp_path):
    # Row 4 repeats row 2's id: found when the first batch (rows 2-5001) is written. Row 6001 has
    # an unknown town: found by the reader, which runs ahead of the writer in its own thread.
    rows = [f"id{n},north,very,very" for n in range(6000)]
    rows[2] = "id0,north,very,very"
    rows[5999] = "id5999,atlantis,very,very"
    result = import_csv(loaded, write(tmp_path, "response_id,town,concerns/knives,concerns/asb\n" + "\n".join(rows) + "\n"))
    assert result.exit_code == 1
    assert ": 2 problems." in result.output
    duplicate = result.output.index("row 4, column response_id: 'id0' appears more than once in the file")
    assert duplicate < result.output.index("row 6001, column town: “atlantis” is not one of the answers")
    assert response_count(app) == 0


def test_a_file_mixing_imported_and_new_rows_adds_the_new_ones_with_their_answers(app, loaded, tmp_path):
    assert import_csv(loaded, write(tmp_path, "\n".join([HEADER, GOOD_ROWS[0]]) + "\n", "first.csv")).exit_code == 0
    result = import_csv(loaded, write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]) + "\n"))
    assert result.exit_code == 0, result.output
    assert "Imported 2 responses into town-test.\n1 row was imported before and was skipped." in result.output
    rows = {row["response_id"]: row for row in export_csv(loaded, tmp_path)}
    assert set(rows) == {"r1", "r2", "r3"}
    assert (rows["r2"]["town"], rows["r2"]["priorities"], rows["r2"]["language"], rows["r2"]["channel"]) == ("south", "drugs", "pl", "online")
    assert (rows["r3"]["concerns/asb"], rows["r3"]["ethnicity"], rows["r3"]["comments"]) == ("not_very", "white_british", "Line one\nline two")


@pytest.mark.parametrize("value", ['say "hi" \\ back\\slash', "Zażółć gęślą jaźń 😀", "آزمائشی سروے", '[1, {"a": null}]', "tab\there",
                                   "'=typed with an apostrophe", "''+1", "'plain"])
def test_text_and_ids_that_need_escaping_are_stored_as_given(app, loaded, tmp_path, value):
    path = tmp_path / "odd.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["response_id", "town", "concerns/knives", "concerns/asb", "comments"], [value, "north", "very", "very", value]])
    result = import_csv(loaded, str(path))
    assert result.exit_code == 0, result.output
    row = export_csv(loaded, tmp_path)[0]
    assert (row["response_id"], row["comments"]) == (value, value)


def _town_test(app):
    from survey.extensions import db
    from survey.models import Survey

    return db.session.scalar(sa.select(Survey).where(Survey.slug == "town-test"))


def test_a_bad_last_row_after_many_small_batches_leaves_nothing_stored(app, loaded):
    from survey.responses.csv_import import ImportFailed, import_responses

    good = "".join(f"r{n},north,very,very\n" for n in range(1000))
    data = ("response_id,town,concerns/knives,concerns/asb\n" + good + "r1000,north,terrified,very\n").encode()
    with app.app_context():
        with pytest.raises(ImportFailed) as failure:
            import_responses(_town_test(app), io.BytesIO(data), batch_size=7)
        assert [str(problem) for problem in failure.value.problems] == [
            "row 1002, column concerns/knives: “terrified” is not on the scale for “Knife crime”"
        ]
    assert response_count(app) == 0


def test_long_texts_end_a_batch_early_and_every_row_is_stored(app, loaded, tmp_path, monkeypatch):
    from survey.responses import csv_import

    monkeypatch.setattr(csv_import, "_BATCH_CHARACTERS", 200)  # a few rows per batch
    rows = "".join(f"r{n},north,very,very,Comment number {n} is here\n" for n in range(40))
    result = import_csv(loaded, write(tmp_path, "response_id,town,concerns/knives,concerns/asb,comments\n" + rows))
    assert result.exit_code == 0, result.output
    assert "Imported 40 responses" in result.output
    comments = {row["response_id"]: row["comments"] for row in export_csv(loaded, tmp_path)}
    assert comments == {f"r{n}": f"Comment number {n} is here" for n in range(40)}


def test_an_error_while_reading_is_raised_to_the_caller_and_the_reader_stops(app, loaded, monkeypatch):
    from survey.responses import csv_import

    def broken(self, row_number, cells, problems):
        if row_number == 300:
            raise RuntimeError("disk went away")
        return original(self, row_number, cells, problems)

    original = csv_import._RowParser.parse
    monkeypatch.setattr(csv_import._RowParser, "parse", broken)
    data = ("town,concerns/knives,concerns/asb\n" + "north,very,very\n" * 1000).encode()
    with app.app_context():
        with pytest.raises(RuntimeError, match="disk went away"):
            csv_import.import_responses(_town_test(app), io.BytesIO(data), batch_size=10)
        from survey.extensions import db

        db.session.rollback()
    assert not [thread for thread in threading.enumerate() if thread.name == "csv-import-reader"]
    assert response_count(app) == 0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite queues imports for its write lock
def test_an_import_while_another_runs_into_the_same_survey_says_so_and_imports_nothing(app, loaded, tmp_path):
    from survey.extensions import db
    from survey.responses.csv_import import import_responses

    path = write(tmp_path, "response_id,town,concerns/knives,concerns/asb\n" + "".join(f"id{n},north,very,very\n" for n in range(300)))
    first_batch_stored, finish = threading.Event(), threading.Event()
    first = {}

    def first_import():
        def progress(_position):  # called with the transaction open, after each batch is stored
            first_batch_stored.set()
            finish.wait(30)

        with app.app_context(), open(path, "rb") as stream:
            first["result"] = import_responses(_town_test(app), stream, progress=progress, batch_size=100)
            db.session.commit()

    thread = threading.Thread(target=first_import)
    thread.start()
    try:
        assert first_batch_stored.wait(30)
        second = import_csv(loaded, path)
    finally:
        finish.set()
        thread.join(60)
    assert second.exit_code == 1
    assert f"Nothing was imported from {path}: another import into survey 'town-test' is running." in second.output
    assert first["result"].added == 300
    assert response_count(app) == 300
    assert "Imported 0 responses into town-test.\n300 rows were imported before and were skipped." in import_csv(loaded, path).output


def test_a_bad_row_after_many_good_batches_rolls_everything_back(app, loaded, tmp_path):
    good = "\n".join("north,very,very" for _ in range(12_000))
    result = import_csv(loaded, write(tmp_path, "town,concerns/knives,concerns/asb\n" + good + "\natlantis,very,very\n"))
    assert result.exit_code == 1
    assert "row 12002, column town" in result.output
    assert response_count(app) == 0


def test_export_without_sensitive_leaves_out_free_text_and_sensitive_questions(app, loaded, tmp_path):
    import_csv(loaded, write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]) + "\n"))
    out = tmp_path / "plain.csv"
    result = loaded.invoke(args=["responses", "export", "town-test", "--without-sensitive", "-o", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert "comments" not in header and "ethnicity" not in header and "town" in header


_DANGLING_KEYS = """
SELECT (SELECT count(*) FROM responses r WHERE NOT EXISTS (SELECT 1 FROM surveys s WHERE s.id = r.survey_id))
     + (SELECT count(*) FROM answers a WHERE NOT EXISTS (
           SELECT 1 FROM responses r WHERE r.id = a.response_id AND r.survey_id = a.survey_id))
     + (SELECT count(*) FROM answers a WHERE NOT EXISTS (
           SELECT 1 FROM questions q WHERE q.id = a.question_id AND q.survey_id = a.survey_id))
     + (SELECT count(*) FROM answers a WHERE a.option_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM options o WHERE o.id = a.option_id AND o.question_id = a.question_id))
     + (SELECT count(*) FROM answers a WHERE a.item_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM matrix_items i WHERE i.id = a.item_id AND i.question_id = a.question_id))
     + (SELECT count(*) FROM answers a WHERE a.scale_point_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM scale_points p WHERE p.id = a.scale_point_id AND p.question_id = a.question_id))
"""


def _assert_keys_whole_and_checked() -> None:
    """No stored row points at nothing, and an answer pointing at a missing option is refused
    (in the app context, in a transaction of its own)."""
    assert db.session.scalar(sa.text(_DANGLING_KEYS)) == 0
    response_id, survey_id, question_id = db.session.execute(sa.text(
        "SELECT a.response_id, a.survey_id, a.question_id FROM answers a WHERE a.option_id IS NOT NULL LIMIT 1"
    )).one()
    with pytest.raises(sa.exc.IntegrityError) as refused:
        db.session.execute(sa.text(
            "INSERT INTO answers (response_id, survey_id, question_id, option_id, choice_key, point_key)"
            " VALUES (:r, :s, :q, 999999, 999999, 0)"
        ), {"r": response_id, "s": survey_id, "q": question_id})
    assert "foreign key" in str(refused.value.orig).lower()  # refused by the key check, not by another constraint
    db.session.rollback()


def test_an_import_leaves_every_key_whole_and_keys_are_checked_again_afterwards(app, loaded, tmp_path):
    """The CLI's import writes without SQLite checking each key (it vouches for them): the stored
    rows must still satisfy every foreign key, and the next transaction must check keys again."""
    from survey.extensions import db

    assert import_csv(loaded, write(tmp_path, "\n".join([HEADER, *GOOD_ROWS]) + "\n")).exit_code == 0
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(sa.text("PRAGMA foreign_key_check")).all() == []
            assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        _assert_keys_whole_and_checked()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # keys are switched off only on SQLite
def test_a_bulk_load_connection_checks_keys_again_once_returned(app):
    from survey.database import begin_bulk_load
    from survey.extensions import db

    with app.app_context():
        begin_bulk_load()
        connection = db.session.connection().connection.dbapi_connection
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (0,)
        db.session.commit()  # returns the connection to the pool
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
        begin_bulk_load()
        connection = db.session.connection().connection.dbapi_connection
        db.session.rollback()
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_begin_bulk_load_refuses_a_session_that_has_begun(app):
    from survey.database import begin_bulk_load
    from survey.extensions import db

    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        with pytest.raises(RuntimeError, match="must begin"):
            begin_bulk_load()


def _bulk_import_watching_key_checks(app, rows: int = 300, role: str | None = None) -> list[str]:
    """Import ``rows`` rows as the CLI does (begin_bulk_load), optionally as ``role``; return
    session_replication_role as seen after each batch and after the import, then roll back."""
    from survey.database import begin_bulk_load
    from survey.responses.csv_import import import_responses

    data = ("response_id,town,concerns/knives,concerns/asb\n" + "".join(f"k{n},north,very,very\n" for n in range(rows))).encode()
    seen = []

    def role_now(_position=None):
        seen.append(db.session.connection().scalar(sa.text("SELECT current_setting('session_replication_role')")))

    begin_bulk_load()
    if role:
        db.session.execute(sa.text(f'SET LOCAL ROLE "{role}"'))
    result = import_responses(_town_test(app), io.BytesIO(data), progress=role_now, batch_size=100)
    role_now()
    assert result.added == rows
    db.session.rollback()
    return seen


_DELETE_TOWN_TEST_ROW = (
    "DELETE FROM {table} WHERE id = (SELECT t.id FROM {table} t JOIN questions q ON q.id = t.{key} JOIN surveys s ON s.id = q.survey_id"
    " WHERE s.slug = 'town-test' AND {where})"
)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite's bulk load is tested above
def test_a_postgresql_bulk_import_skips_key_checks_while_it_writes_and_locks_what_they_would_lock(app, loaded):
    from survey.responses.csv_import import import_responses

    with app.app_context():
        if db.session.scalar(sa.text("SELECT current_setting('is_superuser')")) != "on":
            pytest.skip("TEST_DATABASE_URL's role is not a superuser: the import keeps its key checks (tested below)")
        db.session.rollback()
        # Switched off per batch, back on once the rows are written (for the audit record and the rest).
        seen = _bulk_import_watching_key_checks(app)
        assert seen == ["replica"] * 3 + ["origin"] * 2  # after each of 3 batches, at the end (progress), after return

        # While the import runs, nothing it points at can be deleted: what the key checks' locks guaranteed.
        deletions = {
            "survey": "DELETE FROM surveys WHERE slug = 'town-test'",
            "question": _DELETE_TOWN_TEST_ROW.format(table="questions", key="id", where="q.code = 'town'"),
            "option": _DELETE_TOWN_TEST_ROW.format(table="options", key="question_id", where="q.code = 'town' AND t.code = 'north'"),
            "item": _DELETE_TOWN_TEST_ROW.format(table="matrix_items", key="question_id", where="q.code = 'concerns' AND t.code = 'asb'"),
            "scale point": _DELETE_TOWN_TEST_ROW.format(table="scale_points", key="question_id", where="q.code = 'concerns' AND t.code = 'not_very'"),
        }
        refused = []

        def try_deleting(_position):
            if refused:
                return
            for what, statement in deletions.items():
                with db.engine.connect() as other:
                    other.execute(sa.text("SET lock_timeout = '200ms'"))
                    try:
                        other.execute(sa.text(statement))
                    except sa.exc.OperationalError as error:
                        assert "lock timeout" in str(error)
                        refused.append(what)
                    other.rollback()

        from survey.database import begin_bulk_load

        begin_bulk_load()
        data = ("town,concerns/knives,concerns/asb\n" + "north,very,very\n" * 250).encode()
        assert import_responses(_town_test(app), io.BytesIO(data), progress=try_deleting, batch_size=100).added == 250
        db.session.commit()
        assert refused == list(deletions)
        # And the keys are whole, and checked again in the next transaction.
        _assert_keys_whole_and_checked()
    assert response_count(app) == 250


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_row_deleted_after_the_survey_was_read_keeps_the_key_checks_on_and_the_import_is_refused(app, loaded, monkeypatch):
    """Under READ COMMITTED a staff edit can delete an item between the import reading the survey
    and locking what it will point at: the lock then finds a row missing, and the checks stay on."""
    import psycopg

    from survey.database import begin_bulk_load
    from survey.responses import csv_import

    define_kinds = csv_import._BatchWriter.define_kinds

    def define_kinds_after_an_edit(writer, fields):
        with db.engine.begin() as other:  # committed before the import locks anything
            other.execute(sa.text(_DELETE_TOWN_TEST_ROW.format(table="matrix_items", key="question_id", where="q.code = 'concerns' AND t.code = 'asb'")))
        return define_kinds(writer, fields)

    monkeypatch.setattr(csv_import._BatchWriter, "define_kinds", define_kinds_after_an_edit)
    data = ("town,concerns/knives,concerns/asb\n" + "north,very,very\n" * 20).encode()
    with app.app_context():
        if db.session.scalar(sa.text("SELECT current_setting('is_superuser')")) != "on":
            pytest.skip("TEST_DATABASE_URL's role is not a superuser: the import keeps its key checks anyway")
        db.session.rollback()
        begin_bulk_load()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            csv_import.import_responses(_town_test(app), io.BytesIO(data))
        db.session.rollback()
        assert db.session.scalar(sa.text(_DANGLING_KEYS)) == 0
    assert response_count(app) == 0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_role_may_skip_key_checks_only_once_granted_the_setting(app, loaded):
    """An app role that is not a superuser imports with every key checked, until an administrator
    runs the GRANT in docs/deploy.md (PostgreSQL 15 and later)."""
    role = f"safer_voices_importer{worker_suffix()}"
    with app.app_context():
        if db.session.scalar(sa.text("SELECT current_setting('is_superuser')")) != "on":
            pytest.skip("creating a role for this test needs a superuser")
        if db.session.scalar(sa.text("SELECT current_setting('server_version_num')::integer")) < 150000:
            pytest.skip("GRANT SET ON PARAMETER needs PostgreSQL 15")
        for statement in (
            f'DROP ROLE IF EXISTS "{role}"',
            f'CREATE ROLE "{role}" NOLOGIN',
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
            f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        ):
            db.session.execute(sa.text(statement))
        db.session.commit()
        try:
            assert _bulk_import_watching_key_checks(app, role=role) == ["origin"] * 5
            db.session.execute(sa.text(f'GRANT SET ON PARAMETER session_replication_role TO "{role}"'))
            db.session.commit()
            assert _bulk_import_watching_key_checks(app, role=role) == ["replica"] * 3 + ["origin"] * 2
        finally:
            db.session.rollback()
            db.session.execute(sa.text(f'DROP OWNED BY "{role}"'))
            db.session.execute(sa.text(f'REVOKE SET ON PARAMETER session_replication_role FROM "{role}"'))
            db.session.execute(sa.text(f'DROP ROLE "{role}"'))
            db.session.commit()
    assert response_count(app) == 0


def test_an_id_imported_before_and_repeated_in_the_file_is_reported_not_skipped_twice(app, loaded, tmp_path):
    assert import_csv(loaded, write(tmp_path, "\n".join([HEADER, GOOD_ROWS[0]]) + "\n", "first.csv")).exit_code == 0
    result = import_csv(loaded, write(tmp_path, "\n".join([HEADER, GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]]) + "\n"))
    assert result.exit_code == 1
    assert "row 4, column response_id: 'r1' appears more than once in the file" in result.output
    assert response_count(app) == 1


def test_an_id_imported_before_is_found_repeated_across_batches_and_a_later_import_starts_afresh(app, loaded):
    from survey.extensions import db
    from survey.responses.csv_import import ImportFailed, import_responses

    header = "response_id,town,concerns/knives,concerns/asb\n"
    old = "".join(f"r{n},north,very,very\n" for n in range(20))
    with app.app_context():
        import_responses(_town_test(app), io.BytesIO((header + old).encode()))
        db.session.commit()
        # r3 again 13 rows later, in another batch of seven: both were imported before.
        with pytest.raises(ImportFailed) as failure:
            import_responses(_town_test(app), io.BytesIO((header + old + "r3,north,very,very\nr99,north,very,very\n").encode()), batch_size=7)
        assert [str(problem) for problem in failure.value.problems] == ["row 22, column response_id: 'r3' appears more than once in the file"]
        # The remembered ids went with the failed import: the same file without the repeat imports cleanly.
        result = import_responses(_town_test(app), io.BytesIO((header + old + "r99,north,very,very\n").encode()), batch_size=7)
        db.session.commit()
        assert (result.added, result.already_there) == (1, 20)
        result = import_responses(_town_test(app), io.BytesIO((header + old).encode()), batch_size=7)
        db.session.commit()
        assert (result.added, result.already_there) == (0, 20)
    assert response_count(app) == 21


def test_labels_match_whatever_their_quote_and_dash_style(app, loaded, tmp_path):
    # Word processors and other survey tools write "Don’t know" with a typographic apostrophe.
    path = write(tmp_path, "town,priorities,concerns/knives,concerns/asb\nnorth,DON\u2019T KNOW,Very concerned,fairly\n")
    result = import_csv(loaded, path)
    assert result.exit_code == 0, result.output
    assert [row["priorities"] for row in export_csv(loaded, tmp_path)] == ["dont_know"]


LABELS_WITH_SEPARATORS = """
slug: labels-test
series: labels
wave: "2025"
title: Labels
default_language: en
languages: [en]
questions:
  - code: worries
    type: multi
    text: What worries you?
    options:
      - {code: drugs_any, label: "Drugs; dealing or use"}
      - {code: drugs, label: Drugs}
      - {code: burglary, label: Burglary}
      - {code: other_a, label: Other}
      - {code: other_b, label: "other "}
      - {code: speeding, label: "Speeding / dangerous driving"}
"""


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("Drugs; dealing or use", "drugs_any"),
        ("burglary;Drugs; dealing or use", "drugs_any;burglary"),
        ("Drugs;Burglary", "drugs;burglary"),
        ("Drugs; dealing or use;drugs", "drugs_any;drugs"),
        ("Burglary ; drugs ;dealing or use", "drugs_any;burglary"),
        ("speeding/Dangerous driving;Burglary", "burglary;speeding"),  # spaces beside a '/' do not matter either
    ],
)
def test_a_label_holding_the_separator_is_read_whole(runner, tmp_path, cell, stored):
    definition = tmp_path / "labels.yaml"
    definition.write_text(LABELS_WITH_SEPARATORS, encoding="utf-8")
    assert runner.invoke(args=["survey", "load", str(definition)]).exit_code == 0
    result = runner.invoke(args=["responses", "import", "labels-test", write(tmp_path, f'worries\n"{cell}"\n')])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out.csv"
    assert runner.invoke(args=["responses", "export", "labels-test", "-o", str(out)]).exit_code == 0
    assert [row["worries"] for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))] == [stored]


def test_a_label_two_options_share_once_folded_must_be_given_as_a_code(runner, tmp_path):
    definition = tmp_path / "labels.yaml"
    definition.write_text(LABELS_WITH_SEPARATORS, encoding="utf-8")
    assert runner.invoke(args=["survey", "load", str(definition)]).exit_code == 0
    result = runner.invoke(args=["responses", "import", "labels-test", write(tmp_path, "worries\nOther\nother_b\n")])
    assert result.exit_code == 1
    assert "row 2, column worries: “Other” is the label of more than one answer: give its code" in result.output
    assert "row 3" not in result.output


# ---------------------------------------------------------------- importing on a survey's page


def upload_responses(client, content: bytes, *, name: str = "earlier.csv", token: str | None = None):
    if token is None:
        token = form_tokens(client.get("/staff/surveys/town-test/").get_data(as_text=True))["csrf_token"]
    return client.post("/staff/surveys/town-test/responses", data={"csrf_token": token, "file": (io.BytesIO(content), name)})


def test_responses_uploaded_on_the_survey_page_are_imported_once_and_recorded(app, loaded, client, login, monkeypatch):
    from survey.database import in_bulk_load
    from survey.responses import csv_import

    bulk_loads = []
    start_writer = csv_import._BatchWriter.__init__

    def start_writer_noting_bulk_load(writer, survey):
        start_writer(writer, survey)
        bulk_loads.append(in_bulk_load(writer.connection))

    monkeypatch.setattr(csv_import._BatchWriter, "__init__", start_writer_noting_bulk_load)
    login("editor")
    content = ("\n".join([HEADER, *GOOD_ROWS]) + "\n").encode()
    uploaded = upload_responses(client, content)
    assert uploaded.status_code == 303 and uploaded.headers["Location"] == "/staff/surveys/town-test/"
    page = client.get("/staff/surveys/town-test/").get_data(as_text=True)
    assert "Imported 3 responses." in page and '<dd id="response-count">3' in page
    again = upload_responses(client, content)
    assert again.status_code == 303
    page = client.get("/staff/surveys/town-test/").get_data(as_text=True)
    assert "Imported 0 responses." in page and "3 rows were imported before and were skipped." in page
    assert response_count(app) == 3
    with_blank_rows = upload_responses(client, (HEADER + "\n" + ",,,,,,,,,\n" * 2).encode())
    assert with_blank_rows.status_code == 303
    assert "2 blank rows were skipped." in client.get("/staff/surveys/town-test/").get_data(as_text=True)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "responses.import")).all()
    assert [(event.user_email, event.details["added"], event.details["skipped"], event.details["blank_rows"]) for event in events] == [
        ("editor@council.example", 3, 0, 0), ("editor@council.example", 0, 3, 0), ("editor@council.example", 0, 0, 2),
    ]
    # The upload is a bulk load like the command's: its keys are whole and checked again afterwards.
    assert bulk_loads == [True, True, True]
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        _assert_keys_whole_and_checked()


def test_a_bad_upload_lists_its_problems_by_row_and_column_and_stores_nothing(app, loaded, client, login):
    login("editor")
    rows = [HEADER, *GOOD_ROWS] + [f"bad{n},,en,online,nowhere,,very,very,," for n in range(60)]
    refused = upload_responses(client, ("\n".join(rows) + "\n").encode())
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "No responses were imported" in html and "row 5, column town: “nowhere” is not one of the answers to this question" in html
    assert html.count("<li>row ") == 50 and "… and 10 more problems." in html
    assert response_count(app) == 0
    not_csv = upload_responses(client, b"town\nnorth\n", name="answers.xlsx")
    assert not_csv.status_code == 400 and "The file must be CSV (.csv)" in not_csv.get_data(as_text=True)


def test_an_upload_is_refused_without_its_token_or_the_permission_and_beyond_its_size(app, loaded, client, login, make_user):
    analyst = app.test_client()
    assert sign_in(analyst, make_user("analyst")).status_code == 302
    assert upload_responses(analyst, b"town\nnorth\n", token="").status_code == 403
    login("editor")
    assert upload_responses(client, b"town,concerns/knives,concerns/asb\nnorth,very,very\n", token="").status_code == 400
    # Larger than the residents' limit (256 KiB) is accepted here, up to RESPONSES_UPLOAD_BYTES.
    large = ("town,concerns/knives,concerns/asb,comments\n" + "".join(f"north,very,very,{'x' * 40}\n" for _ in range(7000))).encode()
    assert len(large) > app.config["MAX_CONTENT_LENGTH"]
    assert upload_responses(client, large).status_code == 303
    assert response_count(app) == 7000
    app.config["RESPONSES_UPLOAD_BYTES"] = 100_000
    too_large = upload_responses(client, large)
    assert too_large.status_code == 413
    assert "The file is too large. The largest file accepted is 97 KB." in too_large.get_data(as_text=True)
    assert response_count(app) == 7000


def test_upload_problems_are_in_the_page_language(app, loaded, client, login):
    login("editor")
    token = form_tokens(client.get("/staff/surveys/town-test/?lang=pl").get_data(as_text=True))["csrf_token"]
    refused = client.post("/staff/surveys/town-test/responses?lang=pl",
                          data={"csrf_token": token, "file": (io.BytesIO(b"town,colour\nnorth,red\n"), "earlier.csv")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Nie zaimportowano żadnych odpowiedzi" in html
    assert "wiersz 1, kolumna colour: nie jest pytaniem tej ankiety" in html
    # Rows are checked on the import's reader thread: its messages are in the page's language too.
    rows = b"town,language,concerns/knives,concerns/asb\nnorth,xx,very,very\nnowhere,en,very,very\n"
    refused = client.post("/staff/surveys/town-test/responses?lang=pl", data={"csrf_token": token, "file": (io.BytesIO(rows), "earlier.csv")})
    html = refused.get_data(as_text=True)
    assert "wiersz 2, kolumna language: &#39;xx&#39; nie jest jednym z języków ankiety (en, pl, ur)" in html
    assert "wiersz 3, kolumna town: „nowhere” nie jest jedną z odpowiedzi na to pytanie" in html


def test_an_upload_of_more_rows_than_allowed_is_refused_whole(app, loaded, client, login):
    login("editor")
    app.config["RESPONSES_UPLOAD_ROWS"] = 5
    header = "town,concerns/knives,concerns/asb\n"
    refused = upload_responses(client, (header + "north,very,very\n" * 6).encode())
    assert refused.status_code == 400
    assert "row 7: the file has more than 5 rows: import it with flask responses import" in refused.get_data(as_text=True)
    assert response_count(app) == 0
    # Blank lines (a spreadsheet's empty rows) are not responses and do not count towards the limit.
    assert upload_responses(client, (header + "north,very,very\n,,\n" * 5).encode()).status_code == 303
    assert response_count(app) == 5
