"""Two-part arrays read in place, and quantiles of a sorted array with values removed and added
(engine.joined): the same values as the joined array and as ``np.quantile``, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from maillage.engine.joined import Joined, merged_quantile
from maillage.engine.need_tables import LARGE_QUANTILE, size_lift, size_top


def test_take_and_indexing_read_the_joined_values():
    rng = np.random.default_rng(1)
    head, tail = rng.normal(size=50), rng.normal(size=7)
    joined, full = Joined(head, tail), np.concatenate((head, tail))
    idx = rng.integers(0, 57, size=(6, 9))
    assert np.array_equal(joined.take(idx), full.take(idx))
    assert np.array_equal(joined[idx], full[idx])
    assert joined[3] == full[3] and joined[-1] == full[-1] and joined[55] == full[55]
    out = np.empty((6, 9))
    joined.take(idx + 10, out=out, mode="clip")
    assert np.array_equal(out, full.take(idx + 10, mode="clip"))
    assert np.array_equal(np.asarray(joined), full)
    assert np.array_equal(joined[:-1], full[:-1])
    assert np.array_equal(np.where(full > 0, joined, np.inf), np.where(full > 0, full, np.inf))
    assert len(joined) == 57 and np.asarray(joined) is np.asarray(joined)  # joined once
    with pytest.raises(IndexError):
        joined.take(np.array([57]))


def test_a_part_may_be_empty_and_dtypes_are_the_heads():
    head = np.arange(5, dtype=np.int32)
    assert np.array_equal(Joined(head, np.array([], dtype=np.int64)).take([0, 4]), [0, 4])
    only_tail = Joined(np.array([], dtype=np.int32), np.array([7, 8]))
    assert only_tail.take(np.array([1, 0])).tolist() == [8, 7]
    assert Joined(head, np.array([9])).take(np.array([5])).dtype == np.int32


def test_a_transformed_head_reads_as_computed_now():
    rng = np.random.default_rng(2)
    log_q = np.where(rng.random(40) < 0.2, np.nan, rng.normal(3, 2, 40))
    tail = np.array([0.5, 0.0])
    lift = Joined(log_q, tail, lambda q: size_lift(q, 4.2, 80.0))
    full = np.concatenate((size_lift(log_q, 4.2, 80.0), tail))
    idx = rng.integers(0, 42, 30)
    assert np.array_equal(lift.take(idx), full[idx])
    assert np.array_equal(np.asarray(lift), full)


@pytest.mark.parametrize("seed", range(40))
def test_merged_quantile_is_np_quantile_of_the_merged_values(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([0, 1, 2, 3, 10, 101, 1000, 5000]))
    # repeated values (rounded) as quantities often are
    base = np.round(rng.normal(2, 3, n), int(rng.integers(0, 3)))
    removed = rng.choice(base, size=min(n, int(rng.integers(0, 30))), replace=False)
    added = np.round(rng.normal(2, 5, int(rng.integers(0, 30))), 1)
    values = np.concatenate((base, added))
    for v in removed:  # one copy each
        values = np.delete(values, np.flatnonzero(values == v)[0])
    got = merged_quantile(np.sort(base), removed, added, LARGE_QUANTILE)
    if len(values) == 0:
        assert got is None
    else:
        assert got == float(np.quantile(values, LARGE_QUANTILE))
        assert got == size_top(values)
        for q in (0.0, 0.5, 0.9, 0.999, 1.0):
            assert merged_quantile(np.sort(base), removed, added, q) == np.quantile(values, q)
