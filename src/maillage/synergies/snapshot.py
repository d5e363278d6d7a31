"""The database read into the engine's tables for one scope of chambers: the establishments and
flows that detection and the live partner search compute on, with the keys to map results back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db.models.functions import Coalesce

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import Chamber, TerritoryCommune
from maillage.directory.models import Establishment
from maillage.engine import legal
from maillage.engine.data_model import Establishments, Flows, hazardous_authorisation
from maillage.engine.headcount import typical_headcount
from maillage.engine.taxonomy import compiled
from maillage.flows.models import Flow


@dataclass
class Snapshot:
    """The database read into the engine's tables, with the keys to map results back."""

    est: Establishments
    flows: Flows
    est_chamber: np.ndarray  # chamber id per establishment row (0: none)
    flow_meta: list[dict] = field(default_factory=list)
    # ICPE rubriques recorded per establishment row (empty: unknown, the activity's default holds)
    est_rubriques: list[tuple[str, ...]] = field(default_factory=list)


def may_receive_hazardous(naf: list[str], recorded: list[tuple[str, ...]]) -> np.ndarray:
    """Per establishment: the rubriques recorded by its advisor authorise hazardous waste, or,
    when none is recorded, the engine's default for its activity does."""
    digits = np.array(["".join(ch for ch in code if ch.isdigit())[:4] for code in naf], dtype="<U4")
    return legal.may_receive_hazardous(recorded, hazardous_authorisation(digits))


def scope_chamber_ids(chamber: Chamber | None) -> set[int] | None:
    """The chamber itself and every chamber bound to it by an active agreement (any scope):
    matching crosses that border, with anonymised results."""
    if chamber is None:
        return None
    return {chamber.pk} | accounts_policy.partner_chamber_ids(chamber.pk, flows_only=False)


def snapshot(chamber_ids: set[int] | None) -> Snapshot:
    tax = compiled()
    # Without a geocoded address, an establishment is placed at its commune's point.
    establishments = (
        Establishment.objects.filter(is_active=True)
        .annotate(
            lat=Coalesce("latitude", "commune__latitude"),
            lon=Coalesce("longitude", "commune__longitude"),
        )
        .filter(lat__isnull=False, lon__isnull=False)
    )
    if chamber_ids is not None:
        establishments = establishments.of_chambers(chamber_ids)
    chamber_of = dict(TerritoryCommune.objects.values_list("commune_id", "chamber_id"))
    rows = list(
        establishments.order_by("pk").values_list(
            "pk", "lat", "lon", "naf_id", "headcount_band", "commune_id", "icpe_rubriques"
        )
    )
    recorded = [tuple(r[6] or ()) for r in rows]
    position = {row[0]: i for i, row in enumerate(rows)}
    est = Establishments.build(
        id=[r[0] for r in rows],
        lat=[r[1] for r in rows],
        lon=[r[2] for r in rows],
        division=[r[3][:2] for r in rows],
        headcount=[typical_headcount(r[4]) for r in rows],
        naf=[r[3] for r in rows],
        may_receive_hazardous=may_receive_hazardous([r[3] for r in rows], recorded),
    )
    est_chamber = np.array([chamber_of.get(r[5], 0) for r in rows], dtype=np.int64)
    flow_rows = list(
        Flow.objects.filter(is_archived=False, establishment__in=establishments.values("pk"))
        .order_by("pk")
        .values_list(
            "pk",
            "establishment_id",
            "resource_class_id",
            "direction",
            "yearly_quantity",
            "canonical_unit",
            "temperature_c",
            "waste_code__hazardous",
            "waste_code_id",
        )
    )
    flows = Flows.build(
        id=[r[0] for r in flow_rows],
        establishment=[position[r[1]] for r in flow_rows],
        resource_class=[tax.index[r[2]] for r in flow_rows],
        is_offer=[r[3] == "offer" for r in flow_rows],
        # Quantities are comparable only in the class's canonical unit.
        quantity=[r[4] if r[5] == tax.unit[tax.index[r[2]]] else np.nan for r in flow_rows],
        temperature=[np.nan if r[6] is None else r[6] for r in flow_rows],
        hazardous=[bool(r[7]) or bool(tax.hazardous[tax.index[r[2]]]) for r in flow_rows],
        # the flow's own List of Waste code: its recovery routes, legal path and feedback
        waste_code=[r[8] for r in flow_rows],
    )
    meta = [{"waste_code": r[8], "unit": r[5], "quantity": r[4]} for r in flow_rows]
    return Snapshot(
        est=est, flows=flows, est_chamber=est_chamber, flow_meta=meta, est_rubriques=recorded
    )
