"""Translations of a survey's texts: their status, editing, confirming, and applying an uploaded file.

A translation is *confirmed* when a TranslationConfirmation for its (survey, key, language)
records the hash of the current default-language text, *stale* when it exists without one
(the source text changed since, or nobody confirmed it), and *missing* when it does not exist.
Functions here change the session and record audit events; the caller commits.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..i18n import _
from ..models import Survey, TranslationConfirmation
from .texts import Text, describe, source_hash, survey_texts

#: Longest translation accepted, as for texts in a definition file.
MAX_TRANSLATION_LENGTH = 5000
#: Recorded for a translation that must be reviewed again: it matches no source text's hash.
UNCONFIRMED = ""


class Status(str, enum.Enum):
    MISSING = "missing"
    STALE = "stale"
    CONFIRMED = "confirmed"


class TranslationError(ValueError):
    """A translation that cannot be stored; the message says why, for staff."""


class EditErrors(Exception):
    """Translations typed in the browser that cannot be stored, by text key; nothing was changed."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(f"{len(errors)} invalid translation(s)")
        self.errors = errors


def normalise(value: str) -> str:
    """Browser and spreadsheet line endings become newlines; outer whitespace goes."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def clean_translation(value: str) -> str:
    """The translation as stored, or TranslationError: at most 5,000 characters, no control characters but newline."""
    value = normalise(value)
    if len(value) > MAX_TRANSLATION_LENGTH:
        raise TranslationError(
            _("The translation must be %(max)d characters or fewer; it has %(count)d.", max=MAX_TRANSLATION_LENGTH, count=len(value))
        )
    # Format characters (category Cf: right-to-left marks, zero-width joiners) are part of the text; Cc is not.
    bad = next((char for char in value if char != "\n" and unicodedata.category(char) == "Cc"), None)
    if bad is not None:
        raise TranslationError(
            _("The translation contains a control character (%(code)s), for example a tab; remove it.", code=f"U+{ord(bad):04X}")
        )
    return value


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    old: str
    new: str
    confirmed: bool  # False: stored but still to be reviewed (a fuzzy PO entry)


@dataclass(frozen=True)
class Row:
    """One line of a language's page or file."""

    key: str
    label: str
    source: str
    translation: str
    status: Status


@dataclass(frozen=True)
class LanguageSummary:
    language: str
    total: int
    confirmed: int
    stale: int
    missing: int

    @property
    def percent(self) -> int:
        """Confirmed share, rounded down so that 100 means every text is confirmed."""
        return 100 if not self.total else self.confirmed * 100 // self.total


class Translations:
    """One survey's texts and confirmation rows, loaded once for a batch of reads and changes."""

    def __init__(self, survey: Survey):
        self.survey = survey
        self.texts: dict[str, Text] = {text.key: text for text in survey_texts(survey)}
        rows = db.session.scalars(select(TranslationConfirmation).where(TranslationConfirmation.survey_id == survey.id))
        self._confirmations = {(row.text_key, row.language): row for row in rows}

    @property
    def languages(self) -> list[str]:
        """The languages texts are translated into: the survey's, without its default."""
        return [code for code in self.survey.languages if code != self.survey.default_language]

    def source(self, text: Text) -> str:
        return text.value(self.survey.default_language)

    def status(self, text: Text, language: str) -> Status:
        if not text.value(language):
            return Status.MISSING
        row = self._confirmations.get((text.key, language))
        if row is not None and row.source_hash == source_hash(self.source(text)):
            return Status.CONFIRMED
        return Status.STALE

    def rows(self, language: str) -> list[Row]:
        return [
            Row(text.key, describe(text), self.source(text), text.value(language), self.status(text, language))
            for text in self.texts.values()
        ]

    def summary(self, language: str) -> LanguageSummary:
        statuses = [self.status(text, language) for text in self.texts.values()]
        return LanguageSummary(
            language,
            total=len(statuses),
            confirmed=statuses.count(Status.CONFIRMED),
            stale=statuses.count(Status.STALE),
            missing=statuses.count(Status.MISSING),
        )

    def text(self, key: str) -> Text:
        try:
            return self.texts[key]
        except KeyError:
            raise TranslationError(_("The survey has no text '%(key)s'.", key=key)) from None

    def check_language(self, language: str) -> None:
        if language not in self.languages:
            raise TranslationError(_("The survey is not translated into '%(language)s'.", language=language))

    def set(self, key: str, language: str, value: str, *, confirm: bool = True) -> Change | None:
        """Store a translation (an empty one removes it); None when it is already the stored one."""
        self.check_language(language)
        text = self.text(key)
        value = clean_translation(value)
        old = text.value(language)
        if value == old:
            return None
        texts = dict(text.texts)  # a new dict: JSON columns do not track changes in place
        if value:
            texts[language] = value
        else:
            texts.pop(language, None)
        setattr(text.owner, text.attribute, texts)
        if not value:
            self._forget(key, language)
        elif confirm:
            self._record(key, language, source_hash(self.source(text)))
        else:
            self._record(key, language, UNCONFIRMED)
        return Change(key, describe(text), old, value, confirmed=bool(value) and confirm)

    def confirm(self, key: str, language: str) -> None:
        """Record that the translation is right for the current default-language text."""
        self.check_language(language)
        text = self.text(key)
        if not text.value(language):
            raise TranslationError(_("There is no translation to confirm."))
        self._record(key, language, source_hash(self.source(text)))

    def confirm_unrecorded(self) -> int:
        """Confirm every translation that has no confirmation row at all; returns how many."""
        count = 0
        for text in self.texts.values():
            for language in self.languages:
                if text.value(language) and (text.key, language) not in self._confirmations:
                    self._record(text.key, language, source_hash(self.source(text)))
                    count += 1
        return count

    def _record(self, key: str, language: str, digest: str) -> None:
        row = self._confirmations.get((key, language))
        if row is None:
            row = TranslationConfirmation(survey_id=self.survey.id, text_key=key, language=language, source_hash=digest)
            db.session.add(row)
            self._confirmations[(key, language)] = row
        else:
            row.source_hash = digest

    def _forget(self, key: str, language: str) -> None:
        row = self._confirmations.pop((key, language), None)
        if row is not None:
            db.session.delete(row)


def confirm_unrecorded(survey: Survey) -> int:
    """After a definition file is loaded: its author supplied texts and translations together,
    so translations never confirmed before count as confirmed. Existing confirmations are
    left alone, so a changed default-language text leaves its translations stale."""
    db.session.flush()  # new surveys need their id
    return Translations(survey).confirm_unrecorded()


def set_translation(survey: Survey, key: str, language: str, value: str) -> Change | None:
    """Store (and confirm) one translation; an empty value removes it."""
    return Translations(survey).set(key, language, value)


def confirm(survey: Survey, key: str, language: str) -> None:
    Translations(survey).confirm(key, language)


def language_summaries(survey: Survey) -> list[LanguageSummary]:
    translations = Translations(survey)
    return [translations.summary(language) for language in translations.languages]


@dataclass
class EditResult:
    changed: int = 0
    removed: int = 0
    confirmed: int = 0

    @property
    def total(self) -> int:
        return self.changed + self.removed + self.confirmed


def apply_edits(survey: Survey, language: str, submitted: Mapping[str, str], confirm_keys: Collection[str]) -> EditResult:
    """Apply a language's page as posted: ``submitted`` maps text keys to the typed translation,
    ``confirm_keys`` are stale translations ticked as still right. Only texts that changed or
    were ticked are touched; if any typed value is invalid, nothing is (EditErrors)."""
    translations = Translations(survey)
    translations.check_language(language)
    to_set: dict[str, str] = {}
    to_confirm: list[str] = []
    errors: dict[str, str] = {}
    for key, text in translations.texts.items():
        if key not in submitted:  # a text added since the page was loaded
            continue
        typed = normalise(submitted[key])
        current = text.value(language)
        if typed != current:
            try:
                to_set[key] = clean_translation(typed)
            except TranslationError as error:
                errors[key] = str(error)
        elif key in confirm_keys and translations.status(text, language) is Status.STALE:
            to_confirm.append(key)
    if errors:
        raise EditErrors(errors)
    result = EditResult()
    for key, value in to_set.items():
        change = translations.set(key, language, value)
        if change is not None:
            if value:
                result.changed += 1
            else:
                result.removed += 1
    for key in to_confirm:
        translations.confirm(key, language)
        result.confirmed += 1
    if result.total:
        record(
            "translations.edit", f"survey {survey.slug}", language=language,
            changed=result.changed, removed=result.removed, confirmed=result.confirmed,
        )
    return result


@dataclass(frozen=True)
class UploadEntry:
    """One entry of an uploaded file; ``where`` names its line or row for messages."""

    where: str
    key: str
    source: str
    translation: str
    #: PO files: True for a fuzzy entry (store it, still to be reviewed), False for a reviewed one.
    #: None where the format says nothing about review (XLSX): an unchanged text keeps its status.
    fuzzy: bool | None


@dataclass(frozen=True)
class Skipped:
    where: str
    key: str
    label: str


@dataclass
class UploadSummary:
    filename: str
    changed: list[Change] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # labels of unchanged translations now confirmed
    unchanged: int = 0
    empty: int = 0
    source_changed: list[Skipped] = field(default_factory=list)
    unknown: list[Skipped] = field(default_factory=list)

    @property
    def needs_review(self) -> int:
        return sum(1 for change in self.changed if not change.confirmed)


class UploadError(Exception):
    """An uploaded file that cannot be applied; ``problems`` says what and where. Nothing was stored."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def apply_upload(survey: Survey, language: str, entries: list[UploadEntry], filename: str) -> UploadSummary:
    """Apply a translator's file, all or nothing.

    Entries are matched by key. One whose source text differs from the current
    default-language text is skipped (the text changed since the download), as are unknown
    keys and empty translations. Fuzzy PO entries are stored but stay to be reviewed.
    """
    translations = Translations(survey)
    translations.check_language(language)
    summary = UploadSummary(filename)
    problems: list[str] = []
    planned: list[tuple[UploadEntry, str]] = []
    for entry in entries:
        text = translations.texts.get(entry.key)
        if text is None:
            summary.unknown.append(Skipped(entry.where, entry.key, ""))
            continue
        if normalise(entry.source) != normalise(translations.source(text)):
            summary.source_changed.append(Skipped(entry.where, entry.key, describe(text)))
            continue
        if not normalise(entry.translation):
            summary.empty += 1
            continue
        try:
            planned.append((entry, clean_translation(entry.translation)))
        except TranslationError as error:
            problems.append(_("%(where)s (%(key)s): %(problem)s", where=entry.where, key=entry.key, problem=str(error)))
    if problems:
        raise UploadError(problems)
    for entry, value in planned:
        text = translations.texts[entry.key]
        if value != text.value(language):
            change = translations.set(entry.key, language, value, confirm=not entry.fuzzy)
            if change is not None:
                summary.changed.append(change)
        elif entry.fuzzy is False and translations.status(text, language) is Status.STALE:
            translations.confirm(entry.key, language)
            summary.confirmed.append(describe(text))
        else:
            summary.unchanged += 1
    record(
        "translations.upload", f"survey {survey.slug}", language=language, file=filename,
        changed=len(summary.changed), needs_review=summary.needs_review, confirmed=len(summary.confirmed),
        unchanged=summary.unchanged, skipped=summary.empty + len(summary.source_changed) + len(summary.unknown),
    )
    return summary
