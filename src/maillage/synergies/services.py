"""Run the engine on the database and store its suggestions; change a suggestion's status.

Data flows one way: establishments and flows are read into plain arrays (``snapshot``), the
Django-free engine computes (``candidates``), and the results are written back idempotently (a
suggestion's natural key is stable, so a re-run updates scores and keeps the pipeline status and
its history). Introductions between the two sides of a synergy are in ``introductions``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import numpy as np
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage import runs
from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog, Chamber
from maillage.engine.impacts import substitution_impacts
from maillage.engine.taxonomy import compiled
from maillage.flows.models import Flow
from maillage.synergies import policy, workflow
from maillage.synergies.candidates import (
    mutualisation_suggestions,
    prospect_suggestions,
    substitution_suggestions,
)
from maillage.synergies.models import DetectionRun, Suggestion, SuggestionEvent
from maillage.synergies.snapshot import scope_chamber_ids, snapshot

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


def _noop(_percent: int, _step: str) -> None:
    return None


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


def transition(
    suggestion: Suggestion, user, to_status: str, note: str = "", agreement_on=None
) -> SuggestionEvent:
    """Move a suggestion along the declared workflow and log who did it and when (no policy
    check: its callers, ``change_status`` and the introductions, decide who may)."""
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
    # Dated only when this step records the offline agreement (a date is then required).
    agreed_offline_on = agreement_on if offline else None
    event = transition(suggestion, user, to_status, note, agreed_offline_on)
    if agreed_offline_on is not None:
        audit.record_change(
            user,
            _parties(suggestion),
            AuditLog.Action.CHANGE_SYNERGY,
            f"suggestion {suggestion.pk} : accord hors plateforme du "
            f"{agreed_offline_on.strftime('%d/%m/%Y')} déclaré ({to_status})",
        )
    if abandoning:
        suggestion.abandon_reason_code = reason_code
        suggestion.save(update_fields=["abandon_reason_code"])
    if to_status == Suggestion.Status.IMPLEMENTED:
        # checked above: the transition went through, so the quantity was required
        assert actual_quantity is not None
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
