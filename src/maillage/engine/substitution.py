"""Substitution synergies: which needs (inputs) each offer (output) can feed.

For every offer, the candidate needs are those of a compatible class (the same class, or one its
class may substitute) within the source class's maximum useful distance; a hazardous offer only goes
to a receiver allowed to treat hazardous waste; heat only flows downhill in temperature. Candidates
are scored in [0, 1] from distance, quantity balance and class match, and the best ``k`` are kept
per offer. The need tables searched are built in ``need_tables``, pairs are scored in ``pairs``,
and the reverse query (offers for one need) is ``reverse_match``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
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
from maillage.engine.need_tables import NeedTable, build_need_trees, build_size_trees, need_table
from maillage.engine.pairs import (
    INFERRED_NEED_FACTOR,
    INTERMEDIARY_STRENGTH,
    Pairs,
    coverage,
    empty_pairs,
    score_pairs,
)
from maillage.engine.routes import NO_OPERATION, FlowRoutes, flow_routes, route_inputs
from maillage.engine.taxonomy import CompiledTaxonomy

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
# Offers are processed in chunks so that memory stays bounded at national scale.
CHUNK = 20_000
_CPUS = os.cpu_count() or 1


@dataclass
class Index:
    """Everything a query needs, built once: coordinates, one k-d tree per need class with what
    the rules and the score read of its needs, tie-breaks. Querying one new flow against a built
    index costs a few tree lookups."""

    est: Establishments
    flows: Flows
    tax: CompiledTaxonomy
    flow_xyz: np.ndarray
    trees: dict  # need class → NeedTable of all its needs
    hazardous_trees: dict  # need class → NeedTable of the needs of authorised receivers
    size_trees: dict  # need class → size-aware NeedTable (see need_tables.build_size_trees)
    tiebreak: np.ndarray
    log_quantity: np.ndarray
    evidence: np.ndarray
    division: np.ndarray  # NAF node of each establishment (see CompiledTaxonomy.naf_nodes)
    columns: dict  # per-flow (and per-node) arrays the need tables are made of (see need_tables.need_table)
    routes: FlowRoutes  # the recovery route of each offer by its waste code (see routes)

    @classmethod
    def build(
        cls, est: Establishments, flows: Flows, tax: CompiledTaxonomy, xyz: np.ndarray | None = None
    ) -> Index:
        xyz = est.xyz() if xyz is None else xyz
        # Two flows of one establishment must not tie in a tree query either.
        flow_xyz = xyz[flows.establishment] + nudges(flows.id, FLOW_NUDGE_MAGNITUDE)
        # Ties between equal scores are broken by the need's id, never by row order.
        top = float(flows.id.max()) + 1.0 if len(flows) else 1.0
        tiebreak = flows.id.astype(np.float64) / top * 1e-9
        with np.errstate(invalid="ignore"):
            log_quantity = np.log1p(flows.quantity)
        # A need an advisor recorded is evidence; one inferred from the sector profile a guess.
        evidence = np.where(flows.declared, 1.0, INFERRED_NEED_FACTOR)
        division = tax.naf_nodes(est.naf)
        columns = {
            "establishment": flows.establishment,
            "division": division,
            "waste_operator": tax.waste_operator,
            "evidence": evidence,
            "log_quantity": log_quantity,
            "tiebreak": tiebreak,
            "temperature": flows.temperature,
        }
        need_rows = np.flatnonzero(~flows.is_offer)
        trees = build_need_trees(flows, flow_xyz, need_rows, tax, columns)
        # Hazardous offers search only the needs of establishments allowed to receive them.
        authorised = need_rows[est.may_receive_hazardous[flows.establishment[need_rows]]]
        hazardous_trees = build_need_trees(flows, flow_xyz, authorised, tax, columns)
        size_trees = build_size_trees(flows, flow_xyz, need_rows, tax, columns)
        offer_routes = flow_routes(
            flows.waste_code, flows.hazardous, np.flatnonzero(flows.is_offer)
        )
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
            division,
            columns,
            offer_routes,
        )

    def receivers_table(self, table: NeedTable, receivers: np.ndarray) -> NeedTable | None:
        """The needs of ``table`` whose establishment's activity ``receivers`` allows, in a tree of
        their own (made on first use and shared by the offer classes with the same rule), so that
        a substitution reserved to some activities looks among the nearest needs of those
        activities, not among the nearest needs of any activity (a brewery 20 km away must not be
        hidden by twenty nearer caterers). None when no need is allowed."""
        cache = self.__dict__.setdefault("_receivers_tables", {})
        key = (id(table), receivers.tobytes())
        if key not in cache:
            allowed = receivers[np.asarray(table.division)[:-1]]
            keep = np.flatnonzero(allowed)
            if len(keep) == len(allowed):
                cache[key] = table  # (kept by the cache: its id is not reused meanwhile)
            elif len(keep) == 0:
                cache[key] = None
            else:
                members = table.members[keep]
                points = self.flow_xyz[members]
                lift = None
                if table.lift is not None:
                    lift = table.lift[keep]
                    points = np.column_stack((points, lift))
                cache[key] = need_table(self.columns, members, points, table.weights, lift)
        return cache[key]

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

    def _targets(self, source: int, hazardous: bool, route: int = -1) -> list[_Target]:
        """The need classes an offer of one class may feed, with their rules per need; made on
        first use (they depend on the index only), so that a one-flow query does not redo them.
        With a recovery route (``route``: position in ``self.routes.routes``), the input classes
        the route feeds and no class substitution reaches are added, each searched among the
        needs of the activities that perform the route's operation for it."""
        cache = self.__dict__.setdefault("_target_cache", {})
        if (source, hazardous, route) not in cache:
            if route >= 0:
                found = self.routes.routes[route]
                trees = self.hazardous_trees if hazardous else self.trees
                targets = list(self._targets(source, hazardous))
                for t in route_inputs(self.tax, source, found):
                    if t in trees:
                        weight, operation = found.inputs[t]
                        target = _Target.by_route(self, t, trees[t], hazardous, weight, operation)
                        if target is not None:
                            targets.append(target)
                cache[source, hazardous, route] = targets
            else:
                trees = self.hazardous_trees if hazardous else self.trees
                by_class = (
                    _Target.of(self, source, t, s, trees[t], hazardous)
                    for t, s in self.tax.targets[source]
                    if t in trees
                )
                cache[source, hazardous, route] = [t for t in by_class if t is not None]
        return cache[source, hazardous, route]

    def match(
        self,
        offers: np.ndarray | None = None,
        k: int = 20,
        chunk: int = CHUNK,
        workers: int = -1,
    ) -> Pairs:
        """Top-``k`` needs for each offer (all offers, or the given row positions), on ``workers``
        threads (-1: one per CPU, as for scipy's k-d tree queries)."""
        flows, tax = self.flows, self.tax
        offer_rows = np.flatnonzero(flows.is_offer) if offers is None else np.asarray(offers)
        if not self.trees or len(offer_rows) == 0:
            return empty_pairs()
        # One group per (class, hazardous, recovery route): a stable sort on one integer key,
        # then slices.
        span = len(self.routes.routes) + 1
        key = flows.resource_class[offer_rows].astype(np.int64) * 2 + flows.hazardous[offer_rows]
        key = key * span + (self.routes.of_flow[offer_rows] + 1)
        if span > 1:
            # a route that adds no target leaves its offers in their class's group
            distinct, inverse = np.unique(key, return_inverse=True)
            merged = distinct.copy()
            for i, group in enumerate(distinct.tolist()):
                class_key, route = divmod(group, span)
                if route:
                    source, hazardous = divmod(class_key, 2)
                    extra = self._targets(source, bool(hazardous), route - 1)
                    if len(extra) == len(self._targets(source, bool(hazardous))):
                        merged[i] = class_key * span
            key = merged[inverse]
        order = np.argsort(key, kind="stable")
        sorted_rows, sorted_key = offer_rows[order], key[order]
        bounds = np.concatenate(([0], np.flatnonzero(np.diff(sorted_key)) + 1, [len(sorted_key)]))
        tasks = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            class_key, route = divmod(int(sorted_key[lo]), span)
            source, hazardous = divmod(class_key, 2)
            rows_of_class = sorted_rows[lo:hi]
            radius = float(tax.max_distance_km[source])
            targets = self._targets(source, bool(hazardous), route - 1)
            if not targets:
                continue
            for start in range(0, len(rows_of_class), chunk):
                tasks.append((rows_of_class[start : start + chunk], targets, radius))
        threads = min(len(tasks), _CPUS if workers == -1 else max(workers, 1))
        if threads <= 1:
            parts = [_match_chunk(self, rows, t, radius, k, workers) for rows, t, radius in tasks]
        else:
            # Chunks run in parallel (NumPy and the k-d tree queries release the GIL), the
            # largest first so that the threads finish together; results keep the chunks' order.
            parts = [empty_pairs()] * len(tasks)
            with ThreadPoolExecutor(threads) as pool:
                cost = [len(rows) * len(t) for rows, t, _radius in tasks]
                futures = {
                    i: pool.submit(_match_chunk, self, *tasks[i], k, 1)
                    for i in sorted(range(len(tasks)), key=cost.__getitem__, reverse=True)
                }
                for i, future in futures.items():
                    parts[i] = future.result()
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_pairs()
        fields = Pairs.__dataclass_fields__
        return Pairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass(frozen=True)
class _Target:
    """One compatible need class of an offer class: its trees, and per member the tie-break (+inf
    for a receiver the rules exclude, so its key is -inf) and the weight of the class strength."""

    near: NeedTable
    tiebreak: np.ndarray
    weight: np.ndarray
    size: NeedTable | None  # size-aware tree, None for hazardous offers
    size_tiebreak: np.ndarray | None
    size_weight: np.ndarray | None
    # per member of ``near`` / ``size`` (padded): the recovery operation of a route target, None
    # for a class target (every pair NO_OPERATION)
    operation: np.ndarray | None = None
    size_operation: np.ndarray | None = None

    @classmethod
    def of(
        cls, index: Index, source: int, target: int, strength, near, hazardous: bool
    ) -> _Target | None:
        # Substitutions that only some activities practise go only to receivers of those
        # activities: their candidates come from a tree of those receivers' needs.
        receivers = index.tax.receiver_mask(source, target)
        size = None if hazardous else index.size_trees.get(target)
        if receivers is not None:
            near = index.receivers_table(near, receivers)
            if near is None:
                return None
            if size is not None:
                size = index.receivers_table(size, receivers)

        def tiebreak(table: NeedTable) -> np.ndarray:
            allowed = np.ones(len(table.tiebreak), dtype=bool)
            if receivers is not None:
                allowed &= receivers[np.asarray(table.division)]
            # Hazardous waste only to receivers allowed to treat it (their needs are searched
            # separately, see Index.build; this keeps the rule whatever trees are passed).
            if hazardous:
                allowed[:-1] &= index.est.may_receive_hazardous[table.establishment[:-1]]
            if allowed.all():
                return table.tiebreak
            return np.where(allowed, table.tiebreak, np.inf)

        return cls(
            near,
            tiebreak(near),
            near.weights[strength],
            size,
            None if size is None else tiebreak(size),
            None if size is None else size.weights[strength],
        )

    @classmethod
    def by_route(
        cls,
        index: Index,
        target: int,
        near: NeedTable,
        hazardous: bool,
        node_weight: np.ndarray,
        node_operation: np.ndarray,
    ) -> _Target | None:
        """A need class reached by a recovery route: only the needs of activities that perform
        the route's operation (``node_weight`` > 0 on their NAF node), each weighted by its
        evidence and its activity's route strength, with the operation recorded per member."""
        performs = node_weight > 0
        near_table = index.receivers_table(near, performs)
        if near_table is None:
            return None
        size = None if hazardous else index.size_trees.get(target)
        if size is not None:
            size = index.receivers_table(size, performs)

        def columns(table: NeedTable):
            division = np.asarray(table.division)  # padded with UNKNOWN_DIVISION: weight 0 there
            evidence = np.r_[index.evidence[np.asarray(table.members)], 0.0]
            weight = evidence * node_weight[np.minimum(division, len(node_weight) - 1)]
            weight[-1] = 0.0
            # a waste operator receives as an intermediary (see need_tables.need_table)
            operator = index.columns["waste_operator"][division]
            weight = np.where(operator, np.minimum(weight, INTERMEDIARY_STRENGTH), weight)
            operation = node_operation[np.minimum(division, len(node_operation) - 1)]
            operation = np.r_[operation[:-1], np.int8(NO_OPERATION)].astype(np.int8)
            tiebreak = table.tiebreak
            if hazardous:
                allowed = np.r_[index.est.may_receive_hazardous[table.establishment[:-1]], True]
                tiebreak = np.where(allowed, tiebreak, np.inf)
            return tiebreak, weight, operation

        tb, weight, operation = columns(near_table)
        if size is None:
            return cls(near_table, tb, weight, None, None, None, operation, None)
        s_tb, s_weight, s_operation = columns(size)
        return cls(near_table, tb, weight, size, s_tb, s_weight, operation, s_operation)


def match(
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    k: int = 20,
    offers: np.ndarray | None = None,
    chunk: int = CHUNK,
    workers: int = -1,
) -> Pairs:
    """Top-``k`` needs for each offer (all offers, or the given row positions)."""
    return Index.build(est, flows, tax).match(offers, k=k, chunk=chunk, workers=workers)


def _match_chunk(index: Index, rows, targets: list[_Target], radius, k, workers) -> Pairs:
    """Candidates of every target class for a chunk of offers of one class, as an
    (offers × candidates) matrix of keys; rules, scores and the best ``k`` per row, all
    vectorised. Columns come in blocks, one per tree queried (a target class's near candidates,
    then its size-aware ones); each block is gathered and scored in contiguous (offers × its
    columns) arrays laid one after another, and only its keys go to the matrix."""
    flows = index.flows
    chord = km_to_chord(radius - NUDGE_MARGIN_KM)
    points = index.flow_xyz[rows]
    n_rows = len(rows)
    kl = max(1, int(LARGE_FACTOR * k))
    lifted = None  # the offers' points for the size-aware trees, made on first use
    plan = []
    for target in targets:
        # With a size-aware tree, its candidates take the place of the farthest near ones, so
        # that the candidate matrix (the cost of the rules and scores) keeps its width.
        near = int(CANDIDATE_FACTOR * k) - (kl if target.size is not None else 0)
        kq = min(len(target.near), max(near, 1))
        # when every need of the class within reach is a near candidate, no size-aware block
        size = target.size
        plan.append(
            (target, kq, min(len(size), kl) if size is not None and kq < len(target.near) else 0)
        )
    width = sum(kq + kq_large for _target, kq, kq_large in plan)
    keys = np.empty((n_rows, width))
    dists = np.empty(n_rows * width)
    needs = np.empty(n_rows * width, dtype=np.int32)
    weights = np.empty(n_rows * width)
    scores = np.empty(n_rows * width)
    operations = np.empty(n_rows * width, dtype=np.int8)
    # where the block of each column starts in those flat arrays, and the block's width
    col_base = np.empty(width, dtype=np.int64)
    col_width = np.empty(width, dtype=np.int64)
    offer_est = flows.establishment[rows]
    log_q_offer = index.log_quantity[rows][:, None]
    t_o = flows.temperature[rows]
    hot = bool(np.isfinite(t_o).any())
    first = 0

    def block(table: NeedTable, tiebreak, weight, dist, idx, operation) -> np.ndarray:
        nonlocal first
        w = dist.shape[1]
        at = n_rows * first
        flat = slice(at, at + n_rows * w)
        col_base[first : first + w] = at + np.arange(w)
        col_width[first : first + w] = w
        d = dists[flat].reshape(n_rows, w)
        d[...] = dist
        need = needs[flat].reshape(n_rows, w)
        table.need.take(idx, out=need, mode="clip")
        wt = weights[flat].reshape(n_rows, w)
        weight.take(idx, out=wt, mode="clip")
        if operation is None:
            operations[flat] = NO_OPERATION
        else:
            operation.take(idx, out=operations[flat].reshape(n_rows, w), mode="clip")
        # +inf where there is no candidate or a rule excludes it: its key is -inf
        tb = tiebreak.take(idx, mode="clip")
        # No self-match: only the offers whose establishment has a need in this tree are checked.
        est_sorted = table.establishments_sorted
        at_est = np.minimum(np.searchsorted(est_sorted, offer_est), len(est_sorted) - 1)
        suspects = np.flatnonzero(est_sorted[at_est] == offer_est)
        if len(suspects):
            same = table.establishment[idx[suspects]] == offer_est[suspects, None]
            tb[suspects] = np.where(same, np.inf, tb[suspects])
        # Heat: the source must be at least as hot as the need (when both are known).
        if hot and table.has_temperature:
            np.copyto(tb, np.inf, where=t_o[:, None] < table.temperature[idx])
        # The chord is the distance (relative error below 1e-4 under 300 km, points nudged < 1 m).
        score = score_pairs(
            d * EARTH_RADIUS_KM,
            radius,
            log_q_offer,
            table.log_quantity.take(idx, mode="clip"),
            wt,
            out=scores[flat].reshape(n_rows, w),
        )
        np.subtract(score, tb, out=keys[:, first : first + w])
        first += w
        return need

    for target, kq, kq_large in plan:
        table = target.near
        dist, idx = table.tree.query(points, k=kq, distance_upper_bound=chord, workers=workers)
        dist, idx = dist.reshape(n_rows, kq), idx.reshape(n_rows, kq)
        near_need = block(table, target.tiebreak, target.weight, dist, idx, target.operation)
        size = target.size
        if kq_large and size is not None:
            if lifted is None:
                lifted = np.column_stack((points, np.zeros(n_rows)))
            found = _size_candidates(lifted, dist, near_need, size, chord, kq_large, workers)
            found_dist, found_idx = found
            block(
                size,
                target.size_tiebreak,
                target.size_weight,
                found_dist,
                found_idx,
                target.size_operation,
            )
    # The best k keys of each row, best first. Keys are distinct (the tie-break is the need's id)
    # but for the -inf of no candidate, which are dropped: any sort gives the same pairs.
    top = np.argsort(keys, axis=1)[:, : -min(k, width) - 1 : -1]
    flat = top + (np.arange(n_rows) * width)[:, None]
    flat = flat[keys.ravel()[flat] > -np.inf]
    r = flat // width
    col = flat - r * width
    at = col_base[col] + r * col_width[col]
    o = rows[r]
    n = needs[at]
    covered = coverage(flows.quantity[o], flows.quantity[n])
    # Compact output: row positions fit in 32 bits, and 7 significant digits are plenty for km,
    # shares and scores (this is what keeps 36 M pairs at national scale within memory).
    return Pairs(
        o.astype(np.int32),
        n,
        chord_to_km(dists[at]).astype(np.float32),
        covered.astype(np.float32),
        weights[at].astype(np.float32),
        scores[at].astype(np.float32),
        operations[at],
    )


def _size_candidates(lifted, dist, near_need, size: NeedTable, chord, kq_large, workers):
    """The size-aware tree's candidates for the offers at ``lifted`` (their points with a fourth
    coordinate 0) whose near candidates are at ``dist`` and are the needs ``near_need``:
    (distances, indices in ``size``), inf and "no neighbour" where there is none within reach or
    it is a near candidate already."""
    # Only offers whose k nearest all exist can have missed a need; a need no farther than
    # the farthest near candidate is one of them already.
    full = np.isfinite(dist[:, -1])
    every = bool(full.all())
    if not every:
        full = np.flatnonzero(full)
        lifted, near_need = lifted[full], near_need[full]
    found_dist, found_idx = size.tree.query(lifted, k=kq_large, workers=workers)
    found_dist = found_dist.reshape(len(lifted), kq_large)
    found_idx = found_idx.reshape(len(lifted), kq_large)
    # the spatial distance (chord) of each candidate, for the radius and the score: the
    # lifted distance without its fourth coordinate
    np.square(found_dist, out=found_dist)
    assert size.lift is not None  # a size-aware table
    found_dist -= np.square(size.lift[found_idx])
    np.sqrt(np.maximum(found_dist, 0.0, out=found_dist), out=found_dist)
    keep = found_dist < chord
    # a need among the near candidates already is not taken twice (compared by row, not by
    # distance: the distance recovered from the lifted one differs in the last bits)
    found_need = size.need[found_idx]
    for j in range(near_need.shape[1]):
        keep &= found_need != near_need[:, j, None]
    np.copyto(found_dist, np.inf, where=~keep)
    np.copyto(found_idx, len(size), where=~keep)
    if every:
        return found_dist, found_idx
    sdist = np.full((len(dist), kq_large), np.inf)
    sidx = np.full((len(dist), kq_large), len(size), dtype=found_idx.dtype)
    sdist[full] = found_dist
    sidx[full] = found_idx
    return sdist, sidx
