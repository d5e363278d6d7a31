"""The shared background-run model: its transitions, the stale rule, and the guards and pages of
detection, meeting schedules, consortia and imports that rely on it."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from maillage import runs
from maillage.events import services as events
from maillage.events.models import ScheduleRun
from maillage.synergies.models import DetectionRun
from tests.events.factories import EventFactory, ScheduleRunFactory
from tests.ingest.factories import ImportRunFactory
from tests.synergies.factories import DetectionRunFactory

pytestmark = pytest.mark.django_db

LONG_AGO = datetime.timedelta(minutes=11)  # beyond the default MAILLAGE_RUN_STALE_MINUTES


@pytest.fixture(autouse=True)
def database_queue(settings):
    """Tasks wait in the database (nothing runs them): a run stays as the test leaves it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def backdate(run, by=LONG_AGO, **fields):
    """The run as a dead worker leaves it: its last sign of life ``by`` ago."""
    then = timezone.now() - by
    type(run).objects.filter(pk=run.pk).update(
        created_at=then, started_at=then, heartbeat_at=then, **fields
    )


def test_transitions_write_their_columns(territory):
    run = DetectionRunFactory(chamber=territory["chambers"][0], pending=True)
    assert run.state == "pending" and run.is_busy and run.started_at is None
    assert run.start() and run.state == "running"
    assert not run.start()  # a run is taken once
    run.advance(150, "mutualisation")
    stored = DetectionRun.objects.get(pk=run.pk)
    assert (stored.progress, stored.step) == (100, "mutualisation")  # clamped
    assert stored.heartbeat_at >= stored.started_at
    run.finish(counts={"substitution": {"créées": 2}})
    stored.refresh_from_db()
    assert stored.state == "done" and stored.progress == 100 and stored.step == ""
    assert stored.counts == {"substitution": {"créées": 2}} and stored.finished_at
    other = DetectionRunFactory(chamber=territory["chambers"][0], pending=True)
    other.start()
    other.fail("x" * 3000)
    other.refresh_from_db()
    assert other.state == "failed" and len(other.error) == 2000 and not other.is_busy


def test_only_runs_silent_for_longer_than_the_setting_are_recovered(territory, settings):
    chamber = territory["chambers"][0]
    fresh = DetectionRunFactory(chamber=chamber, pending=True)
    lost_pending = DetectionRunFactory(chamber=chamber, pending=True)
    lost_running = DetectionRunFactory(chamber=chamber, pending=True)
    lost_running.start()
    finished = DetectionRunFactory(chamber=chamber, state="done")
    backdate(lost_pending, state="pending")
    backdate(lost_running)
    backdate(finished, state="done")
    # A run still beating is not lost, however old its start.
    alive = DetectionRunFactory(chamber=chamber, pending=True)
    backdate(alive, state="running")
    DetectionRun.objects.filter(pk=alive.pk).update(heartbeat_at=timezone.now())

    assert runs.recover_stale(DetectionRun.objects.all()) == 2
    states = dict(DetectionRun.objects.values_list("pk", "state"))
    assert states == {
        fresh.pk: "pending",
        lost_pending.pk: "failed",
        lost_running.pk: "failed",
        finished.pk: "done",
        alive.pk: "running",
    }
    lost_running.refresh_from_db()
    assert "Travail interrompu" in lost_running.error and "relancez-le" in lost_running.error
    assert lost_running.finished_at is not None
    # A recovered run is not taken by a worker that picks its task up late.
    assert not lost_pending.start()
    # The setting is read when needed: 20 minutes makes an 11-minute silence normal.
    settings.MAILLAGE_RUN_STALE_MINUTES = 20
    late = DetectionRunFactory(chamber=chamber, pending=True)
    backdate(late, state="running")
    assert runs.recover_stale(DetectionRun.objects.all()) == 0
    assert (
        runs.recover_stale(DetectionRun.objects.all(), after=datetime.timedelta(0)) == 3
    )  # fresh, alive, late


def test_a_lost_detection_does_not_block_a_new_one_and_is_shown_failed(client, territory):
    advisor = territory["advisor77"]
    chamber = territory["chambers"][0]
    client.force_login(advisor)
    # A live run is followed, not doubled.
    live = DetectionRunFactory(chamber=chamber, state="running", progress=0)
    response = client.post(reverse("detection-start"))
    assert response.url == reverse("detection-run", args=[live.pk])
    assert DetectionRun.objects.count() == 1
    # The worker died: ten minutes later the page says so, with « Relancer ».
    backdate(live)
    page = client.get(reverse("detection-run", args=[live.pk])).content.decode()
    assert "La détection a échoué" in page and "Travail interrompu" in page
    assert "Relancer" in page and 'hx-trigger="every 2s"' not in page
    response = client.post(reverse("detection-start"))
    new = DetectionRun.objects.latest("pk")
    assert new.pk != live.pk and new.state == "pending"
    assert response.url == reverse("detection-run", args=[new.pk])
    # Staff of another chamber still cannot see the run, nor restart it.
    client.force_login(territory["advisor78"])
    assert client.get(reverse("detection-run", args=[live.pk])).status_code == 404


def test_relancer_is_offered_only_on_a_failed_run_to_its_chamber_staff(client, territory):
    run = DetectionRunFactory(chamber=territory["chambers"][0], state="done")
    client.force_login(territory["advisor77"])
    assert "Relancer" not in client.get(reverse("detection-run", args=[run.pk])).content.decode()
    DetectionRun.objects.filter(pk=run.pk).update(state="failed", error="mémoire épuisée")
    page = client.get(reverse("detection-run", args=[run.pk])).content.decode()
    assert "mémoire épuisée" in page and "Relancer" in page


@pytest.fixture
def event(territory):
    start = timezone.now() + datetime.timedelta(days=1)
    return EventFactory(
        title="Rencontres d'affaires",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=4),
        place="Melun",
        capacity=10,
        chamber=territory["chambers"][0],
        meetings_enabled=True,
        slot_count=4,
        table_count=2,
    )


def test_a_lost_schedule_run_does_not_block_a_new_one(client, territory, event):
    organiser = territory["advisor77"]
    stuck = ScheduleRunFactory(event=event, requested_by=organiser, state="pending")
    with pytest.raises(events.EventError, match="déjà en cours"):
        events.start_schedule(organiser, event, keep_current=False)
    backdate(stuck, state="pending")
    client.force_login(organiser)
    page = client.get(reverse("event-organise", args=[event.pk])).content.decode()
    assert "Le calcul du planning a échoué" in page and "Travail interrompu" in page
    assert "Relancer" in page
    client.post(reverse("event-schedule", args=[event.pk]))
    assert ScheduleRun.objects.filter(event=event).count() == 2
    stuck.refresh_from_db()
    assert stuck.state == "failed"
    # Others still cannot read the run's status.
    url = reverse("event-schedule-status", args=[event.pk, stuck.pk])
    for who in ("advisor78", "company77"):
        client.force_login(territory[who])
        assert client.get(url).status_code == 403


def test_the_import_page_lists_the_users_own_imports_with_lost_ones_failed(client, territory):
    advisor = territory["advisor77"]
    mine = ImportRunFactory(
        requested_by=advisor,
        chamber=None,
        kind="etablissements",
        file_name="lost.csv",
        digest="0" * 64,
    )
    backdate(mine, state="running")
    ImportRunFactory(
        requested_by=territory["advisor91"],
        chamber=None,
        kind="flux",
        file_name="theirs.csv",
        digest="1" * 64,
        state="done",
    )
    client.force_login(advisor)
    page = client.get(reverse("import")).content.decode()
    assert "lost.csv" in page and "Travail interrompu" in page and "Déposez à nouveau" in page
    assert "theirs.csv" not in page
    mine.refresh_from_db()
    assert mine.state == "failed"
