"""The pairs a substitution query returns and how a candidate (offer, need) pair is scored.

A pair scores in [0, 1] from distance, quantity balance and class match (``score_pairs``); the
forward query (``substitution``) and the reverse one (``reverse_match``) share this score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maillage.engine.taxonomy import SUBSTITUTE_STRENGTH

WEIGHT_DISTANCE = 0.4
WEIGHT_QUANTITY = 0.6
UNKNOWN_QUANTITY_TERM = 0.5
QUANTITY_DECADES = 3.0
INFERRED_NEED_FACTOR = 0.6
# A waste operator (taxonomy.WASTE_OPERATOR_NAF) as a receiver weighs like a substitution.
INTERMEDIARY_STRENGTH = SUBSTITUTE_STRENGTH


@dataclass(frozen=True)
class Pairs:
    """Matched (offer, need) pairs, by row position in the Flows table, best first per offer."""

    offer: np.ndarray
    need: np.ndarray
    distance_km: np.ndarray
    coverage: np.ndarray  # share of the need covered by the offer, NaN if unknown
    class_strength: np.ndarray  # 1.0 same class, < 1 substitute class
    score: np.ndarray
    # int8: the recovery operation (position in routes.OPERATION_CODES) of a pair found by the
    # offer's recovery route (its waste code, the receiver's activity), NO_OPERATION for a pair
    # found by class (same class or a class substitution)
    operation: np.ndarray

    def __len__(self) -> int:
        return len(self.offer)


def empty_pairs() -> Pairs:
    i, f = np.empty(0, np.int32), np.empty(0, np.float32)
    return Pairs(i, i, f, f, f, f, np.empty(0, np.int8))


def coverage(offer_quantity: np.ndarray, need_quantity) -> np.ndarray:
    """The share of each need covered by its offer, at most 1; NaN where a quantity is unknown
    or the need is zero."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(need_quantity > 0, np.minimum(offer_quantity / need_quantity, 1.0), np.nan)


def score_pairs(distance_km, radius_km, log_q_offer, log_q_need, strength, out=None):
    """Score in [0, 1]: closer, larger exchanges and a same-class match score higher.

    Quantities come as ``log1p(quantity)`` (NaN when unknown). The quantity term is the share of
    the offer the need can absorb, on a log scale over ``QUANTITY_DECADES`` decades: a need that
    takes all of the offer scores 1, one that takes a tenth 1 - 1/decades, and one that takes
    less than 10^-decades of it 0, whatever the size of the offer (a 240 t need for a 15,000 t
    offer is as poor a fit as a 16 kg need for a 1 t offer).
    Works element-wise on broadcastable arrays, in place (in ``out`` if given), because it runs
    on every candidate.
    """
    # log1p is increasing, so log1p(min(a, b)) == min(log1p(a), log1p(b)): one logarithm per flow,
    # computed once (Index.log_quantity), none per pair.
    absorbed = np.minimum(log_q_offer, log_q_need, out=out)
    absorbed -= log_q_offer
    absorbed *= 1.0 / (QUANTITY_DECADES * np.log(10.0))
    absorbed += 1.0
    # NaN: a quantity is unknown; an offer of zero says nothing either
    unknown = np.isnan(absorbed)
    zero = np.equal(log_q_offer, 0)
    if zero.any():
        unknown |= zero
    np.copyto(absorbed, UNKNOWN_QUANTITY_TERM, where=unknown)
    np.clip(absorbed, 0.0, 1.0, out=absorbed)
    absorbed *= WEIGHT_QUANTITY
    # Quadratic decay: within the class's useful distance, a few km more matter little near the
    # source and more towards the limit.
    distance_term = np.asarray(distance_km, dtype=np.float64) / radius_km
    np.square(distance_term, out=distance_term)
    distance_term *= -WEIGHT_DISTANCE
    distance_term += WEIGHT_DISTANCE
    np.maximum(distance_term, 0.0, out=distance_term)
    absorbed += distance_term
    absorbed *= strength
    return np.clip(absorbed, 0.0, 1.0, out=absorbed)


def top_k_per_group(group: np.ndarray, score: np.ndarray, tiebreak: np.ndarray, k: int):
    """Row positions of the ``k`` best scores within each group (ties broken by ``tiebreak``)."""
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((tiebreak, -score, group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    return order[rank < k]
