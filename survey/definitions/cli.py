"""`flask survey …`: load, dump, open, close and list surveys."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import func, select

from ..audit import record
from ..commands import command_group, fail, get_survey, write_output
from ..extensions import db
from ..models import InvalidTransition, Response, Survey
from .schema import DefinitionError, read_definition_file
from .store import LoadResult, definition_from_survey, dump_definition, load_definition

survey_cli = command_group("survey", help="Load, dump, open, close and list surveys.")


@survey_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--open", "open_survey", is_flag=True, help="Also open the survey to residents unless it is open already.")
def load_command(file: Path, open_survey: bool) -> None:
    """Create or update a survey from a definition FILE (YAML or JSON).

    A new survey is created as a draft. A survey without responses is replaced
    by the file; once it has responses only wording, translations, languages, dates,
    retention periods and the privacy notice may change (the output says which did), and
    structural changes are refused with a list of what would change.
    """
    try:
        result = load_definition(read_definition_file(file))
    except DefinitionError as error:
        fail(f"{file} was not loaded:\n" + "\n".join(error.problems))
    survey = result.survey
    record("survey.create" if result.created else "survey.change", f"survey {survey.slug}", source=file.name,
           wording_only=result.wording_only)
    if open_survey and survey.status != "open":
        try:
            survey.open()
        except InvalidTransition as error:
            fail(str(error))
        record("survey.publish", f"survey {survey.slug}")
    db.session.commit()
    click.echo(f"{_loaded(result)} survey {survey.slug} ({len(survey.questions)} questions, status {survey.status}).")


#: How `load` names what it changed in a survey that has responses.
_CHANGED = {
    "wording": "the wording",
    "same_as": "the same_as links",
    "languages": "the languages",
    "dates": "the opening and closing times",
    "retention": "the retention periods",
    "privacy_notice": "the privacy notice",
}


def _loaded(result: LoadResult) -> str:
    """"Created", "Updated", or what changed in a survey with responses ("Updated the retention periods of")."""
    if result.created:
        return "Created"
    if not result.wording_only:
        return "Updated"
    if not result.changed:
        return "Nothing changed in"
    parts = [_CHANGED[part] for part in result.changed]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"Updated {listed} of"


@survey_cli.command("dump")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write to this file instead of standard output.")
def dump_command(slug: str, output: Path | None) -> None:
    """Write survey SLUG as a YAML definition file (the format `load` reads)."""
    write_output(dump_definition(definition_from_survey(get_survey(slug))), output)


def _transition(slug: str, action: str) -> None:
    survey = get_survey(slug)
    try:
        getattr(survey, action)()
    except InvalidTransition as error:
        fail(f"Cannot {action}: {error}.")
    record({"open": "survey.publish", "close": "survey.close"}[action], f"survey {survey.slug}")
    db.session.commit()
    click.echo(f"Survey {survey.slug} is now {survey.status}.")


@survey_cli.command("open")
@click.argument("slug")
def open_command(slug: str) -> None:
    """Open survey SLUG to residents."""
    _transition(slug, "open")


@survey_cli.command("close")
@click.argument("slug")
def close_command(slug: str) -> None:
    """Close survey SLUG: residents can no longer answer it."""
    _transition(slug, "close")


@survey_cli.command("list")
def list_command() -> None:
    """One line per survey: slug, status, number of responses, series and wave."""
    counts = dict(db.session.execute(select(Response.survey_id, func.count()).group_by(Response.survey_id)).all())
    surveys = db.session.scalars(select(Survey).order_by(Survey.slug)).all()
    if not surveys:
        click.echo("No surveys yet. Load one with `flask survey load examples/community-safety-2025.yaml`.")
        return
    width = max(len(survey.slug) for survey in surveys)
    for survey in surveys:
        click.echo(
            f"{survey.slug:<{width}}  {survey.status:<6}  {counts.get(survey.id, 0):>7} responses"
            f"  {survey.series.code} {survey.wave}"
        )
