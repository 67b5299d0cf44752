"""Load benchmark: many residents answer the demo survey at once through the real server.

    .venv/bin/python benchmarks/load.py                    # SQLite and PostgreSQL, 50 residents at a time, 3,000 submissions
    .venv/bin/python benchmarks/load.py --backend postgres # one backend only (sqlite or postgres)
    .venv/bin/python benchmarks/load.py --quick            # a short smoke run on SQLite

For each backend the database is created and migrated, the demo survey
(examples/community-safety-2025.yaml) is loaded and opened with the `flask` CLI,
and gunicorn serves the app with several workers on a free loopback port. Each
simulated resident GETs /s/cs-2025, reads the hidden fields (CSRF token, submission id, start time) from
the form, POSTs a random valid set of answers and checks that it is redirected
to the thank-you page (--follow-thanks also fetches that page), from its own
address behind one trusted proxy (X-Forwarded-For), as in production. Then every stored response is compared with what was sent:
nothing lost, nothing duplicated, every answer right.

The rate limits count in the local Redis when one answers (the production setting,
docs/deploy.md), else in each worker's memory; the line above each run says which.

The same client then drives a bare Flask endpoint that inserts one row
(benchmarks/bare_app.py) under the same gunicorn settings and database: the
floor the survey is measured against. PostgreSQL runs in a database of its own
(`loadbench`) on the server named by TEST_DATABASE_URL (default the local
server), created and dropped here.

Targets on the 2-core reference machine (client and server on the same cores):
at least 200 submissions/s on PostgreSQL with the submission's p95 under 250 ms
at 50 concurrent residents; nothing lost or duplicated; at least half the bare
endpoint's throughput.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "community-safety-2025.yaml"
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_PG_DATABASE = "loadbench"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 60  # seconds for one request before it counts as an error
RUN_DEADLINE = 900  # seconds for one whole run: the loop stops by itself

#: The form's hidden fields, which a browser sends back with the answers (and the empty honeypot field "website").
_TOKENS = re.compile(r'<input id="(csrf_token|submission_id|started)" name="[a-z_]+" type="hidden" value="([^"]*)"')
COMMENTS = [
    "More street lights by the station, please.",
    "Bikes race through the park every evening.\nIt is worse at weekends.",
    "Więcej patroli wieczorem.",
    "رات کو گلی میں روشنی نہیں ہوتی۔",
    "ਪਾਰਕ ਵਿੱਚ ਹੋਰ ਰੋਸ਼ਨੀ ਚਾਹੀਦੀ ਹੈ।",
    "Mai multe camere video lângă școală.",
    "=1+1 is not a formula here",
]


# ---------------------------------------------------------------- answers


class Questionnaire:
    """The demo survey's questions, to draw random valid answers from."""

    def __init__(self, path: Path):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.slug: str = data["slug"]
        self.languages: list[str] = data["languages"]
        self.questions: list[dict] = data["questions"]

    def random_answers(self, rng: random.Random) -> tuple[list[tuple[str, str]], frozenset[tuple]]:
        """Form fields to post, and the answers they must be stored as (question, option, item, scale point, text)."""
        fields: list[tuple[str, str]] = []
        expected: set[tuple] = set()
        for question in self.questions:
            code, kind = question["code"], question["type"]
            answer_it = question.get("required") or rng.random() < 0.85
            if kind == "single":
                if answer_it:
                    option = rng.choice(question["options"])["code"]
                    fields.append((code, option))
                    expected.add((code, option, None, None, None))
            elif kind == "multi":
                if answer_it:
                    options = question["options"]
                    exclusive = [option["code"] for option in options if option.get("exclusive")]
                    if exclusive and rng.random() < 0.1:
                        chosen = [rng.choice(exclusive)]
                    else:
                        plain = [option["code"] for option in options if not option.get("exclusive")]
                        most = min(question.get("max_choices") or len(plain), len(plain))
                        chosen = rng.sample(plain, rng.randint(1, most))
                    for option in chosen:
                        fields.append((code, option))
                        expected.add((code, option, None, None, None))
            elif kind == "matrix":
                for item in question["items"]:
                    if question.get("required") or rng.random() < 0.9:
                        point = rng.choice(question["scale"])["code"]
                        fields.append((f"{code}/{item['code']}", point))
                        expected.add((code, None, item["code"], point, None))
            elif kind == "text":
                if rng.random() < 0.3:
                    text = unicodedata.normalize("NFC", rng.choice(COMMENTS))
                    fields.append((code, text))
                    expected.add((code, None, None, None, text))
        return fields, frozenset(expected)


# ---------------------------------------------------------------- client


@dataclass
class Results:
    started: float = 0.0
    elapsed: float = 0.0
    done: int = 0
    latencies: list[float] = field(default_factory=list)  # the submitting POST (or the bare POST)
    journeys: list[float] = field(default_factory=list)  # GET form + POST (+ GET thanks with --follow-thanks)
    errors: Counter = field(default_factory=Counter)
    sent: dict[str, frozenset] = field(default_factory=dict)  # submission id -> expected answers, for 303s
    failed_ids: set[str] = field(default_factory=set)  # submission ids whose POST did not succeed
    lock: threading.Lock = field(default_factory=threading.Lock)


def _request(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, response, data
    finally:
        connection.close()


def _cookies(response) -> str:
    pairs = [value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie"]
    return "; ".join(pairs)


def resident_address(number: int) -> str:
    """A distinct documentation-range address per resident (RFC 3849): never a real host."""
    return f"2001:db8::{number >> 16:x}:{number & 0xFFFF:x}"


def survey_journey(
    port: int, questionnaire: Questionnaire, number: int, rng: random.Random, results: Results, *, follow_thanks: bool
) -> None:
    headers = {"X-Forwarded-For": resident_address(number), "Accept-Language": rng.choice(questionnaire.languages)}
    began = time.perf_counter()
    status, response, body = _request(port, "GET", f"/s/{questionnaire.slug}", headers)
    if status != 200:
        raise _Failure(f"form GET {status}")
    tokens = dict(_TOKENS.findall(body.decode("utf-8")))
    if set(tokens) != {"csrf_token", "submission_id", "started"}:
        raise _Failure("form without tokens")
    fields, expected = questionnaire.random_answers(rng)
    form = urlencode([*tokens.items(), ("website", ""), *fields]).encode()
    post_headers = {
        **headers,
        "Cookie": _cookies(response),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    uid = tokens["submission_id"]
    posted = time.perf_counter()
    try:
        status, response, _ = _request(port, "POST", f"/s/{questionnaire.slug}", post_headers, form)
    except Exception:
        with results.lock:
            results.failed_ids.add(uid)
        raise
    answered = time.perf_counter()
    if status != 303:
        with results.lock:
            results.failed_ids.add(uid)
        raise _Failure(f"POST {status}")
    with results.lock:
        results.sent[uid] = expected
    location = response.getheader("Location", "")
    if "/thanks" not in location:
        raise _Failure(f"redirected to {location!r}, not the thank-you page")
    if follow_thanks:
        status, _, body = _request(port, "GET", location, {**headers, "Cookie": post_headers["Cookie"]})
        if status != 200:
            raise _Failure(f"thanks GET {status}")
    ended = time.perf_counter()
    with results.lock:
        results.latencies.append(answered - posted)
        results.journeys.append(ended - began)


def bare_insert(port: int, number: int, rng: random.Random, results: Results) -> None:
    body = urlencode({"uid": f"{number}-{secrets.token_hex(8)}", "value": rng.choice(COMMENTS)}).encode()
    headers = {"X-Forwarded-For": resident_address(number), "Content-Type": "application/x-www-form-urlencoded"}
    began = time.perf_counter()
    status, _, _ = _request(port, "POST", "/bare", headers, body)
    ended = time.perf_counter()
    if status != 204:
        raise _Failure(f"POST {status}")
    with results.lock:
        results.latencies.append(ended - began)
        results.journeys.append(ended - began)


class _Failure(Exception):
    pass


def drive(total: int, concurrency: int, one, seed: int) -> Results:
    """Run ``total`` calls of ``one(number, rng, results)`` on ``concurrency`` threads."""
    results = Results()
    counter = iter(range(total))
    counter_lock = threading.Lock()
    deadline = time.monotonic() + RUN_DEADLINE

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        while time.monotonic() < deadline:
            with counter_lock:
                number = next(counter, None)
            if number is None:
                return
            try:
                one(number, rng, results)
            except _Failure as failure:
                with results.lock:
                    results.errors[str(failure)] += 1
            except (OSError, http.client.HTTPException) as error:
                with results.lock:
                    results.errors[type(error).__name__] += 1
            with results.lock:
                results.done += 1

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(concurrency)]
    results.started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.elapsed = time.perf_counter() - results.started
    return results


# ---------------------------------------------------------------- servers and databases


def run_flask(args: list[str], env: dict) -> None:
    result = subprocess.run([*FLASK, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


class Server:
    """gunicorn on a socket this process opened on a free loopback port (no race for the port)."""

    def __init__(self, app: str, env: dict, workers: int, pythonpath: str | None = None):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind((HOST, 0))
        self.socket.listen(2048)
        self.port = self.socket.getsockname()[1]
        self.workers = workers
        fd = self.socket.fileno()
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"fd://{fd}", "--backlog", "2048",
                   "--timeout", "60", "--log-level", "warning"]
        if pythonpath:
            command += ["--pythonpath", pythonpath]
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen([*command, app], cwd=REPO, env=env, pass_fds=[fd], stdout=self.log, stderr=subprocess.STDOUT)

    def wait_until_answering(self, path: str, method: str = "GET", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _, _ = _request(self.port, method, path, {})
                if status < 500:
                    self.wait_until_booted()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer {path} within {timeout} s:\n{self.output()}")

    def wait_until_booted(self, timeout: float = 30) -> None:
        """Wait until every worker has loaded the app: the first answer comes from one worker while
        the others may still be importing it, work that would otherwise be counted in the run."""
        try:
            deadline = time.monotonic() + timeout
            used = sum(map(cpu_seconds, process_tree(self.process.pid)))
            while time.monotonic() < deadline:
                time.sleep(0.5)
                tree = process_tree(self.process.pid)
                now = sum(map(cpu_seconds, tree))
                if len(tree) > self.workers and now - used < 0.05:  # all workers forked, all idle
                    return
                used = now
        except OSError:  # no /proc (not Linux): give the workers time instead
            time.sleep(5)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.socket.close()


def postgres_database(server_url: str, create: bool) -> str:
    server = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_PG_DATABASE} WITH (FORCE)"))
        if create:
            connection.execute(sa.text(f"CREATE DATABASE {BENCH_PG_DATABASE}"))
    server.dispose()
    return sa.make_url(server_url).set(database=BENCH_PG_DATABASE).render_as_string(hide_password=False)


def stored_responses(url: str, slug: str) -> tuple[int, Counter, dict[str, frozenset]]:
    """Number of responses to the survey, how often each submission id is stored, and each one's answers."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        survey_id = connection.execute(sa.text("SELECT id FROM surveys WHERE slug = :slug"), {"slug": slug}).scalar_one()
        uids = Counter(uid for (uid,) in connection.execute(sa.text("SELECT uid FROM responses WHERE survey_id = :s"), {"s": survey_id}))
        answers: dict[str, set] = {uid: set() for uid in uids}
        rows = connection.execute(
            sa.text(
                "SELECT r.uid, q.code, o.code, i.code, p.code, a.text FROM answers a"
                " JOIN responses r ON r.id = a.response_id JOIN questions q ON q.id = a.question_id"
                " LEFT JOIN options o ON o.id = a.option_id LEFT JOIN matrix_items i ON i.id = a.item_id"
                " LEFT JOIN scale_points p ON p.id = a.scale_point_id WHERE a.survey_id = :s"
            ),
            {"s": survey_id},
        )
        for uid, *answer in rows:
            answers[uid].add(tuple(answer))
    engine.dispose()
    return sum(uids.values()), uids, {uid: frozenset(found) for uid, found in answers.items()}


def bare_count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM bare_rows")).scalar_one()
    engine.dispose()
    return count


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def describe(results: Results) -> str:
    lat = results.latencies
    return (
        f"p50 {percentile(lat, 0.50):.0f} ms, p95 {percentile(lat, 0.95):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms; "
        f"errors {sum(results.errors.values())}" + (f" ({dict(results.errors)})" if results.errors else "")
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used, with that of its children that have ended
    (PostgreSQL's postmaster collects its closed connections'), from Linux's /proc; 0 if it has ended."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:  # the name may be anything
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return sum(int(ticks) for ticks in fields[11:15]) / _TICKS  # utime, stime, cutime, cstime


def process_tree(pid: int) -> list[int]:
    """A process and its children (gunicorn's master and its workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()
    return [pid, *(int(child) for child in children)]


def processes_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text(encoding="utf-8", errors="replace").strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU seconds spent during a run by this client, the gunicorn server (master and workers) and
    PostgreSQL (every process named postgres on the machine): where a submission's cost goes,
    since all three share the cores."""

    def __init__(self, server: Server, postgres: bool):
        self.server_pid, self.postgres = server.process.pid, postgres

    def __enter__(self) -> CpuMeter:
        self.before = self._sample()
        return self

    def __exit__(self, *_exc) -> None:
        self.after = self._sample()

    def per_item(self, items: int) -> str:
        """Milliseconds of CPU per item, by part, or "" where /proc cannot tell (not Linux)."""
        if not items or self.before is None or self.after is None:
            return ""
        parts = {
            part: sum(seconds - self.before[part].get(pid, 0.0) for pid, seconds in after.items()) * 1000 / items
            for part, after in self.after.items()
        }
        shown = ", ".join(f"{part} {ms:.2f}" for part, ms in parts.items())
        return f"CPU ms per item: {shown}; total {sum(parts.values()):.2f}"

    def _sample(self) -> dict[str, dict[int, float]] | None:
        """CPU seconds by part and process: a process that starts during the run counts from 0, one
        that ends is counted by its parent (gunicorn's master, PostgreSQL's postmaster)."""
        try:
            sample = {"client": {0: time.process_time()}, "server": {pid: cpu_seconds(pid) for pid in process_tree(self.server_pid)}}
            if self.postgres:
                sample["PostgreSQL"] = {pid: cpu_seconds(pid) for pid in processes_named("postgres")}
            return sample
        except OSError:
            return None


# ---------------------------------------------------------------- one backend


def bench_backend(backend: str, args: argparse.Namespace, questionnaire: Questionnaire) -> dict:
    with tempfile.TemporaryDirectory(prefix="safer-voices-load-") as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'load.sqlite'}"
        else:
            url = postgres_database(args.postgres_url, create=True)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "PYTHONPATH": str(REPO),
            # The survey's bot defences must not drop a simulated resident who answers instantly,
            # and each resident is a different person behind one trusted proxy.
            "MIN_FILL_SECONDS": "0",
            "PROXY_FIX_X_FOR": "1",
            "SESSION_COOKIE_SECURE": "0",
            "RATELIMIT_STORAGE_URI": args.ratelimit_storage,
        }
        try:
            run_flask(["db", "upgrade"], env)
            run_flask(["survey", "load", "--open", str(DEMO)], env)
            name = "SQLite" if backend == "sqlite" else "PostgreSQL"
            print(
                f"{name}: {args.workers} gunicorn workers, {args.concurrency} concurrent residents, {args.submissions:,} submissions; "
                f"rate limits counted in {args.ratelimit_storage}"
            )

            server = Server("app:create_app()", env, args.workers)
            try:
                server.wait_until_answering(f"/s/{questionnaire.slug}")
                with CpuMeter(server, postgres=backend == "postgres") as survey_cpu:
                    survey = drive(
                        args.submissions,
                        args.concurrency,
                        lambda n, rng, r: survey_journey(server.port, questionnaire, n, rng, r, follow_thanks=args.follow_thanks),
                        seed=1,
                    )
            finally:
                server.stop()
            rate = len(survey.latencies) / survey.elapsed
            journey = "form, POST, thanks" if args.follow_thanks else "form, POST"
            print(
                f"  survey: {len(survey.latencies):,} submissions in {survey.elapsed:.1f} s = {rate:.1f} submissions/s; "
                f"POST {describe(survey)}; whole journey ({journey}) p50 {percentile(survey.journeys, 0.5):.0f} ms, "
                f"p95 {percentile(survey.journeys, 0.95):.0f} ms"
            )
            if survey_cpu.per_item(len(survey.latencies)):
                print(f"  survey {survey_cpu.per_item(len(survey.latencies))}")
            reconcile(url, questionnaire.slug, survey)

            engine = sa.create_engine(url)
            from bare_app import metadata  # noqa: PLC0415  (benchmarks/ is on sys.path when run as a script)

            metadata.create_all(engine)
            engine.dispose()
            bare_server = Server("bare_app:create_app()", env, args.workers, pythonpath=str(REPO / "benchmarks"))
            try:
                bare_server.wait_until_answering("/bare", method="GET")
                with CpuMeter(bare_server, postgres=backend == "postgres") as bare_cpu:
                    bare = drive(args.submissions, args.concurrency, lambda n, rng, r: bare_insert(bare_server.port, n, rng, r), seed=2)
            finally:
                bare_server.stop()
            bare_rate = len(bare.latencies) / bare.elapsed
            stored = bare_count(url)
            print(f"  bare insert: {len(bare.latencies):,} inserts in {bare.elapsed:.1f} s = {bare_rate:.1f} inserts/s; POST {describe(bare)}; stored {stored:,}")
            if bare_cpu.per_item(len(bare.latencies)):
                print(f"  bare {bare_cpu.per_item(len(bare.latencies))}")
            ratio = rate / bare_rate if bare_rate else float("nan")
            requests = 3 if args.follow_thanks else 2
            print(f"  ratio: survey submissions/s = {ratio:.2f} x bare inserts/s"
                  f" (for information: each submission is {requests} requests, so per HTTP request {requests * ratio:.2f} x)")
            return {"rate": rate, "p95": percentile(survey.latencies, 0.95), "ratio": ratio}
        finally:
            if backend == "postgres":
                postgres_database(args.postgres_url, create=False)


def reconcile(url: str, slug: str, results: Results) -> None:
    total, stored_ids, stored = stored_responses(url, slug)
    sent = results.sent
    lost = [uid for uid in sent if uid not in stored_ids]
    duplicated = [uid for uid, count in stored_ids.items() if count > 1]
    # Stored but not acknowledged: only a POST that failed may be there (its commit may have won the race).
    unexpected = [uid for uid in stored_ids if uid not in sent and uid not in results.failed_ids]
    stored_after_failure = [uid for uid in stored_ids if uid in results.failed_ids]
    wrong = [uid for uid in sent if uid in stored and stored[uid] != sent[uid]]
    print(
        f"  reconciliation: sent {len(sent):,}, stored {total:,}, lost {len(lost)}, duplicated {len(duplicated)}, "
        f"unexpected {len(unexpected)}, wrong answers {len(wrong)}"
        + (f", stored although the POST failed {len(stored_after_failure)}" if stored_after_failure else "")
    )


def local_redis() -> str | None:
    """A database of the local Redis (the production setting for rate limits, docs/deploy.md), if one answers."""
    try:
        socket.create_connection((HOST, 6379), timeout=1).close()
    except OSError:
        return None
    return f"redis://{HOST}:6379/15"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default=None, help="default: both (sqlite with --quick)")
    parser.add_argument("--submissions", type=int, default=None, help="submissions per run (default 3,000; 200 with --quick)")
    parser.add_argument("--concurrency", type=int, default=None, help="residents at a time (default 50; 10 with --quick)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2 per core + 1; 3 with --quick)")
    parser.add_argument("--postgres-url", default=(os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG),
                        help="a database on the PostgreSQL server to use; the benchmark creates and drops its own `loadbench` there")
    parser.add_argument("--quick", action="store_true", help="a short run on SQLite, for the test suite")
    parser.add_argument("--ratelimit-storage", default=None,
                        help="RATELIMIT_STORAGE_URI for the server (default: the local Redis if it answers, as in production, else memory://)")
    parser.add_argument("--follow-thanks", action="store_true",
                        help="also GET the thank-you page each POST redirects to (the issue's journey is the form's GET and its POST)")
    args = parser.parse_args()
    args.backend = args.backend or ("sqlite" if args.quick else "both")
    args.submissions = args.submissions or (200 if args.quick else 3000)
    args.concurrency = args.concurrency or (10 if args.quick else 50)
    args.workers = args.workers or (3 if args.quick else 2 * (os.cpu_count() or 1) + 1)
    args.ratelimit_storage = args.ratelimit_storage or local_redis() or "memory://"
    sys.path.insert(0, str(REPO / "benchmarks"))

    questionnaire = Questionnaire(DEMO)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    figures = {backend: bench_backend(backend, args, questionnaire) for backend in backends}
    if "postgres" in figures and not args.quick:
        pg = figures["postgres"]
        meets = pg["rate"] >= 200 and pg["p95"] < 250 and pg["ratio"] >= 0.5
        print(
            f"PostgreSQL targets (>= 200 submissions/s, POST p95 < 250 ms, >= 0.5 x bare): "
            f"{pg['rate']:.0f}/s, {pg['p95']:.0f} ms, {pg['ratio']:.2f} x -> {'meets' if meets else 'MISSES'}"
        )


if __name__ == "__main__":
    main()
