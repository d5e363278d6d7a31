"""Thin views of events and one-to-one meetings. Each view says who may use it; the rules
themselves are in events.policy."""

from __future__ import annotations

import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from icalendar import Calendar
from icalendar import Event as VEvent

from maillage import runs
from maillage.events import policy, selectors, services
from maillage.events.models import Event, MeetingRequest, PairRule, Registration, ScheduleRun
from maillage.spreadsheets import write_csv, write_xlsx
from maillage.viewhelpers import flash_errors, int_or


def _event(request, pk: int) -> Event:
    return get_object_or_404(
        policy.visible_events(request.user).select_related("chamber", "network"), pk=pk
    )


def _organised(request, pk: int) -> Event:
    event = _event(request, pk)
    if not policy.can_organise_event(request.user, event):
        raise PermissionDenied
    return event


@login_required
def event_list(request):
    """Who: any signed-in user sees the events open to them (policy.visible_events)."""
    return render(
        request,
        "events/event_list.html",
        {
            "events": selectors.events_for(request.user),
            "organised": set(policy.organised_events(request.user).values_list("pk", flat=True)),
            "can_create": any(q.exists() for q in policy.event_organiser_choices(request.user)),
        },
    )


class EventForm(forms.ModelForm):
    starts_at = forms.DateTimeField(
        label=gettext_lazy("début"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("fin"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    questions = forms.CharField(
        label=gettext_lazy("questions d'inscription"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("une par ligne ; terminez par * une question obligatoire"),
    )

    class Meta:
        model = Event
        fields = ["title", "description", "starts_at", "ends_at", "place", "capacity"]
        fields += ["chamber", "network", "meetings_enabled"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        chambers, networks = policy.event_organiser_choices(user)
        chamber, network = self.fields["chamber"], self.fields["network"]
        assert isinstance(chamber, forms.ModelChoiceField)
        assert isinstance(network, forms.ModelChoiceField)
        chamber.queryset = chambers.order_by("name", "pk")
        network.queryset = networks.order_by("name", "pk")

    def question_list(self) -> list[tuple[str, bool]]:
        out = []
        for line in self.cleaned_data.get("questions", "").splitlines():
            line = line.strip()
            if line:
                out.append((line.rstrip("*").strip(), line.endswith("*")))
        return out


@login_required
def event_create(request):
    """Who: chamber staff (for their chamber or its networks) and network animators."""
    chambers, networks = policy.event_organiser_choices(request.user)
    if not chambers.exists() and not networks.exists():
        raise PermissionDenied
    initial = {}
    network_pk = int_or(request.GET.get("network"))
    if network_pk and networks.filter(pk=network_pk).exists():
        initial["network"] = network_pk
    form = EventForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "questions"}
        try:
            event = services.create_event(request.user, values, form.question_list())
        except services.EventError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("Événement créé."))
            return redirect("event-organise", pk=event.pk)
    return render(request, "events/event_form.html", {"form": form})


@login_required
def event_detail(request, pk: int):
    """Who: users the event is visible to; registration for company users."""
    event = _event(request, pk)
    return render(
        request,
        "events/event_detail.html",
        {
            "event": event,
            "mine": selectors.my_registration(request.user, event),
            "establishments": policy.registrable_establishments(request.user, event),
            "questions": list(event.questions.order_by("position", "pk")),
            "can_organise": policy.can_organise_event(request.user, event),
        },
    )


@login_required
@require_POST
def event_register(request, pk: int):
    """Who: company users, for one of their own establishments."""
    event = _event(request, pk)
    establishment = get_object_or_404(
        policy.registrable_establishments(request.user, event),
        pk=int_or(request.POST.get("establishment"), 0),
    )
    answers = {k[2:]: v for k, v in request.POST.items() if k.startswith("q-")}
    try:
        reg = services.register(
            request.user,
            event,
            establishment,
            answers,
            synergy_consent=request.POST.get("synergy_consent") == "on",
        )
    except services.EventError as exc:
        flash_errors(request, exc)
    else:
        if reg.status == Registration.Status.CONFIRMED:
            messages.success(request, _("Inscription confirmée."))
        else:
            messages.info(request, _("L'événement est complet : vous êtes sur liste d'attente."))
    return redirect("event-detail", pk=event.pk)


@login_required
@require_POST
def event_cancel(request, pk: int):
    """Who: the participant themselves."""
    event = _event(request, pk)
    reg = get_object_or_404(Registration, event=event, user=request.user)
    try:
        services.cancel(request.user, reg)
    except services.EventError as exc:
        flash_errors(request, exc)
    else:
        messages.info(request, _("Inscription annulée."))
    return redirect("event-detail", pk=event.pk)


def _participant(request, event: Event) -> Registration:
    reg = selectors.my_registration(request.user, event)
    if reg is None or reg.status != Registration.Status.CONFIRMED:
        raise PermissionDenied
    return reg


@login_required
def meetings(request, pk: int):
    """Who: confirmed participants only: their profile, suggestions whom to meet, the other
    participants' meeting profiles, their own requests."""
    event = _event(request, pk)
    if not event.meetings_enabled:
        raise Http404
    me = _participant(request, event)
    services.expire_requests(timezone.now())
    sent, received = selectors.requests_of(me)
    asked = {r.target_id for r in sent}
    return render(
        request,
        "events/meetings.html",
        {
            "event": event,
            "me": me,
            "slots": [
                {"index": i, "start": s, "off": i in (me.unavailable_slots or [])}
                for i, (s, _e) in enumerate(event.slot_times())
            ],
            "suggestions": selectors.whom_to_meet(request.user, me),
            "others": [
                r
                for r in selectors.participants(request.user, event).filter(
                    status=Registration.Status.CONFIRMED
                )
                if r.pk != me.pk
            ],
            "asked": asked,
            "sent": sent,
            "received": received,
            "priorities": MeetingRequest.Priority.choices,
        },
    )


@login_required
@require_POST
def meeting_profile(request, pk: int):
    """Who: the participant, for their own profile."""
    event = _event(request, pk)
    me = _participant(request, event)
    off = [v for v in (int_or(x) for x in request.POST.getlist("off")) if v is not None]
    try:
        services.update_profile(
            request.user,
            me,
            request.POST.get("offers", ""),
            request.POST.get("seeks", ""),
            off,
            synergy_consent=request.POST.get("synergy_consent") == "on",
        )
    except services.EventError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Profil enregistré."))
    return redirect("event-meetings", pk=event.pk)


@login_required
@require_POST
def meeting_request(request, pk: int):
    """Who: a confirmed participant, towards another confirmed participant of the same event."""
    event = _event(request, pk)
    try:
        services.request_meeting(
            request.user,
            event,
            int_or(request.POST.get("target"), 0),
            int_or(request.POST.get("priority"), 0),
            request.POST.get("message", ""),
        )
    except services.EventError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Demande de rendez-vous envoyée."))
    return redirect("event-meetings", pk=event.pk)


@login_required
@require_POST
def meeting_answer(request, pk: int, request_pk: int):
    """Who: the participant who received the request."""
    event = _event(request, pk)
    req = get_object_or_404(
        MeetingRequest.objects.select_related("target", "requester__user"),
        pk=request_pk,
        event=event,
        target__user=request.user,
    )
    try:
        services.answer_request(request.user, req, request.POST.get("answer") == "accept")
    except services.EventError as exc:
        flash_errors(request, exc)
    return redirect("event-meetings", pk=event.pk)


@login_required
def agenda(request, pk: int):
    """Who: the participant (their own agenda). Printable: see the print style sheet."""
    event = _event(request, pk)
    reg = selectors.my_registration(request.user, event)
    if reg is None or not policy.can_view_agenda(request.user, reg):
        raise Http404
    return render(
        request,
        "events/agenda.html",
        {"event": event, "me": reg, "rows": selectors.agenda(reg)},
    )


@login_required
def agenda_ics(request, pk: int):
    """Who: the participant; the event and each of their meetings as an iCalendar file."""
    event = _event(request, pk)
    reg = selectors.my_registration(request.user, event)
    if reg is None or not policy.can_view_agenda(request.user, reg):
        raise Http404
    cal = Calendar()
    cal.add("prodid", "-//Maillage//Agenda//FR")
    cal.add("version", "2.0")
    host = request.get_host()
    main = VEvent()
    main.add("uid", f"event-{event.pk}-reg-{reg.pk}@{host}")
    main.add("summary", event.title)
    main.add("dtstart", event.starts_at)
    main.add("dtend", event.ends_at)
    main.add("dtstamp", timezone.now())
    main.add("location", event.place)
    cal.add_component(main)
    for row in selectors.agenda(reg):
        item = VEvent()
        item.add("uid", f"meeting-{row['meeting'].pk}-reg-{reg.pk}@{host}")
        item.add(
            "summary",
            _("Rendez-vous avec %(who)s") % {"who": row["other"].establishment.name},
        )
        item.add("dtstart", row["start"])
        item.add("dtend", row["end"])
        item.add("dtstamp", timezone.now())
        item.add(
            "location",
            _("%(place)s, table %(t)s") % {"place": event.place, "t": row["meeting"].table},
        )
        cal.add_component(item)
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="agenda-evenement-{event.pk}.ics"'
    return response


class MeetingSettingsForm(forms.ModelForm):
    meetings_start = forms.DateTimeField(
        label=gettext_lazy("début des rendez-vous"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )

    class Meta:
        model = Event
        fields = [
            "meetings_enabled",
            "meetings_start",
            "slot_minutes",
            "slot_count",
            "table_count",
            "max_meetings",
            "request_days",
        ]


@login_required
def organise(request, pk: int):
    """Who: organisers (policy.can_organise_event): participants with answers and attendance,
    slots and tables, pinned and forbidden pairs, scheduler runs, the schedule."""
    event = _organised(request, pk)
    form = MeetingSettingsForm(instance=event)
    if request.method == "POST":
        form = MeetingSettingsForm(request.POST, instance=event)
        if form.is_valid():
            services.update_meeting_settings(request.user, event, **form.cleaned_data)
            messages.success(request, _("Paramètres des rendez-vous enregistrés."))
            return redirect("event-organise", pk=event.pk)
    regs = list(selectors.participants(request.user, event))
    questions = list(event.questions.order_by("position", "pk"))
    for r in regs:
        r.answer_list = [(q.label, (r.answers or {}).get(str(q.pk), "")) for q in questions]
    return render(
        request,
        "events/organise.html",
        {
            "event": event,
            "form": form,
            "registrations": regs,
            "confirmed": [r for r in regs if r.status == Registration.Status.CONFIRMED],
            "rules": PairRule.objects.filter(event=event)
            .select_related("a__establishment", "b__establishment")
            .order_by("pk"),
            **_schedule_context(event, _latest_run(event)),
            "slot_numbers": range(1, event.slot_count + 1),
        },
    )


@login_required
def participants_export(request, pk: int, fmt: str):
    """Who: organisers: the participants with their answers, as CSV (semicolons, for a French
    spreadsheet) or XLSX."""

    event = _organised(request, pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    header, rows = selectors.participant_table(request.user, event)
    out = io.BytesIO()
    if fmt == "xlsx":
        write_xlsx(out, _("Participants"), header, rows)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        write_csv(out, header, rows)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(out.getvalue(), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="participants-evenement-{event.pk}.{fmt}"'
    )
    return response


@login_required
@require_POST
def attendance(request, pk: int, reg_pk: int):
    """Who: organisers."""
    event = _organised(request, pk)
    reg = get_object_or_404(Registration, pk=reg_pk, event=event)
    services.set_attendance(request.user, reg, request.POST.get("attended") == "1")
    return redirect("event-organise", pk=event.pk)


@login_required
@require_POST
def pair_rule(request, pk: int):
    """Who: organisers: pin (optionally in a slot) or forbid a pair."""
    event = _organised(request, pk)
    slot = int_or(request.POST.get("slot"))
    try:
        services.set_pair_rule(
            request.user,
            event,
            int_or(request.POST.get("a"), 0),
            int_or(request.POST.get("b"), 0),
            request.POST.get("kind", ""),
            slot - 1 if slot else None,
        )
    except services.EventError as exc:
        flash_errors(request, exc)
    return redirect("event-organise", pk=event.pk)


@login_required
@require_POST
def pair_rule_delete(request, pk: int, rule_pk: int):
    """Who: organisers."""
    event = _organised(request, pk)
    services.remove_pair_rule(request.user, get_object_or_404(PairRule, pk=rule_pk, event=event))
    return redirect("event-organise", pk=event.pk)


@login_required
@require_POST
def schedule_start(request, pk: int):
    """Who: organisers; the scheduler runs in the background, the page shows its status."""
    event = _organised(request, pk)
    errors: list[str] = []
    try:
        services.start_schedule(request.user, event, request.POST.get("keep") == "1")
    except services.EventError as exc:
        errors = list(exc.messages)
        if not request.htmx:
            flash_errors(request, exc)
    if request.htmx:
        # The button swaps the panel in place; the panel then polls until the run is over.
        run = _latest_run(event)
        return render(
            request,
            "events/_schedule_status.html",
            {"event": event, **_schedule_context(event, run), "errors": errors},
        )
    return redirect("event-organise", pk=event.pk)


@login_required
def schedule_status(request, pk: int, run_pk: int):
    """Who: organisers (htmx partial refreshed while the run is pending or running)."""
    event = _organised(request, pk)
    runs.recover_stale(ScheduleRun.objects.filter(pk=run_pk, event=event))
    run = get_object_or_404(ScheduleRun, pk=run_pk, event=event)
    return render(
        request, "events/_schedule_status.html", {"event": event, **_schedule_context(event, run)}
    )


def _latest_run(event: Event) -> ScheduleRun | None:
    """The event's latest run, a lost one (dead worker) recovered as failed first."""
    runs.recover_stale(event.schedule_runs.all())
    return event.schedule_runs.order_by("-created_at", "-pk").first()


def _schedule_context(event: Event, run: ScheduleRun | None) -> dict:
    """The schedule panel: the run's state, the plain-French report and the meetings; the
    panel polls itself while the run is pending or running, then shows the schedule."""
    return {
        "run": run,
        "schedule": selectors.schedule_overview(event),
        "report": selectors.schedule_report(event, run) if run else None,
        "errors": [],
    }
