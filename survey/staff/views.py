"""Thin views of the staff area: the dashboard and each survey's page and lifecycle actions."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import Permission, has_permission, requires
from ..definitions import DefinitionError, read_definition_bytes
from ..definitions.store import definition_from_survey, dump_definition
from ..audit import record
from ..database import begin_bulk_load
from ..extensions import csrf, db
from ..i18n import _, ngettext
from ..models import InvalidTransition, Survey
from ..responses.csv_import import ImportBusy, ImportFailed, import_responses
from ..security import accept_large_form
from . import bp
from .forms import DefinitionUploadForm, NextWaveForm, ResponsesUploadForm
from .surveys import (
    all_surveys,
    can_delete,
    close,
    delete,
    counts_by_channel,
    find_survey,
    publish,
    replace_from_definition,
    response_counts,
    start_next_wave,
    suggest_next_wave,
)


def get_survey_or_404(slug: str) -> Survey:
    survey = find_survey(slug)
    if survey is None:
        abort(404)
    return survey


@bp.get("/")
@requires(Permission.STAFF)
def dashboard():
    return render_template(
        "staff/dashboard.html",
        surveys=all_surveys(),
        counts=response_counts(),
        can_edit=has_permission(current_user, Permission.EDIT_SURVEYS),
        upload_form=DefinitionUploadForm(),
    )


@bp.get("/surveys/<slug>/")
@requires(Permission.EDIT_SURVEYS)
def survey(slug: str):
    survey = get_survey_or_404(slug)
    wave, next_slug = suggest_next_wave(survey)
    return _survey_page(survey, NextWaveForm(wave=wave, slug=next_slug))


def _survey_page(survey: Survey, next_wave_form: NextWaveForm, status: int = 200):
    counts = counts_by_channel(survey)
    config = current_app.config
    return render_template(
        "staff/survey.html",
        survey=survey,
        counts=counts,
        total=sum(counts.values()),
        next_wave_form=next_wave_form,
        responses_form=ResponsesUploadForm(),
        upload_limits={"size": config["RESPONSES_UPLOAD_BYTES"] // (1024 * 1024), "rows": f"{config['RESPONSES_UPLOAD_ROWS']:,}"},
    ), status


@bp.post("/surveys/<slug>/responses")
@requires(Permission.EDIT_SURVEYS)
@csrf.exempt  # a file larger than the residents' limit: accept_large_form checks the token under its own
def import_responses_file(slug: str):
    """Import earlier responses from an uploaded CSV, as `flask responses import` does: all rows or none."""
    accept_large_form(current_app.config["RESPONSES_UPLOAD_BYTES"], max_parts=10)
    survey = get_survey_or_404(slug)
    form = ResponsesUploadForm()
    if not form.validate_on_submit():
        problems = [message for messages in form.errors.values() for message in messages]
        return _import_refused(survey, problems, len(problems))
    upload = form.file.data
    # The import vouches for its keys, as the command's does, in a transaction of its own.
    db.session.commit()
    begin_bulk_load()
    survey = get_survey_or_404(slug)
    try:
        result = import_responses(survey, upload.stream, max_rows=current_app.config["RESPONSES_UPLOAD_ROWS"])
    except ImportFailed as error:
        problems = [str(problem) for problem in error.problems]
        return _import_refused(survey, problems, error.total)
    except ImportBusy as error:
        return _import_refused(survey, [str(error)], 1, status=409)
    record("responses.import", f"survey {survey.slug}", file=upload.filename, added=result.added, skipped=result.already_there,
           blank_rows=result.blank_rows)
    db.session.commit()
    flash(ngettext("Imported %(num)d response.", "Imported %(num)d responses.", result.added))
    if result.already_there:
        flash(ngettext("%(num)d row was imported before and was skipped.", "%(num)d rows were imported before and were skipped.",
                       result.already_there))
    if result.blank_rows:
        flash(ngettext("%(num)d blank row was skipped.", "%(num)d blank rows were skipped.", result.blank_rows))
    if result.without_id:
        flash(ngettext("%(num)d row had no response_id: uploading the file again would add it again.",
                       "%(num)d rows had no response_id: uploading the file again would add them again.", result.without_id), "error")
    return redirect(url_for("staff.survey", slug=slug), code=303)


def _import_refused(survey: Survey, problems: list[str], total: int, status: int = 400):
    heading = _("No responses were imported")
    return render_template("staff/upload_problems.html", heading=heading, survey=survey, problems=problems, total=total), status


def _transition(slug: str, action) -> Response:
    survey = get_survey_or_404(slug)
    try:
        action(survey)
    except InvalidTransition as error:
        db.session.rollback()
        flash(_("Could not change the status: %(reason)s.", reason=str(error)), "error")
    else:
        db.session.commit()
        flash(_("The survey is now %(status)s.", status=_status_label(survey.status)))
    return redirect(url_for("staff.survey", slug=slug))


def _status_label(status: str) -> str:
    return {"draft": _("draft"), "open": _("open"), "closed": _("closed")}.get(status, status)


@bp.post("/surveys/<slug>/publish")
@requires(Permission.EDIT_SURVEYS)
def publish_survey(slug: str):
    return _transition(slug, publish)


@bp.post("/surveys/<slug>/close")
@requires(Permission.EDIT_SURVEYS)
def close_survey(slug: str):
    return _transition(slug, close)


@bp.post("/surveys/<slug>/next-wave")
@requires(Permission.EDIT_SURVEYS)
def next_wave(slug: str):
    survey = get_survey_or_404(slug)
    form = NextWaveForm()
    if form.validate_on_submit():
        try:
            copy = start_next_wave(survey, form.wave.data, form.slug.data)
        except DefinitionError as error:
            db.session.rollback()
            form.slug.errors = list(error.problems)
        else:
            db.session.commit()
            flash(_("Started wave %(wave)s as a draft with every code kept.", wave=copy.wave))
            return redirect(url_for("staff.survey", slug=copy.slug))
    return _survey_page(survey, form, status=400)


@bp.get("/surveys/<slug>/definition.yaml")
@requires(Permission.EDIT_SURVEYS)
def download_definition(slug: str):
    survey = get_survey_or_404(slug)
    return Response(
        dump_definition(definition_from_survey(survey)),
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{survey.slug}.yaml"'},
    )


@bp.post("/surveys/upload")
@requires(Permission.EDIT_SURVEYS)
def upload_definition():
    """Create a survey, or update the one named in the file, from an uploaded definition."""
    form = DefinitionUploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            definition = read_definition_bytes(upload.read(), upload.filename or "upload.yaml")
            survey = replace_from_definition(find_survey(definition.slug), definition.model_dump(mode="json"))
        except DefinitionError as error:
            db.session.rollback()
            problems = list(error.problems)
        else:
            db.session.commit()
            flash(_("Loaded the definition of %(slug)s.", slug=survey.slug))
            return redirect(url_for("staff.survey", slug=survey.slug))
    else:
        problems = [message for messages in form.errors.values() for message in messages]
    return render_template("staff/upload_problems.html", problems=problems), 400


@bp.route("/surveys/<slug>/delete", methods=["GET", "POST"])
@requires(Permission.EDIT_SURVEYS)
def delete_survey(slug: str):
    """Only a draft that never had responses can be deleted; anything else is closed instead."""
    survey = get_survey_or_404(slug)
    deletable = can_delete(survey)
    if request.method == "GET" or not deletable:
        status = 200 if request.method == "GET" else 400
        return render_template("staff/delete_survey.html", survey=survey, deletable=deletable), status
    delete(survey)
    db.session.commit()
    flash(_("Deleted the draft survey %(slug)s.", slug=slug))
    return redirect(url_for("staff.dashboard"), code=303)
