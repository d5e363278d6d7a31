"""Mutualisation synergies: groups of at least three establishments close together that share the
same need or the same output (shared collection, group purchasing, shared equipment or staff)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine.data_model import Establishments, Flows
from maillage.engine.geo import km_to_chord
from maillage.engine.taxonomy import CompiledTaxonomy

MIN_MEMBERS = 3
MAX_MEMBERS = 30
# Sharing a collection round or a purchase makes sense between near neighbours: the radius is the
# class's useful distance, capped.
MAX_RADIUS_KM = 10.0


@dataclass(frozen=True)
class Group:
    resource_class: int
    is_offer: bool
    members: np.ndarray  # row positions in Flows, the seed first
    total_quantity: float  # NaN if no member's quantity is known
    radius_km: float
    score: float


def radius_for(tax: CompiledTaxonomy, resource_class: int) -> float:
    return float(min(tax.max_distance_km[resource_class], MAX_RADIUS_KM))


def groups(
    est: Establishments, flows: Flows, tax: CompiledTaxonomy, declared_only: bool = True
) -> list[Group]:
    """Greedy grouping per (class, direction): the flow with the most neighbours within the radius
    seeds a group of its not-yet-grouped neighbours, one flow per establishment."""
    xyz = est.xyz()
    out: list[Group] = []
    rows_all = np.flatnonzero(flows.declared) if declared_only else np.arange(len(flows))
    keys = np.column_stack((flows.resource_class[rows_all], flows.is_offer[rows_all]))
    for c, offer in np.unique(keys, axis=0):
        rows = rows_all[(flows.resource_class[rows_all] == c) & (flows.is_offer[rows_all] == offer)]
        rows = rows[np.argsort(flows.id[rows], kind="stable")]
        if len(np.unique(flows.establishment[rows])) < MIN_MEMBERS:
            continue
        radius = radius_for(tax, int(c))
        points = xyz[flows.establishment[rows]]
        tree = cKDTree(points)
        kq = min(len(rows), MAX_MEMBERS)
        dist, idx = tree.query(points, k=kq, distance_upper_bound=km_to_chord(radius))
        dist, idx = dist.reshape(len(rows), kq), idx.reshape(len(rows), kq)
        degree = np.isfinite(dist).sum(axis=1)
        # The greedy pass is sequential by nature; it runs on plain Python lists (at most
        # MAX_MEMBERS neighbours per flow), which is faster than NumPy calls on tiny arrays.
        seeds = np.lexsort((flows.id[rows], -degree))
        seeds = seeds[degree[seeds] >= MIN_MEMBERS].tolist()
        neighbours = np.where(np.isfinite(dist), idx, -1).tolist()
        owner = flows.establishment[rows].tolist()
        taken = [False] * len(rows)
        for seed in seeds:
            if taken[seed]:
                continue
            members_pos, seen = [], set()
            for j in neighbours[seed]:
                if j >= 0 and not taken[j] and owner[j] not in seen:
                    seen.add(owner[j])
                    members_pos.append(j)
            if len(members_pos) < MIN_MEMBERS:
                continue
            for j in members_pos:
                taken[j] = True
            members = rows[np.array(members_pos)]
            q = flows.quantity[members]
            total = float(np.nansum(q)) if np.isfinite(q).any() else float("nan")
            out.append(
                Group(
                    resource_class=int(c),
                    is_offer=bool(offer),
                    members=members,
                    total_quantity=total,
                    radius_km=radius,
                    score=float(min(1.0, len(members) / 10.0)),
                )
            )
    return out
