"""Live partner search for one flow (API): the engine's index of a chamber's scope is built once
and kept in memory for ``MAILLAGE_PARTNER_INDEX_TTL`` seconds, so that a query costs a few
tree lookups instead of a full read of the database."""

from __future__ import annotations

import threading
import time

import numpy as np
from django.conf import settings

from maillage.directory import policy as directory_policy
from maillage.directory.models import Establishment
from maillage.engine import reverse_match, substitution
from maillage.engine.taxonomy import compiled
from maillage.synergies.snapshot import scope_chamber_ids, snapshot

_lock = threading.Lock()
_cache: dict[frozenset | None, tuple[float, object, substitution.Index]] = {}


def _index_for(scope: set[int] | None, flow_id: int):
    key = frozenset(scope) if scope is not None else None
    ttl = settings.MAILLAGE_PARTNER_INDEX_TTL
    with _lock:
        entry = _cache.get(key)
        fresh = entry is not None and time.monotonic() - entry[0] < ttl
        if fresh:
            ids = entry[1].flows.id
            position = int(np.searchsorted(ids, flow_id))
            if position < len(ids) and ids[position] == flow_id:
                return entry[1], entry[2]
        snap = snapshot(scope)
        index = substitution.Index.build(snap.est, snap.flows, compiled())
        _cache[key] = (time.monotonic(), snap, index)
        return snap, index


def distance_band(km: float) -> float:
    """Upper bound of the 5 km band a distance falls in (what an anonymised partner shows)."""
    return float(5 * (int(km // 5) + 1))


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def for_flow(user, flow, k: int = 20) -> list[dict]:
    """Best partners of ``flow`` (needs for an offer, offers for a need), best first. A partner's
    identity is given only to users allowed to see that establishment."""
    tax = compiled()
    snap, index = _index_for(scope_chamber_ids(flow.establishment.chamber), flow.pk)
    position = int(np.searchsorted(snap.flows.id, flow.pk))  # the snapshot is ordered by id
    rows = (
        np.array([position])
        if position < len(snap.flows.id) and (snap.flows.id[position] == flow.pk)
        else np.array([], dtype=int)
    )
    if len(rows) == 0:  # archived, or its establishment is closed or outside every territory
        return []
    row = int(rows[0])
    if snap.flows.is_offer[row]:
        pairs = index.match(np.array([row]), k=k)
        partner_rows = pairs.need
    else:
        pairs = reverse_match.offers_for_need(index, row, k=k)
        partner_rows = pairs.offer
    est_ids = [int(snap.est.id[snap.flows.establishment[r]]) for r in partner_rows]

    # Identity, commune and exact distance only for partners the user may see; others are
    # anonymised: no name, no place, the distance rounded to a 5 km band.
    visible = directory_policy.visible_establishment_ids(user, est_ids)
    names, communes = {}, {}
    for pk, name, commune in Establishment.objects.filter(pk__in=visible).values_list(
        "pk", "name", "commune__name"
    ):
        names[pk], communes[pk] = name, commune
    return [
        {
            "flow": int(snap.flows.id[r]),
            "establishment": e if e in names else None,
            "establishment_name": names.get(e),
            "commune": communes.get(e),
            "resource_class": tax.codes[snap.flows.resource_class[r]],
            "distance_km": round(float(d), 2) if e in names else distance_band(float(d)),
            "score": round(float(s), 4),
            "coverage": None if not np.isfinite(c) else round(float(c), 4),
        }
        for r, e, d, s, c in zip(
            partner_rows, est_ids, pairs.distance_km, pairs.score, pairs.coverage, strict=True
        )
    ]
