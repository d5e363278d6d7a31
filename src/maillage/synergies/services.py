"""Run the engine on the database and store its suggestions; change a suggestion's status.

Data flows one way: establishments and flows are read into plain arrays, the Django-free engine
computes, and the results are written back idempotently (a suggestion's natural key is stable, so a
re-run updates scores and keeps the pipeline status and its history).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage import runs
from maillage.accounts import policy as accounts_policy
from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog, Chamber, TerritoryCommune, User
from maillage.directory.models import Establishment
from maillage.engine import (
    feedback,
    legal,
    mutualisation,
    prospects,
    recovery,
    routes,
    substitution,
)
from maillage.engine.data_model import Establishments, Flows, hazardous_authorisation
from maillage.engine.distributed import match as match_pairs
from maillage.engine.headcount import typical_headcount
from maillage.engine.impacts import substitution_impacts
from maillage.engine.taxonomy import (
    SUBSTITUTE_STRENGTH,
    compiled,
    naf_key,
    substitution_notes,
    substitution_receivers,
    substitution_strengths,
)
from maillage.flows.models import Flow
from maillage.notifications import notify
from maillage.reference.models import NafCode
from maillage.synergies import policy, workflow
from maillage.synergies.models import DetectionRun, Introduction, Suggestion, SuggestionEvent
from maillage.synergies.notifications import INTRODUCTION_MUTUAL, INTRODUCTION_PROPOSED
from maillage.synergies.selectors import outcome_table

Progress = Callable[[int, str], None]

UPDATED_FIELDS = [
    "score",
    "distance_km",
    "quantity",
    "unit",
    "tonnes_diverted",
    "co2e_avoided_t",
    "explanation",
    "is_current",
    "last_detected_at",
    "chamber",
    "partner_chamber",
    "resource_class",
    "offer_flow",
    "need_flow",
    "prospect",
]


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


def _noop(_percent: int, _step: str) -> None:
    return None


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
        evidence = 1.0 if flows.declared[n] else substitution.INFERRED_NEED_FACTOR
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


@transaction.atomic
def store(
    found: list[dict],
    scope_chamber_ids: set[int] | None,
    kinds: set[str],
    retire_missing: bool = True,
    only_flow_ids: set[int] | None = None,
    origin: int | None = None,
) -> dict[str, int]:
    """Upsert suggestions by key; those of the scope no longer found are marked not current.
    With ``origin``, only the suggestions starting from that chamber are stored and retired."""
    now = timezone.now()
    found = [s for s in found if s["chamber_id"]]
    if origin is not None:
        found = [s for s in found if s["chamber_id"] == origin]
        scope_chamber_ids = {origin}
    elif scope_chamber_ids is not None:
        found = [
            s
            for s in found
            if s["chamber_id"] in scope_chamber_ids or s["partner_chamber_id"] in scope_chamber_ids
        ]
    existing = {s.key: s for s in Suggestion.objects.filter(key__in=[f["key"] for f in found])}
    to_create, to_update, members = [], [], {}
    for data in found:
        member_ids = data.pop("member_ids", None)
        current = existing.get(data["key"])
        if current is None:
            obj = Suggestion(**data, first_detected_at=now, last_detected_at=now)
            to_create.append(obj)
        else:
            for name, value in data.items():
                setattr(current, name, value)
            current.is_current = True
            current.last_detected_at = now
            obj = current
            to_update.append(obj)
        if member_ids is not None:
            members[data["key"]] = member_ids
    Suggestion.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Suggestion.objects.bulk_update(to_update, UPDATED_FIELDS, batch_size=1000)
    if members:
        keyed = dict(Suggestion.objects.filter(key__in=list(members)).values_list("key", "pk"))
        through = Suggestion.members.through
        through.objects.filter(suggestion_id__in=keyed.values()).delete()
        through.objects.bulk_create(
            [
                through(suggestion_id=keyed[key], flow_id=fid)
                for key, ids in members.items()
                for fid in ids
            ],
            batch_size=2000,
        )
    retired = 0
    if retire_missing:
        stale = Suggestion.objects.filter(kind__in=kinds, is_current=True).exclude(
            key__in=[f["key"] for f in found]
        )
        if scope_chamber_ids is not None:
            stale = stale.filter(chamber_id__in=scope_chamber_ids)
        if only_flow_ids is not None:
            stale = stale.filter(offer_flow_id__in=only_flow_ids) | stale.filter(
                need_flow_id__in=only_flow_ids
            )
        retired = stale.update(is_current=False)
    return {"créées": len(to_create), "mises à jour": len(to_update), "retirées": retired}


def detect(
    chamber: Chamber | None = None,
    k: int = 20,
    progress: Progress = _noop,
    run: DetectionRun | None = None,
) -> dict[str, dict[str, int]]:
    """Full detection: substitution top-k, mutualisation groups and prospective partners.

    A suggestion belongs to the chamber of the establishment it starts from, and is computed
    within that chamber's scope only (its territory and the chambers bound to it by an agreement):
    matching never crosses a border that no agreement opens. Without ``chamber``, every chamber is
    run in turn."""
    chambers = [chamber] if chamber is not None else list(Chamber.objects.order_by("pk"))
    results: dict[str, dict[str, int]] = {}
    for n, current in enumerate(chambers):

        def scaled(percent: int, step: str, n=n, name=current.name) -> None:
            overall = int((n * 100 + percent) / len(chambers))
            progress(overall, f"{name} — {step}")
            if run is not None:
                run.advance(overall, step)

        for label, counts in _detect_chamber(current, k, scaled).items():
            total = results.setdefault(label, {})
            for what, value in counts.items():
                total[what] = total.get(what, 0) + value
    progress(100, "terminé")
    return results


KINDS = {
    "substitution": Suggestion.Kind.SUBSTITUTION,
    "mutualisation": Suggestion.Kind.MUTUALISATION,
    "partenaires potentiels": Suggestion.Kind.PROSPECT,
}


def _detect_chamber(chamber: Chamber, k: int, progress: Progress) -> dict[str, dict[str, int]]:
    steps = [
        ("substitution", lambda snap: substitution_suggestions(snap, k)),
        ("mutualisation", mutualisation_suggestions),
        ("partenaires potentiels", prospect_suggestions),
    ]
    scope = scope_chamber_ids(chamber)
    progress(0, "lecture des données")
    snap = snapshot(scope)
    found = {}
    for i, (label, compute) in enumerate(steps, start=1):
        progress(int(100 * i / (len(steps) + 2)), label)
        found[label] = compute(snap)
    progress(int(100 * (len(steps) + 1) / (len(steps) + 2)), "enregistrement")
    # One transaction for the chamber's three kinds: a detection stopped anywhere (worker
    # killed, error) leaves the previous suggestions whole, never some kinds new and some old.
    stored = {}
    with transaction.atomic():
        for label, rows in found.items():
            stored[label] = store(rows, scope, {KINDS[label]}, origin=chamber.pk)
            runs.slow_down()  # fault tests: lets a kill land inside the transaction
    return stored


def detect_for_flow(flow: Flow, k: int = 20) -> dict[str, dict[str, int]]:
    """Incremental mode: re-detect the substitutions and prospects that involve one flow."""
    chamber = flow.establishment.chamber
    scope = scope_chamber_ids(chamber)
    snap = snapshot(scope)
    rows = np.flatnonzero(snap.flows.id == flow.pk)
    if len(rows) == 0:  # archived, inactive or out of every territory
        return {}
    row = int(rows[0])
    if snap.flows.is_offer[row]:
        subs = substitution_suggestions(snap, k, offers=rows)
    else:
        # Offers whose top-k may now include this need: recompute those near enough to reach it.
        tax = compiled()
        cls = snap.flows.resource_class[row]
        sources = [s for s, targets in enumerate(tax.targets) if any(t == cls for t, _ in targets)]
        offer_rows = np.flatnonzero(
            snap.flows.is_offer & np.isin(snap.flows.resource_class, sources)
        )
        subs = [
            s
            for s in substitution_suggestions(snap, k, offers=offer_rows)
            if s["need_flow_id"] == flow.pk
        ]
    result = {
        "substitution": store(subs, scope, {Suggestion.Kind.SUBSTITUTION}, only_flow_ids={flow.pk})
    }
    result["partenaires potentiels"] = store(
        prospect_suggestions(snap, rows=rows),
        scope,
        {Suggestion.Kind.PROSPECT},
        only_flow_ids={flow.pk},
    )
    return result


def _transition(
    suggestion: Suggestion, user, to_status: str, note: str = "", agreement_on=None
) -> SuggestionEvent:
    """Move a suggestion along the declared workflow and log who did it and when (no policy
    check: the public functions below decide who may)."""
    if to_status not in Suggestion.Status.values:
        raise ValidationError(
            _("Statut « %(s)s » inconnu : %(known)s.")
            % {"s": to_status, "known": ", ".join(Suggestion.Status.values)}
        )
    if to_status == suggestion.status:
        raise ValidationError(
            _("La suggestion est déjà « %(s)s ».") % {"s": suggestion.get_status_display()}
        )
    if not workflow.allowed(suggestion.status, to_status):
        raise ValidationError(
            _("Passage de « %(a)s » à « %(b)s » impossible.")
            % {"a": suggestion.get_status_display(), "b": Suggestion.Status(to_status).label}
        )
    event = SuggestionEvent.objects.create(
        suggestion=suggestion,
        user=user,
        from_status=suggestion.status,
        to_status=to_status,
        note=note,
        agreement_on=agreement_on,
    )
    suggestion.status = to_status
    fields = ["status"]
    if to_status == Suggestion.Status.ABANDONED:
        suggestion.abandon_reason = note
        fields.append("abandon_reason")
    suggestion.save(update_fields=fields)
    audit.record_change(
        user,
        _parties(suggestion),
        AuditLog.Action.CHANGE_SYNERGY,
        f"suggestion {suggestion.pk} : {event.from_status} → {to_status}",
    )
    return event


def _parties(suggestion: Suggestion) -> list[int]:
    """The establishments whose data a status change of this suggestion concerns."""
    ids = [f.establishment_id for f in (suggestion.offer_flow, suggestion.need_flow) if f]
    if suggestion.prospect_id:
        ids.append(suggestion.prospect_id)
    ids += suggestion.members.values_list("establishment_id", flat=True)
    return ids


def actual_co2e(suggestion: Suggestion, actual_quantity: float) -> float | None:
    """CO2e avoided per year recomputed from the quantity really exchanged (same factors and
    transport deduction as the estimate); None where the engine has no factor for the class."""
    if suggestion.kind != Suggestion.Kind.SUBSTITUTION or suggestion.distance_km is None:
        return None
    tax = compiled()
    index = tax.index.get(suggestion.resource_class_id)
    if index is None:
        return None
    q = np.array([float(actual_quantity)])
    impacts = substitution_impacts(
        tax, np.array([index]), q, q, np.array([float(suggestion.distance_km)])
    )
    value = float(impacts.co2e_avoided_t[0])
    return round(value, 3) if np.isfinite(value) else None


@transaction.atomic
def change_status(
    suggestion: Suggestion,
    user,
    to_status: str,
    note: str = "",
    actual_quantity: float | None = None,
    actual_savings_eur: float | None = None,
    reason_code: str = "",
    agreement_on: datetime.date | None = None,
) -> SuggestionEvent:
    """An advisor moves a suggestion along the pipeline. Abandoning needs a reason (a note, or a
    reason type, whose label then stands for the note); implementing needs the quantity really
    exchanged (CO2e is recomputed from it). Going on (discussion, implementation) without any
    introduction ever proposed on the platform needs the agreement reached offline: a note that
    describes it and its date (``agreement_on``), kept in the history and audited."""
    if not policy.can_manage_suggestion(user, suggestion):
        raise PermissionDenied(_("Vous ne pouvez pas modifier cette suggestion."))
    abandoning = to_status == Suggestion.Status.ABANDONED
    if reason_code and reason_code not in Suggestion.AbandonReason.values:
        raise ValidationError(_("Type de motif d'abandon inconnu."))
    if abandoning and reason_code and not note.strip():
        note = str(Suggestion.AbandonReason(reason_code).label)
    if abandoning and not note.strip() and workflow.allowed(suggestion.status, to_status):
        raise ValidationError(_("Indiquez le motif de l'abandon."))
    if to_status == Suggestion.Status.IMPLEMENTED and workflow.allowed(
        suggestion.status, to_status
    ):
        if actual_quantity is None or not np.isfinite(actual_quantity) or actual_quantity < 0:
            raise ValidationError(
                _("Indiquez la quantité réellement échangée par an (nombre positif).")
            )
        if actual_savings_eur is not None and not np.isfinite(actual_savings_eur):
            raise ValidationError(_("Économies annuelles illisibles."))
    offline = False
    if to_status in (Suggestion.Status.DISCUSSION, Suggestion.Status.IMPLEMENTED):
        _require_mutual_consent(suggestion)
        if workflow.allowed(suggestion.status, to_status):
            offline = _require_offline_agreement(suggestion, note, agreement_on)
    elif agreement_on is not None:
        raise ValidationError(
            {"agreement_on": _("Une date d'accord ne s'indique que pour poursuivre la synergie.")}
        )
    event = _transition(suggestion, user, to_status, note, agreement_on if offline else None)
    if offline:
        audit.record_change(
            user,
            _parties(suggestion),
            AuditLog.Action.CHANGE_SYNERGY,
            f"suggestion {suggestion.pk} : accord hors plateforme du "
            f"{agreement_on.strftime('%d/%m/%Y')} déclaré ({to_status})",
        )
    if abandoning:
        suggestion.abandon_reason_code = reason_code
        suggestion.save(update_fields=["abandon_reason_code"])
    if to_status == Suggestion.Status.IMPLEMENTED:
        suggestion.actual_quantity = actual_quantity
        suggestion.actual_savings_eur = actual_savings_eur
        suggestion.actual_co2e_avoided_t = actual_co2e(suggestion, actual_quantity)
        suggestion.save(
            update_fields=["actual_quantity", "actual_savings_eur", "actual_co2e_avoided_t"]
        )
    return event


def _require_mutual_consent(suggestion: Suggestion) -> None:
    """Double opt-in: once an introduction was proposed, the synergy goes on (discussion,
    implementation) only when every side accepted it. Without any introduction row the advisor
    moved the status by hand and the history records who did (an agreement reached offline)."""
    sides = list(suggestion.introductions.all())
    if sides and not policy.introduction_is_mutual(sides):
        raise ValidationError(
            _(
                "Les deux entreprises n'ont pas encore accepté la mise en relation : "
                "attendez leurs réponses avant de poursuivre."
            )
        )


def _require_offline_agreement(suggestion: Suggestion, note: str, agreement_on) -> bool:
    """Without any introduction ever proposed (the companies never said yes on the platform), a
    synergy goes on only once the advisor states the agreement reached offline: a note and the
    date, not in the future. Stated once: the later steps need it no more. True when this step
    is the one that records it."""
    if suggestion.introductions.exists():
        if agreement_on is not None:
            raise ValidationError(
                {
                    "agreement_on": _(
                        "Une mise en relation a été proposée sur la plateforme : l'accord des "
                        "entreprises y est recueilli, pas de date d'accord à indiquer."
                    )
                }
            )
        return False
    if suggestion.events.filter(agreement_on__isnull=False).exists() and agreement_on is None:
        return False
    errors = {}
    if not note.strip():
        errors["note"] = _("Décrivez l'accord obtenu hors plateforme (qui, comment).")
    if agreement_on is None:
        errors["agreement_on"] = _("Indiquez la date de l'accord hors plateforme.")
    elif agreement_on > timezone.localdate():
        errors["agreement_on"] = _("La date de l'accord ne peut pas être dans le futur.")
    if errors:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "Aucune mise en relation n'a été proposée sur la plateforme : pour poursuivre, "
                    "indiquez l'accord obtenu hors plateforme (une note qui le décrit et sa date)."
                ),
                **errors,
            }
        )
    return True


def establishments_without_users(establishment_ids) -> list[int]:
    """The establishments among these that no active user represents (nobody can answer)."""
    ids = set(establishment_ids)
    represented = set(
        User.objects.filter(is_active=True, establishments__in=ids).values_list(
            "establishments", flat=True
        )
    )
    return sorted(ids - represented)


def _notify_sides(suggestion: Suggestion, establishment_ids, kind: str, title: str, body: str):

    users = User.objects.filter(is_active=True, establishments__in=establishment_ids).distinct()
    return notify(
        users.order_by("pk"), kind, title=title, body=body, url=reverse("opportunity-list")
    )


@transaction.atomic
def propose_introduction(suggestion: Suggestion, user) -> list[Introduction]:
    """The advisor proposes to introduce the two establishments of a substitution to each other:
    one introduction row per establishment, and the suggestion becomes "proposed"."""
    if not policy.can_propose_introduction(user, suggestion):
        raise PermissionDenied(_("Vous ne pouvez pas proposer cette mise en relation."))
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != Suggestion.Status.DETECTED:
        raise ValidationError(
            _(
                "Cette suggestion est déjà « %(s)s » : la mise en relation ne peut plus être proposée."
            )
            % {"s": suggestion.get_status_display()}
        )
    sides = Flow.objects.filter(pk__in=[suggestion.offer_flow_id, suggestion.need_flow_id])
    establishment_ids = sorted(set(sides.values_list("establishment_id", flat=True)))
    if len(establishment_ids) != 2:
        raise ValidationError(_("Une mise en relation réunit deux établissements distincts."))
    Introduction.objects.filter(suggestion=suggestion).delete()  # an earlier, abandoned round
    now = timezone.now()
    introductions = Introduction.objects.bulk_create(
        Introduction(suggestion=suggestion, establishment_id=pk, proposed_at=now, proposed_by=user)
        for pk in establishment_ids
    )
    _transition(suggestion, user, Suggestion.Status.PROPOSED, _("Mise en relation proposée."))

    _notify_sides(
        suggestion,
        establishment_ids,
        INTRODUCTION_PROPOSED,
        _("Proposition de mise en relation : %(r)s") % {"r": suggestion.resource_class.label},
        _(
            "Votre conseiller CCI propose de vous mettre en relation avec une entreprise proche "
            "pour une synergie (%(r)s). Acceptez ou déclinez depuis votre espace : les contacts "
            "ne sont communiqués que si les deux entreprises acceptent."
        )
        % {"r": suggestion.resource_class.label},
    )
    return introductions


def mark_viewed(user, introductions) -> int:
    """Record the first time a company user saw their side of these introductions."""
    ids = [i.pk for i in introductions if i.viewed_at is None]
    if not ids:
        return 0
    return (
        policy.visible_introductions(user)
        .filter(pk__in=ids, viewed_at__isnull=True)
        .update(viewed_at=timezone.now())
    )


@transaction.atomic
def respond_introduction(user, introduction: Introduction, accept: bool) -> Introduction:
    """A company answers for its establishment. When every side accepted, the suggestion moves to
    "in discussion" and contacts are revealed; a refusal abandons it, with the reason logged."""
    if not policy.can_respond_introduction(user, introduction):
        raise PermissionDenied(_("Vous ne pouvez pas répondre pour cet établissement."))
    suggestion = Suggestion.objects.select_for_update().get(pk=introduction.suggestion_id)
    introduction = Introduction.objects.get(pk=introduction.pk)
    if suggestion.status != Suggestion.Status.PROPOSED:
        raise ValidationError(_("Cette mise en relation n'attend plus de réponse."))
    if introduction.accepted_at or introduction.declined_at:
        raise ValidationError(_("Vous avez déjà répondu à cette mise en relation."))
    now = timezone.now()
    introduction.viewed_at = introduction.viewed_at or now
    introduction.responded_by = user
    if accept:
        introduction.accepted_at = now
    else:
        introduction.declined_at = now
    introduction.save(update_fields=["viewed_at", "responded_by", "accepted_at", "declined_at"])
    if not accept:
        _transition(
            suggestion,
            user,
            Suggestion.Status.ABANDONED,
            _("Mise en relation déclinée par une des entreprises."),
        )
    elif policy.introduction_is_mutual(suggestion.introductions.all()):
        _notify_sides(
            suggestion,
            list(suggestion.introductions.values_list("establishment_id", flat=True)),
            INTRODUCTION_MUTUAL,
            _("Mise en relation acceptée : %(r)s") % {"r": suggestion.resource_class.label},
            _(
                "Les deux entreprises ont accepté la mise en relation (%(r)s) : leurs contacts "
                "sont visibles dans votre espace."
            )
            % {"r": suggestion.resource_class.label},
        )
        _transition(
            suggestion,
            user,
            Suggestion.Status.DISCUSSION,
            _("Les deux entreprises ont accepté : leurs contacts leur sont communiqués."),
        )
    return introduction
