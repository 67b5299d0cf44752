"""One comparison request → Comparison objects, shared by the CLI and the analysis page."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from analysis.compare import Comparison

FORMATS = {
    # format: (file extension, MIME type, binary?); a Response adds "; charset=utf-8" to text types
    "table": ("txt", "text/plain", False),
    "csv": ("csv", "text/csv", False),
    "json": ("json", "application/json", False),
    "md": ("md", "text/markdown", False),
    "html": ("html", "text/html", False),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
    "png": ("png", "image/png", True),
    "svg": ("svg", "image/svg+xml", False),
}


@dataclass(frozen=True)
class ComparisonRequest:
    series: str
    question: str
    waves: tuple[str, ...] = ()
    top: int = 5
    by: str | None = None
    base: str = "answered"
    percent_of: str = "respondents"


def run_comparison(session: Session, request: ComparisonRequest, small_cell_threshold: int = 10) -> list[Comparison]:
    """The whole-sample comparison, or one per group of the `by` question with small cells suppressed."""
    # pandas loads here, on the first analysis, not in every web worker at start-up.
    from analysis.compare import compare_waves, suppress_small_cells
    from analysis.loading import find_waves, load_comparison_counts

    found = find_waves(session, request.series, request.question, list(request.waves) or None)
    counted = load_comparison_counts(session, found.waves, base=request.base, percent_of=request.percent_of, by=request.by)
    comparisons = []
    for group, wave_counts in counted.items():
        comparison = replace(compare_waves(wave_counts, top=request.top, question=request.question), skipped_waves=tuple(found.skipped))
        if group is not None:
            comparison = suppress_small_cells(
                _with_group(comparison, group.code, group.label), threshold=small_cell_threshold
            )
        comparisons.append(comparison)
    return comparisons


def _with_group(comparison: Comparison, code: str, label: str) -> Comparison:
    return replace(comparison, group=(code, label))


def title_for(comparisons: list[Comparison], request: ComparisonRequest) -> str:
    waves = [table.wave for table in comparisons[0].waves] if comparisons else []
    question_text = comparisons[0].question_text if comparisons else request.question
    return f"{question_text} — top {request.top}, {' vs '.join(waves)}"


def render(comparisons: list[Comparison], file_format: str, title: str) -> str | bytes:
    from analysis import render as renderers

    functions = {
        "table": renderers.to_text_table,
        "csv": renderers.to_csv,
        "json": renderers.to_json,
        "md": renderers.to_markdown,
        "html": renderers.to_html,
        "xlsx": renderers.to_xlsx,
        "png": renderers.chart_png,
        "svg": renderers.chart_svg,
    }
    return functions[file_format](comparisons, title)
