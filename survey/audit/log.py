"""Writing and reading audit events. Events join the caller's transaction: an action that is
rolled back leaves no record of having happened."""

from __future__ import annotations

import csv
import io
import json

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from analysis.spreadsheet import neutralise_formula

from ..extensions import db
from ..models import AuditEvent, iso_utc


def record(action: str, target: str, **details) -> AuditEvent:
    """Add an event for the current staff user (or the command line, outside a request)."""
    actor = current_user.email if has_request_context() and current_user.is_authenticated else None
    # The column holds 255 characters: "user " and a 254-character address must still be recorded.
    event = AuditEvent(user_email=actor, action=action, target=target[:255], details=details)
    db.session.add(event)
    return event


def recent_events(limit: int = 200, action_prefix: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    return list(db.session.scalars(query))


def events_csv() -> str:
    """Every event, oldest first, as CSV with formula-like cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "user", "action", "target", "details"])
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        row = [iso_utc(event.at), event.user_email or "(command line)", event.action, event.target,
               json.dumps(event.details, ensure_ascii=False, sort_keys=True)]
        writer.writerow([neutralise_formula(cell) for cell in row])
    return out.getvalue()
