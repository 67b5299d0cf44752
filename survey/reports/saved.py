"""Saved results: a comparison table kept as published, so it outlives the responses behind it.

A closed wave's responses are deleted when its retention period ends (`flask responses
purge`); the tables printed in the strategy and scrutiny reports must stay reproducible.
Saving stores the comparison's JSON (analysis.saved.saved_payload) in a SavedResult, and
every report format is rendered from that JSON, never from the responses. Nothing here commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import record
from ..models import Question, SavedResult, Survey, SurveySeries
from .service import ComparisonRequest, render, run_comparison, title_for

TITLE_LENGTH = 255


def save_comparison(
    session: Session,
    request: ComparisonRequest,
    *,
    title: str | None = None,
    created_by: str | None = None,
    small_cell_threshold: int = 10,
) -> SavedResult:
    """Run the whole-sample comparison of ``request`` and keep it; raises AnalysisError like run_comparison."""
    from analysis.saved import saved_payload

    if request.by is not None:
        raise ValueError("a saved result is a whole-sample comparison (no breakdown)")
    comparisons = run_comparison(session, request, small_cell_threshold)
    title = (title or "").strip() or title_for(comparisons, request)
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1] + "…"
    series = session.scalar(select(SurveySeries).where(SurveySeries.code == request.series))
    saved = SavedResult(
        series_id=series.id,
        question_code=request.question,
        title=title,
        payload=saved_payload(comparisons[0]),
        created_by=created_by,
    )
    session.add(saved)
    session.flush()
    record(
        "analysis.save",
        f"saved result {saved.id}",
        series=request.series,
        question=request.question,
        waves=saved_waves(saved),
    )
    return saved


def saved_results(session: Session) -> list[tuple[SavedResult, str]]:
    """Every saved result with its series code, oldest first."""
    rows = session.execute(
        select(SavedResult, SurveySeries.code).join(SurveySeries, SurveySeries.id == SavedResult.series_id).order_by(SavedResult.id)
    )
    return [(saved, code) for saved, code in rows]


def is_sensitive(session: Session, saved: SavedResult) -> bool:
    """Whether the saved table's question is sensitive in any wave of its series: then, as on the
    analysis page, only staff with the sensitive permission may see it."""
    sensitive = (
        select(Question.id)
        .join(Survey, Survey.id == Question.survey_id)
        .where(Survey.series_id == saved.series_id, Question.code == saved.question_code, Question.sensitive.is_(True))
        .limit(1)
    )
    return session.scalar(sensitive) is not None


def saved_waves(saved: SavedResult) -> list[str]:
    return [wave["wave"] for wave in saved.payload.get("waves", [])]


def render_saved(saved: SavedResult, file_format: str) -> str | bytes:
    """The saved table in one of service.FORMATS, from the stored JSON alone."""
    from analysis.saved import comparison_from_payload

    return render([comparison_from_payload(saved.payload)], file_format, saved.title)
