"""The definition-file contract, validated with pydantic.

Every problem is reported with where it is (``questions[2] (priorities) > options[0] > code``)
so that a staff member can fix the file without reading a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator, model_validator

CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
TEXT_KEYS = {"title", "intro", "text", "hint", "label", "privacy_notice"}
#: Longest free text a definition may allow; a page of comments, not a document.
MAX_TEXT_LENGTH = 10_000
DEFAULT_TEXT_LENGTH = 2000
#: Names of the residents' form's own fields (CSRF token, submission id, start time, honeypot).
RESERVED_QUESTION_CODES = frozenset({"csrf_token", "submission_id", "started", "website"})
#: The response files' own columns (CSV import and export), beside one per question.
RESPONSE_FILE_COLUMNS = ("response_id", "submitted_at", "language", "channel")
#: A century: longer is "keep until deleted", which is no period at all; also keeps dates in range.
MAX_RETENTION_DAYS = 36_525
#: More choices than any questionnaire offers; also keeps the number in the database's range.
MAX_CHOICES = 1000
#: Dates a survey can open or close, and the earliest a response can be sent (a mistyped year
#: would store a date that breaks pages or defeats retention).
EARLIEST_DATE = datetime(1998, 1, 1, tzinfo=timezone.utc)
LATEST_DATE = datetime(2200, 1, 1, tzinfo=timezone.utc)

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, max_length=64)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
LocalizedText = dict[str, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]]
#: A privacy notice may run to several paragraphs.
LongLocalizedText = dict[str, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]]


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a definition never needs them, and nested aliases
    ("billion laughs") make a kilobyte file expand into gigabytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in definition files", event.start_mark
            )
        return super().compose_node(parent, index)


class DefinitionError(Exception):
    """A definition file that cannot be read or applied; ``problems`` says what and where."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OptionDefinition(_Strict):
    code: Code
    label: LocalizedText
    exclusive: bool = False
    same_as: list[Code] = Field(default_factory=list)  # codes of the same concept in earlier waves


class ItemDefinition(_Strict):
    code: Code
    label: LocalizedText
    same_as: list[Code] = Field(default_factory=list)


class ScalePointDefinition(_Strict):
    code: Code
    label: LocalizedText
    top_box: bool = False


def _unique_codes(entries: list[Any], what: str) -> list[Any]:
    seen: set[str] = set()
    for entry in entries:
        if entry.code in seen:
            raise ValueError(f"{what} code '{entry.code}' is used more than once")
        seen.add(entry.code)
    earlier: set[str] = set()
    for entry in entries:
        for old in getattr(entry, "same_as", ()):
            if old in seen:
                raise ValueError(f"{what} '{entry.code}' is same_as '{old}', which is a code of this wave too")
            if old in earlier:
                raise ValueError(f"earlier code '{old}' is claimed by more than one {what} in same_as")
            earlier.add(old)
    return entries


class QuestionDefinition(_Strict):
    code: Code
    type: Literal["single", "multi", "matrix", "text"]
    required: bool = False
    sensitive: bool = False
    max_choices: int | None = Field(default=None, ge=1, le=MAX_CHOICES)
    max_length: int | None = Field(default=None, ge=1, le=MAX_TEXT_LENGTH)
    text: LocalizedText
    hint: LocalizedText = Field(default_factory=dict)
    options: list[OptionDefinition] = Field(default_factory=list)
    items: list[ItemDefinition] = Field(default_factory=list)
    scale: list[ScalePointDefinition] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _not_a_form_field(cls, value: str, info: ValidationInfo) -> str:
        if value in RESERVED_QUESTION_CODES:
            raise ValueError(f"'{value}' is a field of the form itself; choose another question code")
        # A survey stored before this rule keeps its question (``stored_codes`` in the context):
        # its pages must still open, and a survey with responses cannot rename it.
        if value in RESPONSE_FILE_COLUMNS and value not in (info.context or {}).get("stored_codes", ()):
            raise ValueError(
                f"'{value}' is a column of the response files ({', '.join(RESPONSE_FILE_COLUMNS)}); choose another question code"
            )
        return value

    @field_validator("options")
    @classmethod
    def _options_unique(cls, value: list[OptionDefinition]) -> list[OptionDefinition]:
        return _unique_codes(value, "option")

    @field_validator("items")
    @classmethod
    def _items_unique(cls, value: list[ItemDefinition]) -> list[ItemDefinition]:
        return _unique_codes(value, "item")

    @field_validator("scale")
    @classmethod
    def _scale_unique(cls, value: list[ScalePointDefinition]) -> list[ScalePointDefinition]:
        return _unique_codes(value, "scale point")

    @model_validator(mode="after")
    def _fits_type(self) -> QuestionDefinition:
        kind = self.type
        if kind in ("single", "multi") and not self.options:
            raise ValueError(f"a {kind} question needs options")
        if kind not in ("single", "multi") and self.options:
            raise ValueError(f"a {kind} question has no options (use items and scale for a matrix)")
        if kind == "matrix" and (not self.items or len(self.scale) < 2):
            raise ValueError("a matrix question needs items and at least two scale points")
        if kind != "matrix" and (self.items or self.scale):
            raise ValueError(f"only a matrix question has items and a scale, not a {kind} question")
        if self.max_choices is not None and kind != "multi":
            raise ValueError("max_choices applies only to a multi question")
        if self.max_length is not None and kind != "text":
            raise ValueError("max_length applies only to a text question")
        if any(option.exclusive for option in self.options) and kind != "multi":
            raise ValueError("exclusive applies only to options of a multi question")
        if kind == "text" and self.max_length is None:
            self.max_length = DEFAULT_TEXT_LENGTH
        return self


class SurveyDefinition(_Strict):
    slug: Slug
    series: Slug
    wave: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    title: LocalizedText
    intro: LocalizedText = Field(default_factory=dict)
    default_language: str
    languages: list[str] = Field(min_length=1)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    # Data protection: responses are purged after retention_days, free text may go sooner.
    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)
    text_retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)
    privacy_notice: LongLocalizedText = Field(default_factory=dict)
    questions: list[QuestionDefinition] = Field(default_factory=list)

    @field_validator("wave", mode="before")
    @classmethod
    def _wave_as_text(cls, value: Any) -> Any:
        # YAML reads `wave: 2025` as a number; a wave label is text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _in_utc_and_in_range(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC (SQLite would drop an offset and keep the local time), within sensible years."""
        if value is None:
            return None
        in_range = f"must be a date from {EARLIEST_DATE.year} to {LATEST_DATE.year - 1}"
        try:
            moment = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        except OverflowError:  # 9999-12-31T23:59-05:00 is in year 10000 in UTC
            raise ValueError(in_range) from None
        if not EARLIEST_DATE <= moment < LATEST_DATE:
            raise ValueError(in_range)
        return moment

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        for code in value:
            try:
                Locale.parse(code.replace("-", "_"))
            except (UnknownLocaleError, ValueError):
                raise ValueError(f"'{code}' is not a known language code") from None
        if len(set(value)) != len(value):
            raise ValueError("a language is listed more than once")
        return value

    @field_validator("text_retention_days")
    @classmethod
    def _text_goes_first(cls, value: int | None, info: ValidationInfo) -> int | None:
        keep_all = info.data.get("retention_days")
        if value is not None and keep_all is not None and value > keep_all:
            raise ValueError(f"free text cannot be kept longer than the responses (retention_days is {keep_all})")
        return value

    @field_validator("questions")
    @classmethod
    def _questions_unique(cls, value: list[QuestionDefinition]) -> list[QuestionDefinition]:
        return _unique_codes(value, "question")

    @model_validator(mode="before")
    @classmethod
    def _plain_strings_are_default_language(cls, data: Any) -> Any:
        """A label may be a plain string: it is the default language's text."""
        if isinstance(data, dict) and isinstance(data.get("default_language"), str):
            return _wrap_plain_texts(data, data["default_language"])
        return data

    @model_validator(mode="after")
    def _texts_fit_languages(self) -> SurveyDefinition:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language '{self.default_language}' is not in languages")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        problems = []
        for where, texts, needed in self._all_texts():
            if needed and self.default_language not in texts:
                problems.append(f"{where} has no text in the default language '{self.default_language}'")
            for language in texts:
                if language not in self.languages:
                    problems.append(f"{where} has text in '{language}', which is not in languages")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _all_texts(self):
        yield "title", self.title, True
        yield "intro", self.intro, False
        yield "privacy_notice", self.privacy_notice, False
        for question in self.questions:
            where = f"question '{question.code}'"
            yield f"{where} text", question.text, True
            yield f"{where} hint", question.hint, False
            for kind, entries in (("option", question.options), ("item", question.items), ("scale point", question.scale)):
                for entry in entries:
                    yield f"{where} {kind} '{entry.code}' label", entry.label, True


def _wrap_plain_texts(node: Any, language: str) -> Any:
    if isinstance(node, list):
        return [_wrap_plain_texts(entry, language) for entry in node]
    if not isinstance(node, dict):
        return node
    wrapped = {}
    for key, value in node.items():
        if key in TEXT_KEYS and isinstance(value, str):
            wrapped[key] = {language: value}
        else:
            wrapped[key] = _wrap_plain_texts(value, language)
    return wrapped


def parse_definition(data: Any) -> SurveyDefinition:
    """Validate already-parsed YAML/JSON data, raising DefinitionError with every problem located."""
    if not isinstance(data, dict):
        raise DefinitionError(["the file must hold a mapping with slug, series, wave, title, languages and questions"])
    try:
        return SurveyDefinition.model_validate(data)
    except ValidationError as error:
        raise DefinitionError([_describe(problem, data) for problem in error.errors()]) from None


def read_definition_file(path: str | Path) -> SurveyDefinition:
    """Read a .yaml/.yml or .json definition file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DefinitionError([f"{path}: cannot be read ({error.strerror})"]) from None
    return read_definition_bytes(raw, str(path))


def read_definition_bytes(raw: bytes, name: str) -> SurveyDefinition:
    """Parse a definition from the bytes of a file called ``name`` (JSON if it ends in .json, else YAML)."""
    try:
        return parse_definition(_read_data(raw, name))
    except RecursionError:  # from the JSON or YAML reader, or the validation of what they read
        raise DefinitionError([f"{name}: lists or sections are nested far too deeply to be a survey definition"]) from None


def _read_data(raw: bytes, name: str) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DefinitionError([f"{name}: byte {error.start} is not UTF-8; save the file as UTF-8"]) from None
    try:
        return json.loads(text) if name.lower().endswith(".json") else yaml.load(text, Loader=_NoAliasLoader)
    except json.JSONDecodeError as error:
        raise DefinitionError([f"{name}: line {error.lineno}, column {error.colno}: {error.msg}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise DefinitionError([f"{name}: {where}{getattr(error, 'problem', None) or error}"]) from None


def _describe(problem: dict, data: Any) -> str:
    """'questions[2] (priorities) > options[0] > code: String should match pattern ...'."""
    parts: list[str] = []
    node = data
    for step in problem["loc"]:
        if isinstance(step, int):
            label = f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("code"), str):
                label += f" ({node['code']})"
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    where = " > ".join(parts) or "file"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"
