"""Prospective partners: establishments with no recorded flows whose activity (NAF code, at the most
specific level the sector profiles describe) typically consumes what a declared offer provides, or
produces what a declared need asks for — whom an advisor should visit next (the "deductive" way of
finding synergies)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine import feedback
from maillage.engine.data_model import NUDGE_MARGIN_KM, Establishments, Flows
from maillage.engine.geo import chord_to_km, km_to_chord
from maillage.engine.routes import NO_OPERATION, flow_routes
from maillage.engine.taxonomy import CompiledTaxonomy

CANDIDATE_FACTOR = 2
# A prospect that would receive a hazardous waste without a recorded or default authorisation,
# found only because its activity recovers that waste under a hazardous-waste rubrique (a route
# row with ``hazardous_ok``: acid regeneration in chemicals, oil re-refining, zinc from furnace
# dust...), ranks below an authorised one: the advisor must check the authorisation first.
ASSUMED_AUTHORISATION = 0.8


@dataclass(frozen=True)
class Prospects:
    flow: np.ndarray  # row position of the declared flow
    establishment: np.ndarray  # row position of the prospective partner
    resource_class: np.ndarray  # the class the prospect is expected to need / produce
    weight: np.ndarray  # sector-profile likelihood in (0, 1]
    distance_km: np.ndarray
    expected_quantity: np.ndarray  # from the profile's quantity per employee, NaN if unknown
    score: np.ndarray
    # int8: the recovery operation (routes.OPERATION_CODES) by which the prospect would take
    # the offered waste, NO_OPERATION when it is found by its sector profile
    operation: np.ndarray
    # the platform's qualified outcome counts for (the offer's waste code, the prospect's NAF
    # class) that moved the score (engine.feedback), 0 when none did
    feedback_implemented: np.ndarray
    feedback_impossible: np.ndarray


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
    xyz: np.ndarray | None = None,
    outcomes: feedback.Outcomes | None = None,
) -> Prospects:
    """Top-``k`` prospective partners for each declared flow (or the given rows).

    An offer with a List of Waste code reaches the activities that recover that very code
    (``routes``); one without, those that recover its class. With ``outcomes`` (the platform's
    aggregate counts), a prospect of an offer is ranked up or down as ``feedback.rerank`` moves
    a substitution with the same (waste code, receiving NAF class), past the same minimum
    counts, before the best ``k`` are kept."""
    xyz = est.xyz() if xyz is None else xyz
    has_flows = np.zeros(len(est), dtype=bool)
    has_flows[flows.establishment[flows.declared]] = True
    candidates = np.flatnonzero(~has_flows)
    rows = np.flatnonzero(flows.declared) if rows is None else np.asarray(rows)
    node = tax.naf_nodes(est.naf)
    trees = _CandidateTrees(tax, candidates, node[candidates], xyz)
    # An empty territory (a new chamber) has no ids: max() of an empty array would raise.
    id_span = float(est.id.max()) + 1.0 if len(est) else 1.0
    tiebreak = est.id.astype(np.float64) / id_span * 1e-9
    size = np.minimum(np.log1p(est.headcount) / np.log1p(5000.0), 1.0)
    learned = feedback.lookup(outcomes)
    naf_number = feedback.naf_numbers(est.naf) if learned is not None else None
    offer_rows = rows[flows.is_offer[rows]]
    by_code = flow_routes(flows.waste_code, flows.hazardous, offer_rows)
    parts = []
    keys = np.column_stack((flows.resource_class[rows], flows.is_offer[rows]))
    for source, is_offer in np.unique(keys, axis=0):
        sel = rows[(flows.resource_class[rows] == source) & (flows.is_offer[rows] == is_offer)]
        direction = "need" if is_offer else "offer"
        targets = []
        for target, strength in _counterpart_classes(tax, int(source), bool(is_offer)):
            entry = trees.get(direction, target)
            if entry is not None:
                pair = (int(source), target) if is_offer else (target, int(source))
                targets.append((target, strength, entry, tax.receiver_mask(*pair)))
        if is_offer:
            # Activities that legally recover the offered waste (``recovery``), whether or not
            # their sector profile lists a need it can feed: cement kilns, brick makers, zinc
            # recyclers... They are expected to take the offered class itself.
            # With a waste code, the activities that recover that code, by its own operations
            # and properties, rather than any code of the class: one tree per route, each
            # queried for the offers of the class with that route only.
            route_of = by_code.of_flow[sel]
            split = []
            for route in np.unique(route_of):
                if route >= 0:
                    entry = trees.get_route(by_code.routes[route], int(route))
                else:
                    entry = trees.get_recovery(int(source))
                if entry is not None:
                    split.append((np.flatnonzero(route_of == route), entry))
            if split:
                targets.append((int(source), 1.0, split, None))
        if targets:
            radius = float(tax.max_distance_km[source])
            learn = (learned, naf_number) if learned is not None and is_offer else None
            parts.append(
                _find_chunk(est, flows, xyz, sel, targets, radius, k, size, tiebreak, node, learn)
            )
    parts = [p for p in parts if len(p[0])]
    if not parts:
        e = np.empty(0)
        i = e.astype(int)
        return Prospects(i, i, i, e, e, e, e, e.astype(np.int8), i, i)
    return Prospects(*(np.concatenate([p[i] for p in parts]) for i in range(10)))


class _CandidateTrees:
    """Per (direction, class): a k-d tree of the establishments without flows whose sector
    profile (that of their NAF node) has that class, with the profile's weight and quantity per
    employee."""

    def __init__(self, tax, candidates, node, xyz):
        self.tax, self.candidates, self.node, self.xyz = tax, candidates, node, xyz
        self.cache: dict[tuple[str, int], tuple | None] = {}

    def get(self, direction: str, target: int):
        key = (direction, target)
        if key not in self.cache:
            weight_of_node = self.tax.profile_weight[direction][:, target]
            per_employee = self.tax.profile_per_employee[direction]
            self.cache[key] = self._entry(
                weight_of_node[self.node],
                lambda mask: per_employee[self.node[mask], target],
                lambda mask: None,
            )
        return self.cache[key]

    def get_route(self, found, route: int):
        """The same for the activities that recover the wastes of one recovery route (a waste
        code's row and hazard, ``routes.Route``), with the operation of each."""
        key = ("route", route)
        if key not in self.cache:
            self.cache[key] = self._entry(
                found.weight[self.node],
                _no_quantity,
                lambda mask: found.operation[self.node[mask]],
            )
        return self.cache[key]

    def get_recovery(self, source: int):
        """The same for the activities that recover waste of class ``source`` (the weight is
        the route's strength; no quantity per employee is known)."""
        key = ("recovery", source)
        if key not in self.cache:
            self.cache[key] = self._entry(
                self.tax.recovery_weight[self.node, source],
                _no_quantity,
                lambda mask: self.tax.recovery_operation[self.node[mask], source],
            )
        return self.cache[key]

    def _entry(self, weights, per_employee, operation):
        """A tree of the candidates whose ``weights`` are positive, with those weights and what
        ``per_employee`` and ``operation`` give for them (functions of the candidates' mask);
        None when there is none."""
        mask = weights > 0
        if not mask.any():
            return None
        members = self.candidates[mask]
        return (
            cKDTree(self.xyz[members]),
            members,
            weights[mask],
            per_employee(mask),
            operation(mask),
        )


def _no_quantity(mask: np.ndarray) -> np.ndarray:
    """No quantity per employee is known for these candidates."""
    return np.full(int(mask.sum()), np.nan)


def _split_block(entry, points, chord, k, strength):
    """The candidates of one target whose tree depends on the offer (its recovery route): each
    (positions, tree entry) part is queried for its offers only, into one block of the width of
    the widest part: (establishment or -1, weight, quantity per employee, distance, operation)."""
    kq = max(min(len(e[1]), CANDIDATE_FACTOR * k) for _pos, e in entry)
    n = len(points)
    cand = np.full((n, kq), -1, dtype=np.int64)
    weight = np.zeros((n, kq))
    quantity = np.full((n, kq), np.nan)
    dist = np.full((n, kq), np.inf)
    ops = np.full((n, kq), NO_OPERATION, dtype=np.int8)
    for pos, (tree, members, weights, per_employee, operation) in entry:
        kk = min(len(members), CANDIDATE_FACTOR * k)
        d, idx = tree.query(points[pos], k=kk, distance_upper_bound=chord, workers=-1)
        d, idx = d.reshape(len(pos), kk), idx.reshape(len(pos), kk)
        safe = np.minimum(idx, len(members) - 1)
        cand[pos, :kk] = np.where(np.isfinite(d), members[safe], -1)
        weight[pos, :kk] = weights[safe] * strength
        quantity[pos, :kk] = per_employee[safe]
        dist[pos, :kk] = d
        ops[pos, :kk] = operation[safe]
    return cand, weight, quantity, dist, ops


def _find_chunk(est, flows, xyz, sel, targets, radius, k, size, tiebreak, node, learn=None):
    """``learn``: (feedback.Lookup, NAF number of each establishment) to re-rank the prospects
    of offers by the platform's outcomes, None for none."""
    chord = km_to_chord(radius - NUDGE_MARGIN_KM)
    points = xyz[flows.establishment[sel]]
    # One array per target, stacked side by side once all targets are found.
    parts: dict[str, list[np.ndarray]] = {
        name: [] for name in ("cand", "weight", "quantity", "klass", "dist", "ops")
    }
    for target, strength, entry, receivers in targets:
        if isinstance(entry, list):
            # (positions in sel, entry) per recovery route: one block, filled part by part
            block = _split_block(entry, points, chord, k, strength)
            for name, part in zip(
                ("cand", "weight", "quantity", "dist", "ops"), block, strict=True
            ):
                parts[name].append(part)
            parts["klass"].append(np.full(block[0].shape, target))
            continue
        tree, members, weights, per_employee, operation = entry
        kq = min(len(members), CANDIDATE_FACTOR * k)
        d, idx = tree.query(points, k=kq, distance_upper_bound=chord, workers=-1)
        d, idx = d.reshape(len(sel), kq), idx.reshape(len(sel), kq)
        found = np.isfinite(d)
        safe = np.minimum(idx, len(members) - 1)
        if receivers is not None:
            # the receiving side (the prospect for an offer, the declared flow for a need)
            receiving = members[safe] if sel.size and flows.is_offer[sel[0]] else None
            if receiving is None:
                found &= receivers[node[flows.establishment[sel]]][:, None]
            else:
                found &= receivers[node[receiving]]
        parts["cand"].append(np.where(found, members[safe], -1))
        parts["weight"].append(weights[safe] * strength)
        parts["quantity"].append(per_employee[safe])
        parts["klass"].append(np.full(d.shape, target))
        parts["dist"].append(d)
        if operation is None:
            parts["ops"].append(np.full(d.shape, NO_OPERATION, dtype=np.int8))
        else:
            parts["ops"].append(operation[safe])
    cand, weight, quantity, klass, dist, ops = (
        np.hstack(parts[name]) for name in ("cand", "weight", "quantity", "klass", "dist", "ops")
    )
    valid = cand >= 0
    safe = np.where(valid, cand, 0)
    hazardous = flows.hazardous[sel]
    if hazardous.any():
        # Authorised (recorded or by activity), or reached by the route of the offer's own waste
        # code (a hazardous code's route holds only the rows that allow hazardous waste: never
        # food, feed or farms; a class-level route may mix rows, so it does not count).
        authorised = est.may_receive_hazardous[safe]
        routed = (ops != NO_OPERATION) & (flows.waste_code[sel] >= 0)[:, None]
        valid &= ~hazardous[:, None] | authorised | routed
        weight = np.where(hazardous[:, None] & ~authorised, weight * ASSUMED_AUTHORISATION, weight)
    distance = chord_to_km(dist, where=valid)
    score = np.clip(weight * (0.6 * (1 - distance / radius) + 0.4 * size[safe]), 0, 1)
    implemented = impossible = None
    if learn is not None:
        table, naf_number = learn
        code = flows.waste_code[sel]
        if (code >= 0).any():
            keys = feedback.number_keys(code[:, None], naf_number[safe])
            implemented, impossible = table.counts(np.where(valid, keys, -1))
            score = feedback.adjust(score, implemented, impossible)
    key = np.where(valid, score - tiebreak[safe], -np.inf)
    # An establishment reached through several classes counts once, with its best class.
    order = np.lexsort((-key, safe), axis=-1)
    sorted_est = np.take_along_axis(safe, order, axis=1)
    duplicate = np.zeros_like(valid)
    duplicate[:, 1:] = sorted_est[:, 1:] == sorted_est[:, :-1]
    key_sorted = np.take_along_axis(key, order, axis=1)
    key_sorted[duplicate] = -np.inf
    kk = min(k, key_sorted.shape[1])
    top = np.argsort(-key_sorted, axis=1, kind="stable")[:, :kk]
    col = np.take_along_axis(order, top, axis=1)
    keep = np.isfinite(np.take_along_axis(key_sorted, top, axis=1))
    r, c = np.nonzero(keep)
    col = col[r, c]
    e = safe[r, col]
    f = sel[r]
    zero = np.zeros(len(f), dtype=np.int64)
    return (
        f,
        e,
        klass[r, col],
        weight[r, col],
        chord_to_km(dist[r, col]),
        quantity[r, col] * est.headcount[e],
        score[r, col],
        ops[r, col],
        zero if implemented is None else implemented[r, col],
        zero if impossible is None else impossible[r, col],
    )
