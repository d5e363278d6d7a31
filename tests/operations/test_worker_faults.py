"""Workers killed in the middle of a run (SIGKILL, a real `manage.py db_worker` or import process on
the test database): the run is recovered as failed once silent for MAILLAGE_RUN_STALE_MINUTES, a
new one can start, and the data are the previous ones or the new ones in full, never half.

MAILLAGE_TEST_SLOW_RUN makes each step of the killed process sleep, so that the kill lands
mid-run — for detection and schedules inside the transaction that writes the results."""

from __future__ import annotations

import csv
import datetime
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from maillage.directory.models import Establishment
from maillage.events import services as events
from maillage.events.models import Meeting, ScheduleRun
from maillage.ingest.models import ImportRun
from maillage.ingest.spreadsheet_format import COLUMNS
from maillage.synergies import services as synergies
from maillage.synergies.models import DetectionRun, Suggestion
from tests.events.factories import EventFactory, ScheduleRunFactory
from tests.factories import FlowFactory, UserFactory, make_siret
from tests.flows.factories import wood_synergy

ROOT = Path(__file__).resolve().parents[2]
SLOW = 2.0  # seconds per step of the killed process


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{s['USER']}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


def environment(slow: float | None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    env.pop("MAILLAGE_TEST_SLOW_RUN", None)
    if slow:
        env["MAILLAGE_TEST_SLOW_RUN"] = str(slow)
    return env


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def kill_when(cmd: list[str], ready, delay: float, slow: float = SLOW) -> None:
    """Start ``cmd`` slowed down, wait until ``ready()`` holds, wait ``delay`` more seconds and
    kill it with SIGKILL (no cleanup of any kind runs in the process)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, env=environment(slow), stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 180
            while not ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"process ended or too slow: {log.read()[-3000:]!r}")
                time.sleep(0.05)
            time.sleep(delay)
            assert proc.poll() is None, "the process ended before the kill"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def drain_queue() -> None:
    """A fresh worker (not slowed) runs every task waiting, then exits."""
    subprocess.run(
        manage("db_worker", "--batch", "--no-startup-delay"),
        env=environment(None),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )


def silent_for_eleven_minutes(model, pk: int) -> None:
    """Eleven minutes later: the killed run's last sign of life is that old."""
    then = timezone.now() - datetime.timedelta(minutes=11)
    model.objects.filter(pk=pk).update(heartbeat_at=then)


def suggestion_state() -> list[tuple]:
    return list(
        Suggestion.objects.order_by("key").values_list(
            "key", "is_current", "last_detected_at", "score"
        )
    )


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_detection(reference_data, client, territory, make_establishment):
    wood_synergy(territory, offered=400, needed=500)
    synergies.detect(territory["chambers"][0])
    before = suggestion_state()
    assert before
    # New data that the next detection will find.
    boiler = make_establishment("77288", name="Chaufferie de Melun-Test", naf="35.30Z")
    FlowFactory(
        establishment=boiler, direction="need", resource_class="wood_fuel", quantity=300, unit="t"
    )

    client.force_login(territory["advisor77"])
    client.post(reverse("detection-start"))
    run = DetectionRun.objects.get()

    def storing() -> bool:  # the last step: the three kinds written in one transaction
        return DetectionRun.objects.get(pk=run.pk).progress >= 80

    # The step's own pause, then one kind stored and the pause after it: inside the transaction.
    kill_when(manage("db_worker", "--no-startup-delay", "--interval", "0.2"), storing, 1.5 * SLOW)

    assert suggestion_state() == before  # the previous suggestions, whole
    run.refresh_from_db()
    assert run.state == "running"  # nobody could tell it died…
    page = client.get(reverse("detection-run", args=[run.pk])).content.decode()
    assert "Relancer" not in page
    silent_for_eleven_minutes(DetectionRun, run.pk)  # …until it has been silent too long
    page = client.get(reverse("detection-run", args=[run.pk])).content.decode()
    assert "Travail interrompu" in page and "Relancer" in page
    client.post(reverse("detection-start"))
    drain_queue()

    rerun = DetectionRun.objects.exclude(pk=run.pk).get()
    assert rerun.state == "done" and rerun.progress == 100
    run.refresh_from_db()
    assert run.state == "failed"
    keys = list(Suggestion.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys))  # no duplicate
    assert Suggestion.objects.filter(
        is_current=True, need_flow__establishment=boiler
    ).exists()  # the new partner found
    previous = {key for key, current, *_ in before if current}
    assert previous <= set(Suggestion.objects.filter(is_current=True).values_list("key", flat=True))


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_schedule(reference_data, client, territory, make_establishment):
    organiser = territory["advisor77"]
    start = timezone.now() + datetime.timedelta(days=1)
    event = EventFactory(
        title="Rencontres d'affaires",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=4),
        place="Melun",
        capacity=10,
        chamber=territory["chambers"][0],
        meetings_enabled=True,
        slot_count=4,
        table_count=2,
        max_meetings=3,
    )
    people = [territory["company77"]]
    for i in range(3):
        e = make_establishment("77288", name=f"Participant {i}", naf="16.23Z")
        people.append(UserFactory(username=f"part{i}", role="company", establishments=[e]))
    regs = [events.register(u, event, u.establishments.get(), {}) for u in people]

    def meet(a: int, b: int) -> None:
        request = events.request_meeting(people[a], event, regs[b].pk, 3)
        events.answer_request(people[b], request, True)

    meet(0, 1)
    meet(2, 3)
    events.compute_schedule(ScheduleRunFactory(event=event, requested_by=organiser))
    before = sorted(Meeting.objects.filter(event=event).values_list("a", "b", "slot", "table"))
    assert len(before) == 2
    meet(0, 2)  # the next schedule will differ

    client.force_login(organiser)
    client.post(reverse("event-schedule", args=[event.pk]))
    run = ScheduleRun.objects.filter(event=event, state="pending").get()

    def writing() -> bool:  # next: the previous meetings deleted and the new ones created
        return ScheduleRun.objects.get(pk=run.pk).progress >= 90

    # The step's own pause, then the deletion and the pause after it: inside the transaction.
    kill_when(manage("db_worker", "--no-startup-delay", "--interval", "0.2"), writing, 1.5 * SLOW)

    after = sorted(Meeting.objects.filter(event=event).values_list("a", "b", "slot", "table"))
    assert after == before  # unchanged, not half
    run.refresh_from_db()
    assert run.state == "running"
    with pytest.raises(events.EventError, match="déjà en cours"):
        events.start_schedule(organiser, event, keep_current=False)
    silent_for_eleven_minutes(ScheduleRun, run.pk)
    page = client.get(reverse("event-organise", args=[event.pk])).content.decode()
    assert "Travail interrompu" in page and "Relancer" in page
    client.post(reverse("event-schedule", args=[event.pk]))
    drain_queue()

    rerun = ScheduleRun.objects.filter(event=event).latest("pk")
    assert rerun.pk != run.pk and rerun.state == "done" and rerun.meetings == 3
    meetings = list(Meeting.objects.filter(event=event).values_list("a", "b"))
    assert len(meetings) == 3 == len(set(meetings))  # complete, no duplicate


def establishments_csv(n: int) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(list(COLUMNS["etablissements"]))
    for i in range(n):
        writer.writerow([make_siret(), f"Import {i}", "16.10A", "12", "", "77288", "", "", ""])
    return buf.getvalue().encode()


@pytest.mark.django_db(transaction=True)
def test_process_killed_mid_import(reference_data, client, territory, tmp_path):
    n = 200
    path = tmp_path / "etablissements.csv"
    path.write_bytes(establishments_csv(n))
    count = Establishment.objects.count()
    cmd = manage("import_spreadsheet", "etablissements", str(path), "--user", "adv77", "--commit")

    def writing() -> bool:
        return ImportRun.objects.filter(state="running").exists()

    # 0.02 s per row: about 4 s of writing; killed after 1 s, about 50 rows in.
    kill_when(cmd, writing, 1.0, slow=0.02)

    assert Establishment.objects.count() == count  # atomic: nothing written
    run = ImportRun.objects.get()
    assert run.state == "running" and run.file_name == "etablissements.csv"
    silent_for_eleven_minutes(ImportRun, run.pk)
    client.force_login(territory["advisor77"])
    page = client.get(reverse("import")).content.decode()
    assert "Travail interrompu" in page and "Déposez à nouveau le fichier" in page

    subprocess.run(cmd, env=environment(None), check=True, stdout=subprocess.DEVNULL, timeout=300)
    assert Establishment.objects.count() == count + n
    assert Establishment.objects.values("siret").distinct().count() == count + n
    done = ImportRun.objects.exclude(pk=run.pk).get()
    assert (done.state, done.rows, done.created) == ("done", n, n)
