"""Recovery routes compiled for vectorised matching: per List of Waste code (its row in
``recovery.waste_table``) and hazard, which NAF nodes (``CompiledTaxonomy.naf_nodes``) recover it by
which operation, with what strength, and which input classes of the receiver the recovered waste
then feeds (a calorific waste a cement kiln's fuel, a mineral waste its raw material).

``recovery`` holds the knowledge in plain Python; this module turns it into arrays over NAF nodes,
built once per (code row, hazard) and cached, so that substitution and prospects read one weight
and one operation per candidate, never a Python call per pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from maillage.engine import recovery
from maillage.engine.taxonomy import SUBSTITUTE_STRENGTH, CompiledTaxonomy, compiled

# What a recovery operation makes of a waste at the receiver: (operation, waste property or ""
# for any waste the operation takes, the input class it then replaces). Read from annex II of
# directive 2008/98/EC (what each operation is) and the sector BREFs the receiver rows cite
# (``recovery_receivers.csv``): co-incineration replaces a kiln's or boiler's fuel (R1), solvent
# and acid/base regeneration and oil re-refining give back chemicals (R2, R6, R9), organic
# recycling gives fibres, polymers, rubber, textile, wood, compost, digestion feedstock or feed
# (R3), metal recycling a furnace's charge (R4), inorganic recycling a kiln's raw meal and
# correctives, aggregates, glass batch or gypsum (R5), land treatment an amendment (R10). The
# receiver must itself perform the operation for that waste (a receiver row), so the property
# here only says which of its inputs the waste replaces. Preparation (R12, R13) feeds no input:
# waste operators are reached through their waste classes. Food ingredients are never an input.
ROUTE_INPUTS: tuple[tuple[str, str, str], ...] = (
    ("R1", "", "solid_recovered_fuel"),
    ("R1", "wood", "wood_fuel"),
    ("R2", "solvent", "chemicals_raw"),
    ("R3", "paper", "paper_pulp_raw"),
    ("R3", "plastic", "recycled_plastic_raw"),
    ("R3", "rubber", "rubber_raw"),
    ("R3", "textile", "textile_raw"),
    ("R3", "wood", "wood_raw_material"),
    ("R3", "oil", "biofuel_feedstock"),
    ("R3", "organic", "compost_fertiliser"),
    ("R3", "nutrient", "compost_fertiliser"),
    ("R3", "green", "compost_fertiliser"),
    ("R3", "compost", "compost_fertiliser"),
    ("R3", "organic", "biogas_feedstock"),
    ("R3", "biowaste", "biogas_feedstock"),
    ("R3", "plant", "biogas_feedstock"),
    ("R3", "feed", "animal_feed"),
    ("R4", "ferrous", "steel_raw"),
    ("R4", "iron_oxide", "steel_raw"),
    ("R4", "nonferrous", "nonferrous_raw"),
    ("R4", "zinc", "nonferrous_raw"),
    ("R4", "lead", "nonferrous_raw"),
    ("R4", "copper", "nonferrous_raw"),
    ("R4", "aluminium", "nonferrous_raw"),
    ("R4", "precious", "nonferrous_raw"),
    ("R4", "battery", "nonferrous_raw"),
    ("R4", "iron_oxide", "cement_raw_materials"),
    ("R5", "mineral", "cement_raw_materials"),
    ("R5", "cao_sio2", "cement_raw_materials"),
    ("R5", "alumina", "cement_raw_materials"),
    ("R5", "lime", "cement_raw_materials"),
    ("R5", "pozzolan", "cement_raw_materials"),
    ("R5", "slag", "cement_raw_materials"),
    ("R5", "iron_oxide", "cement_raw_materials"),
    ("R5", "gypsum", "cement_raw_materials"),
    ("R5", "silica", "cement_raw_materials"),
    ("R5", "inert", "aggregates"),
    ("R5", "slag", "aggregates"),
    ("R5", "soil", "aggregates"),
    ("R5", "ceramic", "aggregates"),
    ("R5", "sand", "aggregates"),
    ("R5", "bitumen", "aggregates"),
    ("R5", "glass", "glass_cullet_raw"),
    ("R5", "silica", "glass_cullet_raw"),
    ("R5", "gypsum", "plaster_raw"),
    ("R6", "acid", "chemicals_raw"),
    ("R6", "base", "chemicals_raw"),
    ("R6", "iron_chloride", "chemicals_raw"),
    ("R9", "oil", "chemicals_raw"),
    ("R10", "compost", "compost_fertiliser"),
    ("R10", "digestate", "compost_fertiliser"),
    ("R10", "nutrient", "compost_fertiliser"),
    ("R10", "lime", "compost_fertiliser"),
)

# A route is a substitution of class (the waste replaces another input): it weighs at most like
# one, times the receiver row's graded strength and the waste hierarchy's discount.
ROUTE_STRENGTH = SUBSTITUTE_STRENGTH

OPERATION_CODES: tuple[str, ...] = tuple(recovery.OPERATIONS)
NO_OPERATION = -1


@dataclass(frozen=True)
class Route:
    """One waste (code row, hazard) over the NAF nodes of the compiled taxonomy."""

    prefix: str  # the row of ``recovery.waste_table`` the code falls under
    hazardous: bool
    # the best route of each node whatever the input (prospects): weight (0: none), operation
    weight: np.ndarray  # float64 per node, in [0, 1]
    operation: np.ndarray  # int8 per node: position in OPERATION_CODES, NO_OPERATION if none
    # input class → (weight per node, already × ROUTE_STRENGTH; operation per node)
    inputs: dict[int, tuple[np.ndarray, np.ndarray]]


@lru_cache(maxsize=1)
def _node_masks() -> dict[str, np.ndarray]:
    """NAF key of a receiver row → the nodes under it."""
    tax = compiled()
    digits = [k.replace(".", "") for k in tax.naf_keys]
    out = {}
    for row in recovery.receiver_table():
        parent = row.naf.replace(".", "")
        if row.naf not in out:
            out[row.naf] = np.array([bool(d) and d.startswith(parent) for d in digits])
    return out


@lru_cache(maxsize=2048)
def route(prefix: str, hazardous: bool) -> Route | None:
    """The route of the wastes under ``prefix`` (a key of ``recovery.waste_table``), None if no
    activity recovers them. A node takes the waste by an operation with the strongest receiver
    row that covers it, discounted by the operation's rank in the waste's order (as
    ``recovery.receivers_of_waste``); a hazardous waste only by rows that allow hazardous waste."""
    tax = compiled()
    found = recovery.waste_table().get(prefix)
    if found is None:
        return None
    danger = hazardous or "hazardous" in found.properties
    masks = _node_masks()
    n_nodes = len(tax.naf_keys)
    best = np.zeros(n_nodes)
    best_op = np.full(n_nodes, NO_OPERATION, dtype=np.int8)
    inputs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for rank, operation in enumerate(found.operations):
        discount = recovery.HIERARCHY_DISCOUNT**rank
        weight = np.zeros(n_nodes)
        for row in recovery._matching_rows(operation, found.properties, danger, None):
            np.maximum(weight, np.where(masks[row.naf], row.strength * discount, 0.0), out=weight)
        if not weight.any():
            continue
        op = np.int8(OPERATION_CODES.index(operation))
        better = weight > best
        best[better], best_op[better] = weight[better], op
        for op_code, prop, klass in ROUTE_INPUTS:
            if op_code != operation or (prop and prop not in found.properties):
                continue
            if klass not in tax.index:
                continue
            c = tax.index[klass]
            w, o = inputs.setdefault(
                c, (np.zeros(n_nodes), np.full(n_nodes, NO_OPERATION, dtype=np.int8))
            )
            scaled = weight * ROUTE_STRENGTH
            better = scaled > w
            w[better], o[better] = scaled[better], op
    if not best.any():
        return None
    return Route(prefix, bool(danger), best, best_op, inputs)


@lru_cache(maxsize=8192)
def prefix_of(code: int) -> str | None:
    """The row of ``recovery.waste_table`` a waste code (int, ``data_model.waste_code_numbers``)
    falls under, None if none."""
    if code < 0:
        return None
    found = recovery.waste_recovery(f"{code:06d}")
    return found.prefix if found is not None else None


@dataclass(frozen=True)
class FlowRoutes:
    """Per flow, the index of its route in ``routes`` (-1: no code, or no activity recovers it),
    so that flows are grouped by route with one integer key."""

    of_flow: np.ndarray  # int32 per flow
    routes: tuple[Route, ...]


def flow_routes(waste_code: np.ndarray, hazardous: np.ndarray, rows=None) -> FlowRoutes:
    """The routes of the flows (or of the given rows only; others get -1): one ``route`` call per
    distinct (code, hazard), then a vectorised lookup."""
    n = len(waste_code)
    of_flow = np.full(n, -1, dtype=np.int32)
    sel = np.flatnonzero(waste_code >= 0) if rows is None else np.asarray(rows)
    sel = sel[waste_code[sel] >= 0]
    if len(sel) == 0:
        return FlowRoutes(of_flow, ())
    key = waste_code[sel].astype(np.int64) * 2 + hazardous[sel]
    distinct, inverse = np.unique(key, return_inverse=True)
    found: dict[tuple[str, bool], int] = {}
    routes: list[Route] = []
    ids = np.full(len(distinct), -1, dtype=np.int32)
    for i, k in enumerate(distinct.tolist()):
        code, danger = divmod(k, 2)
        prefix = prefix_of(code)
        r = route(prefix, bool(danger)) if prefix is not None else None
        if r is None:
            continue
        at = found.setdefault((r.prefix, r.hazardous), len(routes))
        if at == len(routes):
            routes.append(r)
        ids[i] = at
    of_flow[sel] = ids[inverse]
    return FlowRoutes(of_flow, tuple(routes))


def operation_code(position: int) -> str | None:
    """``OPERATION_CODES[position]``, None for ``NO_OPERATION``."""
    return OPERATION_CODES[position] if 0 <= position < len(OPERATION_CODES) else None


def route_inputs(tax: CompiledTaxonomy, source: int, found: Route) -> list[int]:
    """The input classes a route adds to an offer of class ``source``: those it feeds that no
    class substitution already reaches, in the source class's unit (quantities compare only in
    one unit)."""
    existing = {t for t, _strength in tax.targets[source]}
    return sorted(c for c in found.inputs if c not in existing and tax.unit[c] == tax.unit[source])
