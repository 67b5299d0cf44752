"""Data protection: retention and purge, saved results that outlive a purge, masking personal
details in free-text exports, the privacy notice page, and what a response stores."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
import sqlalchemy as sa
import yaml

from survey.definitions import DefinitionError, definition_from_survey, dump_definition, load_definition, parse_definition
from survey.extensions import db
from survey.models import Answer, AuditEvent, Question, Response, Survey
from survey.responses.cli import purge_report
from survey.responses.masking import mask_personal_data
from survey.responses.purge import apply_purge, plan_purge
from survey.responses.store import insert_response

from .conftest import reference_definition, response_count

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)

#: Response ages around the boundaries of a 30-day retention and a 10-day free-text period.
AGES = {
    "fresh": DAY,
    "text_edge": 10 * DAY,  # exactly at the free-text boundary: not past it
    "text_old": 10 * DAY + SECOND,
    "kept_edge": 30 * DAY,  # exactly at the retention boundary: kept
    "kept_old": 30 * DAY + SECOND,
    "ancient": 400 * DAY,
}


def add_response(app, slug: str, name: str, submitted_at: datetime, values: dict | None = None) -> None:
    """A response with a choice, a matrix cell and a comment, sent at ``submitted_at``."""
    values = values or {"town": ["north"], "priorities": ["drugs"], "concerns/knives": ["very"], "comments": [f"Comment {name}"]}
    with app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == slug))
        response_id = insert_response(survey, values, uid=f"{slug}-{name}", language="en")
        db.session.execute(sa.update(Response).where(Response.id == response_id).values(submitted_at=submitted_at))
        db.session.commit()


def everything(app) -> dict[str, set]:
    """Every response (survey, uid) and every answer (uid, question, option or text), to compare whole states."""
    with app.app_context():
        responses = set(db.session.execute(sa.select(Survey.slug, Response.uid).join(Survey, Survey.id == Response.survey_id)))
        answers = set(
            db.session.execute(
                sa.select(Response.uid, Question.code, Answer.option_id, Answer.item_id, Answer.text)
                .join(Response, Response.id == Answer.response_id)
                .join(Question, Question.id == Answer.question_id)
            )
        )
        orphans = db.session.scalar(
            sa.select(sa.func.count()).select_from(Answer).where(~Answer.response_id.in_(sa.select(Response.id)))
        )
    return {"responses": {tuple(row) for row in responses}, "answers": {tuple(row) for row in answers}, "orphans": orphans}


def without(state: dict, *, responses: set[str] = frozenset(), texts: set[str] = frozenset()) -> dict:
    """``state`` less the responses with these uids (and all their answers) and the comments of ``texts``."""
    return {
        "responses": {row for row in state["responses"] if row[1] not in responses},
        "answers": {
            row for row in state["answers"]
            if row[0] not in responses and not (row[0] in texts and row[1] == "comments")
        },
        "orphans": 0,
    }


@pytest.fixture
def retention_surveys(app, make_survey):
    """Four waves: 30 days with free text 10, no retention, free text only, whole responses only."""
    make_survey(retention_days=30, text_retention_days=10)
    make_survey(slug="kept-forever", wave="2025")
    make_survey(slug="text-only", wave="2026", text_retention_days=10)
    make_survey(slug="whole-only", wave="2027", retention_days=30)
    for slug in ("town-test", "kept-forever", "text-only", "whole-only"):
        for name, age in AGES.items():
            add_response(app, slug, name, NOW - age)
    return app


def uids(slug: str, *names: str) -> set[str]:
    return {f"{slug}-{name}" for name in names}


# ---------------------------------------------------------------- purge


def test_purge_removes_exactly_what_is_past_retention_and_nothing_else(retention_surveys):
    app = retention_surveys
    before = everything(app)
    assert len(before["responses"]) == 24 and before["orphans"] == 0

    with app.app_context():
        plan = plan_purge(NOW)
        counts = {survey.slug: (survey.responses, survey.text_answers) for survey in plan.surveys}
        assert counts == {"text-only": (0, 4), "town-test": (2, 2), "whole-only": (2, 0)}
        assert plan.unlimited == ["kept-forever"]
        done = apply_purge(plan)
        db.session.commit()
        assert (done.responses, done.text_answers) == (4, 6)

    assert everything(app) == without(
        before,
        responses=uids("town-test", "kept_old", "ancient") | uids("whole-only", "kept_old", "ancient"),
        texts=uids("town-test", "text_old", "kept_edge") | uids("text-only", "text_old", "kept_edge", "kept_old", "ancient"),
    )


def test_a_second_purge_deletes_nothing(retention_surveys):
    app = retention_surveys
    with app.app_context():
        apply_purge(plan_purge(NOW))
        db.session.commit()
    after_first = everything(app)
    with app.app_context():
        again = plan_purge(NOW)
        assert (again.responses, again.text_answers) == (0, 0)
        done = apply_purge(again)
        db.session.commit()
        assert (done.responses, done.text_answers) == (0, 0)
    assert everything(app) == after_first


def test_purge_command_dry_run_changes_nothing_then_purges_once(app, runner, make_survey):
    make_survey(retention_days=30, text_retention_days=10)
    make_survey(slug="kept-forever", wave="2025")
    now = datetime.now(timezone.utc)
    for slug in ("town-test", "kept-forever"):
        add_response(app, slug, "fresh", now - DAY)
        add_response(app, slug, "text_old", now - 20 * DAY)
        add_response(app, slug, "ancient", now - 400 * DAY)
    before = everything(app)

    dry = runner.invoke(args=["responses", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "town-test: would delete 1 response(s) sent before" in dry.output
    assert "and 1 free-text answer(s) of responses sent before" in dry.output
    assert "No retention period (kept until deleted by hand): kept-forever." in dry.output
    assert "Dry run: nothing was deleted" in dry.output
    assert everything(app) == before

    real = runner.invoke(args=["responses", "purge"])
    assert real.exit_code == 0, real.output
    assert "town-test: deleted 1 response(s)" in real.output
    assert "Deleted 1 response(s) and 1 free-text answer(s)." in real.output
    assert everything(app) == without(before, responses=uids("town-test", "ancient"), texts=uids("town-test", "text_old"))

    again = runner.invoke(args=["responses", "purge"])
    assert again.exit_code == 0, again.output
    assert "Deleted 0 response(s) and 0 free-text answer(s)." in again.output
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "responses.purge").order_by(AuditEvent.id)).all()
        assert [(event.details["responses"], event.details["text_answers"]) for event in events] == [(1, 1), (0, 0)]
        assert events[0].details["surveys"] == {"town-test": {"responses": 1, "text_answers": 1}}
        assert events[0].user_email is None  # the command line


def test_purge_report_shows_the_cut_offs_to_the_second(retention_surveys):
    with retention_surveys.app_context():
        lines = purge_report(plan_purge(NOW + 7 * SECOND), dry_run=True)
    assert lines[1] == (
        "town-test: would delete 3 response(s) sent before 2025-05-02 12:00:07 UTC (kept 30 days)"
        " and 2 free-text answer(s) of responses sent before 2025-05-22 12:00:07 UTC (free text kept 10 days)."
    )


def test_purge_command_applies_the_cut_off_it_shows(app, runner, make_survey):
    make_survey(retention_days=30)
    with app.app_context():
        assert plan_purge().now.microsecond == 0  # what is shown is what is compared
    started = datetime.now(timezone.utc).replace(microsecond=0)
    result = runner.invoke(args=["responses", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    shown = re.search(r"sent before (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", result.output)
    assert shown, result.output
    cut_off = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert started - 30 * DAY <= cut_off <= datetime.now(timezone.utc) - 30 * DAY


def test_purge_without_any_retention_period_deletes_nothing(app, runner, make_survey):
    make_survey()
    add_response(app, "town-test", "ancient", NOW - 4000 * DAY)
    result = runner.invoke(args=["responses", "purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 0 response(s)" in result.output
    assert response_count(app) == 1


# ---------------------------------------------------------------- saved results


def wave_values(i: int) -> dict:
    """Varied answers, some leaving an item of the matrix out (so its items have different bases)."""
    values = {"town": ["north" if i % 3 else "south"], "priorities": [["drugs"], ["bikes", "litter"], ["litter"], ["drugs", "bikes"]][i % 4]}
    values["concerns/knives"] = [["very", "fairly", "not_very"][i % 3]]
    if i % 5:
        values["concerns/asb"] = [["fairly", "not_very"][i % 2]]
    return values


def test_saved_results_render_the_same_after_every_response_is_purged(app, runner, make_survey):
    make_survey()
    make_survey(slug="town-test-2025", wave="2025")
    for slug, count in (("town-test", 23), ("town-test-2025", 31)):
        for i in range(count):
            add_response(app, slug, f"r{i}", NOW - 50 * DAY, wave_values(i + (slug == "town-test")))

    def compare(question, file_format):
        result = runner.invoke(args=["analysis", "compare", "--series", "test-series", "--question", question, "--format", file_format])
        assert result.exit_code == 0, result.output
        return result.output

    published = {(q, f): compare(q, f) for q in ("priorities", "concerns") for f in ("md", "csv", "json", "html", "table")}
    for question in ("priorities", "concerns"):
        saved = runner.invoke(args=["analysis", "save", "--series", "test-series", "--question", question])
        assert saved.exit_code == 0, saved.output
    titled = runner.invoke(args=["analysis", "save", "--series", "test-series", "--question", "priorities",
                                 "--waves", "2025", "--title", "Priorities in 2025"])
    assert titled.exit_code == 0 and "Saved result 3: Priorities in 2025 (2025)." in titled.output

    with app.app_context():
        for survey in db.session.scalars(sa.select(Survey)):
            survey.retention_days = 30
        db.session.commit()
    assert runner.invoke(args=["responses", "purge"]).exit_code == 0
    assert response_count(app) == 0

    for (question, file_format), expected in published.items():
        number = {"priorities": "1", "concerns": "2"}[question]
        shown = runner.invoke(args=["analysis", "show-saved", number, "--format", file_format])
        assert shown.exit_code == 0, shown.output
        assert shown.output == expected, (question, file_format)
    assert "Base: respondents who rated each item" in published[("concerns", "md")]

    listing = runner.invoke(args=["analysis", "saved"]).output.splitlines()
    assert [line.split("\t")[0::2] for line in listing] == [
        ["1", "test-series", "2024, 2025"], ["2", "test-series", "2024, 2025"], ["3", "test-series", "2025"]]
    assert listing[2].endswith("\tpriorities\t2025\tPriorities in 2025")
    table = runner.invoke(args=["analysis", "show-saved", "3", "--format", "md"]).output
    assert table.startswith("### Priorities in 2025\n")
    assert json.loads(runner.invoke(args=["analysis", "show-saved", "3", "--format", "json"]).output)["waves"][0]["wave"] == "2025"


def test_saving_and_showing_fail_clearly(app, runner, make_survey):
    make_survey()
    unknown = runner.invoke(args=["analysis", "save", "--series", "test-series", "--question", "nope"])
    assert unknown.exit_code == 1 and "nope" in unknown.output
    missing = runner.invoke(args=["analysis", "show-saved", "7"])
    assert missing.exit_code == 1 and "No saved result 7" in missing.output
    assert "No saved results yet" in runner.invoke(args=["analysis", "saved"]).output


# ---------------------------------------------------------------- masking


MASKED = {
    "I live near WV10 0QP": "I live near [postcode]",
    "postcode wv10 0qp, near the park": "postcode [postcode], near the park",
    "Parliament is SW1A 1AA": "Parliament is [postcode]",
    "Shop at B1 1AA.": "Shop at [postcode].",
    "no space EC1A1BB here": "no space [postcode] here",
    "call 07700 900123": "call [phone]",
    "text me on 07700900123 tonight": "text me on [phone] tonight",
    "+44 121 496 0000 is the office": "[phone] is the office",
    "ring +44 (0)121 496 0000": "ring [phone]",
    "(0121) 496 0000 after 6": "[phone] after 6",
    "London 020-7946-0000": "London [phone]",
    "intl +447700900123": "intl [phone]",
    "my number is 0121 496 0000 2 times a day": "my number is [phone] 2 times a day",
    "write to jo.bloggs@example.org about it": "write to [email] about it",
    "A.Person+survey@council.gov.uk, B@b.co": "[email], [email]",
    "mail a@b.org or call 01632 960123 at B1 1AA": "mail [email] or call [phone] at [postcode]",
    "pasted 07700\u00a0900123 here": "pasted [phone] here",
    "word 07700\u2013900123 dash": "word [phone] dash",
    "ph07700900123": "ph[phone]",
    "grouped 07 700 900 123 in twos": "grouped [phone] in twos",
    "at B1  1AA twice spaced": "at [postcode] twice spaced",
    "at B1-1AA dashed": "at [postcode] dashed",
    "office (0121)\u00a0496 0000": "office [phone]",
    "dotted 07700.900.123 mobile": "dotted [phone] mobile",
    "dotted 0121.496.0000 office": "dotted [phone] office",
    "bracketed (0)7700 900123 zero": "bracketed [phone] zero",
    "+44 (0)7700 900123": "[phone]",
    "my number is 0 7700 900123": "my number is [phone]",
    "in pairs 07700 90 01 23 ok": "in pairs [phone] ok",
    "ring +44 (0121) 496 0000 today": "ring [phone] today",
    "call 07700 900123 24 hours a day": "call [phone] 24 hours a day",
    "call 0121.496.0000.": "call [phone].",
    "London 0 20 7946 0000 apart": "London [phone] apart",
}
UNCHANGED = [
    "the 2023 survey was better",
    "the A1 road and the M6 are noisy",
    "WV10 is my area",
    "about 15000 people live here",
    "it happened on 01-02-2023 10:00 near the shops",
    "12345678901",
    "reference 0123 456",
    "07700 9001234 is too long to be a number",
    "an @ sign alone",
    "Flat 3, 10 Downing Street",
    "costs £0.50 or 1,000,000 over 10 years",
    "items 0 1 2 3 and 07 700",
    "the M6-1 junction",
    "Appendix 01 2019–2023",
    "Table 02 2019 2020 2021",
    "items 01 100 101 102",
    "open 07:00–09:00 and 0700–0900",
    "on 01.02.2024 at 10.30, open 07.00-09.00",
    "it cost £1,250.00 in 2023",
    "version 1.2.3 and 10.2.3.4567",
    "reference 0123.456.78 and 0123 45 67",
    "scores of 0 100 200 300 400",
    "open 0700 10 12 14",
    "between 0 and 10, 0 1 2",
    "",
]


@pytest.mark.parametrize("text, expected", MASKED.items(), ids=list(MASKED))
def test_personal_details_are_masked(text, expected):
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_not_masked(text):
    assert mask_personal_data(text) == text


def test_long_hostile_text_is_masked_in_one_pass():
    # Without an anchor the e-mail pattern scanned the run again from each of its characters:
    # minutes for this text (the largest cell an import reads), a stuck download for a council.
    hostile = "a" * 65_000 + "@" + "b" * 65_000 + " or x@y.org"
    assert mask_personal_data(hostile) == hostile[:-len("x@y.org")] + "[email]"


def read_export(runner, tmp_path, *options, file_format="csv") -> list[dict]:
    out = tmp_path / f"out.{file_format}"
    result = runner.invoke(args=["responses", "export", "town-test", "--format", file_format, "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    if file_format == "csv":
        return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    sheet = openpyxl.load_workbook(out).active
    header, *rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row)) for row in rows]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_masks_free_text_only_when_asked(app, runner, make_survey, tmp_path, file_format):
    make_survey()
    comment = "Call 07700 900123 or jo@example.org, WV10 0QP"
    add_response(app, "town-test", "one", NOW, {"town": ["north"], "priorities": ["drugs", "bikes"], "comments": [comment]})
    plain = read_export(runner, tmp_path, file_format=file_format)
    masked = read_export(runner, tmp_path, "--mask-personal-data", file_format=file_format)
    assert plain[0]["comments"] == comment
    assert masked[0]["comments"] == "Call [phone] or [email], [postcode]"
    assert {key: value for key, value in masked[0].items() if key != "comments"} == {
        key: value for key, value in plain[0].items() if key != "comments"
    }
    assert masked[0]["priorities"] == "drugs;bikes"
    with app.app_context():  # masking changes the file, never the stored answer
        assert db.session.scalar(sa.select(Answer.text).where(Answer.text.is_not(None))) == comment


# ---------------------------------------------------------------- privacy notice


PRIVACY_LINK = 'href="/s/town-test/privacy?lang={lang}">Privacy notice</a>'


def test_every_survey_page_links_to_its_privacy_notice(app, client, make_survey):
    make_survey()
    assert PRIVACY_LINK.format(lang="en") in client.get("/s/town-test?lang=en").get_data(as_text=True)
    assert PRIVACY_LINK.format(lang="en") in client.get("/s/town-test/thanks?lang=en").get_data(as_text=True)
    make_survey(status="closed", slug="closed-one", wave="2020")
    closed = client.get("/s/closed-one?lang=en").get_data(as_text=True)
    assert "This survey has now closed" in closed
    assert 'href="/s/closed-one/privacy?lang=en"' in closed
    assert "/privacy" not in client.get("/").get_data(as_text=True)  # not a survey's page


def test_privacy_notice_in_the_page_language_with_what_is_stored(app, client, make_survey):
    make_survey(
        privacy_notice={"en": "The council runs this survey.", "pl": "Ankietę prowadzi rada.\n\nDrugi akapit."},
        retention_days=730,
        text_retention_days=365,
    )
    page = client.get("/s/town-test/privacy?lang=pl").get_data(as_text=True)
    assert '<html lang="pl"' in page
    assert "<p>Ankietę prowadzi rada.</p>" in page and "<p>Drugi akapit.</p>" in page
    assert "The council runs this survey." not in page
    english = html.unescape(client.get("/s/town-test/privacy?lang=en").get_data(as_text=True))
    assert "The council runs this survey." in english
    assert "We never store your IP address, your browser's details (its user agent)" in english
    assert "The language you answered in." in english
    assert "Your answers are deleted 730 days after they were sent." in english
    assert "Anything you wrote in your own words is deleted 365 days after it was sent." in english
    assert PRIVACY_LINK.format(lang="en") in english


def test_privacy_notice_falls_back_to_the_default_language_marked_as_such(app, client, make_survey):
    make_survey(privacy_notice={"en": "The council runs this survey."})
    page = client.get("/s/town-test/privacy?lang=ur").get_data(as_text=True)
    assert '<div lang="en" dir="ltr">' in page and "The council runs this survey." in page


def test_survey_without_a_notice_or_retention_shows_the_standard_text(app, client, make_survey):
    make_survey(status="draft")
    page = client.get("/s/town-test/privacy").get_data(as_text=True)
    assert "Taking part is voluntary and anonymous" in page
    assert "Your answers are kept until the survey team deletes them." in page


def test_privacy_notice_of_an_unknown_survey_is_not_found(client):
    assert client.get("/s/no-such-survey/privacy").status_code == 404


def test_a_response_stores_no_ip_address_or_user_agent(app, client, make_survey, submit):
    make_survey()
    reply = submit("town-test", {"town": "north", "concerns/knives": "very", "concerns/asb": "very"},
                   headers={"User-Agent": "Mozilla/5.0 (Test)"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert reply.status_code == 303
    assert set(Response.__table__.columns.keys()) == {"id", "survey_id", "uid", "language", "channel", "submitted_at"}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                assert not any(isinstance(v, str) and ("203.0.113.9" in v or "Mozilla" in v) for v in row), table.name


# ---------------------------------------------------------------- definition files


def with_data_protection(**changes) -> dict:
    return {
        **reference_definition(),
        "retention_days": 730,
        "text_retention_days": 365,
        "privacy_notice": {"en": "We keep answers for two years.", "pl": "Przechowujemy odpowiedzi przez dwa lata."},
        **changes,
    }


def test_data_protection_fields_round_trip(app_ctx, tmp_path):
    original = parse_definition(with_data_protection())
    survey = load_definition(original).survey
    db.session.commit()
    assert (survey.retention_days, survey.text_retention_days) == (730, 365)
    assert survey.privacy_notice["pl"] == "Przechowujemy odpowiedzi przez dwa lata."
    dumped = dump_definition(definition_from_survey(survey))
    data = yaml.safe_load(dumped)
    assert data["retention_days"] == 730 and data["text_retention_days"] == 365
    assert parse_definition(data) == original
    bare = yaml.safe_load(dump_definition(definition_from_survey(load_definition(parse_definition(reference_definition())).survey)))
    assert not {"retention_days", "text_retention_days", "privacy_notice"} & set(bare)


def test_a_plain_string_privacy_notice_is_the_default_language():
    assert parse_definition(with_data_protection(privacy_notice="Plain.")).privacy_notice == {"en": "Plain."}


INVALID = {
    "text kept longer": (
        {"retention_days": 30, "text_retention_days": 31},
        "text_retention_days: free text cannot be kept longer than the responses (retention_days is 30)",
    ),
    "zero days": ({"retention_days": 0}, "retention_days: Input should be greater than or equal to 1"),
    "negative text days": ({"text_retention_days": -5}, "text_retention_days: Input should be greater than or equal to 1"),
    "not a number": ({"retention_days": "two years"}, "retention_days: Input should be a valid integer"),
    "notice in a language not offered": ({"privacy_notice": {"en": "x", "de": "y"}}, "privacy_notice has text in 'de', which is not in languages"),
    "empty notice": ({"privacy_notice": {"en": "  "}}, "privacy_notice > en: String should have at least 1 character"),
}


@pytest.mark.parametrize("changes, message", INVALID.values(), ids=list(INVALID))
def test_invalid_data_protection_fields_are_refused_with_where_and_what(changes, message):
    with pytest.raises(DefinitionError) as refused:
        parse_definition(with_data_protection(**changes))
    assert any(message in problem for problem in refused.value.problems), refused.value.problems


def test_text_retention_alone_is_allowed():
    definition = parse_definition({**reference_definition(), "text_retention_days": 90})
    assert (definition.retention_days, definition.text_retention_days) == (None, 90)


def test_retention_and_notice_may_change_once_there_are_responses(app, make_survey):
    make_survey()
    add_response(app, "town-test", "one", NOW)
    with app.app_context():
        result = load_definition(parse_definition(with_data_protection(retention_days=400, text_retention_days=200)))
        db.session.commit()
        assert result.wording_only
        assert (result.survey.retention_days, result.survey.text_retention_days) == (400, 200)
        assert result.survey.privacy_notice["en"] == "We keep answers for two years."


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failed_submission_logs_no_answer_of_the_resident(app, make_survey, database_url, caplog):
    """The error of a statement that failed is logged; the residents' answers in it must not be."""
    from survey import create_app

    from .conftest import form_tokens

    questions = reference_definition()["questions"]
    questions[-1]["max_length"] = 10_000
    make_survey(questions=questions)
    with app.app_context():
        db.engine.dispose()
    full = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret-key", "MIN_FILL_SECONDS": 0})
    with full.app_context():

        def no_new_pages(dbapi_connection, _record):  # the file is full: the INSERT itself fails
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        sa.event.listen(db.engine, "connect", no_new_pages)
    client = full.test_client()
    page = client.get("/s/town-test")
    comment = "Ring Jane Doe on 07700 900123. " * 200
    answers = {"town": "north", "concerns/knives": "very", "concerns/asb": "very", "comments": comment}
    reply = client.post("/s/town-test", data={**form_tokens(page.get_data(as_text=True)), **answers})
    with full.app_context():
        db.engine.dispose()
    assert reply.status_code == 503
    assert "Database unavailable" in caplog.text and "INSERT INTO" in caplog.text  # the failed statement is logged...
    assert "Jane Doe" not in caplog.text and "07700" not in caplog.text  # ...without what the resident wrote
