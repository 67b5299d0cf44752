"""Pure analysis of survey aggregates: rankings, comparisons between waves, report formats."""
