"""The analysis page: pick series, question and waves → the side-by-side table, a chart, downloads."""

from __future__ import annotations

from flask import Response, current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from analysis.errors import AnalysisError

from ..accounts.access import Permission, may_see_sensitive, requires
from ..extensions import db
from . import bp
from .forms import build_comparison_form
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
    downloads = {name: url_for("reports.download", file_format=name, **request.args) for name in FORMATS} if comparisons else {}
    status = 400 if request.args and (problem or form.errors) else 200
    return render_template("reports/compare.html", form=form, table=table, problem=problem, downloads=downloads), status


@bp.get("/download.<file_format>")
@requires(Permission.ANALYSE)
def download(file_format: str):
    if file_format not in FORMATS:
        return Response("Unknown format", status=404)
    form = _form()
    if not form.validate():
        return Response("; ".join(f"{name}: {', '.join(map(str, errors))}" for name, errors in form.errors.items()), status=400)
    comparison_request = _comparison_request(form)
    try:
        comparisons = run_comparison(db.session, comparison_request, current_app.config["SMALL_CELL_THRESHOLD"])
    except AnalysisError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    extension, mimetype, _binary = FORMATS[file_format]
    body = render(comparisons, file_format, title_for(comparisons, comparison_request))
    filename = f"{comparison_request.series}-{comparison_request.question}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
