"""Writes of the events app: registrations and the waiting list, meeting profiles and requests,
pinned or forbidden pairs, scheduler runs, reminders, attendance.
Every function that a user can call with bad input raises ``EventError`` with a French message."""

from __future__ import annotations

import datetime

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage import runs
from maillage.engine import meetings as engine
from maillage.events import policy
from maillage.events.models import (
    Event,
    Meeting,
    MeetingRequest,
    PairRule,
    Registration,
    ScheduleRun,
)
from maillage.events.notifications import (
    EVENT_PROMOTED,
    EVENT_REGISTRATION,
    EVENT_REMINDER,
    MEETING_ANSWER,
    MEETING_REQUEST,
    MEETING_SCHEDULE,
)
from maillage.notifications import notify


class EventError(ValidationError):
    """A user's action that cannot be done, with a message they can act on."""


# -- registrations --------------------------------------------------------------------------------


def register(
    user, event: Event, establishment, answers: dict[str, str], *, synergy_consent: bool = False
) -> Registration:
    """Register a company user for one of their establishments; on the waiting list when full.
    ``synergy_consent``: they accept that the resource complementarities detected by the chamber
    be used to suggest whom to meet (see ``events_selectors.meeting_synergies``)."""
    if not policy.registrable_establishments(user, event).filter(pk=establishment.pk).exists():
        raise PermissionDenied
    if event.ends_at < timezone.now():
        raise EventError(_("Cet événement est terminé : les inscriptions sont closes."))
    clean: dict[str, str] = {}
    for q in event.questions.order_by("position", "pk"):
        value = (answers.get(str(q.pk)) or "").strip()[:2000]
        if q.required and not value:
            raise EventError(_("Merci de répondre à la question « %(q)s ».") % {"q": q.label})
        clean[str(q.pk)] = value
    with transaction.atomic():
        # Lock the event row so that two last-minute registrations cannot both take the last seat.
        Event.objects.select_for_update().get(pk=event.pk)
        existing = Registration.objects.filter(event=event, user=user).first()
        if existing and existing.status != Registration.Status.CANCELLED:
            raise EventError(_("Vous êtes déjà inscrit à cet événement."))
        taken = Registration.objects.filter(
            event=event, status=Registration.Status.CONFIRMED
        ).count()
        status = (
            Registration.Status.CONFIRMED if taken < event.capacity else Registration.Status.WAITING
        )
        reg = existing or Registration(event=event, user=user)
        reg.establishment = establishment
        reg.status = status
        reg.answers = clean
        reg.registered_at = timezone.now()
        reg.cancelled_at = None
        reg.promoted_at = None
        reg.synergy_consent_at = timezone.now() if synergy_consent else None  # asked anew
        reg.save()
    if status == Registration.Status.CONFIRMED:
        title = _("Inscription confirmée : %(e)s") % {"e": event.title}
        body = _("Votre inscription à « %(e)s » (%(d)s, %(p)s) est confirmée.") % {
            "e": event.title,
            "d": _when(event.starts_at),
            "p": event.place,
        }
    else:
        title = _("Liste d'attente : %(e)s") % {"e": event.title}
        body = _(
            "L'événement « %(e)s » est complet : vous êtes sur la liste d'attente et serez "
            "prévenu si une place se libère."
        ) % {"e": event.title}
    notify([user], EVENT_REGISTRATION, title=title, body=body, url=_detail_url(event))
    return reg


def _detail_url(event: Event) -> str:
    return reverse("event-detail", args=[event.pk])


def _when(at: datetime.datetime) -> str:
    return timezone.localtime(at).strftime("%d/%m/%Y %H:%M")


def cancel(user, registration: Registration) -> Registration | None:
    """Cancel a registration (its owner or an organiser); the first on the waiting list takes the
    seat. Returns the promoted registration, if any."""
    event = registration.event
    if registration.user_id != user.pk and not policy.can_organise_event(user, event):
        raise PermissionDenied
    if registration.status == Registration.Status.CANCELLED:
        raise EventError(_("Cette inscription est déjà annulée."))
    with transaction.atomic():
        Event.objects.select_for_update().get(pk=event.pk)
        was_confirmed = registration.status == Registration.Status.CONFIRMED
        registration.status = Registration.Status.CANCELLED
        registration.cancelled_at = timezone.now()
        registration.save(update_fields=["status", "cancelled_at"])
        Meeting.objects.filter(event=event).filter(Q(a=registration) | Q(b=registration)).delete()
        promoted = None
        if was_confirmed:
            promoted = (
                Registration.objects.select_for_update()
                .filter(event=event, status=Registration.Status.WAITING)
                .order_by("registered_at", "pk")
                .first()
            )
            if promoted is not None:
                promoted.status = Registration.Status.CONFIRMED
                promoted.promoted_at = timezone.now()
                promoted.save(update_fields=["status", "promoted_at"])
    if promoted is not None:
        notify(
            [promoted.user],
            EVENT_PROMOTED,
            title=_("Une place s'est libérée : %(e)s") % {"e": event.title},
            body=_("Bonne nouvelle : votre inscription à « %(e)s » est maintenant confirmée.")
            % {"e": event.title},
            url=_detail_url(event),
        )
    return promoted


def set_attendance(user, registration: Registration, attended: bool) -> None:
    if not policy.can_organise_event(user, registration.event):
        raise PermissionDenied
    registration.attended = attended
    registration.save(update_fields=["attended"])


def _consent_date(registration: Registration, consent: bool) -> datetime.datetime | None:
    """When the participant consented to the use of detected synergies: kept while they still
    consent, now when they just did, None once withdrawn."""
    if not consent:
        return None
    return registration.synergy_consent_at or timezone.now()


def update_profile(
    user,
    registration: Registration,
    offers: str,
    seeks: str,
    unavailable: list[int],
    *,
    synergy_consent: bool | None = None,
) -> None:
    """The participant's meeting profile; ``synergy_consent`` given (True or False) sets or
    withdraws their consent to the use of detected synergies, None leaves it as it is."""
    if registration.user_id != user.pk:
        raise PermissionDenied
    slots = registration.event.slot_count
    bad = [s for s in unavailable if not 0 <= s < slots]
    if bad:
        raise EventError(_("Créneau inconnu : %(s)s.") % {"s": bad[0] + 1})
    registration.offers = offers.strip()[:2000]
    registration.seeks = seeks.strip()[:2000]
    registration.unavailable_slots = sorted(set(unavailable))
    fields = ["offers", "seeks", "unavailable_slots"]
    if synergy_consent is not None:
        registration.synergy_consent_at = _consent_date(registration, synergy_consent)
        fields.append("synergy_consent_at")
    registration.save(update_fields=fields)


def send_reminders(now: datetime.datetime, within_hours: int = 48) -> int:
    """Remind confirmed participants of events starting within ``within_hours``, once each
    (``reminded_at`` makes re-runs send nothing new)."""
    due = (
        Registration.objects.filter(
            status=Registration.Status.CONFIRMED,
            reminded_at__isnull=True,
            event__starts_at__gt=now,
            event__starts_at__lte=now + datetime.timedelta(hours=within_hours),
        )
        .select_related("event", "user")
        .order_by("pk")
    )
    sent = 0
    for reg in due:
        with transaction.atomic():
            # Claim the row first: two reminder runs at once cannot both send.
            claimed = Registration.objects.filter(pk=reg.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue
            event = reg.event
            notify(
                [reg.user],
                EVENT_REMINDER,
                title=_("Rappel : %(e)s") % {"e": event.title},
                body=_("Rappel : « %(e)s » a lieu le %(d)s, %(p)s. Votre agenda :")
                % {"e": event.title, "d": _when(event.starts_at), "p": event.place},
                url=reverse("event-agenda", args=[event.pk]),
            )
            sent += 1
    return sent


# -- meeting requests -----------------------------------------------------------------------------


def _confirmed(user, event: Event) -> Registration:
    reg = Registration.objects.filter(
        event=event, user=user, status=Registration.Status.CONFIRMED
    ).first()
    if reg is None:
        raise PermissionDenied
    return reg


def request_meeting(user, event: Event, target_id: int, priority: int, message: str = ""):
    if not event.meetings_enabled:
        raise EventError(_("Cet événement ne propose pas de rendez-vous d'affaires."))
    me = _confirmed(user, event)
    target = Registration.objects.filter(
        event=event, pk=target_id, status=Registration.Status.CONFIRMED
    ).first()
    if target is None:
        raise EventError(_("Ce participant n'est pas inscrit à l'événement."))
    if target.pk == me.pk or target.establishment_id == me.establishment_id:
        raise EventError(_("Vous ne pouvez pas vous demander un rendez-vous à vous-même."))
    if priority not in MeetingRequest.Priority.values:
        raise EventError(_("Priorité inconnue."))
    if MeetingRequest.objects.filter(requester=me, target=target).exists():
        raise EventError(_("Vous avez déjà demandé un rendez-vous à ce participant."))
    now = timezone.now()
    expires = min(now + datetime.timedelta(days=event.request_days), event.starts_at)
    req = MeetingRequest.objects.create(
        event=event,
        requester=me,
        target=target,
        priority=priority,
        message=message.strip()[:500],
        expires_at=expires,
    )
    notify(
        [target.user],
        MEETING_REQUEST,
        title=_("Demande de rendez-vous : %(e)s") % {"e": event.title},
        body=_("%(who)s souhaite vous rencontrer à « %(e)s ». Répondez avant le %(d)s.")
        % {"who": me.establishment.name, "e": event.title, "d": _when(expires)},
        url=reverse("event-meetings", args=[event.pk]),
    )
    return req


def answer_request(user, request: MeetingRequest, accept: bool) -> None:
    if request.target.user_id != user.pk:
        raise PermissionDenied
    expire_requests(timezone.now())
    request.refresh_from_db()
    if request.status != MeetingRequest.Status.PENDING:
        raise EventError(
            _("Cette demande n'attend plus de réponse (%(s)s).")
            % {"s": request.get_status_display()}
        )
    request.status = MeetingRequest.Status.ACCEPTED if accept else MeetingRequest.Status.DECLINED
    request.answered_at = timezone.now()
    request.save(update_fields=["status", "answered_at"])
    notify(
        [request.requester.user],
        MEETING_ANSWER,
        title=_("Réponse à votre demande de rendez-vous"),
        body=(
            _("%(who)s a accepté votre demande de rendez-vous.")
            if accept
            else _("%(who)s a décliné votre demande de rendez-vous.")
        )
        % {"who": request.target.establishment.name},
        url=reverse("event-meetings", args=[request.event_id]),
    )


def expire_requests(now: datetime.datetime) -> int:
    return MeetingRequest.objects.filter(
        status=MeetingRequest.Status.PENDING, expires_at__lte=now
    ).update(status=MeetingRequest.Status.EXPIRED)


# -- organiser: slots, pairs, scheduler -------------------------------------------------------------


def set_pair_rule(user, event: Event, a_id: int, b_id: int, kind: str, slot: int | None):
    if not policy.can_organise_event(user, event):
        raise PermissionDenied
    if kind not in PairRule.Kind.values:
        raise EventError(_("Règle inconnue."))
    a_id, b_id = sorted((a_id, b_id))
    regs = Registration.objects.filter(
        event=event, pk__in=(a_id, b_id), status=Registration.Status.CONFIRMED
    )
    if a_id == b_id or regs.count() != 2:
        raise EventError(_("Choisissez deux participants inscrits différents."))
    if slot is not None and not 0 <= slot < event.slot_count:
        raise EventError(_("Créneau inconnu : %(s)s.") % {"s": slot + 1})
    rule, _created = PairRule.objects.update_or_create(
        event=event, a_id=a_id, b_id=b_id, defaults={"kind": kind, "slot": slot}
    )
    return rule


def remove_pair_rule(user, rule: PairRule) -> None:
    if not policy.can_organise_event(user, rule.event):
        raise PermissionDenied
    rule.delete()


def start_schedule(user, event: Event, keep_current: bool) -> ScheduleRun:
    """Create a run and hand it to the background worker (django-tasks)."""

    if not policy.can_organise_event(user, event):
        raise PermissionDenied
    if not event.meetings_enabled:
        raise EventError(_("Activez d'abord les rendez-vous d'affaires pour cet événement."))
    # A run left pending or running by a dead worker is recovered as failed, never blocking.
    if runs.active(event.schedule_runs.all()).exists():
        raise EventError(_("Un calcul du planning est déjà en cours."))
    run = ScheduleRun.objects.create(event=event, requested_by=user, keep_current=keep_current)
    from maillage.events.tasks import run_schedule  # cycle: the task module imports this one

    run_schedule.enqueue(run.pk)
    return run


def build_problem(event: Event, keep_current: bool):
    """The engine's problem from the database: confirmed participants, accepted requests weighted
    by priority and mutual interest, availability, breaks, pins (plus the current schedule when
    the organiser re-runs keeping it) and forbidden pairs."""
    regs = list(
        Registration.objects.filter(event=event, status=Registration.Status.CONFIRMED).order_by(
            "pk"
        )
    )
    index = {r.pk: i for i, r in enumerate(regs)}
    n, s = len(regs), event.slot_count
    available = np.ones((n, s), dtype=bool)
    for r in regs:
        for slot in r.unavailable_slots or []:
            if 0 <= slot < s:
                available[index[r.pk], slot] = False
    accepted = list(
        MeetingRequest.objects.filter(event=event, status=MeetingRequest.Status.ACCEPTED)
        .order_by("pk")
        .values_list("requester_id", "target_id", "priority")
    )
    asked = {(a, b) for a, b, _p in accepted}
    requests = [
        engine.Request(index[a], index[b], engine.request_weight(p, (b, a) in asked))
        for a, b, p in accepted
        if a in index and b in index
    ]
    rules = list(PairRule.objects.filter(event=event).order_by("pk"))
    pins = [
        engine.Pin(index[r.a_id], index[r.b_id], r.slot)
        for r in rules
        if r.kind == PairRule.Kind.PIN and r.a_id in index and r.b_id in index
    ]
    if keep_current:
        pinned = {(p.a, p.b) for p in pins}
        for m in Meeting.objects.filter(event=event).order_by("slot", "table"):
            if m.a_id in index and m.b_id in index:
                pair = tuple(sorted((index[m.a_id], index[m.b_id])))
                if pair not in pinned:
                    pins.append(engine.Pin(pair[0], pair[1], m.slot, m.table))
    forbidden = [
        (index[r.a_id], index[r.b_id])
        for r in rules
        if r.kind == PairRule.Kind.FORBID and r.a_id in index and r.b_id in index
    ]
    problem = engine.Problem(
        n_participants=n,
        n_slots=s,
        tables=[event.table_count] * s,
        requests=requests,
        available=available,
        max_meetings=event.max_meetings,
        pins=pins,
        forbidden=forbidden,
    )
    return problem, regs


def explain_conflict(conflict, regs: list[Registration], event: Event) -> str:
    """French sentence for one engine conflict, naming participants and slots."""
    names = ", ".join(regs[p].establishment.name for p in conflict.participants) or "—"
    pairs = "; ".join(
        f"{regs[p.a].establishment.name} – {regs[p.b].establishment.name}" for p in conflict.pins
    )
    slot = "" if conflict.slot is None else str(conflict.slot + 1)
    messages = {
        "forbidden": _("La paire %(pairs)s est à la fois imposée et interdite."),
        "unavailable": _(
            "Rendez-vous imposé %(pairs)s impossible : %(names)s indisponible(s) "
            "au créneau %(slot)s ou sans créneau commun."
        ),
        "bad_slot": _("Rendez-vous imposé %(pairs)s : le créneau %(slot)s n'existe pas."),
        "bad_table": _("Rendez-vous imposé %(pairs)s : table inexistante au créneau %(slot)s."),
        "participant_slot": _(
            "%(names)s a plusieurs rendez-vous imposés au créneau %(slot)s : %(pairs)s."
        ),
        "pair_slots": _("La paire %(pairs)s est imposée à deux créneaux différents."),
        "tables": _("Plus de rendez-vous imposés que de tables au créneau %(slot)s : %(pairs)s."),
        "table_taken": _(
            "Deux rendez-vous imposés à la même table au créneau %(slot)s : %(pairs)s."
        ),
        "overloaded": _(
            "Ces rendez-vous imposés ne tiennent pas ensemble dans les créneaux disponibles "
            "(pauses et disponibilités de %(names)s) : %(pairs)s."
        ),
    }
    return messages[conflict.kind] % {"pairs": pairs, "names": names, "slot": slot}


def compute_schedule(run: ScheduleRun, time_limit: float = 20.0) -> ScheduleRun:
    """Run the engine for the run's event and store the schedule (replacing the previous one in
    one transaction: a run stopped anywhere leaves the previous meetings whole). It
    takes the run if still pending; one no longer pending (recovered as lost) is left as is."""
    if run.state == ScheduleRun.State.PENDING and not run.start():
        return run
    event = run.event
    run.advance(10, _("lecture des inscriptions et des demandes"))
    problem, regs = build_problem(event, run.keep_current)
    run.advance(20, _("recherche du meilleur planning"))
    result = engine.schedule(problem, time_limit=time_limit, workers=2)
    run.advance(90, _("enregistrement du planning"))
    now = timezone.now()
    if result.status == "infeasible":
        problems = [explain_conflict(c, regs, event) for c in result.conflicts]
        ScheduleRun.objects.filter(pk=run.pk).update(
            state=ScheduleRun.State.INFEASIBLE, problems=problems, finished_at=now
        )
    elif result.status == "unknown":
        run.fail(_("Aucun planning trouvé dans le temps imparti ; relancez le calcul."))
    else:
        before = _agendas(event)
        with transaction.atomic():
            Meeting.objects.filter(event=event).delete()
            runs.slow_down()  # fault tests: lets a kill land between the delete and the create
            Meeting.objects.bulk_create(
                Meeting(
                    event=event,
                    a=regs[m.a],
                    b=regs[m.b],
                    slot=m.slot,
                    table=m.table,
                    pinned=m.pinned,
                )
                for m in result.meetings
            )
            run.finish(
                meetings=len(result.meetings),
                requests=len(problem.requests),
                satisfied_weight=result.satisfied_weight,
                bound=result.best_bound,
            )
        _notify_schedule(event, before, _agendas(event), first=not any(before.values()))
    run.refresh_from_db()
    return run


def _agendas(event: Event) -> dict[int, set[tuple[int, int, int]]]:
    """Each participant's meetings as (other registration, slot, table)."""
    out: dict[int, set[tuple[int, int, int]]] = {}
    for a, b, slot, table in Meeting.objects.filter(event=event).values_list(
        "a_id", "b_id", "slot", "table"
    ):
        out.setdefault(a, set()).add((b, slot, table))
        out.setdefault(b, set()).add((a, slot, table))
    return out


def _notify_schedule(event: Event, before: dict, after: dict, first: bool) -> None:
    """Tell each participant whose agenda the new schedule changed (all those with meetings when
    it is the first one), with the number of their meetings."""
    changed = sorted(pk for pk in set(before) | set(after) if before.get(pk) != after.get(pk))
    title = (
        _("Planning des rendez-vous publié : %(e)s")
        if first
        else _("Planning des rendez-vous modifié : %(e)s")
    ) % {"e": event.title}
    url = reverse("event-agenda", args=[event.pk])
    for reg in Registration.objects.filter(pk__in=changed).select_related("user").order_by("pk"):
        n = len(after.get(reg.pk, ()))
        notify(
            [reg.user],
            MEETING_SCHEDULE,
            title=title,
            body=_("Vous avez %(n)d rendez-vous à « %(e)s ». Votre agenda :")
            % {"n": n, "e": event.title},
            url=url,
        )


def create_event(user, values: dict, questions: list[tuple[str, bool]]) -> Event:
    """Create an event for a chamber or network the user may organise for, with its questions."""
    chambers, networks = policy.event_organiser_choices(user)
    chamber, network = values.get("chamber"), values.get("network")
    if (chamber is None) == (network is None):
        raise EventError(_("Choisissez l'organisateur : votre chambre ou un de vos réseaux."))
    if (chamber is not None and not chambers.filter(pk=chamber.pk).exists()) or (
        network is not None and not networks.filter(pk=network.pk).exists()
    ):
        raise PermissionDenied
    event = Event(**values)
    try:
        event.full_clean()
    except ValidationError as exc:
        raise EventError(exc.messages) from exc
    with transaction.atomic():
        event.save()
        for position, (label, required) in enumerate(questions, start=1):
            event.questions.create(label=label[:255], required=required, position=position)
    return event


def update_meeting_settings(user, event: Event, **fields) -> None:
    if not policy.can_organise_event(user, event):
        raise PermissionDenied
    for name, value in fields.items():
        setattr(event, name, value)
    try:
        event.full_clean()
    except ValidationError as exc:
        raise EventError(exc.messages) from exc
    event.save()
