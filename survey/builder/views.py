"""Thin views of the survey builder: each POST turns the form into a document edit (service.py)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..accounts.access import Permission, requires
from ..extensions import db
from ..i18n import _
from ..respondent.forms import build_survey_form
from ..staff.surveys import find_survey
from . import bp
from .forms import NewQuestionForm, NewSurveyForm, QuestionForm, SettingsForm
from .service import (
    ENTRY_KINDS,
    FLAG_OF_KIND,
    BuilderError,
    describe_location,
    drop_languages,
    entries_from_lines,
    move,
    new_question,
    question_index,
    save_document,
    survey_document,
    with_text,
)


def _survey(slug: str):
    survey = find_survey(slug)
    if survey is None:
        abort(404)
    return survey


def _problems(error: BuilderError, document: dict) -> list[str]:
    return [
        f"{describe_location(problem.location, document)}: {problem.message}" if problem.location else problem.message
        for problem in error.problems
    ]


def _language_codes(value: str) -> list[str]:
    return [code.strip() for code in (value or "").replace(";", ",").split(",") if code.strip()]


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.EDIT_SURVEYS)
def new_survey():
    form = NewSurveyForm()
    form.default_language.choices = [(code, code) for code in _offered_languages()]
    problems: list[str] = []
    if form.validate_on_submit():
        languages = _language_codes(form.languages.data)
        if form.default_language.data not in languages:
            languages.insert(0, form.default_language.data)
        document = {
            "slug": form.slug.data, "series": form.series.data, "wave": form.wave.data,
            "title": {form.default_language.data: form.title.data},
            "default_language": form.default_language.data, "languages": languages, "questions": [],
        }
        if find_survey(form.slug.data) is not None:
            form.slug.errors.append(_("A survey with this slug already exists"))
        else:
            try:
                survey = save_document(None, document, "survey.create")
            except BuilderError as error:
                db.session.rollback()
                problems = _problems(error, document)
            else:
                db.session.commit()
                flash(_("Created the survey as a draft. Now add its questions."))
                return redirect(url_for("builder.edit", slug=survey.slug))
    status = 400 if form.errors or problems else 200
    return render_template("builder/new_survey.html", form=form, problems=problems), status


def _offered_languages() -> list[str]:
    from flask import current_app

    return list(current_app.config["LANGUAGES"])


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_SURVEYS)
def edit(slug: str):
    """The survey's settings and its list of questions, with a form to add one."""
    survey = _survey(slug)
    document = survey_document(survey)
    language = survey.default_language
    settings = SettingsForm(
        formdata=None,
        data={"title": document["title"].get(language, ""), "intro": document["intro"].get(language, ""),
              "wave": document["wave"], "languages": ", ".join(document["languages"])},
    )
    return render_template(
        "builder/edit.html", survey=survey, document=document, settings=settings,
        question_form=NewQuestionForm(formdata=None), locked=survey.response_count() > 0, problems=[],
    )


@bp.post("/<slug>/settings")
@requires(Permission.EDIT_SURVEYS)
def save_settings(slug: str):
    survey = _survey(slug)
    document = survey_document(survey)
    form = SettingsForm()
    problems: list[str] = []
    if form.validate_on_submit():
        language = survey.default_language
        document["title"] = with_text(document["title"], language, form.title.data)
        document["intro"] = with_text(document["intro"], language, form.intro.data)
        document["wave"] = form.wave.data.strip()
        document["languages"] = _language_codes(form.languages.data)
        # A language no longer offered takes its translations with it (the form says so).
        removed = drop_languages(document, set(document["languages"]) | {document["default_language"]})
        try:
            save_document(survey, document, "survey.change", part="settings", languages_removed=removed)
        except BuilderError as error:
            db.session.rollback()
            problems = _problems(error, document)
        else:
            db.session.commit()
            flash(_("Saved the survey settings."))
            if removed:
                flash(_("Removed the translations into %(languages)s.", languages=", ".join(removed)))
            return redirect(url_for("builder.edit", slug=slug))
    return render_template(
        "builder/edit.html", survey=survey, document=survey_document(survey), settings=form,
        question_form=NewQuestionForm(formdata=None), locked=survey.response_count() > 0, problems=problems,
    ), 400


@bp.post("/<slug>/questions")
@requires(Permission.EDIT_SURVEYS)
def add_question(slug: str):
    survey = _survey(slug)
    document = survey_document(survey)
    form = NewQuestionForm()
    problems: list[str] = []
    if form.validate_on_submit():
        if question_index(document, form.code.data) is not None:
            form.code.errors.append(_("Another question already has this code"))
        else:
            lines = {"options": form.options.data, "items": form.items.data, "scale": form.scale.data}
            document["questions"].append(
                new_question(form.code.data, form.type.data, form.text.data.strip(), survey.default_language, lines)
            )
            try:
                save_document(survey, document, "survey.change", part="question added", question=form.code.data)
            except BuilderError as error:
                db.session.rollback()
                problems = _problems(error, document)
            else:
                db.session.commit()
                flash(_("Added question %(code)s.", code=form.code.data))
                return redirect(url_for("builder.question", slug=slug, code=form.code.data))
    settings = SettingsForm(formdata=None, data={"title": survey.text(survey.title, survey.default_language),
                                                 "intro": survey.text(survey.intro, survey.default_language),
                                                 "wave": survey.wave, "languages": ", ".join(survey.languages)})
    return render_template(
        "builder/edit.html", survey=survey, document=survey_document(survey), settings=settings,
        question_form=form, locked=survey.response_count() > 0, problems=problems,
    ), 400


@bp.post("/<slug>/questions/<code>/move")
@requires(Permission.EDIT_SURVEYS)
def move_question(slug: str, code: str):
    survey = _survey(slug)
    document = survey_document(survey)
    index = question_index(document, code)
    if index is None:
        abort(404)
    move(document["questions"], index, -1 if request.form.get("direction") == "up" else 1)
    return _save_and_return(survey, document, url_for("builder.edit", slug=slug, _anchor=f"q-{code}"),
                            part="questions reordered", question=code)


@bp.route("/<slug>/questions/<code>/delete", methods=["GET", "POST"])
@requires(Permission.EDIT_SURVEYS)
def delete_question(slug: str, code: str):
    survey = _survey(slug)
    document = survey_document(survey)
    index = question_index(document, code)
    if index is None:
        abort(404)
    if request.method == "GET":
        return render_template("builder/delete_question.html", survey=survey, question=document["questions"][index],
                               locked=survey.response_count() > 0)
    del document["questions"][index]
    return _save_and_return(survey, document, url_for("builder.edit", slug=slug), part="question deleted", question=code,
                            success=_("Deleted question %(code)s.", code=code))


def _save_and_return(survey, document, target: str, success: str | None = None, **details):
    try:
        save_document(survey, document, "survey.change", **details)
    except BuilderError as error:
        db.session.rollback()
        for problem in _problems(error, document):
            flash(problem, "error")
    else:
        db.session.commit()
        flash(success or _("Saved."))
    return redirect(target)


def _question_form_data(question: dict, language: str) -> dict:
    data = {name: question.get(name) for name in ("code", "type", "required", "sensitive", "max_choices", "max_length")}
    data["text"] = question["text"].get(language, "")
    data["hint"] = (question.get("hint") or {}).get(language, "")
    for kind in ENTRY_KINDS:
        flag = FLAG_OF_KIND[kind]
        data[kind] = [
            {"code": entry["code"], "wording": entry["label"].get(language, ""),
             "flag": bool(flag and entry.get(flag)), "same_as": ", ".join(entry.get("same_as", []))}
            for entry in question.get(kind, [])
        ]
    return data


KINDS_OF_TYPE = {"single": ("options",), "multi": ("options",), "matrix": ("items", "scale"), "text": ()}


def _question_from_form(form: QuestionForm, old: dict, language: str) -> dict:
    """The edited question: typed wording in the default language, other translations kept.

    Lines typed in the "add" boxes are always added, whichever button was pressed, so nothing
    typed is lost; lists that do not fit the (possibly changed) type are emptied."""
    kind_of_question = form.type.data
    question = dict(old)
    question.update(
        code=form.code.data, type=kind_of_question, required=form.required.data, sensitive=form.sensitive.data,
        max_choices=form.max_choices.data if kind_of_question == "multi" else None,
        max_length=form.max_length.data if kind_of_question == "text" else None,
        text=with_text(old["text"], language, form.text.data), hint=with_text(old.get("hint"), language, form.hint.data),
    )
    for kind in ENTRY_KINDS:
        if kind not in KINDS_OF_TYPE.get(kind_of_question, ()):
            question[kind] = []
            continue
        old_entries = old.get(kind, [])
        posted = getattr(form, kind).entries
        if len(posted) != len(old_entries):
            raise BuilderError([])  # the page was out of date: reload it
        entries = []
        for old_entry, subform in zip(old_entries, posted):
            entry = dict(old_entry, code=(subform.code.data or "").strip(),
                         label=with_text(old_entry["label"], language, subform.wording.data))
            flag = FLAG_OF_KIND[kind]
            if flag:
                entry[flag] = bool(subform.flag.data) and (kind != "options" or kind_of_question == "multi")
            if kind != "scale":
                entry["same_as"] = [code.strip() for code in (subform.same_as.data or "").split(",") if code.strip()]
            entries.append(entry)
        taken = {entry["code"] for entry in entries}
        question[kind] = entries + entries_from_lines(getattr(form, f"new_{kind}").data, kind, language, taken)
    return question


@bp.route("/<slug>/questions/<code>", methods=["GET", "POST"])
@requires(Permission.EDIT_SURVEYS)
def question(slug: str, code: str):
    """One question with its options, grid items and scale points, edited in one form.

    Every button (save, add, move, delete) posts the whole form, so nothing typed is lost."""
    survey = _survey(slug)
    document = survey_document(survey)
    index = question_index(document, code)
    if index is None:
        abort(404)
    language = survey.default_language
    old = document["questions"][index]
    locked = survey.response_count() > 0
    if request.method == "GET":
        form = QuestionForm(formdata=None, data=_question_form_data(old, language))
        return render_template("builder/question.html", survey=survey, form=form, question=old, locked=locked, problems=[])

    form = QuestionForm()
    problems: list[str] = []
    if form.validate_on_submit():
        action = request.form.get("action", "save")
        try:
            edited = _question_from_form(form, old, language)
        except BuilderError:
            problems = [_("The page was out of date, so nothing was saved. The current version is shown: make your change again.")]
            form = QuestionForm(formdata=None, data=_question_form_data(old, language))
            return render_template("builder/question.html", survey=survey, form=form, question=old, locked=locked, problems=problems), 409
        verb, _sep, rest = action.partition(":")
        kind, _sep, position = rest.partition(":")
        if verb in ("up", "down", "delete") and kind in ENTRY_KINDS and position.isdigit():
            if verb == "delete":
                if int(position) < len(edited[kind]):
                    del edited[kind][int(position)]
            else:
                move(edited[kind], int(position), -1 if verb == "up" else 1)
        document["questions"][index] = edited
        try:
            save_document(survey, document, "survey.change", part="question", question=edited["code"], button=verb)
        except BuilderError as error:
            db.session.rollback()
            problems = _problems(error, document)
        else:
            db.session.commit()
            flash(_("Saved question %(code)s.", code=edited["code"]))
            anchor = f"{kind}-list" if kind in ENTRY_KINDS else None
            return redirect(url_for("builder.question", slug=slug, code=edited["code"], _anchor=anchor))
    return render_template("builder/question.html", survey=survey, form=form, question=old, locked=locked, problems=problems), 400


@bp.get("/<slug>/preview")
@requires(Permission.EDIT_SURVEYS)
def preview(slug: str):
    """The resident's form exactly as residents see it, in any of its languages, drafts included;
    texts not yet translated are marked."""
    survey = _survey(slug)
    g.survey = survey
    g.mark_fallbacks = True
    language = str(get_locale())
    form = build_survey_form(survey, language)
    return render_template("builder/preview.html", survey=survey, form=form)
