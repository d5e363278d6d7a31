"""Business events (registrations, waiting list, attendance), one-to-one meetings (profiles,
requests, pinned or forbidden pairs, scheduler runs, the schedule itself)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.runs import BackgroundRun


class Event(models.Model):
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    place = models.CharField(_("lieu"), max_length=255)
    capacity = models.PositiveIntegerField(_("nombre de places"), validators=[MinValueValidator(1)])
    chamber = models.ForeignKey(
        "accounts.Chamber",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("chambre organisatrice"),
    )
    network = models.ForeignKey(
        "networks.Network",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("réseau organisateur"),
    )
    # One-to-one meetings: the organiser sets the slots (start, length, count) and the tables.
    meetings_enabled = models.BooleanField(_("rendez-vous d'affaires"), default=False)
    meetings_start = models.DateTimeField(_("début des rendez-vous"), null=True, blank=True)
    slot_minutes = models.PositiveSmallIntegerField(
        _("durée d'un créneau (minutes)"),
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    slot_count = models.PositiveSmallIntegerField(
        _("nombre de créneaux"), default=8, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    table_count = models.PositiveSmallIntegerField(
        _("nombre de tables"), default=10, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    max_meetings = models.PositiveSmallIntegerField(
        _("rendez-vous au plus par participant"),
        default=6,
        validators=[MinValueValidator(1)],
        help_text=_("inférieur au nombre de créneaux pour garantir des pauses"),
    )
    request_days = models.PositiveSmallIntegerField(
        _("délai de réponse à une demande (jours)"), default=7, validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(chamber__isnull=False) | Q(network__isnull=False),
                name="event_has_organiser",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gte=models.F("starts_at")), name="event_ends_after_start"
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.chamber_id is None and self.network_id is None:
            raise ValidationError(_("Un événement est organisé par une chambre ou par un réseau."))
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValidationError({"ends_at": _("La fin doit suivre le début.")})
        if self.meetings_enabled and self.max_meetings >= self.slot_count:
            raise ValidationError(
                {
                    "max_meetings": _(
                        "Le nombre de rendez-vous par participant doit être inférieur au nombre "
                        "de créneaux (pauses)."
                    )
                }
            )

    def slot_times(self) -> list[tuple[datetime.datetime, datetime.datetime]]:
        start = self.meetings_start or self.starts_at
        step = datetime.timedelta(minutes=self.slot_minutes)
        return [(start + i * step, start + (i + 1) * step) for i in range(self.slot_count)]


class Question(models.Model):
    """A question asked at registration (the answers are kept on the registration)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(_("question"), max_length=255)
    required = models.BooleanField(_("obligatoire"), default=False)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("question d'inscription")
        verbose_name_plural = _("questions d'inscription")
        ordering = ["event_id", "position", "pk"]

    def __str__(self):
        return self.label


class Registration(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("inscrit")
        WAITING = "waiting", _("liste d'attente")
        CANCELLED = "cancelled", _("annulé")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_registrations"
    )
    establishment = models.ForeignKey(
        "directory.Establishment",
        on_delete=models.CASCADE,
        related_name="event_registrations",
        verbose_name=_("établissement représenté"),
    )
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices)
    answers = models.JSONField(_("réponses"), default=dict, blank=True)
    registered_at = models.DateTimeField(_("inscrit le"), default=timezone.now)
    promoted_at = models.DateTimeField(_("sorti de la liste d'attente le"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("rappel envoyé le"), null=True, blank=True)
    attended = models.BooleanField(_("présent"), null=True, blank=True)
    # Meeting profile: what the participant offers and seeks, when they are available.
    offers = models.TextField(_("ce que je propose"), blank=True)
    seeks = models.TextField(_("ce que je recherche"), blank=True)
    unavailable_slots = models.JSONField(_("créneaux indisponibles"), default=list, blank=True)
    # Consent to « whom to meet » using the resource complementarities the chamber detected
    # (stored synergy suggestions): the date it was given, None when never given or withdrawn.
    synergy_consent_at = models.DateTimeField(
        _("accord pour les complémentarités de ressources donné le"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("inscription")
        verbose_name_plural = _("inscriptions")
        ordering = ["event_id", "registered_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="unique_registration")
        ]
        indexes = [models.Index(fields=["event", "status", "registered_at"])]

    def __str__(self):
        return f"{self.establishment.name} — {self.event}"


class MeetingRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("en attente de réponse")
        ACCEPTED = "accepted", _("acceptée")
        DECLINED = "declined", _("refusée")
        EXPIRED = "expired", _("expirée")

    class Priority(models.IntegerChoices):
        LOW = 1, _("souhaitable")
        MEDIUM = 2, _("importante")
        HIGH = 3, _("prioritaire")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="meeting_requests")
    requester = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="requests_sent"
    )
    target = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="requests_received"
    )
    priority = models.PositiveSmallIntegerField(
        _("priorité"), choices=Priority.choices, default=Priority.MEDIUM
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("envoyée le"), default=timezone.now)
    answered_at = models.DateTimeField(_("répondue le"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expire le"))

    class Meta:
        verbose_name = _("demande de rendez-vous")
        verbose_name_plural = _("demandes de rendez-vous")
        ordering = ["event_id", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"], name="unique_meeting_request"),
            models.CheckConstraint(
                condition=~Q(requester=models.F("target")), name="meeting_request_two_sides"
            ),
        ]

    def __str__(self):
        return f"{self.requester_id} → {self.target_id}"


class PairRule(models.Model):
    """The organiser pins a pair (must meet, optionally in a slot) or forbids it."""

    class Kind(models.TextChoices):
        PIN = "pin", _("imposé")
        FORBID = "forbid", _("interdit")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="pair_rules")
    a = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("règle"), max_length=6, choices=Kind.choices)
    slot = models.PositiveSmallIntegerField(_("créneau"), null=True, blank=True)

    class Meta:
        verbose_name = _("règle de rendez-vous")
        verbose_name_plural = _("règles de rendez-vous")
        ordering = ["event_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "a", "b"], name="unique_pair_rule"),
            models.CheckConstraint(condition=Q(a_id__lt=models.F("b_id")), name="pair_rule_order"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.a_id}–{self.b_id}"


class ScheduleRun(BackgroundRun):
    """One computation of an event's meeting schedule; besides failing, it may end infeasible
    (the imposed meetings cannot all hold), with ``problems`` explaining why."""

    class State(models.TextChoices):
        PENDING = "pending", _("en attente")
        RUNNING = "running", _("en cours")
        DONE = "done", _("terminé")
        INFEASIBLE = "infeasible", _("impossible")
        FAILED = "failed", _("échec")

    state = models.CharField(_("état"), max_length=10, choices=State.choices, default="pending")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="schedule_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    keep_current = models.BooleanField(_("garder le planning actuel"), default=False)
    meetings = models.PositiveIntegerField(_("rendez-vous placés"), default=0)
    requests = models.PositiveIntegerField(_("demandes acceptées"), default=0)
    satisfied_weight = models.FloatField(_("poids satisfait"), default=0)
    bound = models.FloatField(_("borne supérieure"), default=0)
    problems = models.JSONField(_("explications"), default=list, blank=True)

    class Meta:
        verbose_name = _("calcul du planning")
        verbose_name_plural = _("calculs du planning")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.event_id} {self.created_at:%Y-%m-%d %H:%M} {self.state}"


class Meeting(models.Model):
    """One scheduled meeting of the event's current schedule."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="meetings")
    a = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="+")
    slot = models.PositiveSmallIntegerField(_("créneau"))
    table = models.PositiveSmallIntegerField(_("table"))
    pinned = models.BooleanField(_("imposé"), default=False)

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        ordering = ["event_id", "slot", "table"]
        constraints = [
            models.UniqueConstraint(fields=["event", "slot", "table"], name="unique_meeting_table"),
            models.UniqueConstraint(fields=["event", "a", "b"], name="unique_meeting_pair"),
        ]

    def __str__(self):
        return f"{self.a_id}–{self.b_id} ({self.slot + 1}, table {self.table})"
