"""Benchmark: import two waves of a realistic series, then time the comparison against a bare GROUP BY.

    .venv/bin/python benchmarks/analysis.py                 # SQLite, 1,000,000 respondents per wave
    .venv/bin/python benchmarks/analysis.py --postgres      # PostgreSQL (TEST_DATABASE_URL or the local server)
    .venv/bin/python benchmarks/analysis.py --rows 20000    # a quick run

Each stage runs as its own `flask` process, as an analyst would run it, so the
figures include start-up and the peak memory is that process's own. Targets on
the 2-core reference machine: compare within 1.5x the bare query plus under 1 s
of fixed start-up; peak memory under 300 MB; 1,000,000 rows import in well under
a minute (judged here as at most 30 s).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Its own database per run, so two runs on one server (say, two engineers') do not drop each other's.
BENCH_PG_DATABASE = f"safer_voices_benchmark_{os.getpid()}"

# "Well under a minute" for 1,000,000 rows, read as at most half a minute.
IMPORT_TARGET_SECONDS = 30

TOWNS = ["northfield", "eastbrook", "southgate", "westbury", "central", "outside"]
PRIORITIES = [
    "drug_dealing", "drugs_public", "youth_disorder", "asb", "burglary", "violent_crime", "knife_crime",
    "littering", "nuisance_bikes", "noise", "speeding", "vehicle_crime", "domestic_abuse", "dont_know",
]
CONCERN_ITEMS = ["knife_crime", "asb", "youth_violence", "nuisance_bikes", "public_violence", "drug_dealing", "burglary", "hate_crime"]
SCALE = ["very", "fairly", "not_very", "not_at_all"]
SAFER = ["police_presence", "cctv", "maintained_streets", "street_lighting", "youth_activities", "community_events", "reporting"]
SAFE = ["very_safe", "fairly_safe", "fairly_unsafe", "very_unsafe", "dont_know"]
AGES = ["age_16_24", "age_25_34", "age_35_44", "age_45_54", "age_55_64", "age_65_74", "age_75_over", "prefer_not_to_say"]
SEX = ["female", "male", "prefer_not_to_say"]


def definition(wave: str, priorities_single: bool) -> dict:
    def options(codes, exclusive=()):
        return [{"code": c, "label": c.replace("_", " ").capitalize(), **({"exclusive": True} if c in exclusive else {})} for c in codes]

    priorities = {"code": "priorities", "type": "single" if priorities_single else "multi", "text": "Priorities?", "options": options(PRIORITIES)}
    if not priorities_single:
        priorities["max_choices"] = 5
        priorities["options"][-1]["exclusive"] = True
    return {
        "slug": f"bench-{wave}", "series": "bench", "wave": wave, "title": f"Benchmark {wave}",
        "default_language": "en", "languages": ["en"],
        "questions": [
            {"code": "town", "type": "single", "text": "Town?", "options": options(TOWNS)},
            priorities,
            {"code": "concerns", "type": "matrix", "text": "Concerns?",
             "items": [{"code": c, "label": c} for c in CONCERN_ITEMS],
             "scale": [{"code": s, "label": s, **({"top_box": True} if s in ("very", "fairly") else {})} for s in SCALE]},
            {"code": "feel_safer", "type": "multi", "text": "Safer?", "options": options(SAFER)},
            {"code": "safe_day", "type": "single", "text": "Day?", "options": options(SAFE)},
            {"code": "safe_night", "type": "single", "text": "Night?", "options": options(SAFE)},
            {"code": "age_band", "type": "single", "sensitive": True, "text": "Age?", "options": options(AGES)},
            {"code": "sex", "type": "single", "sensitive": True, "text": "Sex?", "options": options(SEX)},
            {"code": "comments", "type": "text", "text": "Comments?"},
        ],
    }


def write_wave_csv(path: Path, rows: int, priorities_single: bool, seed: int) -> None:
    rng = random.Random(seed)
    header = ["response_id", "town", "priorities", *(f"concerns/{i}" for i in CONCERN_ITEMS),
              "feel_safer", "safe_day", "safe_night", "age_band", "sex", "comments"]
    weights = [rng.random() + 0.2 for _ in PRIORITIES[:-1]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for n in range(rows):
            if priorities_single:
                priorities = rng.choices(PRIORITIES[:-1], weights)[0]
            else:
                priorities = ";".join(sorted(set(rng.choices(PRIORITIES[:-1], weights, k=rng.randint(1, 5)))))
            out.writerow([
                f"r{n}", rng.choice(TOWNS), priorities, *(rng.choice(SCALE) for _ in CONCERN_ITEMS),
                ";".join(rng.sample(SAFER, rng.randint(0, 3))), rng.choice(SAFE), rng.choice(SAFE),
                rng.choice(AGES), rng.choice(SEX), "More street lights please" if rng.random() < 0.05 else "",
            ])


def run(args: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB and output of one `flask` process."""
    started = time.perf_counter()
    process = subprocess.Popen([*FLASK, *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output


def bare_group_by(url: str, question: str) -> float:
    """The same counts as the comparison, as plain SQL on the same database: the floor to beat."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(
            sa.text("SELECT q.id, q.type FROM questions q JOIN surveys s ON s.id = q.survey_id WHERE s.slug LIKE 'bench-%' AND q.code = :code"),
            {"code": question},
        ).all()
        started = time.perf_counter()
        for question_id, kind in ids:
            keys = "choice_key, point_key" if kind == "matrix" else "choice_key"  # option, or (item, scale point)
            connection.execute(sa.text(
                f"SELECT {keys}, count(*) FROM answers WHERE question_id = :q GROUP BY {keys}"
            ), {"q": question_id}).all()
            connection.execute(sa.text("SELECT count(DISTINCT response_id) FROM answers WHERE question_id = :q"), {"q": question_id}).all()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def database_url(postgres: bool, workdir: Path) -> str:
    if not postgres:
        return f"sqlite:///{workdir / 'benchmark.sqlite'}"
    server_url = (os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG)
    server = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_PG_DATABASE} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {BENCH_PG_DATABASE}"))
    server.dispose()
    return sa.make_url(server_url).set(database=BENCH_PG_DATABASE).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="respondents per wave (default 1,000,000)")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL instead of SQLite")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="safer-voices-bench-") as tmp:
        workdir = Path(tmp)
        url = database_url(args.postgres, workdir)
        try:
            benchmark(args, workdir, url)
        finally:
            if args.postgres:
                drop_database()


def benchmark(args: argparse.Namespace, workdir: Path, url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark", "PYTHONPATH": str(REPO)}
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"backend: {backend}; {args.rows:,} respondents per wave, 9 questions (one matrix of 8 items)")
    run(["db", "upgrade"], env)
    for wave, single in (("2021", True), ("2023", False)):
        spec = workdir / f"bench-{wave}.yaml"
        spec.write_text(yaml.safe_dump(definition(wave, single)), encoding="utf-8")
        run(["survey", "load", str(spec)], env)
        data = workdir / f"bench-{wave}.csv"
        write_wave_csv(data, args.rows, single, seed=int(wave))
        os.sync()  # each stage starts with nothing left to write from the one before
        seconds, peak, _ = run(["responses", "import", f"bench-{wave}", str(data)], env)
        verdict = ""
        if args.rows >= 1_000_000:  # smaller runs are mostly start-up: no verdict
            per_million = seconds * 1_000_000 / args.rows
            verdict = f" -> {'meets' if per_million <= IMPORT_TARGET_SECONDS else 'MISSES'} target (1,000,000 rows in <= {IMPORT_TARGET_SECONDS} s)"
        print(f"import {wave}: {args.rows:,} rows in {seconds:.1f} s = {args.rows / seconds:,.0f} rows/s, peak {peak:.0f} MB{verdict}")
        data.unlink()
    if args.postgres:
        with sa.create_engine(url).connect() as connection:
            connection.execute(sa.text("ANALYZE"))
    os.sync()  # the imports leave gigabytes to write out: time the queries once that is done

    startup, startup_peak = min((seconds, peak) for seconds, peak, _ in (run(["analysis", "--help"], env) for _ in range(2)))
    print(f"start-up (flask process, app created): {startup:.2f} s, peak {startup_peak:.0f} MB")
    for question in ("priorities", "concerns"):
        # Each side measured the same way, the faster of two runs: this machine's speed swings by a third.
        bare = min(bare_group_by(url, question) for _ in range(2))
        runs = [run(["analysis", "compare", "--series", "bench", "--question", question, "--format", "json", "-o", str(workdir / "out.json")], env)
                for _ in range(2)]
        seconds, peak = min(seconds for seconds, _, _ in runs), max(peak for _, peak, _ in runs)
        work = max(seconds - startup, 0.0)  # a tiny series can compare faster than a start-up at a slow moment
        verdict = "meets" if seconds <= 1.5 * bare + 1.0 and peak < 300 else "MISSES"
        print(
            f"compare {question}: {seconds:.2f} s wall ({work:.2f} s after start-up), bare GROUP BY {bare:.2f} s, "
            f"ratio {work / bare if bare else float('nan'):.2f}, peak {peak:.0f} MB -> {verdict} target "
            f"(<= 1.5 x bare + 1 s, < 300 MB)"
        )
    seconds, peak, _ = run(["analysis", "compare", "--series", "bench", "--question", "priorities", "--by", "town", "--format", "csv", "-o", str(workdir / "by.csv")], env)
    print(f"compare priorities by town: {seconds:.2f} s wall, peak {peak:.0f} MB")


def drop_database() -> None:
    server = sa.create_engine((os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_PG_DATABASE} WITH (FORCE)"))
    server.dispose()


if __name__ == "__main__":
    main()
