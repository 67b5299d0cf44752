"""The audit log for administrators: the latest events on a page, every event as CSV."""

from __future__ import annotations

from flask import Response, render_template, request

from ..accounts.access import Permission, requires
from ..audit import bp
from .log import events_csv, recent_events


@bp.get("/")
@requires(Permission.VIEW_AUDIT)
def log():
    action = request.args.get("action", "").strip()[:32] or None
    return render_template("audit/log.html", events=recent_events(action_prefix=action), action=action or "")


@bp.get("/audit-log.csv")
@requires(Permission.VIEW_AUDIT)
def export():
    return Response(
        events_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
