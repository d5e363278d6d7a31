"""Substitution synergies: which needs (inputs) each offer (output) can feed.

For every offer, the candidate needs are those of a compatible class (the same class, or one its
class may substitute) within the source class's maximum useful distance; a hazardous offer only goes
to a receiver allowed to treat hazardous waste; heat only flows downhill in temperature. Candidates
are scored in [0, 1] from distance, quantity balance and class match, and the best ``k`` are kept
per offer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine.data_model import Establishments, Flows
from maillage.engine.geo import haversine_km, km_to_chord
from maillage.engine.taxonomy import CompiledTaxonomy

WEIGHT_DISTANCE = 0.5
WEIGHT_QUANTITY = 0.5
UNKNOWN_QUANTITY_TERM = 0.5
# Nearest candidates examined per offer and target class, as a multiple of k: the score is
# dominated by distance, so the best-scored pairs are found among the nearest ones.
CANDIDATE_FACTOR = 1.5
# Offers are processed in chunks so that memory stays bounded at national scale.
CHUNK = 250_000


@dataclass(frozen=True)
class Pairs:
    """Matched (offer, need) pairs, by row position in the Flows table, best first per offer."""

    offer: np.ndarray
    need: np.ndarray
    distance_km: np.ndarray
    coverage: np.ndarray  # share of the need covered by the offer, NaN if unknown
    class_strength: np.ndarray  # 1.0 same class, < 1 substitute class
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.offer)


def _empty() -> Pairs:
    e = np.empty(0)
    return Pairs(e.astype(np.int64), e.astype(np.int64), e, e, e, e)


def score_pairs(distance_km, radius_km, q_offer, q_need, strength):
    """Score in [0, 1]: closer, better balanced quantities and a same-class match score higher."""
    distance_term = np.clip(1.0 - distance_km / radius_km, 0.0, 1.0)
    known = np.isfinite(q_offer) & np.isfinite(q_need) & (q_offer > 0) & (q_need > 0)
    balance = np.full(len(distance_km), UNKNOWN_QUANTITY_TERM)
    balance[known] = np.minimum(q_offer[known], q_need[known]) / np.maximum(
        q_offer[known], q_need[known]
    )
    return np.clip(strength * (WEIGHT_DISTANCE * distance_term + WEIGHT_QUANTITY * balance), 0, 1)


def top_k_per_group(group: np.ndarray, score: np.ndarray, tiebreak: np.ndarray, k: int):
    """Row positions of the ``k`` best scores within each group (ties broken by ``tiebreak``)."""
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((tiebreak, -score, group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    return order[rank < k]


def match(
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    k: int = 20,
    offers: np.ndarray | None = None,
    trees: dict | None = None,
    xyz: np.ndarray | None = None,
    chunk: int = CHUNK,
) -> Pairs:
    """Top-``k`` needs for each offer (all offers, or the given row positions)."""
    xyz = est.xyz() if xyz is None else xyz
    flow_xyz = xyz[flows.establishment]
    need_rows = np.flatnonzero(~flows.is_offer)
    offer_rows = np.flatnonzero(flows.is_offer) if offers is None else np.asarray(offers)
    if len(need_rows) == 0 or len(offer_rows) == 0:
        return _empty()
    trees = trees if trees is not None else build_need_trees(flows, flow_xyz, need_rows)

    parts: list[Pairs] = []
    offer_classes = flows.resource_class[offer_rows]
    for source in np.unique(offer_classes):
        rows_of_class = offer_rows[offer_classes == source]
        radius = float(tax.max_distance_km[source])
        for start in range(0, len(rows_of_class), chunk):
            rows = rows_of_class[start : start + chunk]
            candidates = [
                _candidates(trees.get(target), flow_xyz, rows, radius, strength, k)
                for target, strength in tax.targets[source]
            ]
            candidates = [c for c in candidates if c is not None]
            if candidates:
                o = np.concatenate([c[0] for c in candidates])
                n = np.concatenate([c[1] for c in candidates])
                strength = np.concatenate([c[2] for c in candidates])
                parts.append(_rank(est, flows, o, n, strength, radius, k))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty()
    return Pairs(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Pairs.__dataclass_fields__)
    )


def _candidates(entry, flow_xyz, rows, radius, strength, k):
    """The nearest needs of one target class within the radius, for a chunk of offers."""
    if entry is None:
        return None
    tree, members = entry
    kq = min(len(members), int(CANDIDATE_FACTOR * k))
    dist, idx = tree.query(
        flow_xyz[rows], k=kq, distance_upper_bound=km_to_chord(radius), workers=-1
    )
    dist, idx = dist.reshape(len(rows), kq), idx.reshape(len(rows), kq)
    hit = np.isfinite(dist)
    o = np.broadcast_to(rows[:, None], hit.shape)[hit]
    return o, members[idx[hit]], np.full(len(o), strength)


def _rank(est, flows, o, n, strength, radius, k) -> Pairs:
    """Apply the rules, score, keep the best ``k`` per offer."""
    eo, en = flows.establishment[o], flows.establishment[n]
    distance = haversine_km(est.lat[eo], est.lon[eo], est.lat[en], est.lon[en])
    keep = (eo != en) & (distance <= radius)
    # Hazardous waste only to receivers allowed to treat it.
    keep &= ~flows.hazardous[o] | est.may_receive_hazardous[en]
    # Heat: the source must be at least as hot as the need (when both are known).
    t_o, t_n = flows.temperature[o], flows.temperature[n]
    keep &= ~(np.isfinite(t_o) & np.isfinite(t_n) & (t_o < t_n))
    o, n, strength, distance = o[keep], n[keep], strength[keep], distance[keep]
    q_o, q_n = flows.quantity[o], flows.quantity[n]
    score = score_pairs(distance, radius, q_o, q_n, strength)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(q_n > 0, np.minimum(q_o / q_n, 1.0), np.nan)
    # A need has one class, so each (offer, need) pair was produced once.
    best = top_k_per_group(flows.id[o], score, flows.id[n], k)
    return Pairs(o[best], n[best], distance[best], coverage[best], strength[best], score[best])


def build_need_trees(flows: Flows, flow_xyz: np.ndarray, need_rows: np.ndarray) -> dict:
    """One k-d tree per need class: class → (tree, row positions of its needs)."""
    trees = {}
    classes = flows.resource_class[need_rows]
    for c in np.unique(classes):
        members = need_rows[classes == c]
        trees[int(c)] = (cKDTree(flow_xyz[members]), members)
    return trees
