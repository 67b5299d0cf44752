"""Pure analysis of survey aggregates: rankings, comparisons between waves, report formats.

Loading from the database lives in :mod:`analysis.loading` and is not re-exported,
so importing this package never pulls in the models.
"""

from .compare import (
    Comparison,
    WaveCounts,
    WaveTable,
    compare_waves,
    comparison_to_dict,
    rank_wave,
    suppress_small_cells,
)
from .errors import AnalysisError
from .spreadsheet import neutralise_formula
from .stats import two_proportion_z_test, wilson_interval

__all__ = [
    "AnalysisError",
    "Comparison",
    "WaveCounts",
    "WaveTable",
    "compare_waves",
    "comparison_to_dict",
    "neutralise_formula",
    "rank_wave",
    "suppress_small_cells",
    "two_proportion_z_test",
    "wilson_interval",
]
