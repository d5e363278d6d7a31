"""Re-ranking by outcomes: implemented pairs up, technically impossible pairs down, nothing below
the minimum counts."""

import numpy as np

from maillage.engine.feedback import Outcomes, pair_key, rerank


def table(rows):
    """rows: (key, implemented, impl_producers, impl_receivers, impossible, imp_p, imp_r)"""
    cols = list(zip(*rows, strict=True))
    return Outcomes(
        keys=np.array(cols[0]),
        implemented=np.array(cols[1]),
        implemented_producers=np.array(cols[2]),
        implemented_receivers=np.array(cols[3]),
        impossible=np.array(cols[4]),
        impossible_producers=np.array(cols[5]),
        impossible_receivers=np.array(cols[6]),
    )


def test_pair_key_digits_and_unknowns():
    assert pair_key("17 04 05", "24.10") == "170405|24.10"
    assert pair_key("170405*", "24.10") == "170405|24.10"
    assert pair_key(None, "24.10") == ""
    assert pair_key("170405", "") == ""


def test_implemented_pair_ranks_higher_and_can_overtake():
    outcomes = table([("170405|24.10", 4, 3, 2, 0, 0, 0)])
    keys = np.array(["170405|24.10", "170405|38.32"])
    out = rerank(keys, np.array([0.50, 0.55]), outcomes)
    assert out.score[0] > 0.55 > 0.50  # overtakes the other receiver
    assert out.score[1] == 0.55
    assert list(out.implemented) == [4, 0]


def test_technically_impossible_pair_ranks_lower():
    outcomes = table([("100101|23.51", 0, 0, 0, 3, 2, 2)])
    out = rerank(np.array(["100101|23.51", "100101|23.52"]), np.array([0.8, 0.6]), outcomes)
    assert out.score[0] < 0.6
    assert list(out.impossible) == [3, 0]


def test_minimum_suggestion_count():
    # two implemented suggestions are not enough, three are
    keys, scores = np.array(["170405|24.10"]), np.array([0.5])
    below = rerank(keys, scores, table([("170405|24.10", 2, 2, 2, 0, 0, 0)]))
    assert below.score[0] == 0.5 and below.implemented[0] == 0
    at = rerank(keys, scores, table([("170405|24.10", 3, 2, 2, 0, 0, 0)]))
    assert at.score[0] > 0.5


def test_minimum_establishments_on_each_side():
    # three suggestions all to one receiving company: one company's story, not a pattern
    keys, scores = np.array(["170405|24.10"]), np.array([0.5])
    one_receiver = rerank(keys, scores, table([("170405|24.10", 5, 3, 1, 0, 0, 0)]))
    assert one_receiver.score[0] == 0.5
    one_producer = rerank(keys, scores, table([("170405|24.10", 5, 1, 3, 0, 0, 0)]))
    assert one_producer.score[0] == 0.5
    impossible_one = rerank(keys, scores, table([("170405|24.10", 0, 0, 0, 4, 1, 4)]))
    assert impossible_one.score[0] == 0.5


def test_scores_stay_in_range_and_empty_keys_unchanged():
    outcomes = table([("170405|24.10", 9, 5, 5, 0, 0, 0), ("x|y", 0, 0, 0, 9, 5, 5)])
    out = rerank(np.array(["170405|24.10", "", "x|y"]), np.array([1.0, 0.3, 0.0]), outcomes)
    assert ((out.score >= 0) & (out.score <= 1)).all()
    assert out.score[1] == 0.3
    empty = rerank(np.array(["a|b"]), np.array([0.4]), Outcomes.empty())
    assert empty.score[0] == 0.4
