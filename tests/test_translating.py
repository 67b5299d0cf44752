"""The translation workflow: completeness grid, editing in the browser, staleness, PO/XLSX files, fallback markers."""

from __future__ import annotations

import copy
import html
import io
import re

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po, write_po
from flask import g, render_template_string
from openpyxl import Workbook, load_workbook
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.models import AuditEvent, Option, Question, Survey, TranslationConfirmation
from survey.translating.service import Status, Translations, set_translation

from .conftest import form_tokens, reference_definition

BASE = "/staff/surveys/town-test/translations"
#: The every-feature survey: 22 texts with English text; Polish has 3 of them (title, town text,
#: option south), Urdu 1 (title), all confirmed by loading the file.
TOTAL_TEXTS = 22


def survey_of(slug: str = "town-test") -> Survey:
    return db.session.scalar(sa.select(Survey).where(Survey.slug == slug))


def statuses(app, language: str) -> dict[str, Status]:
    with app.app_context():
        translations = Translations(survey_of())
        return {key: translations.status(text, language) for key, text in translations.texts.items()}


def not_confirmed(app) -> set[tuple[str, str]]:
    """(key, language) of every translation that exists but is not confirmed."""
    return {
        (key, language)
        for language in ("pl", "ur")
        for key, status in statuses(app, language).items()
        if status is Status.STALE
    }


def snapshot(app) -> tuple:
    """Every text of the survey and every confirmation row, to show that nothing changed."""
    with app.app_context():
        survey = survey_of()
        texts = sorted((text.key, sorted(text.texts.items())) for text in Translations(survey).texts.values())
        rows = sorted(
            (row.text_key, row.language, row.source_hash)
            for row in db.session.scalars(sa.select(TranslationConfirmation))
        )
        return texts, rows


def option_label(app, question: str, option: str) -> dict:
    with app.app_context():
        return db.session.scalar(
            sa.select(Option.label).join(Question, Question.id == Option.question_id).where(Question.code == question, Option.code == option)
        )


def audit_events(app, action: str) -> list[dict]:
    with app.app_context():
        return [event.details for event in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))]


def browser_fields(page_html: str) -> dict[str, str]:
    """What a browser posts from a language's page: every textarea as shown, and the CSRF token."""
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page_html, re.S)
    }
    return {**fields, "csrf_token": form_tokens(page_html)["csrf_token"]}


@pytest.fixture
def editor(login, make_survey):
    """An open every-feature survey and a signed-in editor."""
    make_survey()
    login("editor")


def change_english(app, **overrides) -> None:
    """Reload the survey's definition file with changed texts, as an upload or `flask survey load` would."""
    data = copy.deepcopy(reference_definition())
    data["questions"][0]["text"] = {**data["questions"][0]["text"], **overrides}
    with app.app_context():
        load_definition(parse_definition(data))
        db.session.commit()


# The grid


def test_grid_shows_completeness_per_language(app, client, editor):
    page = client.get(BASE)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    polish = re.search(r'<tr id="summary-pl">(.*?)</tr>', text, re.S).group(1)
    urdu = re.search(r'<tr id="summary-ur">(.*?)</tr>', text, re.S).group(1)
    cells = lambda row: [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)][:4]
    assert cells(polish) == ["13%", f"3 of {TOTAL_TEXTS}", "0", str(TOTAL_TEXTS - 3)]
    assert cells(urdu) == ["4%", f"1 of {TOTAL_TEXTS}", "0", str(TOTAL_TEXTS - 1)]
    # Every text is a row of the grid, labelled for people rather than by key.
    assert "Question 2 (priorities): option &#39;bikes&#39;" in text
    assert text.count('class="tag tag--') == TOTAL_TEXTS * 2
    assert not any(code == "en" for code in re.findall(r'/translations/([a-z]+)"', text))


def test_a_stale_translation_is_counted_in_the_grid(app, client, editor):
    change_english(app, en="Where do you live now?")
    polish = re.search(r'<tr id="summary-pl">(.*?)</tr>', client.get(BASE).get_data(as_text=True), re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", polish)[:4] == ["9%", f"2 of {TOTAL_TEXTS}", "1", str(TOTAL_TEXTS - 3)]


# Editing in the browser


def test_editing_a_translation_in_the_browser_stores_and_confirms_it(app, client, editor):
    fields = browser_fields(client.get(f"{BASE}/pl").get_data(as_text=True))
    assert fields["t:q/town/option/south"] == "Południe"
    fields["t:q/priorities/option/bikes"] = "Motocykle\r\nna chodnikach"  # browsers send CRLF
    response = client.post(f"{BASE}/pl", data=fields)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{BASE}/pl")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Translations saved: 1 changed, 0 removed, 0 confirmed unchanged." in page
    assert option_label(app, "priorities", "bikes") == {"en": "Nuisance bikes", "pl": "Motocykle\nna chodnikach"}
    assert statuses(app, "pl")["q/priorities/option/bikes"] is Status.CONFIRMED
    assert audit_events(app, "translations.edit") == [{"language": "pl", "changed": 1, "removed": 0, "confirmed": 0}]


def test_posting_the_page_unchanged_touches_nothing(app, client, editor):
    before = snapshot(app)
    fields = browser_fields(client.get(f"{BASE}/pl").get_data(as_text=True))
    response = client.post(f"{BASE}/pl", data=fields, follow_redirects=True)
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert snapshot(app) == before
    assert audit_events(app, "translations.edit") == []


def test_an_emptied_translation_is_removed_and_residents_see_the_default_language(app, client, editor):
    fields = browser_fields(client.get(f"{BASE}/pl").get_data(as_text=True))
    fields["t:q/town/option/south"] = "   "
    client.post(f"{BASE}/pl", data=fields)
    assert option_label(app, "town", "south") == {"en": "South"}
    assert statuses(app, "pl")["q/town/option/south"] is Status.MISSING
    resident = client.get("/s/town-test?lang=pl").get_data(as_text=True)
    assert re.search(r'<label class="choice__label" for="q-town-south">South</label>', resident)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Motocykle\tna chodnikach", "control character (U+0009)"),
        ("x" * 5001, "5000 characters or fewer; it has 5001"),
    ],
)
def test_invalid_translations_are_shown_again_with_what_was_typed(app, client, editor, typed, message):
    before = snapshot(app)
    fields = browser_fields(client.get(f"{BASE}/pl").get_data(as_text=True))
    fields["t:q/priorities/option/bikes"] = typed
    fields["t:q/priorities/option/litter"] = "Śmieci"  # valid, but nothing is stored while anything is wrong
    response = client.post(f"{BASE}/pl", data=fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r"<title>Error: ", page)
    assert re.search(rf'<a href="#tr-q--priorities--option--bikes">Question 2 \(priorities\): option &#39;bikes&#39;: [^<]*{re.escape(message)}', page)
    assert 'id="tr-q--priorities--option--bikes-error"' in page
    assert html.escape(typed.replace("\t", "\t")) in page
    assert ">Śmieci</textarea>" in page
    assert snapshot(app) == before


def test_the_page_needs_its_csrf_token(app, client, editor):
    before = snapshot(app)
    fields = browser_fields(client.get(f"{BASE}/pl").get_data(as_text=True))
    fields["t:q/priorities/option/bikes"] = "Motocykle"
    del fields["csrf_token"]
    assert client.post(f"{BASE}/pl", data=fields).status_code == 400
    assert snapshot(app) == before


# Staleness


def test_changing_a_default_text_makes_exactly_its_translations_stale(app, client, editor):
    assert not_confirmed(app) == set()
    change_english(app, en="Where do you live now?")
    assert not_confirmed(app) == {("q/town/text", "pl")}
    assert statuses(app, "pl")["title"] is Status.CONFIRMED


def test_a_default_text_changed_directly_in_the_database_makes_its_translations_stale(app, client, editor):
    with app.app_context():
        south = db.session.scalar(sa.select(Option).where(Option.code == "south"))
        south.label = {**south.label, "en": "The south"}
        db.session.commit()
    assert not_confirmed(app) == {("q/town/option/south", "pl")}


def test_wording_changes_to_a_survey_with_responses_also_leave_translations_stale(app, client, editor, submit):
    assert submit("town-test", {"town": "north", "concerns/knives": "very", "concerns/asb": "fairly"}).status_code == 303
    change_english(app, en="Where do you live now?", pl="Gdzie teraz mieszkasz?")
    assert not_confirmed(app) == {("q/town/text", "pl")}


def test_confirming_a_stale_translation_unchanged_clears_it(app, client, editor):
    change_english(app, en="Where do you live now?")
    page = client.get(f"{BASE}/pl").get_data(as_text=True)
    assert page.count('name="confirm"') == 1  # only stale translations offer the checkbox
    assert 'value="q/town/text" id="tr-q--town--text-confirm"' in page
    response = client.post(f"{BASE}/pl", data={**browser_fields(page), "confirm": "q/town/text"}, follow_redirects=True)
    assert "Translations saved: 0 changed, 0 removed, 1 confirmed unchanged." in response.get_data(as_text=True)
    assert not_confirmed(app) == set()
    assert audit_events(app, "translations.edit") == [{"language": "pl", "changed": 0, "removed": 0, "confirmed": 1}]


def test_editing_a_stale_translation_confirms_it(app, client, editor):
    change_english(app, en="Where do you live now?")
    fields = browser_fields(client.get(f"{BASE}/pl").get_data(as_text=True))
    fields["t:q/town/text"] = "Gdzie teraz mieszkasz?"
    client.post(f"{BASE}/pl", data=fields)
    assert not_confirmed(app) == set()


def test_loading_a_definition_confirms_only_translations_never_confirmed(app, client, editor):
    change_english(app, en="Where do you live now?", pl="Gdzie teraz mieszkasz?")  # pl had a confirmation
    data = copy.deepcopy(reference_definition())
    data["questions"][1]["options"][1]["label"] = {"en": "Nuisance bikes", "pl": "Motocykle"}  # new translation
    data["questions"][0]["text"] = {"en": "Where do you live now?", "pl": "Gdzie teraz mieszkasz?"}
    with app.app_context():
        load_definition(parse_definition(data))
        db.session.commit()
    assert not_confirmed(app) == {("q/town/text", "pl")}
    assert statuses(app, "pl")["q/priorities/option/bikes"] is Status.CONFIRMED


# PO files


def download(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    return response


def upload(client, language: str, content: bytes, filename: str):
    page = client.get(f"{BASE}/{language}").get_data(as_text=True)
    fields = {"csrf_token": form_tokens(page)["csrf_token"], "file": FileStorage(io.BytesIO(content), filename)}
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(fields)
    return client.post(f"{BASE}/{language}/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def edit_po(content: bytes, edits: dict[str, str] | None = None, *, fuzzy: set[str] = frozenset(), reviewed: set[str] = frozenset()) -> bytes:
    catalog = read_po(io.BytesIO(content))
    for message in catalog:
        if message.context in (edits or {}):
            message.string = edits[message.context]
        if message.context in fuzzy:
            message.flags.add("fuzzy")
        if message.context in reviewed:
            message.flags.discard("fuzzy")
    out = io.BytesIO()
    write_po(out, catalog)
    return out.getvalue()


def test_a_po_file_round_trip_changes_exactly_the_edited_texts(app, client, editor):
    response = download(client, f"{BASE}/pl.po")
    assert response.headers["Content-Disposition"] == 'attachment; filename="town-test-pl.po"'
    assert response.headers["Content-Type"] == "text/x-gettext-translation; charset=utf-8"
    catalog = read_po(io.BytesIO(response.data))
    assert str(catalog.locale) == "pl"
    entries = {message.context: message for message in catalog if message.id}
    assert len(entries) == TOTAL_TEXTS
    assert (entries["q/town/option/south"].id, entries["q/town/option/south"].string) == ("South", "Południe")
    assert audit_events(app, "translations.download") == [{"language": "pl", "format": "po"}]

    edited = edit_po(response.data, {"q/priorities/option/bikes": "Motocykle", "q/town/option/south": "Południe miasta"})
    result = upload(client, "pl", edited, "town-test-pl.po")
    assert result.status_code == 200
    page = result.get_data(as_text=True)
    changes = re.search(r'<table class="table" id="changes">.*?</table>', page, re.S).group(0)
    assert "q/priorities/option/bikes" in changes and ">Motocykle</td>" in changes
    assert "q/town/option/south" in changes and ">Południe</td>" in changes and ">Południe miasta</td>" in changes
    assert len(re.findall(r'<th scope="row">', changes)) == 2
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
    assert counts["Changed"] == "2"
    assert counts["Unchanged"] == "2"  # title and town text
    assert counts["Skipped: no translation"] == str(TOTAL_TEXTS - 4)

    assert option_label(app, "priorities", "bikes") == {"en": "Nuisance bikes", "pl": "Motocykle"}
    assert option_label(app, "town", "south") == {"en": "South", "pl": "Południe miasta"}
    assert statuses(app, "pl")["q/priorities/option/bikes"] is Status.CONFIRMED
    assert not_confirmed(app) == set()
    [event] = audit_events(app, "translations.upload")
    assert (event["language"], event["changed"], event["file"]) == ("pl", 2, "town-test-pl.po")


def test_fuzzy_po_entries_are_stored_but_stay_stale_and_reviewed_ones_are_confirmed(app, client, editor):
    change_english(app, en="Where do you live now?")
    po = download(client, f"{BASE}/pl.po").data
    assert 'msgctxt "q/town/text"' in po.decode() and "#, fuzzy" in po.decode()
    # The translator checks the stale entry (removing "fuzzy") and leaves a new one unchecked.
    edited = edit_po(po, {"q/town/option/north": "Północ"}, fuzzy={"q/town/option/north"}, reviewed={"q/town/text"})
    page = upload(client, "pl", edited, "pl.po").get_data(as_text=True)
    assert "1 changed translation was marked fuzzy in the file" in page
    assert option_label(app, "town", "north") == {"en": "North", "pl": "Północ"}
    assert not_confirmed(app) == {("q/town/option/north", "pl")}
    assert statuses(app, "pl")["q/town/text"] is Status.CONFIRMED


def test_a_po_entry_whose_source_changed_since_the_download_is_skipped(app, client, editor):
    po = download(client, f"{BASE}/pl.po").data
    change_english(app, en="Where do you live now?")
    edited = edit_po(po, {"q/town/text": "Gdzie mieszkasz obecnie?", "q/town/option/north": "Północ"})
    page = upload(client, "pl", edited, "pl.po").get_data(as_text=True)
    skipped = re.search(r'<ul id="source-changed">(.*?)</ul>', page, re.S).group(1)
    assert "Question 1 (town): question text (q/town/text)" in skipped
    assert "Skipped: the source text changed since the download" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Question.text).where(Question.code == "town")) == {
            "en": "Where do you live now?", "pl": "Gdzie mieszkasz?"
        }
    assert option_label(app, "town", "north") == {"en": "North", "pl": "Północ"}


def test_unknown_keys_in_an_upload_are_reported(app, client, editor):
    po = download(client, f"{BASE}/pl.po").data.decode()
    po += '\nmsgctxt "q/gone/text"\nmsgid "Removed question"\nmsgstr "Usunięte"\n'
    page = upload(client, "pl", po.encode(), "pl.po").get_data(as_text=True)
    assert re.search(r'<ul id="unknown-keys"><li>line \d+: q/gone/text</li></ul>', page)


# XLSX files


def test_an_xlsx_round_trip_keeps_formula_like_text_as_text(app, client, editor):
    with app.app_context():
        set_translation(survey_of(), "q/priorities/option/litter", "pl", "=1+1")
        db.session.commit()
    response = download(client, f"{BASE}/pl.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert [cell.value for cell in sheet[1]] == ["key", "source (en)", "translation (pl)", "status"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert len(rows) == TOTAL_TEXTS
    assert rows["q/priorities/option/litter"][2].value == "'=1+1"  # neutralised: text, not a formula
    assert rows["q/priorities/option/litter"][2].data_type == "s"
    assert rows["q/town/option/south"][3].value == "confirmed"
    rows["q/priorities/option/bikes"][2].value = "Motocykle"
    out = io.BytesIO()
    workbook.save(out)

    page = upload(client, "pl", out.getvalue(), "town-test-pl.xlsx").get_data(as_text=True)
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
    assert (counts["Changed"], counts["Unchanged"]) == ("1", "4")  # title, town text, south, litter
    assert option_label(app, "priorities", "bikes") == {"en": "Nuisance bikes", "pl": "Motocykle"}
    assert option_label(app, "priorities", "litter") == {"en": "Littering", "pl": "=1+1"}
    assert audit_events(app, "translations.download") == [{"language": "pl", "format": "xlsx"}]


def test_an_xlsx_row_whose_source_changed_is_skipped(app, client, editor):
    content = download(client, f"{BASE}/pl.xlsx").data
    change_english(app, en="Where do you live now?")
    workbook = load_workbook(io.BytesIO(content))
    for row in workbook.active.iter_rows(min_row=2):
        if row[0].value == "q/town/text":
            row[2].value = "Gdzie mieszkasz obecnie?"
    out = io.BytesIO()
    workbook.save(out)
    page = upload(client, "pl", out.getvalue(), "pl.xlsx").get_data(as_text=True)
    assert re.search(r'<ul id="source-changed"><li>row \d+: Question 1 \(town\): question text', page)


# Malformed uploads


def xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


PO_HEADER = 'msgid ""\nmsgstr ""\n"Language: pl\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"this is not a PO file\n", "pl.po", "Line 1: Unknown or misformatted keyword"),
        (PO_HEADER.encode() + b'msgctxt "q/town/option/north"\nmsgid "North"\nmsgstr "P\xf3\xb3noc"\n', "pl.po", "Line 8 is not UTF-8"),
        (PO_HEADER.encode() + b'msgctxt "q/town/option/north"\nmsgid "North"\n\nmsgctxt "title"\n', "pl.po", "Line 7: missing msgstr"),
        (PO_HEADER.replace("pl", "ur").encode() + 'msgctxt "title"\nmsgid "Test survey"\nmsgstr "x"\n'.encode(), "pl.po", "texts in &#39;ur&#39;, not &#39;pl&#39;"),
        (PO_HEADER.encode(), "pl.po", "The file holds no translations"),
        (
            PO_HEADER.encode()
            + 'msgctxt "q/town/option/north"\nmsgid "North"\nmsgstr "Północ"\n\nmsgctxt "q/town/option/south"\nmsgid "South"\nmsgstr "Po\\tłudnie"\n'.encode(),
            "pl.po",
            "line 11 (q/town/option/south): The translation contains a control character (U+0009)",
        ),
        (b"PK\x03\x04 not really a zip", "pl.xlsx", "The file is not an XLSX workbook"),
        (xlsx([["id", "text"], ["title", "x"]]), "pl.xlsx", "Row 1 must name the columns key, source, translation and status"),
        (xlsx([["key", "source (en)", "translation (ur)"], ["title", "Test survey", "x"]]), "pl.xlsx", "texts in &#39;ur&#39;, not &#39;pl&#39;"),
        (
            xlsx([["key", "source (en)", "translation (pl)", "status"], ["q/town/option/north", "North", "Północ"], ["q/town/option/north", "North", "Pn"]]),
            "pl.xlsx",
            "Row 3: key &#39;q/town/option/north&#39; is already on row 2.",
        ),
        (b"key,source,translation\n", "pl.csv", "The file must be a PO file (.po) or an XLSX workbook (.xlsx)"),
    ],
    ids=["not-po", "not-utf8", "no-msgstr", "other-language-po", "empty-po", "control-character",
         "not-xlsx", "wrong-header", "other-language-xlsx", "duplicate-key", "csv"],
)
def test_a_malformed_upload_changes_nothing_and_says_why(app, client, editor, content, filename, message):
    before = snapshot(app)
    response = upload(client, "pl", content, filename)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r"<title>Error: ", page)
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    assert "Nothing was changed." in summary
    assert message in summary, summary
    assert '<a href="#file">' in summary
    assert snapshot(app) == before
    assert audit_events(app, "translations.upload") == []


def test_an_upload_needs_its_csrf_token(app, client, editor):
    po = edit_po(download(client, f"{BASE}/pl.po").data, {"q/town/option/north": "Północ"})
    before = snapshot(app)
    response = client.post(f"{BASE}/pl/upload", data={"file": (io.BytesIO(po), "pl.po")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert snapshot(app) == before


def test_an_upload_may_be_larger_than_a_residents_form(app, client, editor):
    """The app refuses bodies over 256 KB; a translator's file may be bigger (up to 5 MB)."""
    po = edit_po(download(client, f"{BASE}/pl.po").data, {"q/town/option/north": "Północ"})
    padded = po + b"\n" + b"# padding comment\n" * 20_000  # about 360 KB
    assert upload(client, "pl", padded, "pl.po").status_code == 200
    assert option_label(app, "town", "north") == {"en": "North", "pl": "Północ"}
    too_large = upload(client, "pl", po + b"#\n" * (3 * 1024 * 1024), "pl.po")
    assert too_large.status_code == 413
    assert "The file is larger than 5 MB." in too_large.get_data(as_text=True)


# Who may translate what


@pytest.mark.parametrize(
    "url",
    [f"{BASE}/de", f"{BASE}/en", f"{BASE}/de.po", f"{BASE}/en.xlsx", "/staff/surveys/no-such-survey/translations"],
)
def test_a_language_the_survey_does_not_offer_is_not_found(app, client, editor, url):
    assert client.get(url).status_code == 404


def test_posting_to_a_language_not_offered_is_not_found(app, client, editor):
    page = client.get(f"{BASE}/pl").get_data(as_text=True)
    assert client.post(f"{BASE}/de", data={"csrf_token": form_tokens(page)["csrf_token"]}).status_code == 404


@pytest.mark.parametrize("url", [BASE, f"{BASE}/pl", f"{BASE}/pl.po", f"{BASE}/pl.xlsx"])
def test_analysts_may_not_translate(app, client, login, make_survey, url):
    make_survey()
    login("analyst")
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [BASE, f"{BASE}/pl", f"{BASE}/pl.po"])
def test_anonymous_visitors_are_sent_to_the_login_page(app, client, make_survey, url):
    make_survey()
    response = client.get(url)
    assert response.status_code == 302
    assert "/staff/login?next=" in response.headers["Location"]


def test_anonymous_uploads_are_sent_to_the_login_page(app, client, make_survey):
    make_survey()
    response = client.post(f"{BASE}/pl/upload", data={"file": (io.BytesIO(b"x"), "pl.po")}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


# Fallback markers in the staff preview

# The marker is in the page's language: these pages are in Polish.
MARKER = '<span class="fallback-marker">Brak tłumaczenia: mieszkańcy widzą tekst w języku domyślnym</span>'


def test_the_fallback_marker_flags_untranslated_text_only_when_asked(app, make_survey):
    make_survey()
    template = "{{ text(texts) }}{{ fallback_marker(texts) }}"
    with app.test_request_context("/?lang=pl"):
        g.survey = survey_of()
        g.mark_fallbacks = True
        assert render_template_string(template, texts={"en": "North"}) == f"North {MARKER}"
        assert render_template_string(template, texts={"en": "South", "pl": "Południe"}) == "Południe"
        assert render_template_string(template, texts={}) == ""
    with app.test_request_context("/?lang=en"):
        g.survey = survey_of()
        g.mark_fallbacks = True
        assert render_template_string(template, texts={"en": "North"}) == "North"
    with app.test_request_context("/?lang=pl"):
        g.survey = survey_of()
        assert render_template_string(template, texts={"en": "North"}) == "North"


def test_the_resident_form_marks_fallbacks_only_in_a_preview(app, client, make_survey):
    preview_mode = {"on": False}
    # What the builder's preview does before rendering the same templates.
    app.before_request(lambda: setattr(g, "mark_fallbacks", preview_mode["on"]))
    make_survey()
    resident = client.get("/s/town-test?lang=pl").get_data(as_text=True)
    assert "fallback-marker" not in resident
    assert '<span class="legend__text">What should be priorities?</span>' in resident

    preview_mode["on"] = True
    preview = client.get("/s/town-test?lang=pl").get_data(as_text=True)
    assert "<h1>Ankieta testowa</h1>" in preview
    assert '<span class="legend__text">Gdzie mieszkasz?</span>' in preview
    assert f'<span class="legend__text">What should be priorities? {MARKER}</span>' in preview
    assert f"North {MARKER}</label>" in preview
    assert f">Knife crime {MARKER}</legend>" in preview
    assert f"Choose up to 2 {MARKER}</div>" in preview
    assert "fallback-marker" not in re.search(r"<title>.*?</title>", preview, re.S).group(0)
