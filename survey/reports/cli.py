"""`flask analysis …`: year-on-year comparison tables for reports."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from analysis.errors import AnalysisError

from ..commands import command_group, fail, write_output
from ..extensions import db
from ..models import SavedResult
from .saved import TITLE_LENGTH, render_saved, save_comparison, saved_results, saved_waves
from .service import FORMATS, ComparisonRequest, render, run_comparison, title_for

analysis_cli = command_group("analysis", help="Comparison tables across a series' waves.")


@analysis_cli.command("compare")
@click.option("--series", required=True, help="Survey series code, e.g. community-safety.")
@click.option("--question", required=True, help="Question code, e.g. priorities.")
@click.option("--waves", default="", help="Comma-separated wave labels, oldest first (default: every wave that asks the question).")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 100), help="How many ranked rows per wave.")
@click.option("--by", default=None, help="Break down by a single-choice question, e.g. town. Cells under the threshold show [c].")
@click.option("--base", type=click.Choice(["answered", "all"]), default="answered", show_default=True, help="Percent of respondents who answered the question, or of all respondents of the wave.")
@click.option("--percent-of", type=click.Choice(["respondents", "mentions"]), default="respondents", show_default=True, help="Percent of respondents (cases) or of all selections (mentions).")
@click.option("--format", "file_format", type=click.Choice(list(FORMATS)), default="table", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write to a file (needed for xlsx and png).")
def compare_command(series, question, waves, top, by, base, percent_of, file_format, output):
    """Rank the top options of QUESTION in each wave of SERIES and compare the waves.

    Each wave shows rank, label (its own wording), count, base, percent and a 95%
    Wilson interval; changes between consecutive waves are tested (two-proportion
    z-test) only where both asked the question the same way, otherwise the reason
    is given.
    """
    request = ComparisonRequest(
        series=series,
        question=question,
        waves=tuple(wave.strip() for wave in waves.split(",") if wave.strip()),
        top=top,
        by=by,
        base=base,
        percent_of=percent_of,
    )
    if FORMATS[file_format][2] and output is None:
        fail(f"--format {file_format} writes a binary file: give -o FILE.")
    try:
        comparisons = run_comparison(db.session, request, current_app.config["SMALL_CELL_THRESHOLD"])
    except AnalysisError as error:
        fail(str(error))
    write_output(render(comparisons, file_format, title_for(comparisons, request)), output)


@analysis_cli.command("save")
@click.option("--series", required=True, help="Survey series code, e.g. community-safety.")
@click.option("--question", required=True, help="Question code, e.g. priorities.")
@click.option("--waves", default="", help="Comma-separated wave labels, oldest first (default: every wave that asks the question).")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 100), help="How many ranked rows per wave.")
@click.option("--base", type=click.Choice(["answered", "all"]), default="answered", show_default=True, help="Percent of respondents who answered the question, or of all respondents of the wave.")
@click.option("--percent-of", type=click.Choice(["respondents", "mentions"]), default="respondents", show_default=True, help="Percent of respondents (cases) or of all selections (mentions).")
@click.option("--title", default=None, help=f"Title shown above the table, up to {TITLE_LENGTH} characters (default: the question and its waves).")
def save_command(series, question, waves, top, base, percent_of, title):
    """Keep the comparison table of QUESTION as it is now, as a saved result.

    A saved result is rendered from the stored table, so it stays available in every
    format after the waves' responses are deleted at the end of their retention period
    (`flask responses purge`). `flask analysis saved` lists them; `show-saved ID` prints one.
    """
    if title is not None and len(title.strip()) > TITLE_LENGTH:
        fail(f"--title is {len(title.strip())} characters long; at most {TITLE_LENGTH} fit.")
    request = ComparisonRequest(
        series=series,
        question=question,
        waves=tuple(wave.strip() for wave in waves.split(",") if wave.strip()),
        top=top,
        base=base,
        percent_of=percent_of,
    )
    try:
        saved = save_comparison(db.session, request, title=title, small_cell_threshold=current_app.config["SMALL_CELL_THRESHOLD"])
    except AnalysisError as error:
        fail(str(error))
    db.session.commit()
    click.echo(f"Saved result {saved.id}: {saved.title} ({', '.join(saved_waves(saved))}).")


@analysis_cli.command("saved")
def saved_command():
    """List the saved results: id, date saved, series, question, waves and title."""
    results = saved_results(db.session)
    if not results:
        click.echo("No saved results yet. `flask analysis save --series S --question Q` keeps one.")
        return
    for saved, series_code in results:
        click.echo(
            f"{saved.id}\t{saved.created_at:%Y-%m-%d}\t{series_code}\t{saved.question_code}"
            f"\t{', '.join(saved_waves(saved))}\t{saved.title}"
        )


@analysis_cli.command("show-saved")
@click.argument("result_id", metavar="ID", type=int)
@click.option("--format", "file_format", type=click.Choice(list(FORMATS)), default="table", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write to a file (needed for xlsx and png).")
def show_saved_command(result_id, file_format, output):
    """Print saved result ID (see `flask analysis saved`) in any format `compare` offers.

    The table comes from what was saved, not from the responses, so it is the same
    after they were purged.
    """
    saved = db.session.get(SavedResult, result_id)
    if saved is None:
        fail(f"No saved result {result_id}. `flask analysis saved` lists them.")
    if FORMATS[file_format][2] and output is None:
        fail(f"--format {file_format} writes a binary file: give -o FILE.")
    try:
        result = render_saved(saved, file_format)
    except AnalysisError as error:
        fail(str(error))
    write_output(result, output)
