"""Prospective partners: establishments with no recorded flows whose activity (NAF division) typically
consumes what a declared offer provides, or produces what a declared need asks for — whom an
advisor should visit next (the "deductive" way of finding synergies)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine.data_model import Establishments, Flows
from maillage.engine.geo import haversine_km, km_to_chord
from maillage.engine.substitution import top_k_per_group
from maillage.engine.taxonomy import CompiledTaxonomy

CANDIDATE_FACTOR = 4


@dataclass(frozen=True)
class Prospects:
    flow: np.ndarray  # row position of the declared flow
    establishment: np.ndarray  # row position of the prospective partner
    resource_class: np.ndarray  # the class the prospect is expected to need / produce
    weight: np.ndarray  # sector-profile likelihood in (0, 1]
    distance_km: np.ndarray
    expected_quantity: np.ndarray  # from the profile's quantity per employee, NaN if unknown
    score: np.ndarray


def _counterpart_classes(tax: CompiledTaxonomy, source: int, is_offer: bool):
    """Classes on the other side: for an offer, the needs it can feed; for a need, the offers that
    can feed it."""
    if is_offer:
        return tax.targets[source]
    return tuple(
        (s, strength)
        for s, targets in enumerate(tax.targets)
        for t, strength in targets
        if t == source
    )


def find(
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    k: int = 10,
    rows: np.ndarray | None = None,
) -> Prospects:
    xyz = est.xyz()
    has_flows = np.zeros(len(est), dtype=bool)
    has_flows[flows.establishment[flows.declared]] = True
    candidates = np.flatnonzero(~has_flows)
    rows = np.flatnonzero(flows.declared) if rows is None else np.asarray(rows)
    out_f, out_e, out_c, out_w, out_q = [], [], [], [], []
    trees: dict[tuple[str, int], tuple] = {}
    cand_division = est.division[candidates]

    def tree_for(direction: str, target: int):
        key = (direction, target)
        if key not in trees:
            divisions = [
                d
                for d, entries in tax.profile[direction].items()
                if any(c == target for c, _w, _q in entries)
            ]
            members = candidates[np.isin(cand_division, divisions)]
            weights = np.zeros(len(members))
            per_employee = np.full(len(members), np.nan)
            for d in divisions:
                for c, w, q in tax.profile[direction][d]:
                    if c == target:
                        sel = est.division[members] == d
                        weights[sel] = w
                        per_employee[sel] = q
            tree = cKDTree(xyz[members]) if len(members) else None
            trees[key] = (tree, members, weights, per_employee)
        return trees[key]

    keys = np.column_stack((flows.resource_class[rows], flows.is_offer[rows]))
    for source, is_offer in np.unique(keys, axis=0):
        sel = rows[(flows.resource_class[rows] == source) & (flows.is_offer[rows] == is_offer)]
        radius = float(tax.max_distance_km[source])
        direction = "need" if is_offer else "offer"
        for target, strength in _counterpart_classes(tax, int(source), bool(is_offer)):
            tree, members, weights, per_employee = tree_for(direction, target)
            if tree is None:
                continue
            kq = min(len(members), CANDIDATE_FACTOR * k)
            points = xyz[flows.establishment[sel]]
            dist, idx = tree.query(points, k=kq, distance_upper_bound=km_to_chord(radius))
            dist, idx = dist.reshape(len(sel), kq), idx.reshape(len(sel), kq)
            hit = np.isfinite(dist)
            f = np.repeat(sel, kq).reshape(len(sel), kq)[hit]
            m = idx[hit]
            out_f.append(f)
            out_e.append(members[m])
            out_c.append(np.full(len(f), target))
            out_w.append(weights[m] * strength)
            out_q.append(per_employee[m] * est.headcount[members[m]])
    if not out_f:
        e = np.empty(0)
        return Prospects(e.astype(int), e.astype(int), e.astype(int), e, e, e, e)
    f, e, c = np.concatenate(out_f), np.concatenate(out_e), np.concatenate(out_c)
    w, q = np.concatenate(out_w), np.concatenate(out_q)
    src = flows.establishment[f]
    distance = haversine_km(est.lat[src], est.lon[src], est.lat[e], est.lon[e])
    radius = tax.max_distance_km[flows.resource_class[f]]
    # Hazardous offers: only prospects allowed to receive them.
    keep = (distance <= radius) & (~flows.hazardous[f] | est.may_receive_hazardous[e])
    f, e, c, w, q, distance, radius = (a[keep] for a in (f, e, c, w, q, distance, radius))
    size = np.log1p(est.headcount[e]) / np.log1p(5000.0)
    score = np.clip(w * (0.6 * (1 - distance / radius) + 0.4 * np.minimum(size, 1.0)), 0, 1)
    # An establishment appears once per flow, with its best class.
    pair_key = flows.id[f] * (len(est) + 1) + e
    best = top_k_per_group(pair_key, score, est.id[e], 1)
    f, e, c, w, q, distance, score = (a[best] for a in (f, e, c, w, q, distance, score))
    best = top_k_per_group(flows.id[f], score, est.id[e], k)
    return Prospects(f[best], e[best], c[best], w[best], distance[best], q[best], score[best])
