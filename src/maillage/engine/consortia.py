"""Consortia (co-traitance): groups of 2 to 5 complementary SMEs that together cover every lot of a
need, chosen with OR-Tools CP-SAT for capability, proximity and size; best groups first, with why.

Plain data in (per-candidate lot scores, coordinates, headcounts), plain data out (``Group``s).
Candidates are first pre-selected per lot (the best few for each lot), so that the exact model
stays small whatever the number of candidates; then CP-SAT assigns each lot to one member and we
ask it again, forbidding the groups already found, for the next best groups.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from maillage.engine.geo import haversine_km

MIN_MEMBERS = 2
MAX_MEMBERS = 5
# A candidate may take a lot only if its capability score for that lot reaches this.
MIN_LOT_SCORE = 0.2
# Per-lot pre-selection: the best candidates of each lot enter the exact model.
PER_LOT = 12
# Objective weights (integers for CP-SAT): capability per lot, minus spread and size penalties.
SCORE_SCALE = 1000
SPREAD_PENALTY_PER_KM = 4
# Headcount above which a firm is not an SME (EU definition: fewer than 250 persons).
SME_MAX_HEADCOUNT = 249


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # candidate ids
    lots: dict[int, int]  # lot index → member id
    objective: int
    mean_lot_score: float
    max_distance_km: float
    total_headcount: float
    why: dict = field(default_factory=dict)


def preselect(scores: NDArray[np.float64], per_lot: int = PER_LOT) -> NDArray[np.int64]:
    """Indices of the candidates that are among the ``per_lot`` best of at least one lot."""
    n, n_lots = scores.shape
    keep: set[int] = set()
    for lot in range(n_lots):
        col = scores[:, lot]
        able = np.flatnonzero(col >= MIN_LOT_SCORE)
        if able.size == 0:
            continue
        best = able[np.argsort(-col[able], kind="stable")[:per_lot]]
        keep.update(int(i) for i in best)
    return np.array(sorted(keep), dtype=np.int64)


def pairwise_km(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]))


def suggest_groups(
    ids: NDArray[np.int64],
    scores: NDArray[np.float64],
    latitude: NDArray[np.float64],
    longitude: NDArray[np.float64],
    headcount: NDArray[np.float64],
    n_groups: int = 5,
    max_members: int = MAX_MEMBERS,
    max_total_headcount: float | None = None,
    time_limit_s: float = 4.0,
) -> list[Group]:
    """Best groups of ``MIN_MEMBERS``..``max_members`` SMEs covering all lots.

    ``scores[i, l]`` is candidate i's capability for lot l in [0, 1]. Every lot goes to exactly one
    member and every member takes at least one lot (complementary, nobody along for the ride).
    Large firms (more than ``SME_MAX_HEADCOUNT``) are left out. Returns up to ``n_groups`` groups,
    best objective first; an empty list when the lots cannot be covered. ``time_limit_s`` bounds
    the whole search (all rounds); a round cut short returns the best group found so far.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n, n_lots = scores.shape
    if n_lots == 0 or n == 0:
        return []
    sme = np.asarray(headcount, dtype=np.float64) <= SME_MAX_HEADCOUNT
    scores = np.where(sme[:, None], scores, 0.0)
    pool = preselect(scores)
    if pool.size < MIN_MEMBERS:
        return []
    s = scores[pool]
    lat = np.nan_to_num(np.asarray(latitude, dtype=np.float64)[pool])
    lon = np.nan_to_num(np.asarray(longitude, dtype=np.float64)[pool])
    dist = pairwise_km(lat, lon)
    size = np.asarray(headcount, dtype=np.float64)[pool]
    m = len(pool)

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(m)]
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    for i in range(m):
        for lot in range(n_lots):
            if s[i, lot] >= MIN_LOT_SCORE:
                y[i, lot] = model.new_bool_var(f"y{i}_{lot}")
                model.add_implication(y[i, lot], x[i])
    for lot in range(n_lots):
        takers = [y[i, lot] for i in range(m) if (i, lot) in y]
        if not takers:
            return []
        model.add_exactly_one(takers)
    for i in range(m):
        mine = [y[i, lot] for lot in range(n_lots) if (i, lot) in y]
        model.add(sum(mine) >= 1).only_enforce_if(x[i])
    model.add(sum(x) >= MIN_MEMBERS)
    model.add(sum(x) <= max_members)
    if max_total_headcount is not None:
        model.add(sum(int(round(size[i])) * x[i] for i in range(m)) <= int(max_total_headcount))

    # Spread: the largest distance between two members (linearised with pair indicators only for
    # pairs that are close enough to matter; 200 km is beyond any sensible co-traitance).
    spread = model.new_int_var(0, 400, "spread")
    for i in range(m):
        for j in range(i + 1, m):
            d = int(min(dist[i, j], 400))
            if d > 0:
                model.add(spread >= d).only_enforce_if([x[i], x[j]])
    capability = sum(int(round(SCORE_SCALE * s[i, lot])) * v for (i, lot), v in y.items())
    # Smaller groups are easier to run: a small cost per member.
    model.maximize(capability - SPREAD_PENALTY_PER_KM * spread - 50 * sum(x))

    groups: list[Group] = []
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # the machine is shared; the model is small
    solver.parameters.random_seed = 0
    deadline = time.monotonic() + time_limit_s
    for _round in range(n_groups):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        solver.parameters.max_time_in_seconds = remaining
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        chosen = [i for i in range(m) if solver.boolean_value(x[i])]
        lots = {lot: int(ids[pool[i]]) for (i, lot), v in y.items() if solver.boolean_value(v)}
        lot_scores = [float(s[i, lot]) for (i, lot), v in y.items() if solver.boolean_value(v)]
        max_d = max((float(dist[i, j]) for i in chosen for j in chosen if i < j), default=0.0)
        members = tuple(int(ids[pool[i]]) for i in chosen)
        groups.append(
            Group(
                members=members,
                lots=dict(sorted(lots.items())),
                objective=int(solver.objective_value),
                mean_lot_score=round(float(np.mean(lot_scores)), 3),
                max_distance_km=round(max_d, 1),
                total_headcount=float(size[chosen].sum()),
                why={
                    "lot_scores": {
                        lot: round(float(s[i, lot]), 2)
                        for (i, lot), v in y.items()
                        if solver.boolean_value(v)
                    },
                    "max_distance_km": round(max_d, 1),
                    "members": len(members),
                    "total_headcount": float(size[chosen].sum()),
                },
            )
        )
        # Next round: not this exact set of members again.
        model.add(sum(x[i] for i in chosen) <= len(chosen) - 1)
    return groups
