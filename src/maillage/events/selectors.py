"""Reads of the events app, always through events.policy: event lists, participants, whom to
meet (through the marketplace engine and the stored synergy suggestions), requests, agendas."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.engine import marketplace as supplier_matching
from maillage.events import policy
from maillage.events.models import Event, Meeting, MeetingRequest, PairRule, Registration
from maillage.synergies import policy as synergies_policy

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


# A stored synergy suggestion is stronger evidence than shared words: it counts as much as a
# perfect text match in both directions.
SYNERGY_WEIGHT = 1.0


def whom_to_meet(user, me: Registration) -> list[dict]:
    """Other confirmed participants ranked for ``me`` (``user``'s own confirmed registration),
    reusing the platform's matching: the marketplace's supplier ranking
    (``engine.marketplace.rank_suppliers``) of their offers for what ``me`` seeks, and of ``me``'s
    offer against what they seek; and the stored synergy suggestions between the two
    establishments that the policy lets ``me`` know of. Each with its reasons, in French."""
    if not (
        user.is_authenticated
        and me.user_id == user.pk
        and me.status == Registration.Status.CONFIRMED
    ):
        return []
    others = list(
        policy.visible_participants(user, me.event)
        .filter(status=Registration.Status.CONFIRMED)
        .exclude(pk=me.pk)
        .exclude(establishment_id=me.establishment_id)
        .select_related("establishment__commune")
        .order_by("pk")
    )
    if not others:
        return []
    reasons: dict[int, list[str]] = defaultdict(list)
    score: defaultdict[int, float] = defaultdict(float)
    for pk, text, value in _text_matches(me, others):
        reasons[pk].append(text)
        score[pk] += value
    for pk, text in _synergy_matches(user, me, others):
        if text not in reasons[pk]:
            reasons[pk].append(text)
            score[pk] += SYNERGY_WEIGHT
    ranked = sorted((r for r in others if score[r.pk] > 0), key=lambda r: (-score[r.pk], r.pk))
    return [{"registration": r, "reasons": reasons[r.pk]} for r in ranked[:SUGGESTIONS_SHOWN]]


def _text_matches(me: Registration, others: list[Registration]):
    """(registration pk, French reason, score) from the marketplace engine, both directions: the
    others' offers as suppliers for ``me``'s search, then ``me``'s offer as the query over what the
    others seek. No place is given: everyone meets at the event, distance does not filter."""
    directions = (
        (me.seeks, [r.offers for r in others], _("son offre répond à ce que vous recherchez")),
        (me.offers, [r.seeks for r in others], _("votre offre répond à ce qu'il recherche")),
    )
    for query, texts, reason in directions:
        batch = supplier_matching.Suppliers.from_rows(
            [{"id": r.pk, "text": t} for r, t in zip(others, texts, strict=True)]
        )
        ranked = supplier_matching.rank_suppliers(
            supplier_matching.NeedQuery(text=query), batch, limit=len(others)
        )
        for c in ranked:
            words = _as_written(query, c.explanation.get("words") or [])
            text = f"{reason} ({', '.join(words)})" if words else reason
            yield c.supplier_id, text, c.score


def _as_written(text: str, matched: list[str]) -> list[str]:
    """The words of ``text`` as the participant wrote them ("palettes", "bois") behind the
    engine's normalised matched words ("palette", "boi")."""
    wanted = set(matched)
    out: list[str] = []
    for raw in text.split():
        word = raw.strip(".,;:!?()«»\"'").lower()
        if word and word not in out and wanted & set(supplier_matching.text_tokens(word)):
            out.append(word)
    return out


def _synergy_matches(user, me: Registration, others: list[Registration]):
    """(registration pk, French reason) for each stored synergy suggestion between ``me``'s
    establishment and another participant's that the policy lets ``user`` use (both consented,
    or the introduction was mutually accepted): the resource and who offers it, nothing more."""
    shown = {r.pk for r in others}
    for link in meeting_synergies(user, me):
        if link.registration_id not in shown:
            continue
        text = (
            _("synergie détectée : votre %(r)s peut l'intéresser")
            if link.mine_offers
            else _("synergie détectée : il peut vous fournir %(r)s")
        ) % {"r": link.resource_label.lower()}
        yield link.registration_id, text


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


def schedule_report(event: Event, run) -> dict:
    """The latest run told in plain French for the organiser: how many requested meetings were
    placed, whether the schedule is optimal, and for each accepted request left out, why."""

    accepted = (
        MeetingRequest.objects.filter(
            event=event,
            status=MeetingRequest.Status.ACCEPTED,
            requester__status=Registration.Status.CONFIRMED,
            target__status=Registration.Status.CONFIRMED,
        )
        .select_related("requester__establishment", "target__establishment")
        .order_by("pk")
    )
    pairs: dict[tuple[int, int], MeetingRequest] = {}
    for r in accepted:
        pairs.setdefault(tuple(sorted((r.requester_id, r.target_id))), r)  # type: ignore[arg-type]
    meetings = list(Meeting.objects.filter(event=event).values_list("a_id", "b_id", "slot"))
    placed = {tuple(sorted((a, b))) for a, b, _s in meetings}
    load: Counter[int] = Counter()
    busy: dict[int, set[int]] = defaultdict(set)
    for a, b, slot in meetings:
        load[a] += 1
        load[b] += 1
        busy[a].add(slot)
        busy[b].add(slot)
    forbidden = {
        tuple(sorted((a, b)))
        for a, b in PairRule.objects.filter(event=event, kind=PairRule.Kind.FORBID).values_list(
            "a_id", "b_id"
        )
    }
    slots = set(range(event.slot_count))
    unplaced = []
    for pair, r in pairs.items():
        if pair in placed:
            continue
        one, two = r.requester, r.target
        free = {
            reg.pk: slots - set(reg.unavailable_slots or [])
            for reg in (one, two)  # both sides' availability
        }
        if pair in forbidden:
            why = _("paire interdite par l'organisation")
        elif not free[one.pk] & free[two.pk]:
            why = _("aucun créneau où les deux participants sont disponibles")
        elif event.max_meetings and (
            full := [g for g in (one, two) if load[g.pk] >= event.max_meetings]
        ):
            why = _("%(who)s a déjà atteint le maximum de %(n)s rendez-vous") % {
                "who": " et ".join(g.establishment.name for g in full),
                "n": event.max_meetings,
            }
        elif not (free[one.pk] & free[two.pk]) - busy[one.pk] - busy[two.pk]:
            why = _(
                "leurs créneaux libres communs sont déjà pris par d'autres rendez-vous plus "
                "prioritaires"
            )
        else:
            why = _("plus de table libre aux créneaux où les deux sont disponibles")
        unplaced.append({"a": one.establishment.name, "b": two.establishment.name, "why": why})
    return {
        "asked": len(pairs),
        "placed": len(pairs) - len(unplaced),
        "total": len(meetings),
        "optimal": run is not None and run.satisfied_weight >= run.bound - 1e-6,
        "unplaced": unplaced,
    }


def participant_table(user, event: Event) -> tuple[list[str], list[list]]:
    """The organiser's participants export: one row per registration the user may see (every
    registration for organisers, through policy.visible_participants), answers as columns."""
    questions = list(event.questions.order_by("position", "pk"))
    header = [
        _("Entreprise"),
        _("SIRET"),
        _("Commune"),
        _("Participant"),
        _("Courriel"),
        _("Statut"),
        _("Inscrit le"),
        _("Présent"),
        _("Propose"),
        _("Recherche"),
        _("Rendez-vous planifiés"),
        *[q.label for q in questions],
    ]
    meetings: Counter = Counter()
    for a, b in Meeting.objects.filter(event=event).values_list("a_id", "b_id"):
        meetings[a] += 1
        meetings[b] += 1
    rows = []
    for r in participants(user, event):
        answers = r.answers or {}
        rows.append(
            [
                r.establishment.name,
                r.establishment.siret,
                r.establishment.commune.name,
                r.user.get_full_name() or r.user.username,
                r.user.email,
                r.get_status_display(),
                timezone.localtime(r.registered_at).strftime("%d/%m/%Y %H:%M"),
                r.attended,
                r.offers,
                r.seeks,
                meetings[r.pk],
                *[answers.get(str(q.pk), "") for q in questions],
            ]
        )
    return header, rows


# --- Whom to meet: synergies between participants ---------------------------------------------
# The « whom to meet » suggestions of a business-meeting event are shown to one confirmed
# participant only, about the other confirmed participants of the same event (whose names and
# meeting profiles that participant already sees). A stored synergy suggestion counts only when it
# is one of the participant's own opportunities (``synergies.policy.suggestions_about``) and its
# other side is another confirmed participant's establishment, and only with consent: both
# registrations carry ``Registration.synergy_consent_at``, or both sides already accepted the
# introduction for that suggestion (``synergies.policy.mutually_introduced``). Otherwise it is
# ignored entirely: no effect on the ranking, no reason. The participant is told the resource
# class and who offers it only — never a quantity, a flow's details or a place.


@dataclass(frozen=True)
class MeetingSynergy:
    """What a participant may be told of one synergy with another participant: with whom (their
    registration), which resource and which of the two offers it."""

    registration_id: int
    resource_label: str
    mine_offers: bool


def meeting_synergies(user, registration) -> list[MeetingSynergy]:
    """The synergies behind ``registration``'s « whom to meet » list (see above), best first."""
    if not (user.is_authenticated and registration.user_id == user.pk):
        return []
    confirmed = Registration.Status.CONFIRMED
    # As stored now: the status or the consent may have changed since ``registration`` was read.
    me = (
        Registration.objects.filter(pk=registration.pk, user_id=user.pk, status=confirmed)
        .values("event_id", "establishment_id", "synergy_consent_at")
        .first()
    )
    if me is None:
        return []
    mine = me["establishment_id"]
    others = list(
        Registration.objects.filter(event_id=me["event_id"], status=confirmed)
        .exclude(establishment_id=mine)
        .order_by("pk")
        .values_list("pk", "establishment_id", "synergy_consent_at")
    )
    theirs = {establishment for _pk, establishment, _consent in others}
    links = list(
        synergies_policy.suggestions_about(user)
        .filter(
            Q(offer_flow__establishment_id=mine, need_flow__establishment_id__in=theirs)
            | Q(need_flow__establishment_id=mine, offer_flow__establishment_id__in=theirs)
        )
        .order_by("-score", "pk")
        .values_list(
            "pk",
            "offer_flow__establishment_id",
            "need_flow__establishment_id",
            "resource_class__label",
        )
    )
    mutual_ids = synergies_policy.mutually_introduced(pk for pk, *_rest in links)
    i_consent = me["synergy_consent_at"] is not None
    out: list[MeetingSynergy] = []
    for pk, offer_establishment, need_establishment, label in links:
        mine_offers = offer_establishment == mine
        other = need_establishment if mine_offers else offer_establishment
        mutual = pk in mutual_ids
        out.extend(
            MeetingSynergy(reg_pk, label, mine_offers)
            for reg_pk, establishment, their_consent in others
            if establishment == other and (mutual or (i_consent and their_consent is not None))
        )
    return out
