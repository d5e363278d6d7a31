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

from maillage.engine.data_model import (
    FLOW_NUDGE_MAGNITUDE,
    NUDGE_MARGIN_KM,
    Establishments,
    Flows,
    nudges,
)
from maillage.engine.geo import EARTH_RADIUS_KM, chord_to_km, km_to_chord
from maillage.engine.taxonomy import SUBSTITUTE_STRENGTH, CompiledTaxonomy

WEIGHT_DISTANCE = 0.4
WEIGHT_QUANTITY = 0.6
UNKNOWN_QUANTITY_TERM = 0.5
QUANTITY_DECADES = 3.0
INFERRED_NEED_FACTOR = 0.6
# A waste operator (taxonomy.WASTE_OPERATOR_NAF) as a receiver weighs like a substitution.
INTERMEDIARY_STRENGTH = SUBSTITUTE_STRENGTH
# Nearest candidates examined per offer and per compatible class, as a multiple of k: the k
# nearest of every compatible class are re-ranked by score and the best k overall are kept.
CANDIDATE_FACTOR = 1.0
# The k nearest needs of a class all sit within a few km of an offer in a dense territory, where
# distance barely separates them and quantity decides: a need that absorbs the whole offer 20 km
# away scores higher than ten small ones next door, but is not among the nearest. So each class
# also has a size-aware tree, where a need is lifted in a fourth dimension by how many decades it
# is below the class's large needs (QUANTITY_DECADES of them weigh as much as the class's useful
# distance, as in the score), and the ``k * LARGE_FACTOR`` nearest there are examined too.
LARGE_FACTOR = 0.25
LARGE_QUANTILE = 0.99
# Offers are processed in chunks so that memory stays bounded at national scale.
CHUNK = 20_000


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
    i, f = np.empty(0, np.int32), np.empty(0, np.float32)
    return Pairs(i, i, f, f, f, f)


def score_pairs(distance_km, radius_km, log_q_offer, log_q_need, strength):
    """Score in [0, 1]: closer, larger exchanges and a same-class match score higher.

    Quantities come as ``log1p(quantity)`` (NaN when unknown). The quantity term is the share of
    the offer the need can absorb, on a log scale over ``QUANTITY_DECADES`` decades: a need that
    takes all of the offer scores 1, one that takes a tenth 1 - 1/decades, and one that takes
    less than 10^-decades of it 0, whatever the size of the offer (a 240 t need for a 15,000 t
    offer is as poor a fit as a 16 kg need for a 1 t offer).
    Works element-wise on broadcastable arrays, in place, because it runs on every candidate.
    """
    # log1p is increasing, so log1p(min(a, b)) == min(log1p(a), log1p(b)): one logarithm per flow,
    # computed once (Index.log_quantity), none per pair.
    absorbed = np.minimum(log_q_offer, log_q_need)
    absorbed -= log_q_offer
    absorbed *= 1.0 / (QUANTITY_DECADES * np.log(10.0))
    absorbed += 1.0
    # NaN: a quantity is unknown; an offer of zero says nothing either
    np.copyto(absorbed, UNKNOWN_QUANTITY_TERM, where=np.isnan(absorbed) | (log_q_offer == 0))
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


@dataclass
class Index:
    """Everything a query needs, built once: coordinates, one k-d tree per need class, tie-breaks.
    Querying one new flow against a built index costs a few tree lookups."""

    est: Establishments
    flows: Flows
    tax: CompiledTaxonomy
    flow_xyz: np.ndarray
    trees: dict
    hazardous_trees: dict
    size_trees: dict
    tiebreak: np.ndarray
    log_quantity: np.ndarray
    evidence: np.ndarray
    division: np.ndarray  # NAF node of each establishment (see CompiledTaxonomy.naf_nodes)

    @classmethod
    def build(
        cls, est: Establishments, flows: Flows, tax: CompiledTaxonomy, xyz: np.ndarray | None = None
    ) -> Index:
        xyz = est.xyz() if xyz is None else xyz
        # Two flows of one establishment must not tie in a tree query either.
        flow_xyz = xyz[flows.establishment] + nudges(flows.id, FLOW_NUDGE_MAGNITUDE)
        need_rows = np.flatnonzero(~flows.is_offer)
        trees = build_need_trees(flows, flow_xyz, need_rows)
        # Hazardous offers search only the needs of establishments allowed to receive them.
        authorised = need_rows[est.may_receive_hazardous[flows.establishment[need_rows]]]
        hazardous_trees = build_need_trees(flows, flow_xyz, authorised)
        size_trees = build_size_trees(flows, flow_xyz, need_rows, tax)
        # Ties between equal scores are broken by the need's id, never by row order.
        top = float(flows.id.max()) + 1.0 if len(flows) else 1.0
        tiebreak = flows.id.astype(np.float64) / top * 1e-9
        with np.errstate(invalid="ignore"):
            log_quantity = np.log1p(flows.quantity)
        # A need an advisor recorded is evidence; one inferred from the sector profile a guess.
        evidence = np.where(flows.declared, 1.0, INFERRED_NEED_FACTOR)
        return cls(
            est,
            flows,
            tax,
            flow_xyz,
            trees,
            hazardous_trees,
            size_trees,
            tiebreak,
            log_quantity,
            evidence,
            tax.naf_nodes(est.naf),
        )

    def offer_rows_of(self, source: int) -> np.ndarray:
        return self._offer_tree(source)[1]

    def offer_tree(self, source: int) -> cKDTree:
        return self._offer_tree(source)[0]

    def _offer_tree(self, source: int):
        """k-d tree of the offers of one class, built on first use (for reverse queries)."""
        cache = self.__dict__.setdefault("_offer_trees", {})
        if source not in cache:
            rows = np.flatnonzero(self.flows.is_offer & (self.flows.resource_class == source))
            cache[source] = (cKDTree(self.flow_xyz[rows]) if len(rows) else None, rows)
        return cache[source]

    def match(self, offers: np.ndarray | None = None, k: int = 20, chunk: int = CHUNK) -> Pairs:
        """Top-``k`` needs for each offer (all offers, or the given row positions)."""
        flows, tax = self.flows, self.tax
        offer_rows = np.flatnonzero(flows.is_offer) if offers is None else np.asarray(offers)
        if not self.trees or len(offer_rows) == 0:
            return _empty()
        parts: list[Pairs] = []
        # One group per (class, hazardous): a stable sort on one integer key, then slices.
        key = flows.resource_class[offer_rows].astype(np.int64) * 2 + flows.hazardous[offer_rows]
        order = np.argsort(key, kind="stable")
        sorted_rows, sorted_key = offer_rows[order], key[order]
        bounds = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1, len(sorted_key)]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            source, hazardous = divmod(int(sorted_key[lo]), 2)
            rows_of_class = sorted_rows[lo:hi]
            radius = float(tax.max_distance_km[source])
            trees = self.hazardous_trees if hazardous else self.trees
            # (near tree, size-aware tree or None, strength, receivers) per compatible need class
            targets = [
                (
                    trees[t],
                    None if hazardous else self.size_trees.get(t),
                    s,
                    tax.receiver_mask(source, t),
                )
                for t, s in tax.targets[source]
                if t in trees
            ]
            if not targets:
                continue
            for start in range(0, len(rows_of_class), chunk):
                rows = rows_of_class[start : start + chunk]
                part = _match_chunk(self, rows, targets, radius, k)
                if len(part):
                    parts.append(part)
        if not parts:
            return _empty()
        fields = Pairs.__dataclass_fields__
        return Pairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def match(
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    k: int = 20,
    offers: np.ndarray | None = None,
    chunk: int = CHUNK,
) -> Pairs:
    """Top-``k`` needs for each offer (all offers, or the given row positions)."""
    return Index.build(est, flows, tax).match(offers, k=k, chunk=chunk)


def _match_chunk(index: Index, rows, targets, radius, k) -> Pairs:
    """Candidates of every target class for a chunk of offers of one class, as an
    (offers × candidates) matrix; rules, scores and the best ``k`` per row, all vectorised."""
    est, flows = index.est, index.flows
    chord = km_to_chord(radius - NUDGE_MARGIN_KM)
    points = index.flow_xyz[rows]
    dists, needs, strengths = [], [], []
    restricted = []  # (first column, last column + 1, receiver divisions) of restricted classes
    width = 0
    kl = max(1, int(LARGE_FACTOR * k))
    for (tree, members), large, strength, receivers in targets:
        start = width
        # With a size-aware tree, its candidates take the place of the farthest near ones, so
        # that the candidate matrix (the cost of the rules and scores) keeps its width.
        near = int(CANDIDATE_FACTOR * k) - (kl if large is not None else 0)
        kq = min(len(members), max(near, 1))
        dist, idx = tree.query(points, k=kq, distance_upper_bound=chord, workers=-1)
        dist, idx = dist.reshape(len(rows), kq), idx.reshape(len(rows), kq)
        needs.append(np.where(np.isfinite(dist), members[np.minimum(idx, len(members) - 1)], -1))
        dists.append(dist)
        strengths.append(np.full(kq, strength))
        width += kq
        if receivers is not None:
            restricted.append((start, width, receivers))
        if large is None or kq == len(members):
            continue  # every need of the class within reach is a candidate already
        # Only offers whose k nearest all exist can have missed a need; a need no farther than
        # the farthest near candidate is one of them already.
        full = np.flatnonzero(np.isfinite(dist[:, -1]))
        if len(full) == 0:
            continue
        size_tree, lift, size_members = large
        kq_large = min(len(size_members), kl)
        lifted = np.column_stack((points[full], np.zeros(len(full))))
        found_dist, found_idx = size_tree.query(lifted, k=kq_large, workers=-1)
        found_dist = found_dist.reshape(len(full), kq_large)
        found_idx = found_idx.reshape(len(full), kq_large)
        found_need = size_members[found_idx]
        # the spatial distance (chord) of each candidate, for the radius and the score: the
        # lifted distance without its fourth coordinate
        np.square(found_dist, out=found_dist)
        found_dist -= np.square(lift[found_idx])
        np.sqrt(np.maximum(found_dist, 0.0, out=found_dist), out=found_dist)
        keep = found_dist < chord
        # a need among the near candidates already is not taken twice (compared by row, not by
        # distance: the distance recovered from the lifted one differs in the last bits)
        near_need = needs[-1][full]
        keep &= ~(found_need[:, :, None] == near_need[:, None, :]).any(axis=2)
        ldist = np.full((len(rows), kq_large), np.inf)
        lneed = np.full((len(rows), kq_large), -1, dtype=np.int64)
        ldist[full] = np.where(keep, found_dist, np.inf)
        lneed[full] = np.where(keep, found_need, -1)
        needs.append(lneed)
        dists.append(ldist)
        strengths.append(np.full(kq_large, strength))
        width += kq_large
        if receivers is not None:
            restricted[-1] = (start, width, receivers)
    dist = np.hstack(dists)  # inf where no candidate: its score term drops to 0, and it is masked
    need = np.hstack(needs)
    strength = np.concatenate(strengths)[None, :]
    valid = need >= 0
    safe = np.where(valid, need, 0)
    need_est = flows.establishment[safe]
    valid &= need_est != flows.establishment[rows][:, None]
    # Substitutions that only some activities practise go only to receivers of those activities.
    for first, last, receivers in restricted:
        valid[:, first:last] &= receivers[index.division[need_est[:, first:last]]]
    # Hazardous waste only to receivers allowed to treat it (their needs are searched separately,
    # see Index.build; this keeps the rule whatever trees a caller passes).
    hazardous = flows.hazardous[rows]
    if hazardous.any():
        valid &= ~hazardous[:, None] | est.may_receive_hazardous[need_est]
    # Heat: the source must be at least as hot as the need (when both are known).
    t_o = flows.temperature[rows]
    if np.isfinite(t_o).any():
        t_n = flows.temperature[safe]
        valid &= ~(np.isfinite(t_o)[:, None] & np.isfinite(t_n) & (t_o[:, None] < t_n))
    # The chord is the distance (relative error below 1e-4 under 300 km, points nudged < 1 m).
    distance = dist * EARTH_RADIUS_KM
    weight = index.evidence[safe]
    # A waste operator is the route every company already has: as a receiver it counts as a
    # substitution, so that a direct industrial user at a similar distance comes first.
    intermediary = index.tax.waste_operator[index.division[need_est]]
    weight *= np.where(intermediary, np.minimum(strength, INTERMEDIARY_STRENGTH), strength)
    score = score_pairs(
        distance, radius, index.log_quantity[rows][:, None], index.log_quantity[safe], weight
    )
    key = score - index.tiebreak[safe]
    np.copyto(key, -np.inf, where=~valid)
    if key.shape[1] > k:
        top = np.argpartition(-key, k - 1, axis=1)[:, :k]
        key = np.take_along_axis(key, top, axis=1)
    else:
        top = np.broadcast_to(np.arange(key.shape[1]), key.shape)
    order = np.argsort(-key, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    keep = np.isfinite(np.take_along_axis(key, order, axis=1))
    r, c = np.nonzero(keep)
    col = top[r, c]
    o, n = rows[r], need[r, col]
    q_o, q_n = flows.quantity[o], flows.quantity[n]
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(q_n > 0, np.minimum(q_o / q_n, 1.0), np.nan)
    # Compact output: row positions fit in 32 bits, and 7 significant digits are plenty for km,
    # shares and scores (this is what keeps 36 M pairs at national scale within memory).
    return Pairs(
        o.astype(np.int32),
        n.astype(np.int32),
        chord_to_km(dist[r, col]).astype(np.float32),
        coverage.astype(np.float32),
        weight[r, col].astype(np.float32),
        score[r, col].astype(np.float32),
    )


def build_size_trees(
    flows: Flows, flow_xyz: np.ndarray, need_rows: np.ndarray, tax: CompiledTaxonomy
) -> dict:
    """One size-aware k-d tree per need class: class → (tree, lift). A need's point is its
    position plus a fourth coordinate, the decades by which it falls short of the class's large
    needs, scaled so that ``QUANTITY_DECADES`` decades weigh the longest distance an offer may
    travel to a need of this class; unknown
    quantities sit half-way. Only declared needs are in it when the class has any: an inferred
    need weighs less (``INFERRED_NEED_FACTOR``) and the near tree finds the nearest ones anyway;
    otherwise the large inferred needs of a dense territory would crowd out a declared one.
    Class → (tree, lift, row positions of its needs)."""
    # the farthest an offer of any class that can feed a need of this class may go
    reach = {t: float(tax.max_distance_km[t]) for t in range(len(tax.codes))}
    for source, targets in enumerate(tax.targets):
        for t, _strength in targets:
            reach[t] = max(reach[t], float(tax.max_distance_km[source]))
    trees = {}
    classes = flows.resource_class[need_rows]
    for c in np.unique(classes):
        members = need_rows[classes == c]
        if flows.declared[members].any():
            members = members[flows.declared[members]]
        log_q = np.log1p(flows.quantity[members])
        known = np.isfinite(log_q)
        scale = km_to_chord(reach[int(c)]) / (QUANTITY_DECADES * np.log(10.0))
        if known.any():
            top = np.quantile(log_q[known], LARGE_QUANTILE)
            shortfall = np.clip(top - log_q, 0.0, None)
        else:
            shortfall = np.zeros(len(members))
        shortfall[~known] = QUANTITY_DECADES * np.log(10.0) / 2
        lift = shortfall * scale
        trees[int(c)] = (cKDTree(np.column_stack((flow_xyz[members], lift))), lift, members)
    return trees


def build_need_trees(flows: Flows, flow_xyz: np.ndarray, need_rows: np.ndarray) -> dict:
    """One k-d tree per need class: class → (tree, row positions of its needs)."""
    trees = {}
    classes = flows.resource_class[need_rows]
    for c in np.unique(classes):
        members = need_rows[classes == c].astype(np.int32)
        trees[int(c)] = (cKDTree(flow_xyz[members]), members)
    return trees


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
        score = score_pairs(
            d * EARTH_RADIUS_KM,
            radius,
            index.log_quantity[o],
            np.full(len(o), index.log_quantity[need_row]),
            weight,
        )
        q_o, q_n = flows.quantity[o], flows.quantity[need_row]
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(q_n > 0, np.minimum(q_o / q_n, 1.0), np.nan)
        parts.append((o, d, coverage, weight, score))
    if not parts:
        return _empty()
    o, d, coverage, weight, score = (np.concatenate([p[i] for p in parts]) for i in range(5))
    order = np.lexsort((flows.id[o], -score))[:k]
    n = np.full(len(order), need_row)
    return Pairs(
        o[order].astype(np.int32),
        n.astype(np.int32),
        chord_to_km(d[order]).astype(np.float32),
        coverage[order].astype(np.float32),
        weight[order].astype(np.float32),
        score[order].astype(np.float32),
    )
