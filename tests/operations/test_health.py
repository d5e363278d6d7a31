"""/sante/: public, 200 JSON when the database answers and the task queue is being worked, 503
otherwise; nothing about a company or a person in it."""

from __future__ import annotations

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from maillage.operations import health
from tests.operations.tasks import add

pytestmark = pytest.mark.django_db

URL = "/sante/"


@pytest.fixture
def db_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MAILLAGE_HEALTH_MAX_PENDING_MINUTES = 10


def _enqueue(minutes_ago: float, **kwargs) -> DBTaskResult:
    result = add.using(**kwargs).enqueue(1, 2)
    DBTaskResult.objects.filter(pk=result.id).update(
        enqueued_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )
    return DBTaskResult.objects.get(pk=result.id)


def test_healthy_for_an_anonymous_visitor(client, db_queue, make_establishment):
    make_establishment("77288", "Fonderie Secrète")
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["tasks"]["ok"] is True
    assert body["checks"]["tasks"]["waiting_too_long"] == 0
    assert "Fonderie" not in response.content.decode()


def test_a_task_waiting_too_long_makes_it_unhealthy(client, db_queue):
    _enqueue(minutes_ago=2)  # recent: a worker may simply be busy
    assert client.get(URL).status_code == 200
    _enqueue(minutes_ago=25)
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is True
    tasks = body["checks"]["tasks"]
    assert tasks["ok"] is False
    assert tasks["ready"] == 2
    assert tasks["waiting_too_long"] == 1
    assert tasks["oldest_ready_minutes"] >= 25


def test_tasks_scheduled_for_later_or_finished_do_not_count(client, db_queue):
    later = timezone.now() + datetime.timedelta(hours=2)
    _enqueue(minutes_ago=60, run_after=later)
    old = _enqueue(minutes_ago=60)
    DBTaskResult.objects.filter(pk=old.pk).update(status="SUCCESSFUL")
    response = client.get(URL)
    assert response.status_code == 200, response.json()


def test_database_down_gives_503(client, db_queue, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body == {
        "status": "error",
        "checks": {"database": {"ok": False, "error": "unreachable"}, "tasks": {"ok": False}},
    }


def test_only_get_and_head(client):
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405


def test_other_task_backends_are_not_checked(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    body = client.get(URL).json()
    assert body["checks"]["tasks"] == {"ok": True, "backend": "ImmediateBackend"}
