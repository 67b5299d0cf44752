"""The analysis page: pick series, question and waves → the side-by-side table, a chart, downloads."""

from __future__ import annotations

import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from analysis.errors import AnalysisError

from ..accounts.access import Permission, may_see_sensitive, requires
from ..audit import record
from ..extensions import db
from ..i18n import _
from ..models import SavedResult
from ..responses.export import write_export
from ..staff.surveys import all_surveys, find_survey, response_counts
from . import bp
from .forms import COMPARISON_FIELDS, SaveResultForm, build_comparison_form
from .saved import is_sensitive, render_saved, save_comparison, saved_results, saved_waves
from .service import FORMATS, ComparisonRequest, render, run_comparison, title_for


def _comparison_request(form) -> ComparisonRequest:
    return ComparisonRequest(
        series=form.series.data,
        question=form.question.data,
        waves=tuple(wave.strip() for wave in (form.waves.data or "").split(",") if wave.strip()),
        top=form.top.data or 5,
        by=form.by.data or None,
        base=form.base.data or "answered",
        percent_of=form.percent_of.data or "respondents",
    )


def _form():
    return build_comparison_form(db.session, request.args, allow_sensitive=may_see_sensitive(current_user))


def _comparison_args() -> dict[str, str]:
    """The page's query, only the comparison form's fields: what links to the same table carry."""
    return {name: request.args[name] for name in COMPARISON_FIELDS if name in request.args}


@bp.get("/")
@requires(Permission.ANALYSE)
def compare():
    form = _form()
    comparisons, problem, table = None, None, None
    if request.args and form.validate():
        comparison_request = _comparison_request(form)
        try:
            comparisons = run_comparison(db.session, comparison_request, current_app.config["SMALL_CELL_THRESHOLD"])
            # Our renderer escapes every value it writes.
            table = Markup(render(comparisons, "html", title_for(comparisons, comparison_request)))
        except AnalysisError as error:
            problem = str(error)
    args = _comparison_args()
    downloads = {name: url_for("reports.download", file_format=name, **args) for name in FORMATS} if comparisons else {}
    status = 400 if request.args and (problem or form.errors) else 200
    save_form = SaveResultForm() if comparisons and not form.by.data else None  # a saved result is a whole-sample table
    return render_template(
        "reports/compare.html", form=form, table=table, problem=problem, downloads=downloads, save_form=save_form,
        save_url=url_for("reports.save", **args),
    ), status


@bp.post("/saved")
@requires(Permission.ANALYSE)
def save():
    """Keep the whole-sample table the analysis page shows; its address (the query) says which."""
    form, save_form = _form(), SaveResultForm()
    back = url_for("reports.compare", **_comparison_args())
    reasons = _refusals(form, save_form)
    if reasons:
        flash(_("The table was not saved: %(reason)s", reason="; ".join(reasons)), "error")
        return redirect(back, code=303)
    try:
        saved = save_comparison(
            db.session, _comparison_request(form), title=save_form.title.data, created_by=current_user.email,
            small_cell_threshold=current_app.config["SMALL_CELL_THRESHOLD"],
        )
    except AnalysisError as error:
        db.session.rollback()
        flash(_("The table was not saved: %(reason)s", reason=str(error)), "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(_("Saved as “%(title)s”. It stays here, in every format, after the responses are deleted.", title=saved.title))
    return redirect(url_for("reports.saved_result", result_id=saved.id), code=303)


def _refusals(form, save_form) -> list[str]:
    """Why the table cannot be saved (none: it can), as "field: problem" sentences."""
    if not form.validate():
        return [f"{form[name].label.text}: {error}" for name, errors in form.errors.items() for error in errors]
    if form.by.data:
        return [_("choose a comparison without a breakdown first")]
    if not save_form.validate():
        return [f"{save_form[name].label.text}: {error}" for name, errors in save_form.errors.items() for error in errors]
    return []


@bp.get("/saved")
@requires(Permission.ANALYSE)
def saved_list():
    """The saved results this account may see, newest first."""
    allow_sensitive = may_see_sensitive(current_user)
    results = [
        (saved, series, saved_waves(saved))
        for saved, series in reversed(saved_results(db.session))
        if allow_sensitive or not is_sensitive(db.session, saved)
    ]
    return render_template("reports/saved_list.html", results=results)


def _visible_saved_result(result_id: int) -> SavedResult:
    saved = db.session.get(SavedResult, result_id)
    if saved is None or (is_sensitive(db.session, saved) and not may_see_sensitive(current_user)):
        abort(404)  # as if it did not exist: its title may itself say something
    return saved


@bp.get("/saved/<int:result_id>")
@requires(Permission.ANALYSE)
def saved_result(result_id: int):
    saved = _visible_saved_result(result_id)
    try:
        table, problem = Markup(render_saved(saved, "html")), None  # our renderer escapes every value it writes
    except AnalysisError as error:
        table, problem = None, str(error)
    downloads = {name: url_for("reports.saved_download", result_id=saved.id, file_format=name) for name in FORMATS}
    return render_template(
        "reports/saved.html", saved=saved, waves=saved_waves(saved), table=table, problem=problem, downloads=downloads
    )


@bp.get("/saved/<int:result_id>.<file_format>")
@requires(Permission.ANALYSE)
def saved_download(result_id: int, file_format: str):
    if file_format not in FORMATS:
        abort(404)
    saved = _visible_saved_result(result_id)
    try:
        body = render_saved(saved, file_format)
    except AnalysisError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    record("analysis.export", f"saved result {saved.id}", format=file_format)
    db.session.commit()
    extension, mimetype, _binary = FORMATS[file_format]
    filename = f"saved-result-{saved.id}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/download.<file_format>")
@requires(Permission.ANALYSE)
def download(file_format: str):
    if file_format not in FORMATS:
        abort(404)
    form = _form()
    if not form.validate():
        return Response("; ".join(f"{name}: {', '.join(map(str, errors))}" for name, errors in form.errors.items()), status=400, mimetype="text/plain")
    comparison_request = _comparison_request(form)
    try:
        comparisons = run_comparison(db.session, comparison_request, current_app.config["SMALL_CELL_THRESHOLD"])
    except AnalysisError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    extension, mimetype, _binary = FORMATS[file_format]
    body = render(comparisons, file_format, title_for(comparisons, comparison_request))
    record("analysis.export", f"series {comparison_request.series}", question=comparison_request.question,
           format=file_format, by=comparison_request.by)
    db.session.commit()
    filename = f"{comparison_request.series}-{comparison_request.question}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/responses")
@requires(Permission.ANALYSE)
def responses():
    """Every survey with its response count and download links for the raw responses."""
    return render_template(
        "reports/responses.html", surveys=all_surveys(), counts=response_counts(),
        include_sensitive=may_see_sensitive(current_user),
    )


@bp.get("/responses/<slug>.<file_format>")
@requires(Permission.ANALYSE)
def export_responses(slug: str, file_format: str):
    """Raw responses in the answer encoding. Without the sensitive permission the columns of
    free-text and sensitive questions are left out, not just hidden. E-mail addresses, phone
    numbers and postcodes in free text are masked (responses/masking.py) unless ``?mask=0``
    asks for the comments as written: a link copied without its query masks."""
    survey = find_survey(slug)
    if survey is None or file_format not in ("csv", "xlsx"):
        abort(404)
    include_sensitive = may_see_sensitive(current_user)
    mask = request.args.get("mask") != "0"
    body = io.BytesIO()
    try:
        write_export(survey, body, file_format, include_sensitive=include_sensitive, mask=mask)
    except ValueError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    db.session.commit()
    mimetype = "text/csv" if file_format == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body.getvalue(), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{survey.slug}-responses.{file_format}"'})
