"""Hostile input, generated: malformed form posts, definition files and CSV imports.

Whatever arrives, the answer is a clear refusal or a complete success: never a
500 or an unexpected exception, and never a partial write (the counts of
responses and answers before and after tell).
"""

from __future__ import annotations

import copy
import io
import json
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from survey.definitions import DefinitionError, load_definition, parse_definition, read_definition_file
from survey.extensions import db
from survey.models import Answer, Question, Response, Survey
from survey.responses.csv_import import ImportFailed, import_responses
from survey.responses.rules import normalise_text

from .conftest import form_tokens, reference_definition, stored_answers

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    # The app and its database are made once per test, not per example: each example compares counts before and after.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

FIELDS = ["town", "priorities", "concerns/knives", "concerns/asb", "ethnicity", "comments"]
CODES = ["north", "south", "drugs", "bikes", "litter", "dont_know", "very", "fairly", "not_very", "white_british", "prefer_not_to_say"]
CONTROL = "".join(chr(code) for code in [*range(0, 32), 127])

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.text(alphabet=CONTROL + "ab\u202e\ufeff\u0000", max_size=20),
    st.sampled_from(["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "' OR 1=1 --", "\u0000", "\ud7ff\ue000", "%00", "../../etc/passwd"]),
    st.integers(0, 300_000).map(lambda n: "x" * n),  # up to beyond MAX_CONTENT_LENGTH
)
field_names = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["csrf_token", "submission_id", "concerns/aliens", "concerns", "town/north"]), st.text(max_size=20))
field_values = st.one_of(st.sampled_from(CODES), hostile_text)


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Response)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Answer)),
        )


def expected_answers(pairs: list[tuple[str, str]]) -> set[tuple]:
    """What a post that was accepted must have stored: one row per non-empty value."""
    expected = set()
    for name, value in pairs:
        if name in ("csrf_token", "submission_id", "started", "website"):
            continue
        question, _, item = name.partition("/")
        if question == "comments":
            text = normalise_text(value)
            if text:
                expected.add(("comments", None, None, None, text))
        elif value.strip():
            expected.add((question, None, item, value.strip(), None) if item else (question, value.strip(), None, None, None))
    return expected


# ---------------------------------------------------------------- respondent form posts


@SETTINGS
@given(
    pairs=st.lists(st.tuples(field_names, field_values), max_size=12),
    keep_tokens=st.sampled_from(["both", "csrf only", "id only", "none", "forged"]),
    lang=st.one_of(st.sampled_from(["en", "pl", "ur"]), st.text(max_size=8)),
)
def test_hostile_form_posts_are_refused_or_stored_whole(app, client, make_survey_once, pairs, keep_tokens, lang):
    tokens = form_tokens(client.get("/s/town-test").get_data(as_text=True))
    if keep_tokens == "csrf only":
        tokens.pop("submission_id")
    elif keep_tokens == "id only":
        tokens.pop("csrf_token")
    elif keep_tokens == "none":
        tokens = {}
    elif keep_tokens == "forged":
        tokens["csrf_token"] = "forged.token.value"
    posted = [*tokens.items(), *pairs]
    before = counts(app)
    reply = client.post(
        "/s/town-test", query_string={"lang": lang}, data=urlencode(posted), content_type="application/x-www-form-urlencoded"
    )
    after = counts(app)
    assert reply.status_code in (303, 400, 413), reply.status_code
    if reply.status_code == 303:
        assert after[0] == before[0] + 1
        with app.app_context():
            newest = db.session.scalar(sa.select(Response.id).order_by(Response.id.desc()).limit(1))
        assert stored_answers(app, newest) == expected_answers(posted)
        assert after[1] == before[1] + len(expected_answers(posted))
    else:
        assert after == before


@SETTINGS
@given(body=st.binary(max_size=2000), content_type=st.sampled_from(
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "multipart/form-data", "text/plain", "application/json"]
))
def test_random_bytes_as_a_post_body_are_refused(app, client, make_survey_once, body, content_type):
    before = counts(app)
    reply = client.post("/s/town-test", data=body, content_type=content_type)
    assert reply.status_code in (400, 413)
    assert counts(app) == before


@SETTINGS
@given(pairs=st.lists(st.tuples(st.sampled_from(FIELDS), st.sampled_from(CODES)), min_size=1, max_size=8))
def test_duplicate_keys_never_store_a_question_twice(app, client, make_survey_once, pairs):
    tokens = form_tokens(client.get("/s/town-test").get_data(as_text=True))
    base = [("town", "north"), ("concerns/knives", "very"), ("concerns/asb", "very")]
    posted = [*tokens.items(), *base, *pairs]
    before = counts(app)
    reply = client.post("/s/town-test", data=urlencode(posted), content_type="application/x-www-form-urlencoded")
    assert reply.status_code in (303, 400)
    if reply.status_code == 303:
        assert counts(app)[0] == before[0] + 1
    else:
        assert counts(app) == before


@pytest.fixture
def make_survey_once(make_survey):
    make_survey()


# ---------------------------------------------------------------- oversized uploads


class EndlessBody:
    """A request body that never ends and counts what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = 65536 if size is None or size < 0 else min(size, 65536)
        self.read_bytes += size
        return b"a" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def post_stream(app, body: EndlessBody, **environ) -> int:
    """POST ``body`` through the WSGI app as a server would hand it over, without measuring it first."""
    base = EnvironBuilder(path="/s/town-test", method="POST", content_type="application/x-www-form-urlencoded").get_environ()
    base.update({"wsgi.input": body, **environ})
    base.pop("CONTENT_LENGTH", None)
    base.update(environ)
    _iterable, status, _headers = run_wsgi_app(app, base, buffered=True)
    return int(status.split()[0])


def test_oversized_post_is_refused_before_it_is_read(app, make_survey_once):
    body = EndlessBody()
    status = post_stream(app, body, CONTENT_LENGTH=str(2 * 1024**3))  # says 2 GB are coming
    assert status in (400, 413)
    assert body.read_bytes == 0  # refused on the declared length alone
    assert counts(app) == (0, 0)


def test_oversized_chunked_post_is_cut_off_at_the_limit(app, make_survey_once):
    body = EndlessBody()
    status = post_stream(app, body, **{"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    assert status in (400, 413)
    assert body.read_bytes <= app.config["MAX_CONTENT_LENGTH"] + 65536  # stopped at the limit, not read whole
    assert counts(app) == (0, 0)


# ---------------------------------------------------------------- definition files


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text.filter(lambda t: len(t) < 20_000)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


REFERENCE_PATHS = list(_paths(reference_definition()))


def _mutated(path: tuple, replacement, how: str) -> dict:
    data = copy.deepcopy(reference_definition())
    if not path:
        return data
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = replacement
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"unknown_{len(str(replacement)) % 7}"] = replacement
    else:
        parent.append(replacement)
    return data


def structure_counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Survey)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Question)),
        )


@SETTINGS
@given(path=st.sampled_from(REFERENCE_PATHS), replacement=json_values, how=st.sampled_from(["replace", "delete", "add"]))
def test_hostile_definitions_are_refused_with_located_problems_or_loaded_whole(app, path, replacement, how):
    data = _mutated(path, replacement, how)
    before = structure_counts(app)
    with app.app_context():
        try:
            definition = parse_definition(data)
            load_definition(definition)
            db.session.commit()
        except DefinitionError as error:
            db.session.rollback()
            assert error.problems and all(isinstance(problem, str) and problem for problem in error.problems)
            assert structure_counts(app) == before
            return
    # Accepted: the survey is there, whole (a second load of the same slug updates it in place).
    after = structure_counts(app)
    assert after[0] in (before[0], before[0] + 1)
    with app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == definition.slug))
        assert [question.code for question in survey.questions] == [question.code for question in definition.questions]


@SETTINGS
@given(raw=st.one_of(st.binary(max_size=500), st.text(max_size=500).map(str.encode)), suffix=st.sampled_from([".yaml", ".json"]))
def test_definition_files_of_random_bytes_are_refused_clearly(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("definitions") / f"survey{suffix}"
    path.write_bytes(raw)
    try:
        read_definition_file(path)
    except DefinitionError as error:
        assert error.problems
    # Anything but DefinitionError (or a valid definition, which random bytes will not be) fails the test.


@SETTINGS
@given(data=st.data())
def test_definition_files_with_hostile_text_round_trip_or_are_refused(tmp_path_factory, data):
    definition = _mutated(data.draw(st.sampled_from(REFERENCE_PATHS)), data.draw(json_values), data.draw(st.sampled_from(["replace", "add"])))
    suffix = data.draw(st.sampled_from([".yaml", ".json"]))
    path = tmp_path_factory.mktemp("definitions") / f"survey{suffix}"
    try:
        text = json.dumps(definition, allow_nan=True) if suffix == ".json" else yaml.safe_dump(definition, allow_unicode=True)
    except (ValueError, yaml.YAMLError):
        assume(False)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        read_definition_file(path)
    except DefinitionError as error:
        assert error.problems


# ---------------------------------------------------------------- CSV imports


HEADERS = ["response_id", "submitted_at", "language", "channel", *FIELDS, "priorities/drugs", "priorities/aliens", "nonsense", ""]
csv_cells = st.one_of(st.sampled_from(CODES + ["1", "0", "yes", "en", "pl", "xx", "paper", "2025-01-01T10:00:00Z", "north;south", "'=1+1"]), hostile_text.filter(lambda t: len(t) < 5000))


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8))
    rows = draw(st.lists(st.lists(csv_cells, min_size=len(header) - 1, max_size=len(header) + 1), max_size=6))
    out = io.StringIO()
    import csv

    writer = csv.writer(out)
    writer.writerow(header)
    if "response_id" in header:  # a NUL there is the known failure below, tested on its own
        at = header.index("response_id")
        rows = [[cell.replace("\x00", "") if index == at else cell for index, cell in enumerate(row)] for row in rows]
    writer.writerows(rows)
    text = out.getvalue()
    encoded = text.encode("utf-8", errors="surrogatepass")
    damage = draw(st.sampled_from(["none", "bom", "bytes", "quote", "truncate"]))
    if damage == "bom":
        encoded = b"\xef\xbb\xbf" + encoded
    elif damage == "bytes":
        position = draw(st.integers(0, len(encoded)))
        encoded = encoded[:position] + draw(st.binary(min_size=1, max_size=20)) + encoded[position:]
    elif damage == "quote":
        encoded = encoded.replace(b",", b',"', 1)
    elif damage == "truncate":
        encoded = encoded[: draw(st.integers(0, len(encoded)))]
    return encoded


@SETTINGS
@given(data=csv_files())
def test_hostile_csv_imports_are_all_or_nothing(app, make_survey_once, data):
    before = counts(app)
    with app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == "town-test"))
        try:
            result = import_responses(survey, io.BytesIO(data))
        except ImportFailed as failure:
            db.session.rollback()
            assert failure.total >= 1 and failure.problems
            assert all(str(problem) for problem in failure.problems)
            assert counts(app) == before
            return
        db.session.commit()
    after = counts(app)
    assert after[0] == before[0] + result.added


def test_nul_in_a_response_id_is_refused_as_a_problem(app, make_survey_once):
    data = b"response_id,town,concerns/knives,concerns/asb\nab\x00c,north,very,very\n"
    with app.app_context():
        survey = db.session.scalar(sa.select(Survey).where(Survey.slug == "town-test"))
        with pytest.raises(ImportFailed) as failure:
            import_responses(survey, io.BytesIO(data))
        db.session.rollback()
    assert str(failure.value.problems[0]) == "row 2, column response_id: contains a NUL character"
    assert counts(app) == (0, 0)
