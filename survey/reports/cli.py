"""`flask analysis …`: year-on-year comparison tables for reports."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from analysis.errors import AnalysisError

from ..commands import command_group, fail
from ..extensions import db
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
    result = render(comparisons, file_format, title_for(comparisons, request))
    if output is None:
        click.echo(result, nl=not result.endswith("\n"))
    elif isinstance(result, bytes):
        output.write_bytes(result)
        click.echo(f"Wrote {output}.", err=True)
    else:
        output.write_text(result, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)
