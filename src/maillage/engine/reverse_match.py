"""The reverse substitution query: the best offers that can feed one need, by class and by the
offers' recovery routes, with the forward query's rules and score."""

from __future__ import annotations

import numpy as np

from maillage.engine.data_model import NUDGE_MARGIN_KM
from maillage.engine.geo import EARTH_RADIUS_KM, chord_to_km, km_to_chord
from maillage.engine.pairs import (
    INTERMEDIARY_STRENGTH,
    Pairs,
    coverage,
    empty_pairs,
    score_pairs,
)
from maillage.engine.routes import NO_OPERATION
from maillage.engine.substitution import Index


def offers_for_need(index: Index, need_row: int, k: int = 20) -> Pairs:
    """The reverse query: the best ``k`` offers that can feed one need (same rules and score)."""
    flows, tax, est = index.flows, index.tax, index.est
    target = int(flows.resource_class[need_row])
    sources = [
        (s, strength)
        for s, targets in enumerate(tax.targets)
        for t, strength in targets
        if t == target
    ]
    point = index.flow_xyz[need_row]
    need_division = index.division[flows.establishment[need_row]]
    parts = []
    for source, strength in sources:
        receivers = tax.receiver_mask(source, target)
        if receivers is not None and not receivers[need_division]:
            continue
        rows = index.offer_rows_of(source)
        if len(rows) == 0:
            continue
        radius = float(tax.max_distance_km[source])
        tree = index.offer_tree(source)
        dist, idx = tree.query(
            point,
            k=min(len(rows), 4 * k),
            distance_upper_bound=km_to_chord(radius - NUDGE_MARGIN_KM),
        )
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        found = np.isfinite(dist)
        o = rows[idx[found]]
        d = dist[found]
        keep = flows.establishment[o] != flows.establishment[need_row]
        keep &= ~flows.hazardous[o] | est.may_receive_hazardous[flows.establishment[need_row]]
        t_o, t_n = flows.temperature[o], flows.temperature[need_row]
        keep &= ~(np.isfinite(t_o) & np.isfinite(t_n) & (t_o < t_n))
        o, d = o[keep], d[keep]
        if tax.waste_operator[need_division]:
            strength = min(strength, INTERMEDIARY_STRENGTH)
        weight = np.full(len(o), strength * index.evidence[need_row])
        score, covered = _scored(index, o, d, radius, weight, need_row)
        parts.append((o, d, covered, weight, score, np.full(len(o), NO_OPERATION, np.int8)))
    routed = _route_offers_for_need(index, need_row, target, need_division)
    if routed is not None:
        parts.append(routed)
    if not parts:
        return empty_pairs()
    o, d, covered, weight, score, operation = (
        np.concatenate([p[i] for p in parts]) for i in range(6)
    )
    order = np.lexsort((flows.id[o], -score))[:k]
    n = np.full(len(order), need_row)
    return Pairs(
        o[order].astype(np.int32),
        n.astype(np.int32),
        chord_to_km(d[order]).astype(np.float32),
        covered[order].astype(np.float32),
        weight[order].astype(np.float32),
        score[order].astype(np.float32),
        operation[order].astype(np.int8),
    )


def _route_offers_for_need(index: Index, need_row: int, target: int, need_node: int):
    """The offers that reach one need by their recovery route (the reverse of
    ``substitution._Target.by_route``): offers whose waste code's route feeds the need's class at the need
    holder's activity, of a class that no class substitution brings there, within their class's
    distance; the same rules and score as the forward query. One distance per coded offer
    (vectorised), none per pair of classes. None when there is none."""
    flows, tax, est = index.flows, index.tax, index.est
    found = index.routes
    weight_of_route = np.array(
        [r.inputs[target][0][need_node] if target in r.inputs else 0.0 for r in found.routes]
    )
    if not (weight_of_route > 0).any():
        return None
    cache = index.__dict__.setdefault("_route_cache", {})
    if "coded" not in cache:
        cache["coded"] = np.flatnonzero(flows.is_offer & (found.of_flow >= 0))
    if ("class_ok", target) not in cache:
        cache["class_ok", target] = np.array(
            [
                all(t != target for t, _s in tax.targets[s]) and tax.unit[s] == tax.unit[target]
                for s in range(len(tax.codes))
            ]
        )
    o = cache["coded"]
    route_of = found.of_flow[o]
    o = o[(weight_of_route[route_of] > 0) & cache["class_ok", target][flows.resource_class[o]]]
    if len(o) == 0:
        return None
    receiver = flows.establishment[need_row]
    radius = tax.max_distance_km[flows.resource_class[o]]
    d = np.linalg.norm(index.flow_xyz[o] - index.flow_xyz[need_row], axis=1)
    keep = d < km_to_chord(radius - NUDGE_MARGIN_KM)
    keep &= flows.establishment[o] != receiver
    keep &= ~flows.hazardous[o] | est.may_receive_hazardous[receiver]
    o, d, radius = o[keep], d[keep], radius[keep]
    route_of = found.of_flow[o]
    weight = weight_of_route[route_of] * index.evidence[need_row]
    if tax.waste_operator[need_node]:
        weight = np.minimum(weight, INTERMEDIARY_STRENGTH)
    score, covered = _scored(index, o, d, radius, weight, need_row)
    operation = np.array(
        [
            r.inputs[target][1][need_node] if target in r.inputs else NO_OPERATION
            for r in found.routes
        ],
        dtype=np.int8,
    )[route_of]
    return o, d, covered, weight, score, operation


def _scored(index: Index, o: np.ndarray, d: np.ndarray, radius, weight, need_row: int):
    """Score and coverage of the offers at rows ``o`` (at chord distances ``d``, within
    ``radius`` km, class weights ``weight``) for the need at ``need_row``."""
    score = score_pairs(
        d * EARTH_RADIUS_KM,
        radius,
        index.log_quantity[o],
        np.full(len(o), index.log_quantity[need_row]),
        weight,
    )
    return score, coverage(index.flows.quantity[o], index.flows.quantity[need_row])
