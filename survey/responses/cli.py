"""`flask responses …`: import and export a survey's responses."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..audit import record
from ..commands import command_group, fail, get_survey, output_file
from ..database import begin_bulk_load
from ..extensions import db
from ..i18n import ngettext
from .csv_import import ImportBusy, ImportFailed, import_responses
from .export import write_export
from .purge import PurgePlan, SurveyPurge, apply_purge, plan_purge

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
    begin_bulk_load()
    survey = get_survey(slug)
    size = file.stat().st_size
    with file.open("rb") as stream, click.progressbar(length=size, label=f"Importing {file.name}", file=sys.stderr) as bar:
        def progress(position: int) -> None:
            bar.update(position - bar.pos)

        try:
            result = import_responses(survey, stream, progress=progress)
        except ImportFailed as error:
            lines = [ngettext("Nothing was imported from %(file)s: %(num)d problem.", "Nothing was imported from %(file)s: %(num)d problems.",
                              error.total, file=str(file))]
            lines += [str(problem) for problem in error.problems]
            if error.total > len(error.problems):
                more = error.total - len(error.problems)
                lines.append(ngettext("… and %(num)d more problem.", "… and %(num)d more problems.", more))
            fail("\n".join(lines))
        except ImportBusy as error:
            fail(f"Nothing was imported from {file}: {error}. Run this again when it has finished;"
                 " rows it imported are then skipped.")
    record("responses.import", f"survey {survey.slug}", file=file.name, added=result.added, skipped=result.already_there,
           blank_rows=result.blank_rows)
    db.session.commit()
    click.echo(ngettext("Imported %(num)d response into %(slug)s.", "Imported %(num)d responses into %(slug)s.", result.added,
                        slug=survey.slug))
    if result.without_id:
        click.echo(f"{result.without_id} of them had no response_id, so importing this file again would add them again."
                   " Give every row a response_id to make a repeated import safe.")
    if result.already_there:
        click.echo(ngettext("%(num)d row was imported before and was skipped.", "%(num)d rows were imported before and were skipped.",
                            result.already_there))
    if result.blank_rows:
        click.echo(ngettext("%(num)d blank row was skipped.", "%(num)d blank rows were skipped.", result.blank_rows))


@responses_cli.command("export")
@click.argument("slug")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True, help="File format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True, help="File to write.")
@click.option("--mask-personal-data", "mask", is_flag=True, help="Replace e-mail addresses, UK phone numbers and postcodes in free-text answers with [email], [phone], [postcode].")
@click.option("--without-sensitive", is_flag=True, help="Leave out free-text and sensitive questions, as for staff without the sensitive permission.")
def export_command(slug: str, file_format: str, output: Path, mask: bool, without_sensitive: bool) -> None:
    """Export survey SLUG's responses: one row per response, in the same encoding `import` reads.

    Text cells that a spreadsheet would run as a formula (starting with = + - @,
    tab or carriage return) are prefixed with an apostrophe; `import` removes it again.
    With --mask-personal-data, free text is masked for sharing beyond the team (names are not).
    """
    survey = get_survey(slug)
    # The file appears only once the export is recorded: never one the audit log does not know of.
    with output_file(output, private=True) as temp:
        try:
            with temp.open("wb") as out:
                count = write_export(survey, out, file_format, include_sensitive=not without_sensitive, mask=mask)
        except ValueError as error:
            fail(str(error))
        db.session.commit()
    click.echo(f"Exported {count} responses from {survey.slug} to {output}.")


@responses_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
def purge_command(dry_run: bool) -> None:
    """Delete responses older than their survey's retention_days, and free-text answers older
    than its text_retention_days; surveys without a retention period are left alone.

    Everything is deleted in one transaction, and a second run deletes nothing more, so it is
    safe to run daily from cron (see docs/data-protection.md). Records a "responses.purge"
    audit event. Keep published tables first with `flask analysis save`.
    """
    plan = plan_purge()
    if not dry_run:
        plan = apply_purge(plan)
        db.session.commit()
    for line in purge_report(plan, dry_run):
        click.echo(line)


def purge_report(plan: PurgePlan, dry_run: bool) -> list[str]:
    verb = "would delete" if dry_run else "deleted"
    lines = [f"{survey.slug}: {verb} {_purged(survey)}." for survey in plan.surveys]
    if plan.unlimited:
        lines.append(f"No retention period (kept until deleted by hand): {', '.join(plan.unlimited)}.")
    totals = f"{plan.responses} response(s) and {plan.text_answers} free-text answer(s)"
    lines.append(f"Dry run: nothing was deleted; a purge now would delete {totals}." if dry_run else f"Deleted {totals}.")
    return lines


def _purged(survey: SurveyPurge) -> str:
    parts = []
    if survey.responses_before is not None:
        parts.append(
            f"{survey.responses} response(s) sent before {_moment(survey.responses_before)}"
            f" (kept {survey.retention_days} days)"
        )
    if survey.texts_before is not None:
        parts.append(
            f"{survey.text_answers} free-text answer(s) of responses sent before {_moment(survey.texts_before)}"
            f" (free text kept {survey.text_retention_days} days)"
        )
    return " and ".join(parts)


def _moment(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
