"""The live index's (``incremental``) tables: the index's per-row arrays with spare rows, and
offer and need tables patched with the flows written since their build, without rebuilding their
k-d trees.

A patched offer tree asks its base tree for as many more neighbours as it has dead offers and
merges the offers added since (few) by distance.

A patched table holds the base table's members then the added ones, with every per-member array
the matching reads, and a tree that answers ``query`` as a k-d tree of the live members would:
the base tree asked for as many more neighbours as it has dead members, those dropped, the added
members (few) merged by brute force. In a size-aware table the fourth coordinate of every member
moves with the class's quantile; the base tree, built on the old coordinates, is asked for more
neighbours until no member it did not return can be nearer under the new ones (a member moves by
at most the largest change of its lift), and distances are computed on the new coordinates.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import cast

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine import substitution
from maillage.engine.data_model import NO_WASTE_CODE, Establishments, Flows
from maillage.engine.need_tables import NeedTable, need_table, size_lift
from maillage.engine.routes import FlowRoutes


def _grown(values: np.ndarray, extra: int, fill) -> np.ndarray:
    out = np.empty((len(values) + extra, *values.shape[1:]), dtype=values.dtype)
    out[: len(values)] = values
    out[len(values) :] = fill
    return out


def with_spare_tables(est: Establishments, flows: Flows, spare_flows: int, spare_est: int):
    """The tables with spare rows at their end, to build an index on (cheaper in memory than
    growing a built index, ``with_spare_rows``): spare flows are offers of no class, so that no
    need tree holds them and no class's offers include them."""
    flow_fill: dict[str, object] = {"id": -1, "establishment": 0, "resource_class": -1}
    flow_fill |= {"is_offer": True, "quantity": np.nan, "temperature": np.nan}
    flow_fill |= {"hazardous": False, "declared": False, "waste_code": NO_WASTE_CODE}
    est_fill = {"id": -1, "lat": 0.0, "lon": 0.0, "division": "", "headcount": np.nan}
    est_fill |= {"may_receive_hazardous": False, "naf": ""}
    grown_flows = Flows(
        **{
            f.name: _grown(getattr(flows, f.name), spare_flows, flow_fill[f.name])
            for f in fields(Flows)
        }
    )
    grown_est = Establishments(
        **{
            f.name: _grown(getattr(est, f.name), spare_est, est_fill[f.name])
            for f in fields(Establishments)
        }
    )
    return grown_est, grown_flows


def with_spare_rows(index: substitution.Index, flows: int, establishments: int):
    """The index with ``flows`` and ``establishments`` spare rows at the end of its per-row
    arrays (dead rows of no class that no tree holds). Column by column, so that memory holds at
    most the old and new copy of one table at a time."""
    old_flows, old_est = index.flows, index.est
    flow_fill: dict[str, object] = {
        "id": -1,
        "establishment": 0,
        "resource_class": -1,
        "is_offer": False,
    }
    flow_fill |= {"quantity": np.nan, "temperature": np.nan, "hazardous": False}
    flow_fill |= {"declared": False, "waste_code": NO_WASTE_CODE}
    grown = {}
    for f in fields(Flows):
        grown[f.name] = _grown(getattr(old_flows, f.name), flows, flow_fill[f.name])
    new_flows = Flows(**grown)
    est_fill = {"id": -1, "lat": np.nan, "lon": np.nan, "division": "", "headcount": np.nan}
    est_fill |= {"may_receive_hazardous": False, "naf": ""}
    new_est = Establishments(
        **{
            f.name: _grown(getattr(old_est, f.name), establishments, est_fill[f.name])
            for f in fields(Establishments)
        }
    )
    del grown
    columns = dict(index.columns)
    grown_index = replace(
        index,
        est=new_est,
        flows=new_flows,
        flow_xyz=_grown(index.flow_xyz, flows, np.nan),
        tiebreak=_grown(index.tiebreak, flows, np.inf),
        log_quantity=_grown(index.log_quantity, flows, np.nan),
        evidence=_grown(index.evidence, flows, 0.0),
        division=_grown(index.division, establishments, 0),
        routes=FlowRoutes(_grown(index.routes.of_flow, flows, -1), index.routes.routes),
        columns=columns,
    )
    columns.update(
        establishment=new_flows.establishment,
        division=grown_index.division,
        evidence=grown_index.evidence,
        log_quantity=grown_index.log_quantity,
        tiebreak=grown_index.tiebreak,
        temperature=new_flows.temperature,
    )
    return grown_index


class PatchedOfferTree:
    """The offers of one class: a base k-d tree, its dead rows, and the offers added since; a
    query answers as a k-d tree over the live offers would (cKDTree's ``query`` for one point:
    distances ascending, ``inf`` and ``len(rows)`` past the last neighbour). Positions refer to
    ``rows``: the base rows, then the added ones."""

    def __init__(self, tree, base_rows, dead: int, added, xyz: np.ndarray, alive: np.ndarray):
        self.tree, self.base_rows, self.dead = tree, base_rows, dead
        self.added, self.xyz, self.alive = added, xyz, alive
        self.rows = np.concatenate((base_rows, added)).astype(np.int64)

    def query(self, point, k: int = 1, distance_upper_bound: float = np.inf):
        parts_d, parts_i = [], []
        if self.tree is not None and len(self.base_rows):
            want = min(len(self.base_rows), k + self.dead)
            d, i = self.tree.query(point, k=want, distance_upper_bound=distance_upper_bound)
            d, i = np.atleast_1d(d), np.atleast_1d(i)
            found = np.isfinite(d)
            d, i = d[found], i[found]
            if self.dead:
                live = self.alive[self.base_rows[i]]
                d, i = d[live], i[live]
            parts_d.append(d)
            parts_i.append(i)
        if len(self.added):
            d = np.linalg.norm(self.xyz[self.added] - point, axis=1)
            near = np.flatnonzero(d < distance_upper_bound)
            parts_d.append(d[near])
            parts_i.append(len(self.base_rows) + near)
        d = np.concatenate(parts_d) if parts_d else np.empty(0)
        i = np.concatenate(parts_i) if parts_i else np.empty(0, dtype=np.int64)
        order = np.argsort(d, kind="stable")[:k]
        out_d = np.full(k, np.inf)
        out_i = np.full(k, len(self.rows), dtype=np.int64)
        out_d[: len(order)] = d[order]
        out_i[: len(order)] = i[order]
        return out_d, out_i


class PatchedNeedTree:
    """``cKDTree.query`` over the live members of a patched table (positions in the table)."""

    def __init__(self, base, dead, added_points, new_lift=None, old_lift=None):
        self.base, self.dead, self.added = base, dead, added_points
        self.n_base, self.n_dead = len(dead), int(dead.sum())
        self.size = self.n_base + len(added_points)
        # size-aware: the base members' new fourth coordinate, and how far it moved at most
        self.new_lift = new_lift
        self.shift = 0.0
        if new_lift is not None and self.n_base:
            self.shift = float(np.abs(new_lift - old_lift)[~dead].max(initial=0.0))

    def query(self, points, k: int = 1, distance_upper_bound: float = np.inf, workers: int = 1):
        points = np.atleast_2d(points)
        out_d = np.full((len(points), k), np.inf)
        out_i = np.full((len(points), k), self.size, dtype=np.int64)
        for r, point in enumerate(points):
            d, i = self._one(point, k, distance_upper_bound)
            out_d[r, : len(d)] = d
            out_i[r, : len(i)] = i
        return out_d, out_i

    def _base(self, point, k: int, bound: float):
        """The base members near ``point`` that a tree of the live members would return among its
        ``k`` nearest (at least those): distances (new coordinates) and positions."""
        if self.n_base == 0:
            return np.empty(0), np.empty(0, dtype=np.int64)
        want = min(self.n_base, k + self.n_dead)
        while True:
            d, i = self.base.query(point, k=want, distance_upper_bound=bound)
            d, i = np.atleast_1d(d), np.atleast_1d(i)
            found = np.isfinite(d)
            d, i = d[found], i[found]
            live = ~self.dead[i]
            if self.new_lift is None:
                return d[live], i[live]
            i = i[live]
            new = np.column_stack((self.base.data[i, :3], self.new_lift[i]))
            exact = np.sqrt(np.square(new - point).sum(axis=1))
            # any member not returned is at least this far under the old coordinates
            farthest = d[-1] if len(d) == want else np.inf
            kth = np.sort(exact)[k - 1] if len(exact) >= k else np.inf
            if want == self.n_base or farthest - self.shift > kth:
                keep = exact < bound
                return exact[keep], i[keep]
            want = min(self.n_base, 2 * want)

    def _one(self, point, k: int, bound: float):
        d, i = self._base(point, k, bound)
        if len(self.added):
            extra = np.sqrt(np.square(self.added - point).sum(axis=1))
            near = np.flatnonzero(extra < bound)
            d = np.concatenate((d, extra[near]))
            i = np.concatenate((i, self.n_base + near))
        order = np.argsort(d, kind="stable")[:k]
        return d[order], i[order]


def patched_table(
    columns: dict,
    flow_xyz: np.ndarray,
    alive: np.ndarray,
    base: NeedTable | None,
    rows: np.ndarray,
    strengths,
    size: tuple[float | None, float] | None = None,
) -> NeedTable | None:
    """``base`` with its dead members out of reach and the needs at ``rows`` added (live, of its
    class, allowed in it); ``size``: (the class's large-need quantile, its reach in km) for a
    size-aware table. None when no member is left to add to no base."""
    log_q = columns["log_quantity"]
    lift_rows = None if size is None else size_lift(log_q[rows], size[0], size[1])

    def points_of(members, lift):
        return flow_xyz[members] if lift is None else np.column_stack((flow_xyz[members], lift))

    if base is None:
        if len(rows) == 0:
            return None
        return need_table(columns, rows, points_of(rows, lift_rows), strengths, lift_rows)
    dead = ~alive[base.members]
    lift_base = None if size is None else size_lift(log_q[base.members], size[0], size[1])
    moved = lift_base is not None and not np.array_equal(lift_base, np.asarray(base.lift))
    if not dead.any() and len(rows) == 0 and not moved:
        return base
    added = None
    if len(rows):
        added = need_table(columns, rows, points_of(rows, lift_rows), strengths, lift_rows)

    def joined(name):
        tail = getattr(base, name)[-1:] if added is None else getattr(added, name)
        return np.concatenate((getattr(base, name)[:-1], tail))

    weights = {
        s: np.concatenate((w[:-1], w[-1:] if added is None else added.weights[s]))
        for s, w in base.weights.items()
    }
    sorted_est = base.establishments_sorted
    if added is not None:
        new = added.establishments_sorted
        at = np.minimum(np.searchsorted(sorted_est, new), len(sorted_est) - 1)
        new = new[sorted_est[at] != new]
        sorted_est = np.insert(sorted_est, np.searchsorted(sorted_est, new), new)
    tree = PatchedNeedTree(
        base.tree,
        dead,
        points_of(rows, lift_rows),
        lift_base,
        base.lift,
    )
    lift: np.ndarray | None = None
    if lift_base is not None and lift_rows is not None:
        # the last entry answers the "no neighbour" position (see _size_candidates)
        lift = np.concatenate((lift_base, lift_rows, np.zeros(1)))
    return NeedTable(
        # duck-typed: the patched tree answers query() as cKDTree does
        tree=cast(cKDTree, tree),
        members=np.concatenate((base.members, rows)).astype(np.int32),
        need=joined("need"),
        establishment=joined("establishment"),
        establishments_sorted=sorted_est,
        division=joined("division"),
        log_quantity=joined("log_quantity"),
        tiebreak=joined("tiebreak"),
        temperature=joined("temperature"),
        has_temperature=base.has_temperature or (added is not None and added.has_temperature),
        weights=weights,
        lift=lift,
    )
