"""The statistics analysts expect: Wilson score intervals and the pooled two-proportion z-test."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054


def wilson_interval(count: int, base: int, z: float = Z_95) -> tuple[float, float] | None:
    """95% Wilson score interval for count/base as proportions; None when the base is 0.

    Wilson rather than the normal approximation because it stays inside 0–1 and
    behaves for small counts (0 of 20 → 0 to 16.1%).
    """
    if base <= 0:
        return None
    p = count / base
    z2 = z * z
    centre = (p + z2 / (2 * base)) / (1 + z2 / base)
    half = z * math.sqrt(p * (1 - p) / base + z2 / (4 * base * base)) / (1 + z2 / base)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z_test(count1: int, base1: int, count2: int, base2: int) -> tuple[float, float] | None:
    """Pooled z (wave 2 minus wave 1) and its two-sided p-value; None when it cannot be computed."""
    if base1 <= 0 or base2 <= 0:
        return None
    pooled = (count1 + count2) / (base1 + base2)
    if pooled <= 0 or pooled >= 1:
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / base1 + 1 / base2))
    z = (count2 / base2 - count1 / base1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))
