"""The statistical-secrecy rule shared by every public figure."""

import pytest

from maillage.engine import secrecy


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ([10, 10, 10, 10], False),  # four contributors: frequency rule
        ([10, 10, 10, 10, 10], True),
        ([86, 3.5, 3.5, 3.5, 3.5], False),  # the largest makes 86 %
        ([84, 4, 4, 4, 4], True),  # 84 %, and the two largest 88 %
        ([60, 31, 3, 3, 3], False),  # two largest 91 %
        ([60, 29, 4, 4, 3], True),  # two largest 89 %
        ([0, 0, 0, 0, 0], True),
    ],
)
def test_frequency_and_dominance_rules(values, ok):
    assert secrecy.is_publishable(values) is ok
    assert secrecy.public_value(values) == (pytest.approx(sum(values)) if ok else None)


def test_counts_and_thresholds():
    assert secrecy.public_count(4) is None
    assert secrecy.public_count(5) == 5
    assert secrecy.public_value([1, 1, 1], 3, min_group=3) == 3
