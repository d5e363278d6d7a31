"""One model for every background run (detection, meeting schedule, consortia, import): its
state, progress and error, and the rule that takes a run whose worker died as failed."""

from __future__ import annotations

import datetime
import os
import time

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
ACTIVE = (PENDING, RUNNING)


def stale_after() -> datetime.timedelta:
    """How long a pending or running run may go without a heartbeat before it is taken as lost
    (its worker killed or stopped): MAILLAGE_RUN_STALE_MINUTES, read when needed so a test or an
    operator can change it without restarting."""
    return datetime.timedelta(minutes=settings.MAILLAGE_RUN_STALE_MINUTES)


def stale_reason() -> str:
    # True of every run: each writes its results in one transaction (or one UPDATE).
    return gettext(
        "Travail interrompu : le processus qui l'exécutait s'est arrêté sans terminer "
        "(aucun signe de vie depuis %(minutes)s minutes). Rien n'a été écrit à moitié ; "
        "relancez-le."
    ) % {"minutes": settings.MAILLAGE_RUN_STALE_MINUTES}


class BackgroundRun(models.Model):
    """Abstract: a job handed to a worker. The worker calls ``start``, then ``advance`` at each
    step (which is also its heartbeat), then ``finish`` or ``fail``. Each helper writes only its
    own columns (an UPDATE by primary key), so a page reading the run meanwhile sees a
    consistent state and the job's result columns are never overwritten."""

    class State(models.TextChoices):
        PENDING = PENDING, _("en attente")
        RUNNING = RUNNING, _("en cours")
        DONE = DONE, _("terminé")
        FAILED = FAILED, _("échec")

    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=PENDING)
    created_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    started_at = models.DateTimeField(_("lancé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("dernier signe de vie"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    step = models.CharField(_("étape"), max_length=200, blank=True)
    error = models.TextField(_("erreur"), blank=True)

    class Meta:
        abstract = True

    @property
    def is_busy(self) -> bool:
        return self.state in ACTIVE

    @property
    def is_stale(self) -> bool:
        last = self.heartbeat_at or self.started_at or self.created_at
        return self.is_busy and last < timezone.now() - stale_after()

    def _set(self, **fields) -> int:
        for name, value in fields.items():
            setattr(self, name, value)
        return type(self)._default_manager.filter(pk=self.pk).update(**fields)

    def start(self) -> bool:
        """Take the run (pending → running). False if it is no longer pending — recovered as
        lost meanwhile, or taken by another worker — and then the job must not run."""
        now = timezone.now()
        taken = (
            type(self)
            ._default_manager.filter(pk=self.pk, state=PENDING)
            .update(state=RUNNING, started_at=now, heartbeat_at=now)
        )
        if taken:
            self.state, self.started_at, self.heartbeat_at = RUNNING, now, now
        return bool(taken)

    def advance(self, progress: int, step: str = "") -> None:
        """Record progress (0–100) and the current step; the heartbeat of the run."""
        self._set(
            progress=max(0, min(100, int(progress))), step=step[:200], heartbeat_at=timezone.now()
        )
        slow_down()

    def finish(self, **fields) -> None:
        """Done, with the job's own result columns (``fields``) in the same UPDATE."""
        now = timezone.now()
        self._set(
            state=DONE, progress=100, step="", error="", finished_at=now, heartbeat_at=now, **fields
        )

    def fail(self, error: str, **fields) -> None:
        """Failed, with a reason shown to the user (in French)."""
        self._set(state=FAILED, error=str(error)[:2000], finished_at=timezone.now(), **fields)


def recover_stale(queryset: models.QuerySet, after: datetime.timedelta | None = None) -> int:
    """Mark the lost runs of ``queryset`` failed with a French reason; the number marked. Called
    wherever a run's status is shown and before every "already in progress" guard, so a run
    left pending or running by a dead worker never blocks a new one."""
    now = timezone.now()
    limit = now - (after if after is not None else stale_after())
    lost = queryset.annotate(last_sign=Coalesce("heartbeat_at", "started_at", "created_at")).filter(
        state__in=ACTIVE, last_sign__lt=limit
    )
    ids = list(lost.values_list("pk", flat=True))
    if not ids:
        return 0
    return queryset.model._default_manager.filter(pk__in=ids, state__in=ACTIVE).update(
        state=FAILED, error=stale_reason(), finished_at=now
    )


def active(queryset: models.QuerySet) -> models.QuerySet:
    """The runs of ``queryset`` still pending or running once lost ones are recovered."""
    recover_stale(queryset)
    return queryset.filter(state__in=ACTIVE)


def slow_down() -> None:
    """Fault tests only: MAILLAGE_TEST_SLOW_RUN=<seconds> makes every step of a run sleep, so a
    test can kill the worker in the middle of a run. Unset in every real deployment."""
    delay = os.environ.get("MAILLAGE_TEST_SLOW_RUN")
    if delay:
        time.sleep(float(delay))
