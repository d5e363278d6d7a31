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
from maillage.engine.joined import Joined
from maillage.engine.need_tables import NeedTable, need_table, size_lift, size_scale
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
    ``rows``: the base rows, then the added ones (read in place, not joined: ``Joined``)."""

    def __init__(self, tree, base_rows, dead: int, added, xyz: np.ndarray, alive: np.ndarray):
        self.tree, self.base_rows, self.dead = tree, base_rows, dead
        self.added, self.xyz, self.alive = added, xyz, alive
        self.rows = Joined(np.asarray(base_rows, dtype=np.int64), np.asarray(added, np.int64))

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
    """``cKDTree.query`` over the live members of a patched table (positions in the table).

    ``dead``: at most how many base members are dead (each query asks the base tree for that
    many more neighbours and drops the dead ones, read from ``alive`` by row). A size-aware
    table: ``new_lift`` reads the base members' fourth coordinate under the class's quantile now,
    ``shift`` bounds how far any of them moved from the one the base tree was built on."""

    def __init__(self, base, members, alive, dead: int, added_points, new_lift=None, shift=0.0):
        self.base, self.members, self.alive = base, members, alive
        self.added = added_points
        self.n_base, self.n_dead = len(members), int(dead)
        self.size = self.n_base + len(added_points)
        self.new_lift, self.shift = new_lift, float(shift)

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
            live = self.alive[self.members[i]] if self.n_dead else slice(None)
            if self.new_lift is None:
                return d[live], i[live]
            i = i[live]
            new = np.column_stack((self.base.data[i, :3], self.new_lift.take(i)))
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
    size: tuple[float | None, float, float | None] | None = None,
    dead: int = 0,
) -> NeedTable | None:
    """``base`` with its dead members out of reach and the needs at ``rows`` added (live, of its
    class, allowed in it), read in place (``Joined``): the cost is that of the rows added, not of
    the base. ``size``: (the class's large-need quantile now, its reach in km, the quantile the
    base's lifts were computed with) for a size-aware table; ``dead``: at most how many of the
    base's members are dead. None when no member is left to add to no base."""
    log_q = columns["log_quantity"]
    lift_rows = None if size is None else size_lift(log_q[rows], size[0], size[1])

    def points_of(members, lift):
        return flow_xyz[members] if lift is None else np.column_stack((flow_xyz[members], lift))

    if base is None:
        if len(rows) == 0:
            return None
        return need_table(columns, rows, points_of(rows, lift_rows), strengths, lift_rows)
    moved = size is not None and size[0] != size[2]
    if dead == 0 and len(rows) == 0 and not moved:
        return base
    added = None
    if len(rows):
        added = need_table(columns, rows, points_of(rows, lift_rows), strengths, lift_rows)

    def joined(values: np.ndarray, tail: np.ndarray | None) -> Joined:
        # the base's entries without its "no neighbour" one, then the added (with theirs)
        return Joined(values[:-1], values[-1:] if tail is None else tail)

    def part(name):
        return joined(getattr(base, name), None if added is None else getattr(added, name))

    weights = {
        s: joined(w, None if added is None else added.weights[s]) for s, w in base.weights.items()
    }
    sorted_est = base.establishments_sorted
    if added is not None:
        new = added.establishments_sorted
        at = np.minimum(np.searchsorted(sorted_est, new), len(sorted_est) - 1)
        new = new[sorted_est[at] != new]
        if len(new):  # an establishment new to the class: the one copy a patch makes
            sorted_est = np.insert(sorted_est, np.searchsorted(sorted_est, new), new)
    new_lift: Joined | None = None
    lift: Joined | None = None
    shift = 0.0
    if size is not None and lift_rows is not None:
        top, reach, base_top = size
        assert base.lift is not None  # a size-aware table
        tail = np.r_[lift_rows, 0.0]  # the last entry answers "no neighbour" (_size_candidates)
        if moved:
            lift = Joined(base.log_quantity[:-1], tail, lambda q: size_lift(q, top, reach))
            if top is not None and base_top is not None:
                # size_lift is the clipped shortfall times size_scale: it moves by at most the
                # quantile's change times the scale (a margin for the rounding)
                shift = abs(top - base_top) * size_scale(reach) * (1 + 1e-9) + 1e-15
            else:
                shift = float(np.abs(np.asarray(lift)[: len(base)] - base.lift).max(initial=0.0))
        else:
            lift = Joined(np.asarray(base.lift)[: len(base)], tail)
        new_lift = lift
    tree = PatchedNeedTree(
        base.tree,
        base.members,
        alive,
        dead,
        points_of(rows, lift_rows),
        new_lift,
        shift,
    )
    return NeedTable(
        # duck-typed: the patched tree answers query() as cKDTree does, the Joined arrays take()
        # and index as arrays do
        tree=cast(cKDTree, tree),
        members=cast(np.ndarray, Joined(base.members, rows.astype(np.int32))),
        need=cast(np.ndarray, part("need")),
        establishment=cast(np.ndarray, part("establishment")),
        establishments_sorted=sorted_est,
        division=cast(np.ndarray, part("division")),
        log_quantity=cast(np.ndarray, part("log_quantity")),
        tiebreak=cast(np.ndarray, part("tiebreak")),
        temperature=cast(np.ndarray, part("temperature")),
        has_temperature=base.has_temperature or (added is not None and added.has_temperature),
        weights=weights,
        lift=cast(np.ndarray, lift),
    )
