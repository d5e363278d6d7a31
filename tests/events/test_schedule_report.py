"""The organiser's schedule panel: « Calculer le planning » swaps the panel in place (htmx), the
panel polls while the run is under way, then shows the meetings and a plain-French report: how
many requested meetings were placed, whether the schedule is optimal, why the others were not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from maillage.events import services
from maillage.events.models import MeetingRequest, ScheduleRun
from tests.events.conftest import answers as _answers
from tests.events.factories import ScheduleRunFactory

pytestmark = pytest.mark.django_db


def _three_with_requests(world):
    event = world["event"]
    event.capacity = 3
    event.save()
    users = [world["company77"], world["company_b"], world["company_c"]]
    regs = [services.register(u, event, u.establishments.get(), _answers(event)) for u in users]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        services.request_meeting(users[i], event, regs[j].pk, 2)
    for req in MeetingRequest.objects.order_by("pk"):
        services.answer_request(req.target.user, req, True)
    return event, regs


def test_schedule_button_swaps_in_a_plain_french_report(client, world):
    event, regs = _three_with_requests(world)
    services.set_pair_rule(world["advisor77"], event, regs[1].pk, regs[2].pk, "forbid", None)
    client.force_login(world["advisor77"])
    organise = client.get(reverse("event-organise", args=[event.pk])).content.decode()
    assert f'hx-post="{reverse("event-schedule", args=[event.pk])}"' in organise
    assert 'id="schedule-panel"' in organise and "Pas encore de planning" in organise
    html = client.post(
        reverse("event-schedule", args=[event.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in html  # a partial, swapped in place
    assert ScheduleRun.objects.get().state == "done"
    assert "2 rendez-vous placés sur 3 demandés" in html
    assert "Planning optimal" in html
    assert "Menuiserie Test – Carton Test : paire interdite par l&#x27;organisation" in html
    assert "poids satisfait" not in html and "borne" not in html
    assert html.count('class="num"') == 4  # two meetings: slot and table cells
    assert "Pas encore de planning" not in html


def test_report_explains_unavailability(client, world):
    event, regs = _three_with_requests(world)
    # Carton Test is only free in the first slot, Menuiserie Test only in the last ones.
    regs[2].unavailable_slots = [1, 2, 3]
    regs[2].save()
    regs[1].unavailable_slots = [0]
    regs[1].save()
    client.force_login(world["advisor77"])
    client.post(reverse("event-schedule", args=[event.pk]))
    run = ScheduleRun.objects.get()
    html = client.get(reverse("event-schedule-status", args=[event.pk, run.pk])).content.decode()
    assert "2 rendez-vous placés sur 3 demandés" in html
    assert "aucun créneau où les deux participants sont disponibles" in html


def test_running_panel_polls_and_start_refused_to_others(client, world):
    event, _regs = _three_with_requests(world)
    run = ScheduleRunFactory(event=event, state=ScheduleRun.State.RUNNING)
    client.force_login(world["advisor77"])
    html = client.get(reverse("event-schedule-status", args=[event.pk, run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in html and "la page se met à jour toute seule" in html
    # A second start while one runs: the error comes back in the swapped panel, in French.
    html = client.post(
        reverse("event-schedule", args=[event.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "Un calcul du planning est déjà en cours." in html
    for who in ("advisor78", "company77"):
        client.force_login(world[who])
        r = client.post(reverse("event-schedule", args=[event.pk]), headers={"HX-Request": "true"})
        assert r.status_code in (403, 404)
    client.logout()
    r = client.post(reverse("event-schedule", args=[event.pk]))
    assert r.status_code == 302 and "/comptes/login/" in r["Location"]
    assert ScheduleRun.objects.count() == 1
