"""Analysts download raw responses; free text and sensitive answers only with the sensitive permission,
its e-mail addresses, phone numbers and postcodes masked unless asked for as written."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEvent

ANSWERS = {
    "town": "north", "concerns/knives": "very", "concerns/asb": "fairly",
    "ethnicity": "white_british", "comments": "=HYPERLINK(\"x\") near the park",
}


@pytest.fixture
def answered(make_survey, submit):
    slug = make_survey()
    assert submit(slug, ANSWERS).status_code == 303
    return slug


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_download(response, file_format: str) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    if file_format == "csv":
        return read_csv(response)
    header, *rows = openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
    return [dict(zip(header, (cell or "" for cell in row))) for row in rows]


def export_events(app) -> list[dict]:
    with app.app_context():
        query = sa.select(AuditEvent.details).where(AuditEvent.action == "responses.export").order_by(AuditEvent.id)
        return list(db.session.scalars(query))


PERSONAL = "Call 07700 900123 or jo@example.org, WV10 0QP"


def test_without_the_sensitive_permission_free_text_and_sensitive_columns_are_left_out(app, client, login, answered):
    login("analyst")
    page = client.get("/staff/analysis/responses")
    assert page.status_code == 200 and "leave out free-text comments" in page.get_data(as_text=True)
    download = client.get(f"/staff/analysis/responses/{answered}.csv")
    rows = read_csv(download)
    assert download.status_code == 200 and len(rows) == 1
    assert "comments" not in rows[0] and "ethnicity" not in rows[0]
    assert rows[0]["town"] == "north" and rows[0]["concerns/knives"] == "very"
    assert b"HYPERLINK" not in download.data and b"white_british" not in download.data
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/staff/analysis/responses/{answered}.xlsx").data))
    header = [cell.value for cell in next(workbook.active.iter_rows(max_row=1))]
    assert "comments" not in header and "ethnicity" not in header and "town" in header


def test_with_the_sensitive_permission_everything_is_included_and_formulas_neutralised(app, client, login, answered):
    login("analyst", sensitive=True)
    rows = read_csv(client.get(f"/staff/analysis/responses/{answered}.csv"))
    assert rows[0]["ethnicity"] == "white_british"
    assert rows[0]["comments"] == "'=HYPERLINK(\"x\") near the park"
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "responses.export")).one()
        assert event.user_email == "analyst-sensitive@council.example"
        assert event.details == {"format": "csv", "responses": 1, "sensitive_included": True, "masked": True}


def test_editors_cannot_download_responses_and_unknown_surveys_are_404(client, login, answered):
    login("analyst")
    assert client.get("/staff/analysis/responses/nope.csv").status_code == 404
    assert client.get(f"/staff/analysis/responses/{answered}.pdf").status_code == 404
    client.post("/staff/logout")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_free_text_is_masked_unless_asked_for_as_written(app, client, login, make_survey, submit, file_format):
    slug = make_survey()
    assert submit(slug, {**ANSWERS, "comments": PERSONAL}).status_code == 303
    login("analyst", sensitive=True)
    page = client.get("/staff/analysis/responses").get_data(as_text=True)
    masked_url = f"/staff/analysis/responses/{slug}.{file_format}?mask=1"
    as_written_url = f"/staff/analysis/responses/{slug}.{file_format}?mask=0"
    assert page.index(f'href="{masked_url}"') < page.index(f'href="{as_written_url}"'), "masked is the first choice"
    masked = read_download(client.get(masked_url), file_format)
    as_written = read_download(client.get(as_written_url), file_format)
    assert masked[0]["comments"] == "Call [phone] or [email], [postcode]"
    assert as_written[0]["comments"] == PERSONAL
    assert {**masked[0], "comments": PERSONAL} == as_written[0]  # only the free text differs
    # An address without the choice (a bookmark, a copied link) masks.
    assert read_download(client.get(f"/staff/analysis/responses/{slug}.{file_format}"), file_format) == masked
    recorded = {"format": file_format, "responses": 1, "sensitive_included": True}
    assert export_events(app) == [{**recorded, "masked": True}, {**recorded, "masked": False}, {**recorded, "masked": True}]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_asking_for_free_text_as_written_needs_the_sensitive_permission(app, client, login, make_survey, submit, file_format):
    slug = make_survey()
    assert submit(slug, {**ANSWERS, "comments": PERSONAL}).status_code == 303
    login("analyst")
    page = client.get("/staff/analysis/responses").get_data(as_text=True)
    assert "mask=0" not in page and "as written" not in page
    rows = read_download(client.get(f"/staff/analysis/responses/{slug}.{file_format}?mask=0"), file_format)
    assert len(rows) == 1 and "comments" not in rows[0] and rows[0]["town"] == "north"
    assert not any("07700" in str(value) or "example.org" in str(value) for value in rows[0].values())
    assert export_events(app) == [{"format": file_format, "responses": 1, "sensitive_included": False, "masked": False}]
