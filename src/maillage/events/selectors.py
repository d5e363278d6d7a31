"""Reads of the events app, always through accounts.policy: event lists, participants, whom to
meet, requests, agendas, networks' members' spaces."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from maillage.accounts import policy
from maillage.engine.meetings import profile_affinity
from maillage.events.models import Event, Meeting, MeetingRequest, Registration

SUGGESTIONS_SHOWN = 10


def events_for(user):
    return (
        policy.visible_events(user)
        .select_related("chamber", "network")
        .annotate(confirmed=Count("registrations", filter=Q(registrations__status="confirmed")))
        .order_by("starts_at", "pk")
    )


def my_registration(user, event: Event) -> Registration | None:
    if not user.is_authenticated:
        return None
    return (
        Registration.objects.filter(event=event, user=user).select_related("establishment").first()
    )


def participants(user, event: Event):
    return (
        policy.visible_participants(user, event)
        .select_related("establishment__commune", "establishment__naf", "user")
        .order_by("status", "registered_at", "pk")
    )


def whom_to_meet(me: Registration) -> list[dict]:
    """Other confirmed participants ranked by detected synergies between the two establishments
    (current substitution suggestions, either direction) and by how well one's offer answers the
    other's search (text affinity); each with the reasons, in French."""
    from maillage.synergies.models import Suggestion

    others = list(
        Registration.objects.filter(event_id=me.event_id, status=Registration.Status.CONFIRMED)
        .exclude(pk=me.pk)
        .exclude(establishment_id=me.establishment_id)
        .select_related("establishment__commune")
        .order_by("pk")
    )
    if not others:
        return []
    by_est = defaultdict(list)
    for r in others:
        by_est[r.establishment_id].append(r)
    reasons: dict[int, list[str]] = defaultdict(list)
    score: Counter[int] = Counter()
    mine = me.establishment_id
    links = (
        Suggestion.objects.filter(is_current=True, kind=Suggestion.Kind.SUBSTITUTION)
        .filter(
            Q(offer_flow__establishment_id=mine, need_flow__establishment_id__in=list(by_est))
            | Q(need_flow__establishment_id=mine, offer_flow__establishment_id__in=list(by_est))
        )
        .values_list(
            "offer_flow__establishment_id", "need_flow__establishment_id", "resource_class__label"
        )
        .order_by("-score", "pk")
    )
    for offer_est, need_est, label in links:
        other, mine_offers = (need_est, True) if offer_est == mine else (offer_est, False)
        for r in by_est.get(other, []):
            text = (
                _("synergie détectée : votre %(r)s peut l'intéresser")
                if mine_offers
                else _("synergie détectée : il peut vous fournir %(r)s")
            ) % {"r": label.lower()}
            if text not in reasons[r.pk]:
                reasons[r.pk].append(text)
                score[r.pk] += 1.0
    everyone = [me, *others]
    affinity = profile_affinity([r.offers for r in everyone], [r.seeks for r in everyone])
    for j, r in enumerate(others, start=1):
        if affinity[0, j] >= 0.15:
            reasons[r.pk].append(_("son offre répond à ce que vous recherchez"))
            score[r.pk] += float(affinity[0, j])
        if affinity[j, 0] >= 0.15:
            reasons[r.pk].append(_("votre offre répond à ce qu'il recherche"))
            score[r.pk] += float(affinity[j, 0])
    ranked = sorted((r for r in others if score[r.pk] > 0), key=lambda r: (-score[r.pk], r.pk))
    return [{"registration": r, "reasons": reasons[r.pk]} for r in ranked[:SUGGESTIONS_SHOWN]]


def requests_of(me: Registration) -> tuple[list[MeetingRequest], list[MeetingRequest]]:
    related = ("requester__establishment", "target__establishment")
    sent = list(MeetingRequest.objects.filter(requester=me).select_related(*related).order_by("pk"))
    received = list(
        MeetingRequest.objects.filter(target=me).select_related(*related).order_by("pk")
    )
    return sent, received


def agenda(registration: Registration) -> list[dict]:
    """The participant's meetings in time order, with the slot's times, the table and the other."""
    event = registration.event
    times = event.slot_times()
    rows = []
    meetings = (
        Meeting.objects.filter(event=event)
        .filter(Q(a=registration) | Q(b=registration))
        .select_related("a__establishment__commune", "b__establishment__commune")
        .order_by("slot", "table")
    )
    for m in meetings:
        other = m.b if m.a_id == registration.pk else m.a
        start, end = times[m.slot]
        rows.append({"meeting": m, "start": start, "end": end, "other": other, "slot": m.slot + 1})
    return rows


def schedule_overview(event: Event) -> list[dict]:
    """For the organiser: every meeting, slot by slot."""
    times = event.slot_times()
    return [
        {"meeting": m, "start": times[m.slot][0], "slot": m.slot + 1}
        for m in Meeting.objects.filter(event=event)
        .select_related("a__establishment", "b__establishment")
        .order_by("slot", "table")
    ]


# -- networks -------------------------------------------------------------------------------------


def network_members(network):
    """Members of the network (and of its clubs for a federation): who does what, where."""
    from maillage.directory.models import Establishment

    q = Q(memberships__network=network) | Q(memberships__network__federation=network)
    return (
        Establishment.objects.filter(q)
        .select_related("naf", "commune")
        .distinct()
        .order_by("name", "pk")
    )


def network_audience(network):
    """The users told of a network's news: company users of its members (and of its clubs'
    members for a federation) and its animators — the users who may enter its members' space."""
    from maillage.accounts.models import User

    members = network_members(network).values("pk")
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(role=User.Role.COMPANY, establishments__in=members) | Q(animated_networks=network)
        )
        .distinct()
        .order_by("pk")
    )


def network_statistics(network) -> dict:
    """Members per activity section and per département; groups under the policy's threshold
    are merged into « autres » so that no small group can be singled out."""
    members = network_members(network)
    total = members.count()
    # Sub-class → class → group → division: members are counted per NAF division.
    by_section = Counter(members.values_list("naf__parent__parent__parent__label", flat=True))
    by_dep = Counter(members.values_list("commune__departement__name", flat=True))
    return {
        "total": total if total >= policy.PUBLIC_MIN_GROUP else None,
        "by_section": _suppress(by_section),
        "by_departement": _suppress(by_dep),
    }


def _suppress(counts: Counter) -> list[tuple[str, int]]:
    shown = sorted(
        ((k or "—", v) for k, v in counts.items() if v >= policy.PUBLIC_MIN_GROUP),
        key=lambda kv: (-kv[1], kv[0]),
    )
    rest = sum(v for v in counts.values() if v < policy.PUBLIC_MIN_GROUP)
    if rest >= policy.PUBLIC_MIN_GROUP:
        shown.append((_("autres"), rest))
    return shown


def network_map_layer(user, network) -> dict:
    """The network's member establishments as GeoJSON points: identity and position only (the
    policy's ``NETWORK_MAP_FIELDS``), one query whatever the number of members."""
    rows = (
        policy.visible_network_map_members(user, network)
        .values_list(*policy.NETWORK_MAP_FIELDS)
        .order_by("name", "pk")
    )
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {"id": pk, "name": name, "commune": commune, "activity": activity},
        }
        for pk, name, lat, lon, commune, activity in rows
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {"layer": "network-members", "network": network.pk, "count": len(features)},
    }
