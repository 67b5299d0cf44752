"""`flask responses …`: import and export a survey's responses."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..commands import command_group, fail, get_survey
from ..extensions import db
from .csv_import import ImportFailed, import_responses
from .export import write_csv, write_xlsx

responses_cli = command_group("responses", help="Import and export survey responses in the shared answer encoding.")


@responses_cli.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(slug: str, file: Path) -> None:
    """Import responses to survey SLUG from a CSV FILE (UTF-8, with or without BOM).

    Columns are question codes (question_code/item_code for a matrix cell, or one
    0/1 column per option named question_code/option_code); values are codes or
    default-language labels, several `;`-separated. Optional columns: response_id,
    submitted_at, language, channel. All rows are imported or none: every problem
    is listed with its row and column. Rows whose response_id was imported before
    are skipped, so importing the same file twice adds nothing.
    """
    survey = get_survey(slug)
    size = file.stat().st_size
    with file.open("rb") as stream, click.progressbar(length=size, label=f"Importing {file.name}", file=sys.stderr) as bar:
        def progress(position: int) -> None:
            bar.update(position - bar.pos)

        try:
            result = import_responses(survey, stream, progress=progress)
        except ImportFailed as error:
            lines = [str(problem) for problem in error.problems]
            if error.total > len(error.problems):
                lines.append(f"… and {error.total - len(error.problems)} more problem(s).")
            fail(f"Nothing was imported from {file}: {error.total} problem(s).\n" + "\n".join(lines))
    db.session.commit()
    skipped = f"; {result.already_there} already imported before, skipped" if result.already_there else ""
    click.echo(f"Imported {result.added} responses into {survey.slug}{skipped}.")


@responses_cli.command("export")
@click.argument("slug")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True, help="File format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True, help="File to write.")
def export_command(slug: str, file_format: str, output: Path) -> None:
    """Export survey SLUG's responses: one row per response, in the same encoding `import` reads.

    Text cells that a spreadsheet would run as a formula (starting with = + - @,
    tab or carriage return) are prefixed with an apostrophe; `import` removes it again.
    """
    survey = get_survey(slug)
    try:
        if file_format == "csv":
            with output.open("w", encoding="utf-8-sig", newline="") as out:
                count = write_csv(survey, out)
        else:
            with output.open("wb") as out:
                count = write_xlsx(survey, out)
    except ValueError as error:
        output.unlink(missing_ok=True)
        fail(str(error))
    click.echo(f"Exported {count} responses from {survey.slug} to {output}.")
