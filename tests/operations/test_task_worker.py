"""``task_worker`` outlives a database outage instead of exiting (which stopped bin/serve)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django_tasks_db.management.commands import db_worker

from maillage.operations.management.commands import task_worker


def _worker() -> task_worker.Worker:
    return task_worker.Worker(
        queue_names=["default"],
        interval=0.1,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="essai",
        excluded_queue_names=[],
    )


def test_database_outage_is_waited_out(monkeypatch):
    calls = []

    def poll(self):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("connection refused")

    sleeps = []
    monkeypatch.setattr(db_worker.Worker, "run", poll)
    monkeypatch.setattr(task_worker.time, "sleep", sleeps.append)
    _worker().run()
    assert len(calls) == 3 and sleeps == [task_worker.RETRY_SECONDS] * 2


def test_outage_while_stopping_ends_the_worker(monkeypatch):
    def poll(self):
        self.running = False  # SIGTERM received
        raise OperationalError("connection refused")

    monkeypatch.setattr(db_worker.Worker, "run", poll)
    with pytest.raises(OperationalError):
        _worker().run()


def test_other_errors_still_stop_the_worker(monkeypatch):
    def poll(self):
        raise RuntimeError("bug")

    monkeypatch.setattr(db_worker.Worker, "run", poll)
    with pytest.raises(RuntimeError):
        _worker().run()


@pytest.mark.parametrize(
    ("argv", "expected"), [([], [10]), (["--nice", "3"], [3]), (["--nice", "0"], [])]
)
def test_worker_lowers_its_cpu_priority(monkeypatch, settings, argv, expected):
    """Detections run in the worker: below the web processes' priority unless told otherwise."""
    settings.MAILLAGE_TASK_NICE = 10
    niced = []
    monkeypatch.setattr(task_worker.os, "nice", niced.append)
    monkeypatch.setattr(task_worker.Worker, "run", lambda self: None)
    monkeypatch.setattr(task_worker.Worker, "configure_signals", lambda self: None)
    call_command("task_worker", "--batch", *argv)
    assert niced == expected
