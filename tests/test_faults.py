"""Faults in production: the database stops, a worker is killed, the disk is read-only or full.

The app must answer with a friendly 503 (never a traceback), and nothing may be
half-written: every stored response has exactly the answers that were sent with it.
The PostgreSQL outage runs on a private throwaway cluster, never the shared server.
"""

from __future__ import annotations

import glob
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from survey import create_app
from survey.definitions import load_definition, parse_definition
from survey.extensions import db
from survey.models import Response

from .conftest import REPO, form_tokens, reference_definition, response_count, skip_or_fail, stored_answers

UNAVAILABLE = "Sorry, the service is busy or unavailable"
NOT_SAVED = "Your answers have not been saved. Please try again in a few minutes."
NOT_SHOWN = "This page cannot be shown just now. Please try again in a few minutes."


# ---------------------------------------------------------------- helpers


def random_answers(rng: random.Random) -> tuple[dict, frozenset]:
    """A valid answer set for the every-feature survey, and how it must be stored."""
    answers: dict = {"town": rng.choice(["north", "south"])}
    stored = {("town", answers["town"], None, None, None)}
    for item in ("knives", "asb"):
        point = rng.choice(["very", "fairly", "not_very"])
        answers[f"concerns/{item}"] = point
        stored.add(("concerns", None, item, point, None))
    priorities = rng.choice([[], ["drugs"], ["bikes", "litter"], ["dont_know"]])
    answers["priorities"] = priorities
    stored |= {("priorities", code, None, None, None) for code in priorities}
    if rng.random() < 0.5:
        comment = f"Comment {rng.randrange(10**6)}"
        answers["comments"] = comment
        stored.add(("comments", None, None, None, comment))
    return answers, frozenset(stored)


class Resident:
    """One simulated resident at a time over real HTTP: GET the form, POST answers, follow to thanks."""

    def __init__(self, port: int, number: int):
        self.port = port
        self.headers = {"X-Forwarded-For": f"2001:db8::{number:x}"}  # a different person behind the proxy each time

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = connection.getresponse()
            return response, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def submit(self, answers: dict, attempted: dict, stored_as: frozenset) -> tuple[int, str | None]:
        """The POST's status (or the form's, if that already failed) and the submission id; records the attempt first."""
        response, page = self.request("GET", "/s/town-test")
        if response.status != 200:
            return response.status, None
        tokens = form_tokens(page)
        cookie = "; ".join(v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie")
        attempted[tokens["submission_id"]] = stored_as
        body = urlencode({**tokens, **answers}, doseq=True).encode()
        response, _ = self.request(
            "POST", "/s/town-test", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, body
        )
        if response.status == 303:
            thanks, _ = self.request("GET", response.getheader("Location"), {"Cookie": cookie})
            if thanks.status not in (200, 503):
                return f"thanks page {thanks.status}", tokens["submission_id"]
        return response.status, tokens["submission_id"]


#: How long the served app's workers reuse their copy of a survey (the production default).
SURVEY_RECHECK_SECONDS = 2


class Gunicorn:
    """The app under gunicorn on a free loopback port; the socket is opened here, so no race for the port."""

    def __init__(self, database_url: str, workers: int = 2):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = self.socket.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "fault-test-secret",
            "PYTHONPATH": str(REPO),
            "MIN_FILL_SECONDS": "0",
            "PROXY_FIX_X_FOR": "1",
            "SESSION_COOKIE_SECURE": "0",
            "SURVEY_RECHECK_SECONDS": str(SURVEY_RECHECK_SECONDS),
        }
        self.log = tempfile.TemporaryFile(mode="w+")
        fd = self.socket.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"fd://{fd}", "--timeout", "30", "app:create_app()"],
            cwd=REPO, env=env, pass_fds=[fd], stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.output()
            try:
                if Resident(self.port, 0).request("GET", "/")[0].status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def output(self) -> str:
        if self.log.closed:  # after stop(): what it had written is kept
            return self._final_output
        self.log.seek(0)
        return self.log.read()

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.socket.close()
        self._final_output = self.output()
        self.log.close()


def assert_nothing_half_written(app, attempted: dict, acknowledged: set) -> None:
    """Every acknowledged submission is stored once; every stored response has exactly the answers sent with it."""
    with app.app_context():
        stored = {uid: rid for rid, uid in db.session.execute(sa.select(Response.id, Response.uid))}
    assert acknowledged <= set(stored), "an acknowledged submission was lost"
    assert set(stored) <= set(attempted), "a response nobody sent"
    for uid, response_id in stored.items():
        assert stored_answers(app, response_id) == attempted[uid], f"response {uid} is not complete"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- PostgreSQL stops mid-load


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on its own port, that the test may stop."""

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(binaries[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="safer-voices-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{tool} failed: {result.stdout}{result.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    cluster = PrivateCluster()
    try:
        yield cluster
    finally:
        cluster.remove()


def _survey_on(url: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        db.create_all()
        survey = load_definition(parse_definition(reference_definition())).survey
        survey.open()
        db.session.commit()
    return app


def _load(port: int, attempted: dict, acknowledged: set, statuses: list, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    number = seed * 100_000
    while not stop.is_set() and number < seed * 100_000 + 5000:  # bounded, whatever happens
        number += 1
        answers, stored_as = random_answers(rng)
        try:
            status, uid = Resident(port, number).submit(answers, attempted, stored_as)
        except (OSError, http.client.HTTPException):
            status, uid = "connection", None
        except Exception as error:  # noqa: BLE001  (reported by the test's assertion on statuses, not lost in a thread)
            status, uid = f"unexpected {error!r}", None
        statuses.append(status)
        if status == 303:
            acknowledged.add(uid)


@pytest.mark.postgres
def test_postgres_outage_gives_503_then_recovers_without_half_written_responses(private_postgres):
    app = _survey_on(private_postgres.url)
    server = Gunicorn(private_postgres.url)
    attempted: dict = {}
    acknowledged: set = set()
    statuses: list = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(server.port, attempted, acknowledged, statuses, stop, n)) for n in (1, 2, 3)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        private_postgres.stop("immediate")  # mid-load, as a crash would
        # A worker may show the form from its copy of the survey for SURVEY_RECHECK_SECONDS more
        # (its POST still fails with the 503 below); after that every page says the site is down.
        time.sleep(SURVEY_RECHECK_SECONDS + 0.5)
        resident = Resident(server.port, 999_999)
        down, page = resident.request("GET", "/s/town-test")
        assert down.status == 503
        assert down.getheader("Retry-After") == "60"
        assert UNAVAILABLE in page and NOT_SHOWN in page
        assert "not been saved" not in page  # nothing was sent: showing the form failed
        assert "Traceback" not in page
        posted, page = resident.request("POST", "/s/town-test", {"Content-Type": "application/x-www-form-urlencoded"}, b"town=north")
        assert posted.status == 503 and NOT_SAVED in page
        private_postgres.start()
        deadline = time.monotonic() + 20
        while resident.request("GET", "/s/town-test")[0].status != 200:
            assert time.monotonic() < deadline, "the app did not recover after PostgreSQL came back"
            time.sleep(0.2)
        before = len(statuses)
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert 503 in statuses, statuses
    assert set(statuses) <= {303, 503}, f"only successes and friendly 503s: {set(statuses)}\n{server.output()[-3000:]}"
    assert 303 in statuses[before:], "submissions succeed again after the restart"
    assert_nothing_half_written(app, attempted, acknowledged)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.postgres
def test_after_an_outage_the_thank_you_page_does_not_say_the_answers_were_lost(private_postgres):
    """A resident whose answers were stored, told otherwise on the thank-you page, would answer again."""
    _survey_on(private_postgres.url)
    config = {"SQLALCHEMY_DATABASE_URI": private_postgres.url, **FAULTY_APP_CONFIG, "SURVEY_RECHECK_SECONDS": 0}
    worker, other_worker = create_app(config), create_app(config)  # the other has never served the survey
    client = worker.test_client()
    tokens, later_tokens = (form_tokens(client.get("/s/town-test").get_data(as_text=True)) for _ in range(2))
    answers = {"town": "north", "concerns/knives": "very", "concerns/asb": "fairly"}
    sent = client.post("/s/town-test", data={**tokens, **answers})
    assert sent.status_code == 303 and response_count(worker) == 1
    thanks_path = sent.headers["Location"]
    private_postgres.stop("immediate")  # between the redirect and the browser following it

    thanks = client.get(thanks_path)
    text = thanks.get_data(as_text=True)
    assert thanks.status_code == 200, text  # the survey from this worker's memory
    assert "Your answers have been sent." in text and "Test survey" in text and "Privacy notice" in text
    assert "not been saved" not in text and UNAVAILABLE not in text

    elsewhere = other_worker.test_client().get(thanks_path)
    text = elsewhere.get_data(as_text=True)
    assert elsewhere.status_code == 503 and elsewhere.headers["Retry-After"] == "60"
    assert "Thank you" in text and "Your answers have been sent." in text
    assert "not been saved" not in text and "Traceback" not in text

    form = client.get("/s/town-test")
    text = form.get_data(as_text=True)
    assert form.status_code == 503 and form.headers["Retry-After"] == "60"
    assert UNAVAILABLE in text and NOT_SHOWN in text and "not been saved" not in text

    failed = client.post("/s/town-test", data={**later_tokens, **answers})  # answers sent during the outage
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "60"
    assert UNAVAILABLE in failed.get_data(as_text=True) and NOT_SAVED in failed.get_data(as_text=True)
    for app in (worker, other_worker):
        with app.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- a worker killed mid-request


def test_worker_killed_mid_request_loses_nothing_committed(app, make_survey, database_url):
    make_survey()
    server = Gunicorn(database_url, workers=2)
    attempted: dict = {}
    acknowledged: set = set()
    statuses: list = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(server.port, attempted, acknowledged, statuses, stop, n)) for n in (1, 2, 3, 4)]
    killed = 0
    try:
        for thread in threads:
            thread.start()
        for _ in range(4):
            time.sleep(0.5)
            workers = server.workers()
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)
                killed += 1
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert killed == 4
    assert 303 in statuses
    assert set(statuses) <= {303, "connection"}, set(statuses)
    assert_nothing_half_written(app, attempted, acknowledged)


# ---------------------------------------------------------------- SQLite read-only or full


#: Like the test app's: the bot defence must not drop the test client's instant submissions.
FAULTY_APP_CONFIG = {"SECRET_KEY": "test-secret-key", "MIN_FILL_SECONDS": 0}

#: An SQLite file's own faults: these tests run on SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _read_only_app(database_url: str):
    path = database_url.removeprefix("sqlite:///")
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{path}?mode=ro&uri=true", **FAULTY_APP_CONFIG})


def _full_app(database_url: str):
    full = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **FAULTY_APP_CONFIG})
    with full.app_context():

        def no_new_pages(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            pages = cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {pages}")
            cursor.close()

        event.listen(db.engine, "connect", no_new_pages)
    return full


@sqlite_only
@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_sqlite_read_only_or_full_gives_a_friendly_503(app, make_survey, database_url, fault):
    questions = reference_definition()["questions"]
    questions[-1]["max_length"] = 10_000  # a long comment needs new pages
    make_survey(questions=questions)
    with app.app_context():
        db.engine.dispose()
    faulty = _read_only_app(database_url) if fault == "read-only" else _full_app(database_url)
    client = faulty.test_client()
    page = client.get("/s/town-test")
    assert page.status_code == 200  # reading still works: residents see the form
    answers = {"town": "north", "concerns/knives": "very", "concerns/asb": "very", "comments": "long " * 1500}
    reply = client.post("/s/town-test", data={**form_tokens(page.get_data(as_text=True)), **answers})
    text = reply.get_data(as_text=True)
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "60"
    assert UNAVAILABLE in text and NOT_SAVED in text
    assert "Traceback" not in text and "OperationalError" not in text
    assert client.get("/s/town-test").status_code == 200  # the worker carries on
    with faulty.app_context():
        db.engine.dispose()
    assert response_count(app) == 0
    assert stored_answers(app) == set()


@sqlite_only
def test_cli_on_a_read_only_database_says_so_without_a_traceback(app, make_survey, database_url):
    make_survey(status="draft")
    with app.app_context():
        db.engine.dispose()
    result = _read_only_app(database_url).test_cli_runner().invoke(args=["survey", "open", "town-test"])
    assert result.exit_code == 1
    assert "The database could not be used (attempt to write a readonly database)" in result.output
    assert "read-only" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


@sqlite_only
def test_cli_on_a_database_that_fails_mid_command_says_so(app, make_survey, database_url):
    make_survey(status="draft")
    with app.app_context():
        db.engine.dispose()
    full = _full_app(database_url)
    result = full.test_cli_runner().invoke(args=["survey", "load", str(REPO / "examples" / "community-safety-2025.yaml")])
    assert result.exit_code == 1
    assert re.search(r"The database could not be used \(database or disk is full\)\. Nothing was changed\.", result.output)
    assert "free some space" in result.output
    with full.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0


@sqlite_only
def test_an_import_that_fills_the_disk_says_so_without_a_traceback_and_stores_nothing(app, make_survey, database_url, tmp_path):
    make_survey()
    with app.app_context():
        db.engine.dispose()
    data = tmp_path / "many.csv"
    data.write_text("town,concerns/knives,concerns/asb,comments\n" + "north,very,very,a comment long enough to need pages\n" * 3000, encoding="utf-8")
    full = _full_app(database_url)
    result = full.test_cli_runner().invoke(args=["responses", "import", "town-test", str(data)])
    assert result.exit_code == 1
    assert "The database could not be used (database or disk is full). Nothing was changed." in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert not [thread for thread in threading.enumerate() if thread.name == "csv-import-reader"]
    with full.app_context():
        db.engine.dispose()
    assert response_count(app) == 0


# ---------------------------------------------------------------- SQLite transactions that write wait their turn


@sqlite_only
@pytest.mark.parametrize("context", ["cli", "GET", "POST"])
def test_sqlite_transactions_take_the_write_lock_at_begin(app_ctx, context):
    """Every transaction begins IMMEDIATE (a GET may write an audit record too), so a concurrent
    writer waits its turn at BEGIN instead of failing when it later writes."""
    engine = db.engine
    request = app_ctx.test_request_context("/", method=context) if context != "cli" else app_ctx.app_context()
    with request, engine.connect() as first:
        first.execute(sa.text("SELECT count(*) FROM surveys"))  # BEGIN IMMEDIATE: holds the write lock now
        with engine.connect() as second:
            second.connection.dbapi_connection.execute("PRAGMA busy_timeout = 50")  # outside any transaction
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                second.execute(sa.text("SELECT count(*) FROM surveys"))
            second.rollback()
        first.execute(sa.text("INSERT INTO survey_series (code, created_at) VALUES ('s', '2025-01-01')"))
        first.commit()  # the read-then-write transaction was never refused
    with engine.connect() as check:
        assert check.execute(sa.text("SELECT count(*) FROM survey_series WHERE code = 's'")).scalar() == 1


@sqlite_only
def test_pages_that_only_read_do_not_wait_for_a_writer(app, make_survey, client):
    """The survey form, thank-you page and privacy notice read without a transaction, so a long
    write (an import holds the lock for its whole transaction) does not hold residents up."""
    slug = make_survey()
    with app.app_context(), db.engine.connect() as writer:
        writer.execute(sa.text("UPDATE surveys SET status = status"))  # BEGIN IMMEDIATE: holds the write lock
        for path in (f"/s/{slug}", f"/s/{slug}/thanks", f"/s/{slug}/privacy"):
            started = time.monotonic()
            assert client.get(path).status_code == 200, path
            assert time.monotonic() - started < 5, f"{path} waited for the writer"  # busy_timeout is 10 s
        writer.rollback()


def test_a_page_that_only_read_leaves_no_transaction_open(app, make_survey, client, database_url):
    """After the form's GET the connection goes back to the pool in the normal, transactional mode:
    the next request's writes are atomic again."""
    slug = make_survey()
    assert client.get(f"/s/{slug}").status_code == 200
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.get_isolation_level() != "AUTOCOMMIT"
            assert not connection.in_transaction()


@pytest.mark.parametrize("method, path, message", [
    ("POST", "/s/town-test", NOT_SAVED),
    ("POST", "/staff/surveys/upload", "Your changes have not been saved. Please try again in a few minutes."),
    ("GET", "/staff/", "This page cannot be shown just now. Please try again in a few minutes."),
])
def test_an_unavailable_database_page_says_what_was_lost(app, method, path, message):
    """Only a POST can have lost anything; a resident's answers and a staff member's changes are told apart."""
    from survey.errors import _error_page

    with app.test_request_context(path, method=method):
        page = _error_page(503)
    assert UNAVAILABLE in page and message in page
