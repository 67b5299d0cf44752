"""The analysis layer's own error: a request that cannot be answered, said in plain words."""


class AnalysisError(Exception):
    """E.g. "question 'x' is not in wave 2021"."""
