"""Suggestions produced by the engine, their pipeline status and its history, and detection runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from maillage import caching
from maillage.accounts.models import Chamber
from maillage.directory.models import Establishment
from maillage.flows.models import Flow
from maillage.reference.models import ResourceClass
from maillage.runs import BackgroundRun


class SuggestionQuerySet(caching.InvalidatingQuerySet):
    cache_topics = (caching.SYNERGIES,)


class Suggestion(models.Model):
    class Kind(models.TextChoices):
        SUBSTITUTION = "substitution", _("substitution")
        MUTUALISATION = "mutualisation", _("mutualisation")
        PROSPECT = "prospect", _("partenaire potentiel")

    class Status(models.TextChoices):
        DETECTED = "detected", _("détectée")
        PROPOSED = "proposed", _("proposée")
        DISCUSSION = "discussion", _("en discussion")
        IMPLEMENTED = "implemented", _("mise en œuvre")
        ABANDONED = "abandoned", _("abandonnée")

    class AbandonReason(models.TextChoices):
        # "technically impossible" feeds back into the ranking (engine.feedback)
        TECHNICALLY_IMPOSSIBLE = "technically_impossible", _("techniquement impossible")
        NOT_ECONOMIC = "not_economic", _("pas rentable")
        REGULATORY = "regulatory", _("obstacle réglementaire")
        DECLINED = "declined", _("refus d'une entreprise")
        OTHER = "other", _("autre")

    # Natural key, stable across runs: re-detection updates the row and keeps its status.
    key = models.CharField(_("clé"), max_length=80, unique=True)
    kind = models.CharField(_("type"), max_length=15, choices=Kind.choices)
    chamber = models.ForeignKey(
        Chamber,
        on_delete=models.CASCADE,
        related_name="suggestions",
        verbose_name=_("chambre"),
        help_text=_("chambre de l'établissement à l'origine de la suggestion"),
    )
    partner_chamber = models.ForeignKey(
        Chamber,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chambre du partenaire"),
    )
    resource_class = models.ForeignKey(
        ResourceClass,
        on_delete=models.PROTECT,
        related_name="suggestions",
        verbose_name=_("ressource"),
    )
    offer_flow = models.ForeignKey(
        Flow,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="suggestions_as_offer",
        verbose_name=_("flux sortant"),
    )
    need_flow = models.ForeignKey(
        Flow,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="suggestions_as_need",
        verbose_name=_("flux entrant"),
    )
    prospect = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="prospect_suggestions",
        verbose_name=_("établissement à visiter"),
    )
    members = models.ManyToManyField(
        Flow, blank=True, related_name="mutualisations", verbose_name=_("flux regroupés")
    )
    score = models.FloatField(_("score"))
    distance_km = models.FloatField(_("distance (km)"), null=True, blank=True)
    quantity = models.FloatField(_("quantité échangeable par an"), null=True, blank=True)
    unit = models.CharField(_("unité"), max_length=10, blank=True)
    tonnes_diverted = models.FloatField(_("tonnes détournées par an"), null=True, blank=True)
    co2e_avoided_t = models.FloatField(_("tCO2e évitées par an"), null=True, blank=True)
    explanation = models.JSONField(_("explication"), default=dict)
    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.DETECTED
    )
    is_current = models.BooleanField(_("encore détectée"), default=True)
    first_detected_at = models.DateTimeField(_("détectée le"), default=timezone.now)
    last_detected_at = models.DateTimeField(_("dernière détection"), default=timezone.now)
    abandon_reason = models.TextField(_("motif d'abandon"), blank=True)
    abandon_reason_code = models.CharField(
        _("type de motif d'abandon"), max_length=25, choices=AbandonReason.choices, blank=True
    )
    actual_quantity = models.FloatField(
        _("quantité réellement échangée par an"), null=True, blank=True
    )
    actual_savings_eur = models.FloatField(_("économies annuelles (€)"), null=True, blank=True)
    actual_co2e_avoided_t = models.FloatField(
        _("tCO2e évitées par an (quantité réelle)"), null=True, blank=True
    )

    objects = SuggestionQuerySet.as_manager()

    class Meta:
        verbose_name = _("suggestion de synergie")
        verbose_name_plural = _("suggestions de synergie")
        ordering = ["-score", "pk"]
        indexes = [
            models.Index(fields=["chamber", "kind", "status"]),
            models.Index(fields=["kind", "is_current", "-score"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=1), name="suggestion_score_range"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.resource_class} ({formats.number_format(self.score, 2)})"


class SuggestionEvent(models.Model):
    """One status change of a suggestion: who, when, from, to, why."""

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("date"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    from_status = models.CharField(_("de"), max_length=12, choices=Suggestion.Status.choices)
    to_status = models.CharField(_("vers"), max_length=12, choices=Suggestion.Status.choices)
    note = models.TextField(_("note"), blank=True)
    # The synergy went on without an introduction on the platform: the date of the agreement the
    # advisor states was reached offline (described in ``note``).
    agreement_on = models.DateField(_("date de l'accord hors plateforme"), null=True, blank=True)

    class Meta:
        verbose_name = _("changement de statut")
        verbose_name_plural = _("historique des statuts")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class Introduction(models.Model):
    """One side of a proposed introduction: one row per (suggestion, establishment), with the date of
    each step; the state is derived from those dates. Contacts are revealed to both sides only when
    every side of the suggestion has accepted."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposée")
        VIEWED = "viewed", _("consultée")
        ACCEPTED = "accepted", _("acceptée")
        DECLINED = "declined", _("déclinée")

    suggestion = models.ForeignKey(
        Suggestion, on_delete=models.CASCADE, related_name="introductions"
    )
    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="introductions",
        verbose_name=_("établissement"),
    )
    proposed_at = models.DateTimeField(_("proposée le"), default=timezone.now)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposée par"),
    )
    viewed_at = models.DateTimeField(_("consultée le"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    declined_at = models.DateTimeField(_("déclinée le"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("réponse de"),
    )

    class Meta:
        verbose_name = _("mise en relation")
        verbose_name_plural = _("mises en relation")
        ordering = ["suggestion_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["suggestion", "establishment"], name="unique_introduction_side"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(declined_at__isnull=True),
                name="introduction_accepted_or_declined",
            ),
        ]

    def __str__(self):
        return f"{self.suggestion_id} — {self.establishment_id} ({self.state})"

    @property
    def state(self) -> str:
        if self.declined_at:
            return self.State.DECLINED
        if self.accepted_at:
            return self.State.ACCEPTED
        if self.viewed_at:
            return self.State.VIEWED
        return self.State.PROPOSED

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)


class DetectionRun(BackgroundRun):
    """One run of the engine, for progress display and reporting."""

    class State(models.TextChoices):  # the base states, told of a « détection » (feminine)
        PENDING = "pending", _("en attente")
        RUNNING = "running", _("en cours")
        DONE = "done", _("terminée")
        FAILED = "failed", _("échec")

    state = models.CharField(_("état"), max_length=10, choices=State.choices, default="pending")
    chamber = models.ForeignKey(
        Chamber, on_delete=models.CASCADE, null=True, blank=True, related_name="detection_runs"
    )
    counts = models.JSONField(_("résultats"), default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("détection de synergies")
        verbose_name_plural = _("détections de synergies")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_state_display()}"
