"""Live partner search for one flow (API). The engine's live index of a chamber's scope
(``engine.incremental``) is held by the partner index server when
``MAILLAGE_PARTNER_INDEX_SOCKET`` is set, else in this process for
``MAILLAGE_PARTNER_INDEX_TTL`` seconds; either way a flow new or changed since the index was built
gets its partners right away, without a rebuild."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from maillage.directory import policy as directory_policy
from maillage.directory.models import Establishment
from maillage.engine import incremental
from maillage.engine.taxonomy import compiled
from maillage.flows.models import Flow
from maillage.synergies import partner_index, partner_server
from maillage.synergies.snapshot import scope_chamber_ids

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[partner_index.ScopeKey, tuple[float, incremental.LiveIndex]] = {}


def _local(key: partner_index.ScopeKey) -> incremental.LiveIndex:
    """This process's live index of a scope, rebuilt once ``MAILLAGE_PARTNER_INDEX_TTL`` has
    passed."""
    ttl = settings.MAILLAGE_PARTNER_INDEX_TTL
    with _lock:
        entry = _cache.get(key)
        if entry is None or time.monotonic() - entry[0] >= ttl:
            entry = (time.monotonic(), partner_index.build(key))
            _cache[key] = entry
        return entry[1]


def _local_rows(key, found, k: int) -> list[tuple]:
    rows = partner_index.answer(_local(key), key, found, k)
    if rows is None:  # no spare row left
        with _lock:
            _cache.pop(key, None)
        rows = partner_index.answer(_local(key), key, found, k) or []
    return rows


def raw_partners(flow, k: int = 20) -> list[tuple]:
    """The flow's best partners as ``LiveIndex.partner_rows`` tuples, from the server if one is
    configured and answers, else from this process's index."""
    key = partner_index.scope_key(scope_chamber_ids(flow.establishment.chamber))
    found = partner_index.records(flow)
    if settings.MAILLAGE_PARTNER_INDEX_SOCKET:
        try:
            return partner_server.request(("partners", key, found, k))
        except partner_server.Unavailable as error:
            logger.warning("partner index server unavailable (%s): index built in process", error)
    return _local_rows(key, found, k)


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
    rows = raw_partners(flow, k)
    # Identity, commune and exact distance only for partners the user may see; others are
    # anonymised: no name, no place, the distance rounded to a 5 km band.
    visible = directory_policy.visible_establishment_ids(user, [r[1] for r in rows])
    names, communes = {}, {}
    for pk, name, commune in Establishment.objects.filter(pk__in=visible).values_list(
        "pk", "name", "commune__name"
    ):
        names[pk], communes[pk] = name, commune
    return [
        {
            "flow": f,
            "establishment": e if e in names else None,
            "establishment_name": names.get(e),
            "commune": communes.get(e),
            "resource_class": tax.codes[c],
            "distance_km": round(d, 2) if e in names else distance_band(d),
            "score": round(s, 4),
            "coverage": partner_index.nan_to_none(round(cov, 4)),
        }
        for f, e, c, d, s, cov in rows
    ]


def push(flow_id: int, flow=None) -> None:
    """A flow written (``flow``) or deleted (None): to the server if one is configured, and to
    this process's indexes, so that other flows' partners see it at once."""
    with _lock:
        cached = list(_cache.items())
    if not settings.MAILLAGE_PARTNER_INDEX_SOCKET and not cached:
        return  # no index to keep up to date: no query for the flow's record
    found = None if flow is None else partner_index.records(flow)
    if settings.MAILLAGE_PARTNER_INDEX_SOCKET:
        try:
            partner_server.request(("delta", flow_id, found))
        except partner_server.Unavailable as error:
            # its next rebuild from the database catches up
            logger.warning(
                "partner index server unavailable (%s): delta %s not sent", error, flow_id
            )
    for key, (_at, live) in cached:
        try:
            partner_index.apply(live, key, flow_id, found)
        except incremental.IndexFull:
            with _lock:
                _cache.pop(key, None)


def _on_save(sender, instance, **kwargs):
    transaction.on_commit(lambda: push(instance.pk, instance))


def _on_delete(sender, instance, **kwargs):
    pk = instance.pk
    transaction.on_commit(lambda: push(pk))


def connect_signals() -> None:
    post_save.connect(_on_save, sender=Flow, dispatch_uid="partners-flow-saved")
    post_delete.connect(_on_delete, sender=Flow, dispatch_uid="partners-flow-deleted")
