"""Events: registration, waiting list, reminders, attendance, meeting requests, the scheduler run
from the web, agendas (.ics), and who may see what."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from maillage.accounts.models import User
from maillage.events import services
from maillage.events.models import (
    Event,
    Meeting,
    MeetingRequest,
    PairRule,
    Registration,
    ScheduleRun,
)
from tests.events.conftest import answers as _answers
from tests.events.factories import EventFactory, MeetingFactory, ScheduleRunFactory
from tests.factories import EstablishmentFactory, UserFactory
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def test_registration_waiting_list_and_promotion(world, django_capture_on_commit_callbacks):
    event = world["event"]
    a = services.register(world["company77"], event, world["e77"], _answers(event))
    b_user = world["company_b"]
    b = services.register(b_user, event, b_user.establishments.get(), _answers(event))
    c_user = world["company_c"]
    c = services.register(c_user, event, c_user.establishments.get(), _answers(event))
    assert [a.status, b.status, c.status] == ["confirmed", "confirmed", "waiting"]
    assert a.answers == {str(event.questions.get().pk): "végétarien"}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        promoted = services.cancel(world["company77"], a)
    assert promoted == c
    c.refresh_from_db()
    assert c.status == "confirmed" and c.promoted_at is not None
    assert [m.to for m in mail.outbox] == [["coc@example.test"]]
    # Registering again after cancelling is allowed (waiting list now: event is full).
    again = services.register(world["company77"], event, world["e77"], _answers(event))
    assert again.pk == a.pk and again.status == "waiting"


def test_required_question_and_not_own_establishment(world):
    event = world["event"]
    with pytest.raises(services.EventError, match="Régime alimentaire"):
        services.register(world["company77"], event, world["e77"], {})
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.register(world["company77"], event, world["e78"], _answers(event))
    assert not Registration.objects.exists()


def test_reminders_are_sent_once(world, django_capture_on_commit_callbacks):
    event = world["event"]
    services.register(world["company77"], event, world["e77"], _answers(event))
    mail.outbox.clear()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_event_reminders", stdout=out)
        call_command("send_event_reminders", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("1 rappel")
    assert out.getvalue().splitlines()[1].startswith("0 rappel")
    assert len(mail.outbox) == 1 and "Rappel" in mail.outbox[0].subject
    assert reverse("event-agenda", args=[event.pk]) in mail.outbox[0].body


def test_requests_expire(world):
    event = world["event"]
    services.register(world["company77"], event, world["e77"], _answers(event))
    b = services.register(
        world["company_b"], event, world["company_b"].establishments.get(), _answers(event)
    )
    req = services.request_meeting(world["company77"], event, b.pk, 3)
    assert services.expire_requests(req.expires_at + datetime.timedelta(seconds=1)) == 1
    req.refresh_from_db()
    assert req.status == "expired"
    with pytest.raises(services.EventError, match="n'attend plus"):
        services.answer_request(world["company_b"], req, True)


def _two_participants(world):
    event = world["event"]
    a = services.register(world["company77"], event, world["e77"], _answers(event))
    b = services.register(
        world["company_b"], event, world["company_b"].establishments.get(), _answers(event)
    )
    return event, a, b


def test_full_meeting_flow_on_the_web(client, world):
    event, a, b = _two_participants(world)
    services.update_profile(world["company_b"], b, "Palettes en bois", "Sciure", [])
    services.update_profile(world["company77"], a, "Sciure de bois", "Des palettes bois", [0])
    client.force_login(world["company77"])
    page = client.get(reverse("event-meetings", args=[event.pk])).content.decode()
    assert "Menuiserie Test" in page and "son offre répond à ce que vous recherchez" in page
    r = client.post(reverse("event-request", args=[event.pk]), {"target": b.pk, "priority": 3})
    assert r.status_code == 302
    req = MeetingRequest.objects.get()
    client.force_login(world["company_b"])
    client.post(reverse("event-answer", args=[event.pk, req.pk]), {"answer": "accept"})
    req.refresh_from_db()
    assert req.status == "accepted"
    client.force_login(world["advisor77"])
    client.post(reverse("event-schedule", args=[event.pk]))
    run = ScheduleRun.objects.get()
    assert run.state == "done" and run.meetings == 1
    meeting = Meeting.objects.get()
    assert meeting.slot != 0  # participant a is not available in slot 1
    for who in ("company77", "company_b"):
        client.force_login(world[who])
        html = client.get(reverse("event-agenda", args=[event.pk])).content.decode()
        assert f'<td class="num">{meeting.table}</td>' in html
        ics = client.get(reverse("event-agenda-ics", args=[event.pk]))
        assert ics["Content-Type"].startswith("text/calendar")
        from icalendar import Calendar

        cal = Calendar.from_ical(ics.content)
        summaries = [str(c["summary"]) for c in cal.walk("VEVENT")]
        assert any("Rendez-vous avec" in s for s in summaries) and len(summaries) == 2


def test_conflicting_pins_are_explained(client, world):
    event, a, b = _two_participants(world)
    c_user = world["company_c"]
    event.capacity = 5
    event.save()
    c = services.register(c_user, event, c_user.establishments.get(), _answers(event))
    services.update_profile(world["company77"], a, "", "", [1, 2, 3])
    organiser = world["advisor77"]
    services.set_pair_rule(organiser, event, a.pk, b.pk, "pin", None)
    services.set_pair_rule(organiser, event, a.pk, c.pk, "pin", None)
    client.force_login(organiser)
    client.post(reverse("event-schedule", args=[event.pk]))
    run = ScheduleRun.objects.get()
    assert run.state == "infeasible"
    assert "Scierie de Melun-Test" in run.problems[0]
    html = client.get(reverse("event-organise", args=[event.pk])).content.decode()
    assert "ne tiennent pas ensemble" in html
    assert not Meeting.objects.exists()
    # Removing one pin makes it feasible, and a re-run keeping the schedule keeps the meeting.
    PairRule.objects.filter(b=c).delete() if c.pk > a.pk else PairRule.objects.filter(a=c).delete()
    client.post(reverse("event-schedule", args=[event.pk]))
    first = list(Meeting.objects.values_list("slot", "table"))
    assert first == [(0, 1)]
    client.post(reverse("event-schedule", args=[event.pk]), {"keep": "1"})
    assert list(Meeting.objects.values_list("slot", "table", "pinned")) == [(0, 1, True)]


def test_attendance_by_organiser_only(client, world):
    event, a, _b = _two_participants(world)
    url = reverse("event-attendance", args=[event.pk, a.pk])
    client.force_login(world["company77"])
    assert client.post(url, {"attended": "1"}).status_code == 403
    client.force_login(world["advisor78"])
    assert client.post(url, {"attended": "1"}).status_code == 403
    client.force_login(world["advisor77"])
    client.post(url, {"attended": "1"})
    a.refresh_from_db()
    assert a.attended is True


def test_who_may_see_what(client, world):
    event, a, b = _two_participants(world)
    organise = reverse("event-organise", args=[event.pk])
    meetings = reverse("event-meetings", args=[event.pk])
    agenda = reverse("event-agenda", args=[event.pk])
    ics = reverse("event-agenda-ics", args=[event.pk])
    # Anonymous: sent to the login page everywhere.
    for url in (organise, meetings, agenda, ics, reverse("event-list")):
        r = client.get(url)
        assert r.status_code == 302 and "/comptes/login/" in r.url
    # Another chamber's advisor and admin: may read the (open) event, may not organise it.
    for who in ("advisor78", "admin78", "advisor91"):
        client.force_login(world[who])
        assert client.get(organise).status_code == 403
        assert client.get(meetings).status_code == 403
        assert client.get(agenda).status_code == 404
        assert client.post(reverse("event-schedule", args=[event.pk])).status_code == 403
    # Another company (not registered): no participant list, no agenda, no requests.
    client.force_login(world["company78"])
    assert client.get(meetings).status_code == 403
    assert client.get(agenda).status_code == 404
    client.post(reverse("event-request", args=[event.pk]), {"target": b.pk, "priority": 2})
    assert not MeetingRequest.objects.exists()
    # A participant cannot answer a request made to someone else.
    req = services.request_meeting(world["company77"], event, b.pk, 2)
    client.force_login(world["company77"])
    assert (
        client.post(reverse("event-answer", args=[event.pk, req.pk]), {"answer": "accept"})
    ).status_code == 404
    # The organiser sees participants' answers; a participant's page does not show them.
    client.force_login(world["advisor77"])
    assert "végétarien" in client.get(organise).content.decode()
    client.force_login(world["company_b"])
    assert "végétarien" not in client.get(meetings).content.decode()


def test_network_event_hidden_from_non_members(client, world):

    club = NetworkFactory(name="Club test", chamber=world["chambers"][0])
    MembershipFactory(establishment=world["e77"], network=club, since=datetime.date(2020, 1, 1))
    event = world["event"]
    event.chamber = None
    event.network = club
    event.save()
    client.force_login(world["company78"])
    assert client.get(reverse("event-detail", args=[event.pk])).status_code == 404
    assert "Positive Business Place" not in client.get(reverse("event-list")).content.decode()
    client.force_login(world["company77"])
    assert client.get(reverse("event-detail", args=[event.pk])).status_code == 200


def test_lists_do_not_query_per_row(client, world, django_assert_max_num_queries):
    event = world["event"]
    event.capacity = 50
    event.save()
    for i in range(6):
        e = EstablishmentFactory(name=f"Société {i}", naf_id="16.10A", commune_id="77288")
        u = UserFactory(username=f"u{i}", role=User.Role.COMPANY, establishments=[e])
        services.register(u, event, e, _answers(event))
    client.force_login(world["advisor77"])
    with django_assert_max_num_queries(25):
        assert client.get(reverse("event-organise", args=[event.pk])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("event-list")).status_code == 200
    client.force_login(User.objects.get(username="u0"))
    with django_assert_max_num_queries(25):
        assert client.get(reverse("event-meetings", args=[event.pk])).status_code == 200


def test_organiser_sets_slots_and_tables_with_french_errors(client, world):
    event = world["event"]
    url = reverse("event-organise", args=[event.pk])
    data = {
        "meetings_enabled": "on",
        "meetings_start": "",
        "slot_minutes": 15,
        "slot_count": 6,
        "table_count": 12,
        "max_meetings": 6,
        "request_days": 5,
    }
    client.force_login(world["advisor78"])
    assert client.post(url, data).status_code == 403
    client.force_login(world["advisor77"])
    html = client.post(url, data).content.decode()
    assert "inférieur au nombre de créneaux" in html
    event.refresh_from_db()
    assert (event.slot_count, event.table_count) == (4, 2)  # unchanged
    data["max_meetings"] = 5
    assert client.post(url, data).status_code == 302
    event.refresh_from_db()
    assert (event.slot_minutes, event.slot_count, event.table_count) == (15, 6, 12)


def test_schedule_status_partial_for_organisers_only(client, world):
    event, _a, _b = _two_participants(world)
    run = ScheduleRunFactory(event=event, state=ScheduleRun.State.RUNNING)
    url = reverse("event-schedule-status", args=[event.pk, run.pk])
    client.force_login(world["advisor77"])
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and 'hx-trigger="every 2s"' in html
    for who in ("advisor78", "company77"):
        client.force_login(world[who])
        assert client.get(url).status_code == 403
    # A second run cannot start while one is under way.
    client.force_login(world["advisor77"])
    client.post(reverse("event-schedule", args=[event.pk]), follow=True)
    assert ScheduleRun.objects.count() == 1


def test_organisers_create_events_for_their_chamber_or_networks_only(client, world):

    url = reverse("event-create")
    c77, _c91, c78 = world["chambers"]
    data = {
        "title": "Club breakfast",
        "description": "",
        "starts_at": "2030-05-02T08:30",
        "ends_at": "2030-05-02T10:00",
        "place": "Melun",
        "capacity": 20,
        "chamber": c77.pk,
        "questions": "Combien de personnes ? *\nAllergies",
    }
    client.force_login(world["company77"])
    assert client.get(url).status_code == 403
    client.force_login(world["advisor78"])
    client.post(url, data)  # another chamber: not among the choices
    assert not Event.objects.filter(title="Club breakfast").exists()
    client.force_login(world["advisor77"])
    bad = client.post(url, {**data, "ends_at": "2030-05-01T10:00"}).content.decode()
    assert "La fin doit suivre le début" in bad
    r = client.post(url, data)
    event = Event.objects.get(title="Club breakfast")
    assert r.url == reverse("event-organise", args=[event.pk])
    assert list(event.questions.values_list("label", "required")) == [
        ("Combien de personnes ?", True),
        ("Allergies", False),
    ]
    # An animator creates for their network only.
    club = NetworkFactory(name="Club 78", chamber=c78)
    animator = User.objects.create_user("anim78", role=User.Role.ANIMATOR)
    club.animators.add(animator)
    client.force_login(animator)
    client.post(url, {**data, "title": "Club event", "chamber": "", "network": club.pk})
    assert Event.objects.get(title="Club event").network == club
    client.post(url, {**data, "title": "Hijack"})
    assert not Event.objects.filter(title="Hijack").exists()


# -- read-only API (api/routers/events.py): same policy as the pages ------------------------------


def _api(client, user, url):
    from maillage.accounts.tokens import create_token

    headers = {"Authorization": f"Bearer {create_token(user, 'test')}"} if user else {}
    return client.get(f"/api{url}", headers=headers)


def test_api_events_and_my_agenda_follow_the_policy(client, world):

    event, a, b = _two_participants(world)
    MeetingFactory(event=event, a=a, b=b, slot=1, table=2)
    club = NetworkFactory(name="Club API", chamber=world["chambers"][0])
    MembershipFactory(establishment=world["e77"], network=club, since=datetime.date(2020, 1, 1))
    club_event = EventFactory(
        title="Petit-déjeuner du club",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        place="Melun",
        capacity=10,
        chamber=None,
        network=club,
    )
    # Events: a chamber's event for every signed-in user, a network's event for its members only.
    assert _api(client, None, "/events").status_code == 401
    titles = {e["title"] for e in _api(client, world["company77"], "/events").json()["items"]}
    assert titles == {"Positive Business Place", "Petit-déjeuner du club"}
    items = _api(client, world["company78"], "/events").json()["items"]
    assert [(e["title"], e["chamber"], e["confirmed"]) for e in items] == [
        ("Positive Business Place", world["chambers"][0].pk, 2)
    ]
    # My agenda: each participant their own meeting, with the other side.
    for who, other in (("company77", "Menuiserie Test"), ("company_b", "Scierie de Melun-Test")):
        agenda = _api(client, world[who], f"/events/{event.pk}/agenda").json()
        assert [(m["slot"], m["table"], m["with_establishment"]) for m in agenda["meetings"]] == [
            (2, 2, other)
        ]
        assert agenda["meetings"][0]["start"].startswith(event.slot_times()[1][0].isoformat()[:16])
    # Nobody else's agenda: another company, another chamber's advisor, an organiser (who has
    # the organisation page, not someone's agenda), anonymous; a hidden event is 404 too.
    for who in ("company_c", "company78", "advisor78", "advisor77"):
        r = _api(client, world[who], f"/events/{event.pk}/agenda")
        assert r.status_code == 404 and "Menuiserie" not in r.content.decode(), who
    assert _api(client, None, f"/events/{event.pk}/agenda").status_code == 401
    assert _api(client, world["company78"], f"/events/{club_event.pk}/agenda").status_code == 404
    assert _api(client, world["company77"], f"/events/{club_event.pk}/agenda").status_code == 404


def test_api_event_list_queries_do_not_grow(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _two_participants(world)
    with CaptureQueriesContext(connection) as few:
        assert len(_api(client, world["company78"], "/events").json()["items"]) == 1
    event = world["event"]
    for i in range(8):
        EventFactory(
            title=f"Atelier {i}",
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            place="Melun",
            capacity=5,
            chamber=event.chamber,
        )
    with CaptureQueriesContext(connection) as many:
        assert len(_api(client, world["company78"], "/events").json()["items"]) == 9
    assert len(many) == len(few)
