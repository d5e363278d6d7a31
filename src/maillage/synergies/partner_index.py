"""The live partner index of a chamber scope (``engine.incremental.LiveIndex``) on the database's
side: built from a snapshot, fed with each flow as the database holds it now."""

from __future__ import annotations

import math

import numpy as np

from maillage.engine import incremental
from maillage.engine.data_model import NO_WASTE_CODE, starred, waste_code_numbers
from maillage.engine.headcount import typical_headcount
from maillage.engine.taxonomy import compiled
from maillage.synergies.snapshot import may_receive_hazardous, snapshot

ScopeKey = frozenset | None


def scope_key(scope: set[int] | None) -> ScopeKey:
    return frozenset(scope) if scope is not None else None


def in_scope(key: ScopeKey, chamber_id: int | None) -> bool:
    """Whether an establishment of this chamber is in the scope's snapshot (all active ones
    without a scope, those of the scope's chambers otherwise)."""
    return key is None or (chamber_id is not None and chamber_id in key)


def build(key: ScopeKey) -> incremental.LiveIndex:
    """The live index of a scope, from a full snapshot of the database."""
    snap = snapshot(set(key) if key is not None else None)
    live = incremental.LiveIndex.build(snap.est, snap.flows, compiled())
    live.warm()
    return live


def records(
    flow,
) -> tuple[incremental.FlowRecord | None, incremental.EstablishmentRecord, int | None]:
    """A flow and its establishment as a snapshot reads them, and the establishment's chamber;
    ``None`` for the flow record when a snapshot would leave the flow out (archived, its
    establishment closed or without a place)."""
    est = flow.establishment
    commune = est.commune
    lat = est.latitude if est.latitude is not None else getattr(commune, "latitude", None)
    lon = est.longitude if est.longitude is not None else getattr(commune, "longitude", None)
    territory = getattr(commune, "territory", None) if commune is not None else None
    chamber = territory.chamber_id if territory is not None else None
    if lat is not None and lon is not None:
        placed, lat_deg, lon_deg = True, float(lat), float(lon)
    else:
        placed, lat_deg, lon_deg = False, math.nan, math.nan
    est_record = incremental.EstablishmentRecord(
        id=est.pk,
        lat=lat_deg,
        lon=lon_deg,
        naf=est.naf_id,
        headcount=typical_headcount(est.headcount_band),
        may_receive_hazardous=bool(
            may_receive_hazardous([est.naf_id], [tuple(est.icpe_rubriques or ())])[0]
        ),
    )
    if flow.is_archived or not est.is_active or not placed:
        return None, est_record, chamber
    tax = compiled()
    c = tax.index[flow.resource_class_id]
    code = flow.waste_code_id
    hazardous = bool(tax.hazardous[c]) or (code is not None and flow.waste_code.hazardous)
    # Quantities are comparable only in the class's canonical unit (as in the snapshot).
    quantity = flow.yearly_quantity if flow.canonical_unit == tax.unit[c] else None
    flow_record = incremental.FlowRecord(
        id=flow.pk,
        establishment_id=est.pk,
        resource_class=c,
        is_offer=flow.direction == "offer",
        quantity=math.nan if quantity is None else float(quantity),
        temperature=math.nan if flow.temperature_c is None else float(flow.temperature_c),
        hazardous=hazardous or (code is not None and bool(starred([code])[0])),
        waste_code=int(waste_code_numbers([code])[0]) if code else NO_WASTE_CODE,
    )
    return flow_record, est_record, chamber


def answer(live: incremental.LiveIndex, key: ScopeKey, found, k: int) -> list[tuple] | None:
    """Partners of a flow (``found``: what ``records`` gives) in the live index of the scope
    ``key``, the flow written into it first if the index holds it otherwise or not at all:
    tuples of ``LiveIndex.partner_rows``; [] if the scope's snapshot leaves the flow out."""
    flow, est, chamber = found
    if flow is None or not in_scope(key, chamber):
        return []
    try:
        live.ensure(flow, est)
    except incremental.IndexFull:
        return None
    rows = live.partner_rows(flow.id, k)
    return [] if rows is None else rows


def apply(live: incremental.LiveIndex, key: ScopeKey, flow_id: int, found) -> None:
    """A delta: the flow as the database holds it now (``found``), or gone (None)."""
    flow = None if found is None else found[0]
    if flow is None or not in_scope(key, found[2]):
        live.remove(flow_id)
    else:
        live.ensure(flow, found[1])


def nan_to_none(value: float) -> float | None:
    return None if not np.isfinite(value) else value
