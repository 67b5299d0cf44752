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
