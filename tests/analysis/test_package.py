"""The analysis layer stays pure: importing and using it (loader aside) brings in neither Flask, the
database nor pyplot's global state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_analysis_runs_without_flask_sqlalchemy_or_pyplot():
    code = "\n".join([
        "import sys, analysis, analysis.render",
        "from tests.analysis.builders import priorities_2021, priorities_2023",
        "comparison = analysis.compare_waves([priorities_2021(), priorities_2023()], question='priorities')",
        "analysis.render.chart_svg([comparison], 'Priorities')",
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in {'flask', 'sqlalchemy', 'survey'})",
        "assert not loaded, loaded",
        "assert 'matplotlib.pyplot' not in sys.modules",
    ])
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
