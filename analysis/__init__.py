"""Pure analysis of survey aggregates: rankings, comparisons between waves, report formats.

Loading from the database lives in :mod:`analysis.loading` and is not re-exported,
so importing this package never pulls in the models. The names below load on first
use, so a web worker that only needs :mod:`analysis.spreadsheet` never imports pandas.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Comparison": "compare",
    "WaveCounts": "compare",
    "WaveTable": "compare",
    "compare_waves": "compare",
    "comparison_to_dict": "compare",
    "rank_wave": "compare",
    "suppress_small_cells": "compare",
    "AnalysisError": "errors",
    "neutralise_formula": "spreadsheet",
    "two_proportion_z_test": "stats",
    "wilson_interval": "stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
