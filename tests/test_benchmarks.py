"""The benchmark scripts still run and print their figures (the figures themselves are not judged here)."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import REPO


def test_analysis_benchmark_prints_its_figures():
    result = subprocess.run(
        [sys.executable, "benchmarks/analysis.py", "--rows", "300"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert re.search(r"import 2021: 300 rows in [\d.]+ s = [\d,]+ rows/s, peak \d+ MB", output)
    assert re.search(r"import 2023: 300 rows", output)
    assert re.search(r"compare priorities: [\d.]+ s wall .* bare GROUP BY [\d.]+ s, ratio [\d.]+, peak \d+ MB", output)
    assert re.search(r"compare concerns: ", output)
    assert re.search(r"compare priorities by town: ", output)


def test_load_benchmark_loses_nothing():
    """A short run of the load benchmark on SQLite: every submission acknowledged is stored exactly once, with its answers."""
    result = subprocess.run(
        [sys.executable, "benchmarks/load.py", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert re.search(r"survey: 200 submissions in [\d.]+ s = [\d.]+ submissions/s; POST p50 \d+ ms, p95 \d+ ms, p99 \d+ ms; errors 0", output), output
    assert re.search(r"reconciliation: sent 200, stored 200, lost 0, duplicated 0, unexpected 0, wrong answers 0$", output, re.M), output
    assert re.search(r"bare insert: 200 inserts in .*errors 0; stored 200$", output, re.M), output
    assert re.search(r"ratio: survey submissions/s = [\d.]+ x bare inserts/s", output), output
