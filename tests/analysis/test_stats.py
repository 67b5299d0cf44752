"""The statistics against published values (docs/domain.md), and their refusals."""

from __future__ import annotations

import pytest

from analysis.stats import two_proportion_z_test, wilson_interval


@pytest.mark.parametrize(
    "count, base, expected",
    [
        (37, 100, (0.2818, 0.4678)),  # the check in docs/domain.md: 28.2% to 46.8%
        (0, 20, (0.0, 0.1611)),  # stays inside 0–1 where the normal approximation would not
        (20, 20, (0.8389, 1.0)),
        (107, 1000, (0.0893, 0.1277)),
    ],
)
def test_wilson_interval_matches_known_values(count, base, expected):
    low, high = wilson_interval(count, base)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_interval_is_none_without_a_base():
    assert wilson_interval(0, 0) is None


def test_wilson_interval_takes_another_z():
    low, high = wilson_interval(37, 100, z=1.6448536269514722)  # 90%
    assert (round(low, 4), round(high, 4)) == (0.295, 0.4519)


def test_z_test_matches_the_textbook_example():
    z, p = two_proportion_z_test(370, 1000, 320, 1000)
    assert (round(z, 4), round(p, 4)) == (-2.3519, 0.0187)  # a fall, so z is negative


def test_z_test_is_positive_when_the_share_rose():
    z, p = two_proportion_z_test(320, 1000, 370, 1000)
    assert (round(z, 4), round(p, 4)) == (2.3519, 0.0187)


@pytest.mark.parametrize(
    "count1, base1, count2, base2",
    [(5, 0, 5, 10), (5, 10, 5, 0), (0, 10, 0, 10), (10, 10, 20, 20)],
    ids=["first base 0", "second base 0", "nobody chose it", "everybody chose it"],
)
def test_z_test_refuses_what_it_cannot_compute(count1, base1, count2, base2):
    assert two_proportion_z_test(count1, base1, count2, base2) is None
