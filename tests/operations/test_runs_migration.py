"""The migrations to the shared background-run model keep every existing row and value: runs
written by the previous code are migrated forward (and back) on the test database, SQLite or
PostgreSQL, whichever the suite runs on."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage import runs
from maillage.accounts.models import Chamber
from maillage.directory.models import Establishment
from tests.migrating import leaves, migrate

BEFORE = [
    ("synergies", "0004_suggestion_event_offline_agreement"),
    ("events", "0002_registration_synergy_consent"),
    ("marketplace", "0006_lot_awards"),
    ("ingest", None),
]
AFTER = [
    ("synergies", "0005_detectionrun_background_run"),
    ("events", "0003_schedulerun_background_run"),
    ("marketplace", "0007_consortiumsuggestions_background_run"),
    ("ingest", "0001_initial"),
]


@pytest.mark.django_db(transaction=True)
def test_existing_runs_migrate_forward_and_back_with_their_data(reference_data):
    t1 = timezone.now() - datetime.timedelta(days=3)
    t2 = timezone.now() - datetime.timedelta(hours=1)
    t3 = timezone.now() - datetime.timedelta(days=1)
    try:
        old = migrate(BEFORE)
        # Apps my migrations leave alone through today's models (their tables are today's).
        chamber = Chamber.objects.create(slug="cci-m", name="CCI M")
        detection = old.get_model("synergies", "DetectionRun").objects
        done = detection.create(
            chamber_id=chamber.pk,
            started_at=t1,
            finished_at=t1 + datetime.timedelta(minutes=2),
            state="done",
            progress=100,
            counts={"substitution": {"créées": 4}},
        )
        lost = detection.create(chamber_id=chamber.pk, started_at=t2, state="running", step="x")
        establishment = Establishment.objects.create(
            siret="73282932000074", name="Acheteur", naf_id="16.10A", commune_id="77288"
        )
        event = old.get_model("events", "Event").objects.create(
            title="Rencontres",
            starts_at=t1,
            ends_at=t1 + datetime.timedelta(hours=2),
            place="Melun",
            capacity=5,
            chamber_id=chamber.pk,
        )
        schedule = old.get_model("events", "ScheduleRun").objects.create(
            event=event, state="infeasible", started_at=t1, problems=["Paire impossible."]
        )
        need = old.get_model("marketplace", "Need").objects.create(
            buyer_id=establishment.pk,
            theme="purchasing",
            kind="product",
            title="Pièces",
            description="d",
            closes_on=t1.date(),
        )
        consortia = old.get_model("marketplace", "ConsortiumSuggestions").objects.create(
            need=need, fingerprint="f" * 64, state="pending", requested_at=t3, groups=[{"m": 1}]
        )

        new = migrate(AFTER)
        detection = new.get_model("synergies", "DetectionRun").objects
        d = detection.get(pk=done.pk)
        assert (d.created_at, d.started_at, d.state, d.progress) == (t1, t1, "done", 100)
        assert d.counts == {"substitution": {"créées": 4}} and d.heartbeat_at is None
        g = detection.get(pk=lost.pk)
        assert (g.created_at, g.heartbeat_at, g.state, g.step) == (t2, t2, "running", "x")
        s = new.get_model("events", "ScheduleRun").objects.get(pk=schedule.pk)
        assert (s.created_at, s.state, s.problems) == (t1, "infeasible", ["Paire impossible."])
        c = new.get_model("marketplace", "ConsortiumSuggestions").objects.get(pk=consortia.pk)
        assert (c.created_at, c.fingerprint, c.groups, c.state) == (
            t3,
            "f" * 64,
            [{"m": 1}],
            "pending",
        )
        # The run a dead worker left an hour ago is recovered by the shared rule.
        assert runs.recover_stale(detection.all()) == 1

        back = migrate(BEFORE)
        d = back.get_model("synergies", "DetectionRun").objects.get(pk=done.pk)
        assert d.started_at == t1 and d.counts == {"substitution": {"créées": 4}}
        c = back.get_model("marketplace", "ConsortiumSuggestions").objects.get(pk=consortia.pk)
        assert c.requested_at == t3
    finally:
        migrate(leaves())
