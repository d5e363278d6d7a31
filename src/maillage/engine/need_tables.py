"""The needs of one class in a k-d tree, with what the rules and the score read of each: the tables
the substitution queries search (see ``substitution.Index``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from maillage.engine.data_model import Flows
from maillage.engine.geo import km_to_chord
from maillage.engine.pairs import INTERMEDIARY_STRENGTH, QUANTITY_DECADES
from maillage.engine.taxonomy import UNKNOWN_DIVISION, CompiledTaxonomy

# The quantile of a class's needs that counts as its large needs (see build_size_trees).
LARGE_QUANTILE = 0.99


@dataclass(frozen=True)
class NeedTable:
    """The needs of one class in a k-d tree and, in the tree's index order, what the rules and the
    score read of each, so that candidates are read from these small arrays rather than from the
    whole Flows table. Each per-need array has one more entry, at cKDTree's "no neighbour" index,
    that never makes a pair (need -1, tie-break +inf so that its key is -inf, weight 0)."""

    tree: cKDTree
    members: np.ndarray  # int32 row positions in Flows, in the tree's index order
    need: np.ndarray  # int32, then -1
    establishment: np.ndarray  # int32, then -1
    establishments_sorted: np.ndarray  # the members' distinct establishments, sorted
    division: np.ndarray  # NAF node of each member's establishment, then UNKNOWN_DIVISION
    log_quantity: np.ndarray  # then NaN
    tiebreak: np.ndarray  # then +inf
    temperature: np.ndarray  # then NaN
    has_temperature: bool
    weights: dict  # class strength → evidence × strength (a waste operator's) per member, then 0
    lift: np.ndarray | None = None  # size-aware trees: each member's fourth coordinate

    def __len__(self) -> int:
        return len(self.members)


def need_table(
    columns: dict, members: np.ndarray, points: np.ndarray, strengths, lift=None
) -> NeedTable:
    """The NeedTable of the needs at rows ``members``, their tree built on ``points``; ``columns``
    are per-flow (or per-establishment) arrays of the index, ``strengths`` the class strengths
    with which offers may feed this class."""
    members = members.astype(np.int32)
    est_of = columns["establishment"][members]
    division = columns["division"][est_of]

    def padded(values, sentinel):
        return np.r_[values, np.array([sentinel], dtype=values.dtype)]

    evidence = columns["evidence"][members]
    # A waste operator is the route every company already has: as a receiver it counts as a
    # substitution, so that a direct industrial user at a similar distance comes first.
    intermediary = columns["waste_operator"][division]
    weights = {}
    for s in strengths:
        strength = np.float64(s)
        factor = np.where(intermediary, np.minimum(strength, INTERMEDIARY_STRENGTH), strength)
        weights[s] = padded(evidence * factor, 0.0)
    temperature = columns["temperature"][members]
    return NeedTable(
        tree=cKDTree(points),
        members=members,
        need=padded(members, -1),
        establishment=padded(est_of.astype(np.int32), -1),
        establishments_sorted=np.unique(est_of),
        division=padded(division, UNKNOWN_DIVISION),
        log_quantity=padded(columns["log_quantity"][members], np.nan),
        tiebreak=padded(columns["tiebreak"][members], np.inf),
        temperature=padded(temperature, np.nan),
        has_temperature=bool(np.isfinite(temperature).any()),
        weights=weights,
        lift=lift,
    )


def _strengths_by_target(tax: CompiledTaxonomy) -> dict[int, set]:
    """Need class → the class strengths with which some offer class may feed it."""
    out: dict[int, set] = {}
    for targets in tax.targets:
        for t, s in targets:
            out.setdefault(t, set()).add(s)
    return out


def build_size_trees(
    flows: Flows, flow_xyz: np.ndarray, need_rows: np.ndarray, tax: CompiledTaxonomy, columns: dict
) -> dict:
    """One size-aware k-d tree per need class: class → NeedTable with its ``lift``. A need's
    point is its position plus a fourth coordinate, the decades by which it falls short of the
    class's large needs, scaled so that ``QUANTITY_DECADES`` decades weigh the longest distance an
    offer may travel to a need of this class; unknown quantities sit half-way. Only declared
    needs are in it when the class has any: an inferred need weighs less
    (``INFERRED_NEED_FACTOR``) and the near tree finds the nearest ones anyway; otherwise the
    large inferred needs of a dense territory would crowd out a declared one."""
    reach = size_reach(tax)
    strengths = _strengths_by_target(tax)
    trees = {}
    classes = flows.resource_class[need_rows]
    for c in np.unique(classes):
        members = need_rows[classes == c]
        if flows.declared[members].any():
            members = members[flows.declared[members]]
        log_q = np.log1p(flows.quantity[members])
        lift = size_lift(log_q, size_top(log_q), reach[int(c)])
        points = np.column_stack((flow_xyz[members], lift))
        trees[int(c)] = need_table(columns, members, points, strengths.get(int(c), ()), lift)
    return trees


def size_reach(tax: CompiledTaxonomy) -> dict[int, float]:
    """Need class → the farthest an offer of any class that can feed it may go (km)."""
    reach = {t: float(tax.max_distance_km[t]) for t in range(len(tax.codes))}
    for source, targets in enumerate(tax.targets):
        for t, _strength in targets:
            reach[t] = max(reach[t], float(tax.max_distance_km[source]))
    return reach


def size_top(log_q: np.ndarray) -> float | None:
    """The "large need" of a class of a size-aware tree: the ``LARGE_QUANTILE`` of its members'
    log quantities (None when none is known)."""
    known = np.isfinite(log_q)
    return float(np.quantile(log_q[known], LARGE_QUANTILE)) if known.any() else None


def size_lift(log_q: np.ndarray, top: float | None, reach_km: float) -> np.ndarray:
    """The fourth coordinate of needs in a size-aware tree (see ``build_size_trees``)."""
    known = np.isfinite(log_q)
    scale = size_scale(reach_km)
    shortfall = np.zeros(len(log_q)) if top is None else np.clip(top - log_q, 0.0, None)
    shortfall[~known] = QUANTITY_DECADES * np.log(10.0) / 2
    return shortfall * scale


def size_scale(reach_km: float) -> float:
    """The fourth coordinate of a need one unit of log quantity below its class's large needs:
    ``size_lift`` is this times the shortfall (clipped at 0), so that it moves by at most this
    times the change of the class's ``size_top``."""
    return km_to_chord(reach_km) / (QUANTITY_DECADES * np.log(10.0))


def build_need_trees(
    flows: Flows, flow_xyz: np.ndarray, need_rows: np.ndarray, tax: CompiledTaxonomy, columns: dict
) -> dict:
    """One k-d tree per need class: class → NeedTable."""
    strengths = _strengths_by_target(tax)
    trees = {}
    classes = flows.resource_class[need_rows]
    for c in np.unique(classes):
        members = need_rows[classes == c]
        trees[int(c)] = need_table(columns, members, flow_xyz[members], strengths.get(int(c), ()))
    return trees
