"""``manage.py task_worker``: django-tasks' ``db_worker`` that outlives a database outage.

The library's worker exits on the first database error that is not a lock (PostgreSQL restarted,
connection refused); under ``bin/serve`` that stopped the whole service until its supervisor
restarted it. This one logs the outage, waits and polls again, so the service recovers by itself
when the database is back (bench/faults_pg.py). Same options as ``db_worker`` (no --reload), and
``--nice`` (MAILLAGE_TASK_NICE, default 10): the worker runs at a lower CPU priority, so that a
detection on a small server leaves the CPU to the web requests first."""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("maillage.tasks")

RETRY_SECONDS = 5


class Worker(db_worker.Worker):
    def run(self) -> None:
        while True:
            try:
                super().run()
                return
            except (OperationalError, InterfaceError) as exc:
                if not self.running:
                    raise
                logger.warning(
                    "Task worker %s: database unavailable (%s), retrying in %s s",
                    self.worker_id,
                    type(exc).__name__,
                    RETRY_SECONDS,
                )
                # Connections broken by the outage are dropped, not reused.
                connections.close_all()
                time.sleep(RETRY_SECONDS)


class Command(db_worker.Command):
    help = (
        "Exécute les tâches de fond (détections, plannings…) ; survit à un redémarrage de la base."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--nice",
            type=int,
            default=settings.MAILLAGE_TASK_NICE,
            help="priorité CPU abaissée de tant (os.nice ; 0 : inchangée)",
        )

    def handle(self, *, verbosity, queue_name, interval, batch, backend_name, startup_delay,
               reload, max_tasks, worker_id, exclude_queues, **options):  # fmt: skip
        self.configure_logging(verbosity)
        if options["nice"]:
            os.nice(options["nice"])
        if reload:
            raise CommandError("--reload : utilisez db_worker en développement.")
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues n'a de sens qu'avec --queue-name=*")
        worker = Worker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
