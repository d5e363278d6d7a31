"""Reads of the synergies app (always through synergies.policy)."""

from __future__ import annotations

import numpy as np
from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from maillage.directory import policy as directory_policy
from maillage.directory.models import Contact
from maillage.engine import feedback, legal
from maillage.engine.taxonomy import naf_key
from maillage.flows.models import Flow
from maillage.synergies import policy, workflow
from maillage.synergies.explain import UNIT_LABELS, explain
from maillage.synergies.models import DetectionRun, Introduction, Suggestion
from maillage.synergies.partners import distance_band


def realised_impact(suggestion) -> dict:
    """The impacts a synergy counts for: the quantity actually exchanged once one is recorded
    (tonnes, tCO2e recomputed at implementation, distance), else the detection's estimate. The
    suggestion page, the dashboard and its XLSX / CSV exports all read this one function."""
    estimate = {
        "quantity": suggestion.quantity,
        "tonnes": suggestion.tonnes_diverted,
        "co2e": suggestion.co2e_avoided_t,
        "distance_km": suggestion.distance_km,
        "is_actual": False,
    }
    actual = suggestion.actual_quantity
    if actual is None:
        return estimate
    ratio = actual / suggestion.quantity if suggestion.quantity else None
    if suggestion.unit == "t":
        tonnes = actual
    elif ratio is not None and suggestion.tonnes_diverted is not None:
        tonnes = suggestion.tonnes_diverted * ratio
    else:
        tonnes = None
    if suggestion.actual_co2e_avoided_t is not None:
        co2e = suggestion.actual_co2e_avoided_t
    elif ratio is not None and suggestion.co2e_avoided_t is not None:
        co2e = suggestion.co2e_avoided_t * ratio
    else:
        co2e = None
    return {
        "quantity": actual,
        "tonnes": tonnes,
        "co2e": co2e,
        "distance_km": suggestion.distance_km,
        "is_actual": True,
    }


def suggestion_establishment_ids(suggestion) -> set[int]:
    """The establishments whose flows a suggestion's page shows (both sides, members, prospect)."""

    flow_ids = [pk for pk in (suggestion.offer_flow_id, suggestion.need_flow_id) if pk]
    ids = set(Flow.objects.filter(pk__in=flow_ids).values_list("establishment_id", flat=True))
    ids |= set(suggestion.members.values_list("establishment_id", flat=True))
    if suggestion.prospect_id:
        ids.add(suggestion.prospect_id)
    return ids


def run_summary(run: DetectionRun) -> list[tuple[str, str]]:
    return [
        (kind, ", ".join(f"{n} {what}" for what, n in counts.items()))
        for kind, counts in (run.counts or {}).items()
    ]


# What a row of a suggestion list shows, joined in the same query.
ROW_RELATED = (
    "resource_class",
    "offer_flow__establishment__commune",
    "need_flow__establishment__commune",
    "prospect__commune",
)


def suggestions_for(user, kind: str | None = None, status: str | None = None):
    """The suggestions an advisor may work on, best first, with what the list shows."""

    qs = policy.visible_suggestions(user).filter(is_current=True)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related(*ROW_RELATED).order_by("-score", "pk")


def with_details(pks) -> list[Suggestion]:
    """The suggestions of these primary keys, in that order, with what a list row shows (one
    query). Lists choose their page on the suggestion table alone (``values_list("pk")``), then
    join the rows of that page only: joining and sorting every visible suggestion with its flows,
    establishments and communes cost about 100 ms on PostgreSQL for 5,000 suggestions.
    Callers pass keys they obtained through the policy."""
    pks = list(pks)
    found = Suggestion.objects.select_related(*ROW_RELATED).in_bulk(pks)
    return [found[pk] for pk in pks if pk in found]


def rows_for_page(user, suggestions) -> list[dict]:
    """Suggestions of one page with their French explanation; names of establishments the user
    may not see are replaced by an anonymous description (one query for the whole page)."""

    ids = set()
    for s in suggestions:
        for flow in (s.offer_flow, s.need_flow):
            if flow is not None:
                ids.add(flow.establishment_id)
        if s.prospect_id:
            ids.add(s.prospect_id)
    visible = set(
        directory_policy.visible_establishments(user)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )

    def who(establishment):
        if establishment is None:
            return None
        if establishment.pk in visible:
            return {
                "pk": establishment.pk,
                "name": establishment.name,
                "place": establishment.commune.name,
            }
        return {"pk": None, "name": None, "place": establishment.commune.name}

    return [
        {
            "s": s,
            "offer": who(s.offer_flow.establishment) if s.offer_flow else None,
            "need": who(s.need_flow.establishment) if s.need_flow else None,
            "prospect": who(s.prospect),
            "lines": explain(s.kind, s.explanation),
        }
        for s in suggestions
    ]


def current_suggestions(user):
    """Current suggestions the user may see, with their resource and both sides' communes, best
    first (the list of a flow or an establishment, the export)."""
    return (
        policy.visible_suggestions(user)
        .filter(is_current=True)
        .select_related(
            "resource_class",
            "offer_flow__establishment__commune",
            "need_flow__establishment__commune",
            "prospect__commune",
        )
        .order_by("-score", "pk")
    )


def suggestions_for_flow(user, flow):
    """Current suggestions the user may see that start from or lead to this flow (the partners
    found for it), best first."""

    return (
        current_suggestions(user)
        .filter(Q(offer_flow=flow) | Q(need_flow=flow) | Q(members=flow))
        .distinct()
    )


def suggestions_involving(user, establishment):
    """Current suggestions the user may see that start from, lead to or prospect this
    establishment, best first."""

    return current_suggestions(user).filter(
        Q(offer_flow__establishment=establishment)
        | Q(need_flow__establishment=establishment)
        | Q(prospect=establishment)
    )


BOARD_COLUMN_SIZE = 30

# Upper bounds of the quantity bands shown to a company before both sides accept.
QUANTITY_BANDS = (1, 10, 100, 1_000, 10_000)


def quantity_band(value: float | None, unit: str) -> str:
    """An exact quantity replaced by the order of magnitude it falls in (French text)."""

    shown = UNIT_LABELS.get(unit, unit)
    if value is None:
        return _("quantité non renseignée")
    low = 0
    for high in QUANTITY_BANDS:
        if value < high:
            if low == 0:
                return _("moins de %(high)s %(unit)s/an") % {"high": high, "unit": shown}
            return _("de %(low)s à %(high)s %(unit)s/an") % {
                "low": f"{low:,}".replace(",", "\u202f"),
                "high": f"{high:,}".replace(",", "\u202f"),
                "unit": shown,
            }
        low = high
    return _("plus de %(low)s %(unit)s/an") % {
        "low": f"{low:,}".replace(",", "\u202f"),
        "unit": shown,
    }


def board_columns(user) -> list[dict]:
    """The pipeline as columns (one per status): the keys of the best suggestions of each
    (cards: ``cards.cards_html``); one query per column plus one for the counts."""

    base = suggestions_for(user)
    counts = dict(base.order_by().values_list("status").annotate(n=Count("pk")))
    columns = []
    for status, label in Suggestion.Status.choices:
        pks = list(base.filter(status=status).values_list("pk", flat=True)[:BOARD_COLUMN_SIZE])
        columns.append(
            {"status": status, "label": label, "count": counts.get(status, 0), "pks": pks}
        )
    return columns


def suggestion_page(user, suggestion) -> dict:
    """The advisor's page of one suggestion: who, why, impacts, introductions and history."""

    row = rows_for_page(user, [suggestion])[0]
    introductions = list(
        suggestion.introductions.select_related("establishment", "responded_by").order_by(
            "establishment__name", "pk"
        )
    )
    mutual = policy.introduction_is_mutual(introductions)
    visible = directory_policy.visible_establishment_ids(
        user, [i.establishment_id for i in introductions]
    )
    contacts: dict[int, list] = {}
    if mutual:
        for contact in Contact.objects.filter(establishment_id__in=visible).order_by(
            "last_name", "pk"
        ):
            contacts.setdefault(contact.establishment_id, []).append(contact)
    sides = [
        {
            "i": i,
            "name": i.establishment.name if i.establishment_id in visible else None,
            "contacts": contacts.get(i.establishment_id, []),
        }
        for i in introductions
    ]
    can_propose = (
        policy.can_propose_introduction(user, suggestion)
        and suggestion.status == Suggestion.Status.DETECTED
    )
    # A substitution is proposed through an introduction (double opt-in), not by a bare status.
    next_statuses = [
        (status, Suggestion.Status(status).label)
        for status in Suggestion.Status.values
        if workflow.allowed(suggestion.status, status)
        and not (can_propose and status == Suggestion.Status.PROPOSED)
    ]
    return {
        "row": row,
        "impact": realised_impact(suggestion),
        "sides": sides,
        "mutual": mutual,
        # A no-op "x → x" row (recorded by older versions) says nothing: not shown.
        "events": suggestion.events.exclude(from_status=F("to_status"))
        .select_related("user")
        .order_by("at", "pk"),
        "next_statuses": next_statuses,
        "can_manage": policy.can_manage_suggestion(user, suggestion),
        "can_propose": can_propose,
        # Going on without an introduction on the platform asks for the offline agreement
        # (services.change_status), unless it was stated at an earlier step.
        "needs_offline_agreement": not introductions
        and any(
            status in (Suggestion.Status.DISCUSSION, Suggestion.Status.IMPLEMENTED)
            for status, _label in next_statuses
        )
        and not suggestion.events.filter(agreement_on__isnull=False).exists(),
    }


def _answer(side, accepted: str, declined: str) -> str:

    if side is not None and side.accepted_at:
        return accepted
    if side is not None and side.declined_at:
        return declined
    return _("en attente de réponse")


def opportunities_for(user) -> list[dict]:
    """A company's introductions, each from its own side. Before every side has accepted, the other
    side is described only by resource, quantity band and distance band; afterwards its name,
    address, contacts and exact quantity are given. A constant number of queries."""

    mine = list(
        policy.visible_introductions(user)
        .select_related(
            "establishment",
            "suggestion__resource_class",
            "suggestion__offer_flow__resource_class",
            "suggestion__need_flow__resource_class",
        )
        .order_by("-proposed_at", "-pk")[:100]
    )
    all_sides: dict[int, list] = {}
    for side in (
        Introduction.objects.filter(suggestion_id__in={i.suggestion_id for i in mine})
        .select_related("establishment__commune")
        .order_by("pk")
    ):
        all_sides.setdefault(side.suggestion_id, []).append(side)
    revealed: dict[int, Introduction] = {}  # my introduction pk -> the other side (mutual only)
    for i in mine:
        others = [s for s in all_sides.get(i.suggestion_id, []) if s.pk != i.pk]
        # ``mine`` comes from policy.visible_introductions (the user represents each side).
        if others and policy.introduction_is_mutual(all_sides[i.suggestion_id]):
            revealed[i.pk] = others[0]
    contacts: dict[int, list] = {}
    for contact in Contact.objects.filter(
        establishment_id__in={o.establishment_id for o in revealed.values()}
    ).order_by("last_name", "pk"):
        contacts.setdefault(contact.establishment_id, []).append(contact)
    rows = []
    for i in mine:
        s = i.suggestion
        offer_side = (
            s.offer_flow is not None and s.offer_flow.establishment_id == i.establishment_id
        )
        other = next((x for x in all_sides.get(i.suggestion_id, []) if x.pk != i.pk), None)
        my_flow = s.offer_flow if offer_side else s.need_flow
        row = {
            "i": i,
            "s": s,
            "my_role": _("vous proposez") if offer_side else _("vous recherchez"),
            "resource": s.resource_class.label,
            "my_class": my_flow.resource_class.label if my_flow else "",
            "quantity_band": quantity_band(s.quantity, s.unit),
            "distance_band": distance_band(s.distance_km or 0.0),
            "my_answer": _answer(i, _("vous avez accepté"), _("vous avez décliné")),
            "other_answer": _answer(other, _("elle a accepté"), _("elle a décliné")),
            "open": s.status == s.Status.PROPOSED and not (i.accepted_at or i.declined_at),
            "partner": None,
        }
        partner = revealed.get(i.pk)
        if partner is not None:
            partner_flow = s.need_flow if offer_side else s.offer_flow
            row["partner"] = {
                "name": partner.establishment.name,
                "siret": partner.establishment.siret,
                "address": partner.establishment.address,
                "commune": partner.establishment.commune.name,
                "contacts": contacts.get(partner.establishment_id, []),
                "quantity": partner_flow.quantity if partner_flow else None,
                "unit": partner_flow.unit if partner_flow else "",
                "distance_km": s.distance_km,
            }
        rows.append(row)
    return rows


def leads_for(user, limit: int = 50) -> list[dict]:
    """Substitutions detected around a company's establishments and not yet proposed as an
    introduction, anonymised: its own side, the resource, a quantity band and a distance band."""

    own = dict(user.establishments.order_by("pk").values_list("pk", "name"))
    suggestions = (
        policy.suggestions_about(user)
        .filter(status=Suggestion.Status.DETECTED)
        .select_related("resource_class", "offer_flow", "need_flow")
        .order_by("-score", "pk")[:limit]
    )
    rows = []
    for s in suggestions:
        offer_side = s.offer_flow.establishment_id in own
        mine = s.offer_flow if offer_side else s.need_flow
        rows.append(
            {
                "establishment": own.get(mine.establishment_id, ""),
                "my_role": _("vous proposez") if offer_side else _("vous recherchez"),
                "resource": s.resource_class.label,
                "quantity_band": quantity_band(s.quantity, s.unit),
                "distance_band": distance_band(s.distance_km or 0.0),
            }
        )
    return rows


def legal_path(suggestion: Suggestion) -> legal.LegalPath | None:
    """The legal path of a substitution of waste (what it takes: registre, transport, tracking
    form, the receiver's rubrique, end of waste status), from what detection stored; None for
    other kinds and for resources that are not waste. Same visibility as the suggestion: callers
    pass a suggestion they obtained through the policy."""
    e = suggestion.explanation or {}
    if suggestion.kind != Suggestion.Kind.SUBSTITUTION or not (
        e.get("waste_code") or e.get("hazardous")
    ):
        return None
    return legal.legal_path(
        e.get("waste_code"),
        bool(e.get("hazardous")),
        e.get("operation"),
        tuple(e.get("receiver_rubriques") or ()),
        tuple(e.get("expected_rubriques") or ()),
    )


def _technically_impossible(code: str, note: str) -> bool:
    """Abandoned as technically impossible: the reason type, or a note that says so (reasons
    written before the type existed)."""
    if code == Suggestion.AbandonReason.TECHNICALLY_IMPOSSIBLE:
        return True
    text = " ".join(note.lower().replace("-", " ").split())
    return "techniquement impossible" in text


def outcome_table() -> feedback.Outcomes:
    """Outcomes of substitutions over the whole platform, as counts per (waste code, receiving NAF
    class): how many distinct suggestions were implemented or abandoned as technically impossible,
    between how many distinct producing and receiving establishments. This read deliberately
    crosses chambers (it feeds every chamber's ranking) and returns nothing but these counts;
    ``engine.feedback`` ignores a key below its minimum counts, so no single company's outcome
    can be read from another chamber's ranking."""

    rows = (
        Suggestion.objects.filter(
            kind=Suggestion.Kind.SUBSTITUTION,
            status__in=[Suggestion.Status.IMPLEMENTED, Suggestion.Status.ABANDONED],
            offer_flow__waste_code__isnull=False,
            need_flow__isnull=False,
        )
        .order_by("pk")
        .values_list(
            "pk",
            "status",
            "abandon_reason_code",
            "abandon_reason",
            "offer_flow__waste_code_id",
            "offer_flow__establishment_id",
            "need_flow__establishment_id",
            "need_flow__establishment__naf_id",
        )
    )
    # key → outcome → (suggestions, producing establishments, receiving establishments)
    groups: dict[str, dict[str, tuple[set, set, set]]] = {}
    for pk, status, code, note, waste, producer, receiver, naf in rows:
        if status == Suggestion.Status.IMPLEMENTED:
            outcome = "implemented"
        elif _technically_impossible(code, note):
            outcome = "impossible"
        else:
            continue
        key = feedback.pair_key(waste, naf_key(naf))
        sets = groups.setdefault(key, {}).setdefault(outcome, (set(), set(), set()))
        sets[0].add(pk)
        sets[1].add(producer)
        sets[2].add(receiver)
    if not groups:
        return feedback.Outcomes.empty()
    keys = sorted(groups)
    empty: tuple[set, set, set] = (set(), set(), set())

    def column(outcome: str, i: int) -> np.ndarray:
        return np.array([len(groups[k].get(outcome, empty)[i]) for k in keys], dtype=np.int64)

    return feedback.Outcomes(
        keys=np.array(keys),
        implemented=column("implemented", 0),
        implemented_producers=column("implemented", 1),
        implemented_receivers=column("implemented", 2),
        impossible=column("impossible", 0),
        impossible_producers=column("impossible", 1),
        impossible_receivers=column("impossible", 2),
    )
