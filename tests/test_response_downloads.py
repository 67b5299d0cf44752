"""Analysts download raw responses; free text and sensitive answers only with the sensitive permission."""

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
        assert event.details == {"format": "csv", "responses": 1, "sensitive_included": True}


def test_editors_cannot_download_responses_and_unknown_surveys_are_404(client, login, answered):
    login("analyst")
    assert client.get("/staff/analysis/responses/nope.csv").status_code == 404
    assert client.get(f"/staff/analysis/responses/{answered}.pdf").status_code == 404
    client.post("/staff/logout")
