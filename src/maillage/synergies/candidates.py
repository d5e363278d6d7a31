"""The engine's results turned into suggestion rows (one dict per suggestion, keyed by its stable
natural key) with the explanation each page shows: substitutions, mutualisations, prospects."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from maillage.engine import (
    feedback,
    legal,
    mutualisation,
    prospects,
    recovery,
    routes,
)
from maillage.engine.data_model import Flows
from maillage.engine.distributed import match as match_pairs
from maillage.engine.impacts import substitution_impacts
from maillage.engine.pairs import INFERRED_NEED_FACTOR
from maillage.engine.taxonomy import (
    SUBSTITUTE_STRENGTH,
    compiled,
    naf_key,
    substitution_notes,
    substitution_receivers,
    substitution_strengths,
)
from maillage.reference.models import NafCode
from maillage.synergies.models import Suggestion
from maillage.synergies.selectors import outcome_table
from maillage.synergies.snapshot import Snapshot


def _flow_code(flows: Flows, row: int) -> str | None:
    """The List of Waste code the engine read for a flow ("170405"), None if none."""
    code = int(flows.waste_code[row])
    return f"{code:06d}" if code >= 0 else None


def _display_waste(code: str | None) -> str | None:
    if not code:
        return None
    return " ".join(code[i : i + 2] for i in range(0, 6, 2))


def substitution_suggestions(snap: Snapshot, k: int, offers=None) -> list[dict]:
    tax = compiled()
    est, flows = snap.est, snap.flows
    # a large detection, or any when a scheduler is configured, runs on Dask
    pairs = match_pairs(
        est,
        flows,
        tax,
        k=k,
        offers=offers,
        scheduler=settings.MAILLAGE_DASK_SCHEDULER,
        min_flows=settings.MAILLAGE_DASK_MIN_FLOWS,
    )
    src_class = flows.resource_class[pairs.offer]
    impacts = substitution_impacts(
        tax, src_class, flows.quantity[pairs.offer], flows.quantity[pairs.need], pairs.distance_km
    )
    notes = substitution_notes()
    strengths = substitution_strengths()
    receivers = substitution_receivers()
    division_labels = dict(
        NafCode.objects.filter(level=NafCode.Level.DIVISION).values_list("code", "label")
    )
    node = tax.naf_nodes(est.naf)
    out = []
    for i in range(len(pairs)):
        o, n = int(pairs.offer[i]), int(pairs.need[i])
        oc, nc = tax.codes[flows.resource_class[o]], tax.codes[flows.resource_class[n]]
        need_division = str(est.division[flows.establishment[n]])
        need_naf = naf_key(str(est.naf[flows.establishment[n]]))
        reserved_to = receivers.get((oc, nc))
        unit = tax.unit[flows.resource_class[o]]
        exchanged = impacts.exchanged[i]
        # a pair found by the offer's recovery route: the receiver's activity performs this
        # operation on this waste code (engine.routes), whether or not a class substitution exists
        route_op = routes.operation_code(int(pairs.operation[i]))
        hazardous = bool(flows.hazardous[o])
        waste_code = _flow_code(flows, o) or snap.flow_meta[o]["waste_code"]
        authorisation = _authorisation(snap, int(flows.establishment[n]), hazardous, waste_code)
        if route_op is not None:
            authorisation["operation"] = route_op
            authorisation["expected_rubriques"] = list(
                recovery.receiver_rubriques(route_op, need_naf)
            )
        evidence = 1.0 if flows.declared[n] else INFERRED_NEED_FACTOR
        out.append(
            {
                "key": f"S:{flows.id[o]}:{flows.id[n]}",
                "kind": Suggestion.Kind.SUBSTITUTION,
                "chamber_id": int(snap.est_chamber[flows.establishment[o]]),
                "partner_chamber_id": int(snap.est_chamber[flows.establishment[n]]) or None,
                "resource_class_id": oc,
                "offer_flow_id": int(flows.id[o]),
                "need_flow_id": int(flows.id[n]),
                "prospect_id": None,
                "score": round(float(pairs.score[i]), 6),
                "distance_km": round(float(pairs.distance_km[i]), 3),
                "quantity": None if np.isnan(exchanged) else round(float(exchanged), 3),
                "unit": unit,
                "tonnes_diverted": round(float(impacts.tonnes_diverted[i]), 3),
                "co2e_avoided_t": None
                if np.isnan(impacts.co2e_avoided_t[i])
                else round(float(impacts.co2e_avoided_t[i]), 3),
                "explanation": {
                    "offer_class": oc,
                    "need_class": nc,
                    "same_class": oc == nc,
                    "substitution_note": recovery.explanation(route_op, need_naf, hazardous)
                    if route_op is not None
                    else notes.get((oc, nc), ""),
                    "recovery_route": route_op,
                    "waste_code": _display_waste(waste_code),
                    "distance_km": round(float(pairs.distance_km[i]), 1),
                    "max_distance_km": float(tax.max_distance_km[flows.resource_class[o]]),
                    "offer_quantity": _num(flows.quantity[o]),
                    "need_quantity": _num(flows.quantity[n]),
                    "unit": unit,
                    "coverage": _num(pairs.coverage[i]),
                    "offer_temperature": _num(flows.temperature[o]),
                    "need_temperature": _num(flows.temperature[n]),
                    "hazardous": hazardous,
                    # The ranking rules behind the score (see engine.substitution).
                    "class_strength": 1.0
                    if oc == nc
                    else round(float(pairs.class_strength[i]) / evidence, 3)
                    if route_op is not None
                    else strengths.get((oc, nc)),
                    "below_recycling": oc != nc
                    and route_op is None
                    and strengths.get((oc, nc), SUBSTITUTE_STRENGTH) < SUBSTITUTE_STRENGTH,
                    "receiver_division": need_division,
                    "receiver_division_label": division_labels.get(need_division, ""),
                    "receiver_naf": need_naf,
                    "reserved_to_divisions": sorted(reserved_to) if reserved_to else [],
                    "receiver_is_waste_operator": bool(
                        tax.waste_operator[node[flows.establishment[n]]]
                    ),
                    "need_declared": bool(flows.declared[n]),
                    **authorisation,
                },
            }
        )
    return apply_feedback(out)


def apply_feedback(found: list[dict], outcomes: feedback.Outcomes | None = None) -> list[dict]:
    """Re-rank substitutions by the platform's outcomes for their (waste code, receiving NAF
    class) pair (engine.feedback, aggregate counts only) and record the counts that moved a
    score in its explanation."""
    if not found:
        return found
    if outcomes is None:
        outcomes = outcome_table()
    keys = np.array(
        [
            feedback.pair_key(
                s["explanation"].get("waste_code"), s["explanation"].get("receiver_naf")
            )
            for s in found
        ]
    )
    ranked = feedback.rerank(keys, np.array([s["score"] for s in found]), outcomes)
    for i, s in enumerate(found):
        s["score"] = round(float(ranked.score[i]), 6)
        s["explanation"]["feedback_implemented"] = int(ranked.implemented[i])
        s["explanation"]["feedback_impossible"] = int(ranked.impossible[i])
    return found


def _authorisation(snap: Snapshot, receiver: int, hazardous: bool, waste_code: str | None) -> dict:
    """What the receiver's ICPE rubriques say: recorded by its advisor, or assumed from its
    activity when nothing is recorded; the recovery operation and the rubriques that authorise
    it for the receiver's activity (what the legal path and the explanation show)."""
    recorded = snap.est_rubriques[receiver] if snap.est_rubriques else ()
    naf = naf_key(str(snap.est.naf[receiver]))
    operation = recovery.likely_operation(waste_code, naf, hazardous) if waste_code else None
    expected = recovery.receiver_rubriques(operation, naf) if operation else ()
    # Nothing recorded: the rubriques its activity usually holds, else those that authorise the
    # route's operation for it (a prospect reached by a hazardous-waste route).
    assumed = (
        () if recorded else (legal.default_waste_rubriques(naf) or legal.authorising(expected))
    )
    return {
        "operation": operation,
        "expected_rubriques": list(expected),
        "receiver_rubriques": list(recorded),
        "hazardous_rubriques_recorded": list(legal.authorising(recorded)) if hazardous else [],
        "hazardous_rubriques_assumed": list(assumed) if hazardous else [],
    }


def _num(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 3)


def mutualisation_suggestions(snap: Snapshot) -> list[dict]:
    tax = compiled()
    est, flows = snap.est, snap.flows
    out = []
    for group in mutualisation.groups(est, flows, tax):
        members = group.members
        ids = sorted(int(x) for x in flows.id[members])
        seed_est = flows.establishment[members[0]]
        code = tax.codes[group.resource_class]
        direction = "offer" if group.is_offer else "need"
        out.append(
            {
                "key": f"M:{code}:{direction}:{ids[0]}",
                "kind": Suggestion.Kind.MUTUALISATION,
                "chamber_id": int(snap.est_chamber[seed_est]),
                "partner_chamber_id": None,
                "resource_class_id": code,
                "offer_flow_id": None,
                "need_flow_id": None,
                "prospect_id": None,
                "score": round(group.score, 6),
                "distance_km": group.radius_km,
                "quantity": None if np.isnan(group.total_quantity) else group.total_quantity,
                "unit": tax.unit[group.resource_class],
                "tonnes_diverted": None,
                "co2e_avoided_t": None,
                "explanation": {
                    "class": code,
                    "direction": direction,
                    "members": len(members),
                    "radius_km": group.radius_km,
                    "total_quantity": _num(group.total_quantity),
                    "unit": tax.unit[group.resource_class],
                },
                "member_ids": ids,
            }
        )
    return out


def prospect_suggestions(snap: Snapshot, k: int = 10, rows=None) -> list[dict]:
    tax = compiled()
    est, flows = snap.est, snap.flows

    # the platform's outcomes re-rank prospects of offers as they re-rank substitutions
    found = prospects.find(est, flows, tax, k=k, rows=rows, outcomes=outcome_table())
    out = []
    for i in range(len(found.flow)):
        f, e = int(found.flow[i]), int(found.establishment[i])
        is_offer = bool(flows.is_offer[f])
        out.append(
            {
                "key": f"P:{flows.id[f]}:{est.id[e]}",
                "kind": Suggestion.Kind.PROSPECT,
                "chamber_id": int(snap.est_chamber[flows.establishment[f]]),
                "partner_chamber_id": int(snap.est_chamber[e]) or None,
                "resource_class_id": tax.codes[flows.resource_class[f]],
                "offer_flow_id": int(flows.id[f]) if is_offer else None,
                "need_flow_id": None if is_offer else int(flows.id[f]),
                "prospect_id": int(est.id[e]),
                "score": round(float(found.score[i]), 6),
                "distance_km": round(float(found.distance_km[i]), 3),
                "quantity": _num(found.expected_quantity[i]),
                "unit": tax.unit[found.resource_class[i]],
                "tonnes_diverted": None,
                "co2e_avoided_t": None,
                "explanation": {
                    "flow_class": tax.codes[flows.resource_class[f]],
                    "prospect_class": tax.codes[found.resource_class[i]],
                    "prospect_division": str(est.division[e]),
                    "prospect_naf": naf_key(str(est.naf[e])),
                    "sector_weight": round(float(found.weight[i]), 3),
                    "distance_km": round(float(found.distance_km[i]), 1),
                    "expected_quantity": _num(found.expected_quantity[i]),
                    "unit": tax.unit[found.resource_class[i]],
                    "direction": "need" if is_offer else "offer",
                    # found by a legal recovery route of the offered waste (engine.routes)
                    "recovery_route": routes.operation_code(int(found.operation[i])),
                    "recovery_note": recovery.explanation(
                        op, naf_key(str(est.naf[e])), bool(flows.hazardous[f])
                    )
                    if (op := routes.operation_code(int(found.operation[i])))
                    else "",
                    "waste_code": _display_waste(snap.flow_meta[f]["waste_code"])
                    if is_offer and snap.flow_meta
                    else None,
                    "feedback_implemented": int(found.feedback_implemented[i]),
                    "feedback_impossible": int(found.feedback_impossible[i]),
                },
            }
        )
    return out
