"""Live partner queries on a built ``substitution.Index``: flows added, changed or removed after
the build get their partners right away, the same as from an index rebuilt from scratch, without
rebuilding it.

A flow written after the build takes a spare row of the index's arrays (reserved once, at
``LiveIndex`` creation); a changed flow takes a new row and its old row is marked dead. Then:

- partners of an offer (``Index.match``) read the need tables: those of the classes a delta
  touched are *patched* (``live_tables``): the base table's trees are kept, its dead members
  skipped and the needs added since merged in, the size-aware trees' quantile and declared-only
  rule recomputed on the live members as a fresh build does; ``fold`` rebuilds a class's trees
  from its live members by the very functions of ``Index.build`` (when the declared-only rule
  flips, or on demand);
- partners of a need (``reverse_match.offers_for_need``) read the offer trees of each class: they
  are patched, not rebuilt — a query asks the base tree for as many more neighbours as there are
  dead offers in the class, drops those, and merges the flows added since, by distance, so that
  the nearest offers are exactly those of a fresh tree.

The one thing that differs from a fresh build is the tie-break of flows added since (their id
scaled by the base's largest id): it orders the same way, and changes a ranking only between two
scores closer than 1e-9 times the relative growth of the largest id.
"""

from __future__ import annotations

import threading
from dataclasses import fields

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine import live_tables, need_tables, reverse_match, substitution
from maillage.engine.data_model import (
    FLOW_NUDGE_MAGNITUDE,
    Establishments,
    Flows,
    hazardous_authorisation,
    nudges,
)
from maillage.engine.joined import merged_quantile
from maillage.engine.live_records import EstablishmentRecord, FlowRecord, one_row
from maillage.engine.live_tables import PatchedOfferTree, with_spare_rows, with_spare_tables
from maillage.engine.need_tables import LARGE_QUANTILE, NeedTable
from maillage.engine.pairs import INFERRED_NEED_FACTOR, Pairs
from maillage.engine.routes import FlowRoutes, flow_routes, route_inputs

# Spare rows reserved for flows written after the build: a share of the index, at least this many.
SPARE_SHARE = 0.01
MIN_SPARE_FLOWS = 10_000


class IndexFull(Exception):
    """No spare row left: the index must be rebuilt (the caller falls back or waits)."""


def spare_rows(n: int, spare_flows: int | None, spare_est: int | None) -> tuple[int, int]:
    spare_flows = spare_flows or max(MIN_SPARE_FLOWS, int(SPARE_SHARE * n))
    return spare_flows, spare_est or max(MIN_SPARE_FLOWS // 4, spare_flows // 4)


class LiveIndex:
    """An index that takes flow deltas (``upsert``, ``remove``) and answers partner queries
    (``partners``) as an index rebuilt from scratch with those deltas would. Thread-safe: one
    lock around deltas, patches and queries."""

    def __init__(
        self,
        index: substitution.Index,
        spare_flows: int | None = None,
        spare_est: int | None = None,
        used: tuple[int, int] | None = None,
    ):
        """``used``: the index was built with spare rows (``build``): its (flows, establishments)
        in use; otherwise its arrays are grown."""
        if used is None:
            n, m = len(index.flows), len(index.est)
            spare_flows, spare_est = spare_rows(n, spare_flows, spare_est)
            self.index = with_spare_rows(index, spare_flows, spare_est)
        else:
            (n, m), self.index = used, index
        self.base_flows, self.base_est = n, m
        self.used_flows, self.used_est = n, m
        flows = self.index.flows
        self._flow_order = np.argsort(flows.id[:n], kind="stable")
        self._flow_ids = flows.id[:n][self._flow_order]
        self._est_order = np.argsort(self.index.est.id[: self.base_est], kind="stable")
        self._est_ids = self.index.est.id[: self.base_est][self._est_order]
        self.alive = np.zeros(len(flows), dtype=bool)
        self.alive[:n] = True
        self._added_rows: dict[int, int] = {}  # flow id → row, for flows written since the build
        self._added_est: dict[int, int] = {}
        self._dirty: set[int] = set()  # need classes whose tables lag behind the deltas
        self._need_added: dict[int, list[int]] = {}  # need class → rows added since its fold
        # need class → its (near, hazardous, size-aware) tables as last built, that patches
        # start from; patched tables → (their base, the rows added, class, size parameters)
        self._need_base: dict[int, tuple] = {}
        self._patch_info: dict[int, tuple] = {}
        self._derived: dict[tuple, NeedTable | None] = {}
        self._reach = need_tables.size_reach(index.tax)
        self._strengths = need_tables._strengths_by_target(index.tax)
        self._offer_added: dict[int, list[int]] = {}  # offer class → rows added, live or not
        self._offer_dead: dict[int, int] = {}  # offer class → dead rows of its base tree
        # need class → the flows' rows below which a live need of the class is in its base
        # tables (built or folded then), and the base members killed since
        self._need_limit: dict[int, int] = {}
        self._need_killed: dict[int, list[int]] = {}
        # need class → its size-aware base table's known log quantities (sorted), the quantile
        # its lifts were computed with, and whether it holds the declared needs only
        self._size_info: dict[int, tuple[np.ndarray, float | None, bool]] = {}
        self.deltas = 0
        self.lock = threading.RLock()
        self._prepare_offer_side()
        self._prepare_need_side()
        # the receivers' tables of a patched table are the patched receivers' tables of its base
        self.index.__dict__["receivers_table"] = self._receivers_table

    @classmethod
    def build(
        cls,
        est: Establishments,
        flows: Flows,
        tax,
        spare_flows: int | None = None,
        spare_est: int | None = None,
    ) -> LiveIndex:
        """``substitution.Index.build`` on the tables with spare rows, then the live index."""
        spare_flows, spare_est = spare_rows(len(flows), spare_flows, spare_est)
        used = (len(flows), len(est))
        est, flows = with_spare_tables(est, flows, spare_flows, spare_est)
        return cls(substitution.Index.build(est, flows, tax), used=used)

    # ---- rows -------------------------------------------------------------------------------

    def row_of(self, flow_id: int) -> int | None:
        """The live row of a flow, None if the index does not hold it (or no longer)."""
        row = self._added_rows.get(int(flow_id))
        if row is None:
            at = int(np.searchsorted(self._flow_ids, flow_id))
            if at == len(self._flow_ids) or self._flow_ids[at] != flow_id:
                return None
            row = int(self._flow_order[at])
        return row if self.alive[row] else None

    def _est_row(self, est_id: int, record: EstablishmentRecord | None) -> int:
        at = int(np.searchsorted(self._est_ids, est_id))
        if at < len(self._est_ids) and self._est_ids[at] == est_id:
            return int(self._est_order[at])
        if est_id in self._added_est:
            return self._added_est[est_id]
        if record is None:
            raise KeyError(est_id)
        e = self.used_est
        est = self.index.est
        if e == len(est):
            raise IndexFull
        naf = "".join(ch for ch in record.naf if ch.isdigit())[:4]
        est.id[e], est.lat[e], est.lon[e] = record.id, record.lat, record.lon
        est.division[e], est.naf[e], est.headcount[e] = naf[:2], naf, record.headcount
        hazardous = record.may_receive_hazardous
        if hazardous is None:
            hazardous = bool(hazardous_authorisation(np.array([naf]))[0])
        est.may_receive_hazardous[e] = hazardous
        self.index.division[e] = self.index.tax.naf_nodes(np.array([naf]))[0]
        self._added_est[est_id] = e
        self.used_est += 1
        return e

    def _est_xyz(self, e: int) -> np.ndarray:
        est = self.index.est
        one = Establishments(**{f.name: getattr(est, f.name)[e : e + 1] for f in fields(est)})
        return one.xyz()

    # ---- deltas -----------------------------------------------------------------------------

    def upsert(self, flow: FlowRecord, establishment: EstablishmentRecord | None = None) -> None:
        """A flow created or changed (``establishment`` needed only if the index does not hold
        it yet)."""
        with self.lock:
            old = self.row_of(flow.id)
            e = self._est_row(flow.establishment_id, establishment)
            r = self.used_flows
            if r == len(self.index.flows):
                raise IndexFull
            if old is not None:
                self._kill(old)
            self._write(r, e, flow)
            self.alive[r] = True
            self._added_rows[int(flow.id)] = r
            self.used_flows += 1
            self.deltas += 1
            c = int(flow.resource_class)
            if flow.is_offer:
                self._offer_added.setdefault(c, []).append(r)
                self._patch_offer_class(c)
                if flow.waste_code >= 0:
                    self._refresh_coded()
            else:
                self._need_added.setdefault(c, []).append(r)
                self._declared_live[c] += bool(flow.declared)
                self._dirty.add(c)

    def remove(self, flow_id: int) -> None:
        """A flow deleted, archived, or gone out of the scope."""
        with self.lock:
            row = self.row_of(flow_id)
            if row is not None:
                self._kill(row)
                self.deltas += 1

    def _kill(self, row: int) -> None:
        flows = self.index.flows
        self.alive[row] = False
        c = int(flows.resource_class[row])
        if flows.is_offer[row]:
            if row < self.base_flows:
                self._offer_dead[c] = self._offer_dead.get(c, 0) + 1
            self._patch_offer_class(c)
            if self.index.routes.of_flow[row] >= 0:
                self._refresh_coded()
        else:
            if row < self._need_limit.get(c, self.base_flows):
                self._need_killed.setdefault(c, []).append(row)
            self._declared_live[c] -= bool(flows.declared[row])
            self._dirty.add(c)

    def ensure(self, flow: FlowRecord, establishment: EstablishmentRecord | None = None) -> bool:
        """Upsert the flow unless the index holds it as it is: whether it did."""
        with self.lock:
            row = self.row_of(flow.id)
            if row is not None and not self._differs(row, flow):
                return False
            self.upsert(flow, establishment)
            return True

    def _differs(self, row: int, flow: FlowRecord) -> bool:
        flows, single = self.index.flows, one_row(flow)
        if self.index.est.id[flows.establishment[row]] != flow.establishment_id:
            return True
        for f in fields(Flows):
            if f.name in ("establishment",):
                continue
            a, b = getattr(flows, f.name)[row], getattr(single, f.name)[0]
            if a != b and not (isinstance(a, float) and np.isnan(a) and np.isnan(b)):
                return True
        return False

    def _write(self, r: int, e: int, flow: FlowRecord) -> None:
        ix, flows = self.index, self.index.flows
        single = one_row(flow)
        for f in fields(Flows):
            getattr(flows, f.name)[r] = getattr(single, f.name)[0]
        flows.establishment[r] = e
        ix.flow_xyz[r] = self._est_xyz(e)[0] + nudges(single.id, FLOW_NUDGE_MAGNITUDE)[0]
        # the base's scale: ties still break by id (see the module's docstring)
        top = float(self._flow_ids[-1]) + 1.0 if len(self._flow_ids) else 1.0
        ix.tiebreak[r] = single.id[0] / top * 1e-9
        with np.errstate(invalid="ignore"):
            ix.log_quantity[r] = np.log1p(single.quantity[0])
        ix.evidence[r] = 1.0 if single.declared[0] else INFERRED_NEED_FACTOR
        ix.routes.of_flow[r] = self._route_of(single) if single.is_offer[0] else -1

    def _route_of(self, single: Flows) -> int:
        found = flow_routes(single.waste_code, single.hazardous)
        if found.of_flow[0] < 0:
            return -1
        route = found.routes[found.of_flow[0]]
        known = self.index.routes.routes
        for at, r in enumerate(known):
            if (r.prefix, r.hazardous) == (route.prefix, route.hazardous):
                return at
        self.index.routes = FlowRoutes(self.index.routes.of_flow, (*known, route))
        return len(known)

    # ---- offer side: patched trees ----------------------------------------------------------

    def _prepare_offer_side(self) -> None:
        """The base offer rows of every class, once (one sort, not a scan per class)."""
        flows = self.index.flows
        offers = np.flatnonzero(flows.is_offer[: self.base_flows])
        classes = flows.resource_class[offers]
        order = np.argsort(classes, kind="stable")
        offers, classes = offers[order], classes[order]
        bounds = np.r_[0, np.flatnonzero(np.diff(classes)) + 1, len(classes)]
        self._offer_base = {
            int(classes[lo]): offers[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        }
        cache = self.index.__dict__.setdefault("_route_cache", {})
        self._coded_base = np.flatnonzero(
            flows.is_offer[: self.base_flows] & (self.index.routes.of_flow[: self.base_flows] >= 0)
        )
        cache["coded"] = self._coded_base

    def _prepare_need_side(self) -> None:
        """The live declared needs of every class (the size-aware tables' rule), counted once."""
        flows, n = self.index.flows, self.base_flows
        declared = ~flows.is_offer[:n] & flows.declared[:n] & (flows.resource_class[:n] >= 0)
        self._declared_live = np.bincount(
            flows.resource_class[:n][declared], minlength=len(self.index.tax.codes)
        ).astype(np.int64)

    def warm(self) -> None:
        """Build now rather than on a first query: every offer class's tree, what patches of the
        size-aware tables start from, and each offer class's targets (with the receivers' tables
        of the base tables, a k-d tree each, that patches of those tables start from)."""
        with self.lock:
            for source in self._offer_base:
                self._patch_offer_class(source)
            for c in self.index.size_trees:
                self._size_base(c)
            for source in range(len(self.index.tax.codes)):
                for hazardous in (False, True):
                    self.index._targets(source, hazardous)

    def offer_tree(self, source: int) -> PatchedOfferTree:
        """The patched tree of one offer class, its base tree built on first use."""
        base = self.index.__dict__.setdefault("_base_offer_trees", {})
        if source not in base:
            rows = self._offer_base.get(source, np.empty(0, dtype=np.int64))
            base[source] = cKDTree(self.index.flow_xyz[rows]) if len(rows) else None
        added = np.array(self._offer_added.get(source, ()), dtype=np.int64)
        added = added[self.alive[added]]
        rows = self._offer_base.get(source, np.empty(0, dtype=np.int64))
        dead = self._offer_dead.get(source, 0)
        return PatchedOfferTree(base[source], rows, dead, added, self.index.flow_xyz, self.alive)

    def _patch_offer_class(self, source: int) -> None:
        tree = self.offer_tree(source)
        self.index.__dict__.setdefault("_offer_trees", {})[source] = (tree, tree.rows)

    def _refresh_coded(self) -> None:
        base = self._coded_base[self.alive[self._coded_base]]
        added = np.array(sorted(self._added_rows.values()), dtype=np.int64)
        added = added[self.alive[added]] if len(added) else added
        if len(added):
            flows = self.index.flows
            added = added[flows.is_offer[added] & (self.index.routes.of_flow[added] >= 0)]
        self.index.__dict__["_route_cache"]["coded"] = np.concatenate((base, added))

    # ---- need side: folds -------------------------------------------------------------------

    def fold(self, classes=None) -> int:
        """Rebuild the trees of the need classes a delta touched (all, or those of ``classes``)
        from their live members: the number folded."""
        with self.lock:
            todo = sorted(self._dirty if classes is None else self._dirty & set(classes))
            for c in todo:
                self._fold_class(c)
                self._dirty.discard(c)
            return len(todo)

    def patch(self, classes=None) -> int:
        """Bring the tables of the need classes a delta touched (all, or those of ``classes``) up
        to date without rebuilding their trees: the number patched."""
        with self.lock:
            todo = sorted(self._dirty if classes is None else self._dirty & set(classes))
            for c in todo:
                self._patch_class(c)
            return len(todo)

    @property
    def pending(self) -> list[int]:
        """The need classes whose tables lag behind the deltas."""
        with self.lock:
            return sorted(self._dirty)

    def _fold_class(self, c: int) -> None:
        ix = self.index
        flows, tax, columns = ix.flows, ix.tax, ix.columns
        table = ix.trees.get(c)
        members = np.empty(0, np.int64)
        if table is not None:
            members = np.asarray(table.members).astype(np.int64)
        added = np.array(self._need_added.pop(c, ()), dtype=np.int64)
        members = np.unique(np.concatenate((members, added)))
        members = members[self.alive[members]]
        authorised = members[ix.est.may_receive_hazardous[flows.establishment[members]]]
        old = [d.get(c) for d in (ix.trees, ix.hazardous_trees, ix.size_trees)]
        built = (
            need_tables.build_need_trees(flows, ix.flow_xyz, members, tax, columns),
            need_tables.build_need_trees(flows, ix.flow_xyz, authorised, tax, columns),
            need_tables.build_size_trees(flows, ix.flow_xyz, members, tax, columns),
        )
        appeared = False
        for trees, new in zip((ix.trees, ix.hazardous_trees, ix.size_trees), built, strict=True):
            appeared |= (c in trees) != (c in new)
            if c in new:
                trees[c] = new[c]
            else:
                trees.pop(c, None)
        old += [t for t in self._need_base.get(c, ()) if all(t is not o for o in old)]
        self._need_base[c] = (ix.trees.get(c), ix.hazardous_trees.get(c), ix.size_trees.get(c))
        self._need_limit[c] = self.used_flows
        self._need_killed.pop(c, None)
        self._size_info.pop(c, None)
        self._forget(old, appeared)

    def _size_base(self, c: int) -> tuple[np.ndarray, float | None, bool]:
        """What the quantile of need class ``c``'s size-aware table is computed from without
        reading its members again: see ``_size_info``."""
        if c not in self._size_info:
            if c not in self._need_base:
                ix = self.index
                self._need_base[c] = (
                    ix.trees.get(c),
                    ix.hazardous_trees.get(c),
                    ix.size_trees.get(c),
                )
            size = self._need_base[c][2]
            if size is None:
                self._size_info[c] = (np.empty(0), None, False)
            else:
                log_q = self.index.log_quantity[size.members]
                known = np.sort(log_q[np.isfinite(log_q)])
                declared = bool(self.index.flows.declared[size.members].any())
                self._size_info[c] = (known, need_tables.size_top(known), declared)
        return self._size_info[c]

    def _patch_class(self, c: int) -> None:
        """Bring the tables of need class ``c`` up to the deltas without rebuilding its trees
        (``live_tables``); a fold when the size-aware table's membership rule flips. The cost is
        that of the rows added and killed since the class's base, not of the class."""
        ix = self.index
        flows = ix.flows
        known, base_top, declared_only = self._size_base(c)
        near, hazardous, size = self._need_base[c]
        added = np.array(self._need_added.get(c, ()), dtype=np.int64)
        added = np.unique(added[self.alive[added]])
        # the size-aware table holds the declared needs only when the class has any
        declared = bool(self._declared_live[c] > 0)
        if size is not None and declared_only != declared:
            self._fold_class(c)
            self._dirty.discard(c)
            return
        sized = added[flows.declared[added]] if declared else added
        killed = np.array(self._need_killed.get(c, ()), dtype=np.int64)
        killed_sized = killed[flows.declared[killed]] if declared_only else killed
        # the class's quantile as a fresh build computes it on the live members (merged_quantile
        # is np.quantile of the base's values less the killed plus the added)
        removed, new = ix.log_quantity[killed_sized], ix.log_quantity[sized]
        removed, new = removed[np.isfinite(removed)], new[np.isfinite(new)]
        top = merged_quantile(known, removed, new, LARGE_QUANTILE)
        authorised = added[ix.est.may_receive_hazardous[flows.establishment[added]]]
        parameters = (None, None, (top, self._reach[c], base_top))
        old = [ix.trees.get(c), ix.hazardous_trees.get(c), ix.size_trees.get(c)]
        appeared = False
        for trees, base, rows, size_of in zip(
            (ix.trees, ix.hazardous_trees, ix.size_trees),
            (near, hazardous, size),
            (added, authorised, sized),
            parameters,
            strict=True,
        ):
            table = self._patched(base, rows, c, size_of, len(killed))
            appeared |= (c in trees) != (table is not None)
            if table is None:
                trees.pop(c, None)
            else:
                trees[c] = table
        bases = (near, hazardous, size)
        self._forget(
            [t for t in old if all(t is not b for b in bases)],
            appeared,
            kept=[t for t in old if any(t is b for b in bases)],
        )
        self._dirty.discard(c)

    def _patched(self, base, rows, c: int, size, dead: int) -> NeedTable | None:
        ix = self.index
        strengths = self._strengths.get(c, ())
        table = live_tables.patched_table(
            ix.columns, ix.flow_xyz, self.alive, base, rows, strengths, size, dead
        )
        if table is not None and table is not base:
            self._patch_info[id(table)] = (table, base, rows, c, size, dead)
        return table

    def _receivers_table(self, table: NeedTable, receivers: np.ndarray) -> NeedTable | None:
        """``Index.receivers_table``, for patched tables too: the base's receivers' table (made
        once per base) patched with the added rows those receivers allow."""
        info = self._patch_info.get(id(table))
        if info is None or info[0] is not table:
            return substitution.Index.receivers_table(self.index, table, receivers)
        key = (id(table), receivers.tobytes())
        if key not in self._derived:
            _table, base, rows, c, size, dead = info
            ix = self.index
            derived = None
            if base is not None:
                derived = substitution.Index.receivers_table(ix, base, receivers)
            keep = rows[receivers[ix.division[ix.flows.establishment[rows]]]]
            if derived is base and len(keep) == len(rows):
                self._derived[key] = table  # every member allowed
            else:
                self._derived[key] = self._patched(derived, keep, c, size, dead)
        return self._derived[key]

    def _forget(self, old_tables: list, appeared: bool, kept: list | tuple = ()) -> None:
        """Drop the cached receivers' tables and targets made of replaced tables (by identity:
        an id may be reused once the old table is gone); ``kept``: tables no longer in use whose
        receivers' tables stay cached (patches start from them). A class that appeared or
        disappeared changes every offer class's list of targets."""
        caches = self.index.__dict__
        stale = {id(t) for t in old_tables if t is not None}
        still = {id(t) for t in kept if t is not None}
        used = stale | still  # what no target may read any more
        for cache in (caches.get("_receivers_tables", {}), self._derived):
            for key in [key for key in cache if key[0] in used]:
                table = cache[key]
                if table is not None:
                    used.add(id(table))
                if key[0] in stale:
                    del cache[key]
                    if table is not None:
                        stale.add(id(table))
        for key in stale:
            self._patch_info.pop(key, None)
        targets = caches.get("_target_cache", {})
        if appeared:
            targets.clear()
            return
        for key in list(targets):
            if any(
                id(t.near) in used or (t.size is not None and id(t.size) in used)
                for t in targets[key]
            ):
                del targets[key]

    # ---- queries ----------------------------------------------------------------------------

    def _need_classes_of(self, row: int) -> set[int]:
        """The need classes an offer's matching reads (by class, and by its recovery route)."""
        ix = self.index
        source = int(ix.flows.resource_class[row])
        reached = {t for t, _strength in ix.tax.targets[source]}
        route = int(ix.routes.of_flow[row])
        if route >= 0:
            reached |= set(route_inputs(ix.tax, source, ix.routes.routes[route]))
        return reached

    def partners(self, flow_id: int, k: int = 20) -> tuple[int, Pairs] | None:
        """(row, pairs) for the flow's best partners (needs for an offer, offers for a need),
        best first; None if the index does not hold the flow."""
        with self.lock:
            row = self.row_of(flow_id)
            if row is None:
                return None
            ix = self.index
            if ix.flows.is_offer[row]:
                self.patch(self._need_classes_of(row))
                return row, ix.match(np.array([row]), k=k, workers=1)
            # offers_for_need reads the offer trees of the classes that feed this one (by class;
            # by route it reads the coded offers, kept live by the deltas)
            target = int(ix.flows.resource_class[row])
            patched = ix.__dict__.get("_offer_trees", {})
            for source, targets in enumerate(ix.tax.targets):
                if source not in patched and any(t == target for t, _s in targets):
                    self._patch_offer_class(source)
            return row, reverse_match.offers_for_need(ix, row, k=k)

    def partner_rows(self, flow_id: int, k: int = 20) -> list[tuple] | None:
        """``partners`` as plain tuples, best first: (flow id, establishment id, class position,
        distance km, score, coverage or NaN); None if the index does not hold the flow."""
        found = self.partners(flow_id, k)
        if found is None:
            return None
        row, pairs = found
        flows, est = self.index.flows, self.index.est
        partner = pairs.need if flows.is_offer[row] else pairs.offer
        return [
            (int(flows.id[p]), int(est.id[flows.establishment[p]]), int(flows.resource_class[p]))
            + (float(d), float(s), float(c))
            for p, d, s, c in zip(
                partner, pairs.distance_km, pairs.score, pairs.coverage, strict=True
            )
        ]
