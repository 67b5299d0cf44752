"""The survey builder and survey pages, through real HTTP requests as an editor."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEvent, Question, Survey

from .conftest import form_tokens, response_count


FULL_ANSWERS = {"town": "north", "concerns/knives": "very", "concerns/asb": "fairly"}


def token(client, url: str) -> str:
    return form_tokens(client.get(url).get_data(as_text=True))["csrf_token"]


@pytest.fixture
def editor(login):
    return login("editor")


def survey_row(app, slug: str) -> dict:
    with app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == slug))
        if survey is None:
            return {}
        return {
            "status": survey.status,
            "wave": survey.wave,
            "series": survey.series.code,
            "languages": survey.languages,
            "questions": [
                (q.code, q.type, q.max_choices, [o.code for o in q.options], {o.code: o.label for o in q.options})
                for q in survey.questions
            ],
        }


def create_survey(client, slug="town-2026"):
    data = {
        "csrf_token": token(client, "/staff/surveys/new"),
        "series": "town-safety", "wave": "2026", "slug": slug, "title": "Town safety survey",
        "default_language": "en", "languages": "en, pl",
    }
    return client.post("/staff/surveys/new", data=data)


def add_question(client, slug, **fields):
    data = {"csrf_token": token(client, f"/staff/surveys/{slug}/edit"), **fields}
    return client.post(f"/staff/surveys/{slug}/questions", data=data)


def question_form(client, slug, code) -> dict:
    """The question page's current values, as the browser would post them back."""
    html = client.get(f"/staff/surveys/{slug}/questions/{code}").get_data(as_text=True)
    values = dict(re.findall(r'<input[^>]* name="([^"]+)"[^>]* value="([^"]*)"', html))
    values.update(re.findall(r'<input[^>]*value="([^"]*)"[^>]* name="([^"]+)"', html)[::-1] and {})
    for name, text in re.findall(r'<textarea[^>]* name="([^"]+)"[^>]*>\n?([^<]*)</textarea>', html):
        values[name] = text
    for name in re.findall(r'<input checked[^>]* name="([^"]+)"|<input[^>]* checked[^>]* name="([^"]+)"', html):
        values[name[0] or name[1]] = "y"
    for name, value in re.findall(r'<select[^>]* name="([^"]+)"[^>]*>(?:.|\n)*?<option selected value="([^"]*)"', html):
        values[name] = value
    for checkbox in re.findall(r'<input[^>]*type="checkbox"[^>]*>', html):
        name = re.search(r'name="([^"]+)"', checkbox).group(1)
        if "checked" not in checkbox:
            values.pop(name, None)
    return values


def test_editor_creates_a_survey_adds_questions_and_publishes(app, client, editor):
    created = create_survey(client)
    assert created.status_code == 302 and created.headers["Location"].endswith("/staff/surveys/town-2026/edit")
    added = add_question(
        client, "town-2026", code="priorities", type="multi", text="What should we focus on?",
        options="Anti-social behaviour\nDrug dealing\nSpeeding\nDon't know",
    )
    assert added.status_code == 302
    row = survey_row(app, "town-2026")
    assert row["status"] == "draft" and row["series"] == "town-safety" and row["languages"] == ["en", "pl"]
    assert row["questions"][0][:4] == ("priorities", "multi", None, ["anti_social_behaviour", "drug_dealing", "speeding", "don_t_know"])

    values = question_form(client, "town-2026", "priorities")
    values.update({"max_choices": "3", "options-3-flag": "y", "options-3-code": "dont_know", "action": "save"})
    saved = client.post("/staff/surveys/town-2026/questions/priorities", data=values)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    question = survey_row(app, "town-2026")["questions"][0]
    assert question[2] == 3 and question[3][-1] == "dont_know"

    published = client.post("/staff/surveys/town-2026/publish", data={"csrf_token": token(client, "/staff/surveys/town-2026/")})
    assert published.status_code == 302 and survey_row(app, "town-2026")["status"] == "open"
    assert client.get("/s/town-2026").status_code == 200
    closed = client.post("/staff/surveys/town-2026/close", data={"csrf_token": token(client, "/staff/surveys/town-2026/")})
    assert closed.status_code == 302 and survey_row(app, "town-2026")["status"] == "closed"
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["survey.change", "survey.publish", "survey.close"]
    assert "survey.create" in actions


def test_move_and_delete_options_and_questions(app, client, editor):
    create_survey(client)
    add_question(client, "town-2026", code="area", type="single", text="Where do you live?", options="North\nSouth\nEast")
    add_question(client, "town-2026", code="comments", type="text", text="Anything else?")
    values = question_form(client, "town-2026", "area")
    moved = client.post("/staff/surveys/town-2026/questions/area", data={**values, "action": "down:options:0"})
    assert moved.status_code == 302
    assert survey_row(app, "town-2026")["questions"][0][3] == ["south", "north", "east"]
    values = question_form(client, "town-2026", "area")
    client.post("/staff/surveys/town-2026/questions/area", data={**values, "action": "delete:options:2"})
    assert survey_row(app, "town-2026")["questions"][0][3] == ["south", "north"]

    edit_token = token(client, "/staff/surveys/town-2026/edit")
    client.post("/staff/surveys/town-2026/questions/comments/move", data={"csrf_token": edit_token, "direction": "up"})
    assert [q[0] for q in survey_row(app, "town-2026")["questions"]] == ["comments", "area"]
    confirm = client.get("/staff/surveys/town-2026/questions/comments/delete")
    assert confirm.status_code == 200 and "Delete question comments?" in confirm.get_data(as_text=True)
    client.post("/staff/surveys/town-2026/questions/comments/delete", data={"csrf_token": edit_token})
    assert [q[0] for q in survey_row(app, "town-2026")["questions"]] == ["area"]


def test_a_validation_error_keeps_what_was_typed_and_changes_nothing(app, client, editor):
    create_survey(client)
    add_question(client, "town-2026", code="area", type="single", text="Where do you live?", options="North\nSouth")
    before = survey_row(app, "town-2026")
    values = question_form(client, "town-2026", "area")
    values.update({"options-1-code": "north", "text": "Where do you live now?", "new_options": "West side", "action": "save"})
    refused = client.post("/staff/surveys/town-2026/questions/area", data=values)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "There is a problem" in html and "option code &#39;north&#39; is used more than once" in html
    assert "Where do you live now?" in html and "West side" in html  # nothing typed is lost
    assert survey_row(app, "town-2026") == before


def test_bad_question_code_and_missing_options_are_refused(app, client, editor):
    create_survey(client)
    bad_code = add_question(client, "town-2026", code="Bad Code", type="text", text="Hello")
    assert bad_code.status_code == 400 and "Use lower-case letters" in bad_code.get_data(as_text=True)
    no_options = add_question(client, "town-2026", code="area", type="single", text="Where?", options="")
    assert no_options.status_code == 400 and "a single question needs options" in no_options.get_data(as_text=True)
    matrix = add_question(client, "town-2026", code="worry", type="matrix", text="How worried?", items="Burglary", scale="Very\nNot")
    assert matrix.status_code == 302
    assert survey_row(app, "town-2026")["questions"] == [("worry", "matrix", None, [], {})]


def test_structure_is_locked_once_there_are_responses_but_wording_can_change(app, client, editor, make_survey, submit):
    slug = make_survey()
    assert submit(slug, FULL_ANSWERS).status_code == 303
    assert response_count(app) == 1
    with app.app_context():
        code = db.session.scalar(sa.select(Question.code).join(Survey).where(Survey.slug == slug, Question.type == "single"))
    page = client.get(f"/staff/surveys/{slug}/questions/{code}")
    assert "structure is locked" in page.get_data(as_text=True)
    values = question_form(client, slug, code)
    values.update({"options-1-wording": "Renamed option", "action": "save"})
    saved = client.post(f"/staff/surveys/{slug}/questions/{code}", data=values)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        question = db.session.scalar(sa.select(Question).join(Survey).where(Survey.slug == slug, Question.code == code))
        assert question.options[1].label == {"en": "Renamed option", "pl": "Południe"}  # translation kept
    tampered = {**values, "options-0-code": "something_else"}
    refused = client.post(f"/staff/surveys/{slug}/questions/{code}", data=tampered)
    assert refused.status_code == 400 and "already has responses" in refused.get_data(as_text=True)
    assert response_count(app) == 1


def test_next_wave_keeps_every_code_and_is_a_draft(app, client, editor, make_survey):
    slug = make_survey()
    original = survey_row(app, slug)
    page = client.get(f"/staff/surveys/{slug}/")
    defaults = form_tokens(page.get_data(as_text=True))
    started = client.post(
        f"/staff/surveys/{slug}/next-wave", data={"csrf_token": defaults["csrf_token"], "wave": "2099", "slug": "next-wave"}
    )
    assert started.status_code == 302
    copy = survey_row(app, "next-wave")
    assert copy["status"] == "draft" and copy["wave"] == "2099" and copy["series"] == original["series"]
    assert copy["questions"] == original["questions"]
    again = client.post(
        f"/staff/surveys/{slug}/next-wave", data={"csrf_token": defaults["csrf_token"], "wave": "2099", "slug": "other"}
    )
    assert again.status_code == 400 and "already has a wave" in again.get_data(as_text=True)


def test_preview_shows_drafts_in_any_language_and_marks_untranslated_texts(app, client, editor):
    create_survey(client)
    add_question(client, "town-2026", code="area", type="single", text="Where do you live?", options="North\nSouth")
    assert client.get("/s/town-2026").status_code in (200, 400)  # residents cannot answer a draft
    preview = client.get("/staff/surveys/town-2026/preview?lang=pl")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert '<html lang="pl"' in html and "Where do you live?" in html and 'class="preview-banner"' in html
    assert 'name="area"' in html
    # A preview in Polish does not switch the staff pages to Polish.
    assert client.get("/staff/").headers.get("Content-Language", "en") != "pl"
    assert '<html lang="en"' in client.get("/staff/").get_data(as_text=True)


def test_definition_download_and_upload(app, client, editor, make_survey):
    slug = make_survey(status="draft")
    download = client.get(f"/staff/surveys/{slug}/definition.yaml")
    assert download.status_code == 200 and f"slug: {slug}" in download.get_data(as_text=True)
    changed = download.data.replace(b"wave:", b"wave: '2031' #", 1)
    upload_token = token(client, "/staff/")
    import io

    uploaded = client.post(
        "/staff/surveys/upload",
        data={"csrf_token": upload_token, "file": (io.BytesIO(changed), "survey.yaml")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)
    assert survey_row(app, slug)["wave"] == "2031"
    broken = client.post(
        "/staff/surveys/upload",
        data={"csrf_token": upload_token, "file": (io.BytesIO(b"slug: [unclosed"), "survey.yaml")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400 and "line 1" in broken.get_data(as_text=True)
    assert survey_row(app, slug)["wave"] == "2031"
    for name, deep in (("deep.json", b"[" * 100_000 + b"]" * 100_000), ("deep.yaml", b"a: " + b"[" * 5000 + b"]" * 5000)):
        refused = client.post(
            "/staff/surveys/upload",
            data={"csrf_token": upload_token, "file": (io.BytesIO(deep), name)},
            content_type="multipart/form-data",
        )
        assert refused.status_code == 400
        assert f"{name}: lists or sections are nested far too deeply to be a survey definition" in refused.get_data(as_text=True)


def test_a_definition_too_large_is_refused_with_the_largest_size_accepted(app, client, editor):
    too_large = client.post(
        "/staff/surveys/upload",
        data={"csrf_token": token(client, "/staff/"), "file": (io.BytesIO(b"#" * 300_000), "survey.yaml")},
        content_type="multipart/form-data",
    )
    page = too_large.get_data(as_text=True)
    assert too_large.status_code == 413
    assert app.config["MAX_CONTENT_LENGTH"] == 256 * 1024
    assert "The file is too large. The largest file accepted is 256 KB." in page
    assert "answers" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_next_wave_keeps_stale_translations_stale(app, client, editor, make_survey):
    from survey.staff.surveys import find_survey, start_next_wave
    from survey.translating.service import language_summaries

    slug = make_survey(status="draft")
    with app.app_context():
        survey = find_survey(slug)
        question = next(q for q in survey.questions if q.code == "town")
        question.text = {**question.text, "en": "Where do you live now?"}  # its Polish text is now stale
        db.session.commit()
        before = {s.language: (s.confirmed, s.stale, s.missing) for s in language_summaries(survey)}
        copy = start_next_wave(survey, "2099", "next-wave")
        db.session.commit()
        after = {s.language: (s.confirmed, s.stale, s.missing) for s in language_summaries(copy)}
    assert before["pl"][1] >= 1
    assert after == before


def test_a_draft_without_responses_can_be_deleted_but_nothing_else(app, client, editor, make_survey, submit):
    create_survey(client)
    confirm = client.get("/staff/surveys/town-2026/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    deleted = client.post("/staff/surveys/town-2026/delete", data={"csrf_token": token(client, "/staff/")})
    assert deleted.status_code == 303 and survey_row(app, "town-2026") == {}
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)) == "survey.delete"

    slug = make_survey()
    assert submit(slug, FULL_ANSWERS).status_code == 303
    page = client.get(f"/staff/surveys/{slug}/delete")
    assert "Only a draft that has no responses can be deleted" in page.get_data(as_text=True)
    refused = client.post(f"/staff/surveys/{slug}/delete", data={"csrf_token": token(client, "/staff/")})
    assert refused.status_code == 400 and survey_row(app, slug) and response_count(app) == 1


def test_a_second_survey_with_the_same_series_and_wave_is_refused_not_a_crash(app, client, editor):
    create_survey(client)
    clash = create_survey(client, slug="other-2026")
    assert clash.status_code == 400
    assert "already has a wave &#39;2026&#39; (survey &#39;town-2026&#39;)" in clash.get_data(as_text=True)
    assert survey_row(app, "other-2026") == {}


def test_renaming_a_question_does_not_confirm_its_stale_translations(app, client, editor, make_survey):
    from survey.staff.surveys import find_survey
    from survey.translating.service import Status, Translations

    slug = make_survey(status="draft")
    values = question_form(client, slug, "town")
    values.update({"code": "area", "text": "Which area do you live in?", "action": "save"})
    assert client.post(f"/staff/surveys/{slug}/questions/town", data=values).status_code == 302
    with app.app_context():
        translations = Translations(find_survey(slug))
        assert translations.status(translations.texts["q/area/text"], "pl") == Status.STALE


def test_removing_a_language_removes_its_translations(app, client, editor, make_survey):
    slug = make_survey(status="draft")
    data = {"csrf_token": token(client, f"/staff/surveys/{slug}/edit"), "title": "Test survey", "intro": "",
            "wave": "2024", "languages": "en, ur"}
    saved = client.post(f"/staff/surveys/{slug}/settings", data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert "Removed the translations into pl" in client.get(f"/staff/surveys/{slug}/edit").get_data(as_text=True)
    with app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == slug))
        assert survey.languages == ["en", "ur"] and "pl" not in survey.title
        assert all("pl" not in option.label for question in survey.questions for option in question.options)
