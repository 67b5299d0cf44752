"""Thin views of the translation workflow: grid, a language's page, downloads and uploads."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..accounts.access import Permission, requires
from ..audit import record
from ..extensions import csrf, db
from ..i18n import _, language_info
from ..models import Survey
from ..security import accept_large_form
from . import bp
from .files import po_bytes, read_po_upload, read_xlsx_upload, xlsx_bytes
from .forms import TranslationUploadForm
from .service import EditErrors, Translations, UploadError, apply_edits, apply_upload
from .texts import describe

#: The translation forms may post far more than a resident's form (the app's MAX_CONTENT_LENGTH).
LARGE_FORM_BYTES = 5 * 1024 * 1024
LARGE_FORM_PARTS = 20_000
#: Field name prefix of a text's translation on a language's page; the rest is the text's key.
TEXT_FIELD = "t:"

#: File format: (MIME type, writer); a Response adds "; charset=utf-8" to the text type.
DOWNLOADS = {
    "po": ("text/x-gettext-translation", po_bytes),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_bytes),
}


def _survey_or_404(slug: str) -> Survey:
    survey = db.session.scalar(select(Survey).where(Survey.slug == slug))
    if survey is None:
        abort(404)
    return survey


def _translations_or_404(slug: str, language: str) -> Translations:
    """The survey's translations, for one of its languages other than the default."""
    translations = Translations(_survey_or_404(slug))
    if language not in translations.languages:
        abort(404)
    return translations


def _accept_large_form() -> None:
    """A survey's translations are saved and uploaded whole: up to LARGE_FORM_BYTES (security.accept_large_form)."""
    accept_large_form(LARGE_FORM_BYTES, LARGE_FORM_PARTS)


def field_id(key: str) -> str:
    return "tr-" + key.replace("/", "--")


@bp.get("/<slug>/translations")
@requires(Permission.EDIT_SURVEYS)
def grid(slug: str):
    translations = Translations(_survey_or_404(slug))
    languages = translations.languages
    grid_rows = [
        (text.key, describe(text), {language: translations.status(text, language) for language in languages})
        for text in translations.texts.values()
    ]
    return render_template(
        "translating/grid.html",
        survey=translations.survey,
        summaries=[translations.summary(language) for language in languages],
        translated_languages=languages,  # not "languages": base.html's language switcher uses that name
        grid_rows=grid_rows,
    )


def _language_page(translations: Translations, language: str, *, errors=None, typed=None, ticked=(),
                   upload_form=None, upload_problems=(), status: int = 200):
    errors = errors or {}
    page = render_template(
        "translating/language.html",
        survey=translations.survey,
        language=language,
        direction=language_info(language).direction,
        source_direction=language_info(translations.survey.default_language).direction,
        summary=translations.summary(language),
        rows=translations.rows(language),
        errors=errors,
        typed=typed or {},
        ticked=set(ticked),
        field_id=field_id,
        text_field=TEXT_FIELD,
        upload_form=upload_form or TranslationUploadForm(formdata=None),
        upload_problems=list(upload_problems),
    )
    return page, status


@bp.get("/<slug>/translations/<language>")
@requires(Permission.EDIT_SURVEYS)
def language(slug: str, language: str):
    return _language_page(_translations_or_404(slug, language), language)


@bp.post("/<slug>/translations/<language>")
@requires(Permission.EDIT_SURVEYS)
@csrf.exempt
def save(slug: str, language: str):
    translations = _translations_or_404(slug, language)
    _accept_large_form()
    submitted = {name[len(TEXT_FIELD):]: value for name, value in request.form.items() if name.startswith(TEXT_FIELD)}
    ticked = set(request.form.getlist("confirm"))
    try:
        result = apply_edits(translations.survey, language, submitted, ticked)
    except EditErrors as error:
        db.session.rollback()
        return _language_page(
            Translations(translations.survey), language, errors=error.errors, typed=submitted, ticked=ticked, status=400
        )
    db.session.commit()
    if result.total:
        flash(
            _(
                "Translations saved: %(changed)d changed, %(removed)d removed, %(confirmed)d confirmed unchanged.",
                changed=result.changed, removed=result.removed, confirmed=result.confirmed,
            )
        )
    else:
        flash(_("Nothing was saved: no translation was changed or confirmed."))
    return redirect(url_for(".language", slug=slug, language=language), 303)


def _download(slug: str, language: str, file_format: str) -> Response:
    translations = _translations_or_404(slug, language)
    mimetype, write = DOWNLOADS[file_format]
    content = write(translations.survey, language, translations.rows(language))
    record("translations.download", f"survey {slug}", language=language, format=file_format)
    db.session.commit()
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{slug}-{language}.{file_format}"'},
    )


@bp.get("/<slug>/translations/<language>.po")
@requires(Permission.EDIT_SURVEYS)
def download_po(slug: str, language: str):
    return _download(slug, language, "po")


@bp.get("/<slug>/translations/<language>.xlsx")
@requires(Permission.EDIT_SURVEYS)
def download_xlsx(slug: str, language: str):
    return _download(slug, language, "xlsx")


@bp.post("/<slug>/translations/<language>/upload")
@requires(Permission.EDIT_SURVEYS)
@csrf.exempt
def upload(slug: str, language: str):
    translations = _translations_or_404(slug, language)
    try:
        _accept_large_form()
    except RequestEntityTooLarge:
        problem = _("The file is larger than %(size)d MB.", size=LARGE_FORM_BYTES // (1024 * 1024))
        return _language_page(translations, language, upload_problems=[problem], status=413)
    form = TranslationUploadForm()
    if not form.validate_on_submit():
        return _language_page(translations, language, upload_form=form, status=400)
    upload_file = form.file.data
    filename = upload_file.filename or "upload"
    read = read_xlsx_upload if filename.lower().endswith(".xlsx") else read_po_upload
    try:
        summary = apply_upload(translations.survey, language, read(upload_file.read(), language), filename)
    except UploadError as error:
        db.session.rollback()
        return _language_page(
            Translations(translations.survey), language, upload_form=form, upload_problems=error.problems, status=400
        )
    db.session.commit()
    return render_template("translating/upload_summary.html", survey=translations.survey, language=language, summary=summary)
