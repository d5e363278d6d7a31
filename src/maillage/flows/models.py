"""Advisor visits and the resource flows (needs and offers) recorded during them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage import caching
from maillage.directory.models import Establishment
from maillage.engine.quantities import PERIODS, QuantityError, to_yearly
from maillage.engine.taxonomy import CATEGORIES, DIRECTIONS
from maillage.reference.models import ResourceClass, WasteCode

PERIOD_LABELS = {
    "year": _("par an"),
    "month": _("par mois"),
    "week": _("par semaine"),
    "day": _("par jour"),
    "once": _("ponctuel (stock)"),
}


class VisitQuerySet(caching.InvalidatingQuerySet):
    cache_topics = (caching.ACTIVITY,)


class Visit(models.Model):
    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="visits",
        verbose_name=_("établissement"),
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("conseiller"),
    )
    date = models.DateField(_("date de visite"))
    notes = models.TextField(_("notes"), blank=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("visite")
        verbose_name_plural = _("visites")
        ordering = ["-date", "-pk"]

    def __str__(self):
        return f"{self.establishment.name} — {self.date:%d/%m/%Y}"


class FlowQuerySet(caching.InvalidatingQuerySet):
    cache_topics = (caching.DIRECTORY,)


class Flow(models.Model):
    class State(models.TextChoices):
        SOLID = "solid", _("solide")
        LIQUID = "liquid", _("liquide")
        GAS = "gas", _("gazeux")
        SLUDGE = "sludge", _("pâteux / boues")
        POWDER = "powder", _("pulvérulent")
        NA = "na", _("sans objet")

    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="flows",
        verbose_name=_("établissement"),
    )
    visit = models.ForeignKey(
        Visit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="flows",
        verbose_name=_("visite d'origine"),
    )
    direction = models.CharField(_("sens"), max_length=5, choices=list(DIRECTIONS.items()))
    category = models.CharField(_("catégorie"), max_length=20, choices=list(CATEGORIES.items()))
    resource_class = models.ForeignKey(
        ResourceClass,
        on_delete=models.PROTECT,
        related_name="flows",
        verbose_name=_("classe de ressource"),
    )
    waste_code = models.ForeignKey(
        WasteCode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="flows",
        limit_choices_to={"level": WasteCode.Level.ENTRY},
        verbose_name=_("code déchet"),
    )
    quantity = models.DecimalField(_("quantité"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unité"), max_length=12)
    period = models.CharField(
        _("période"), max_length=5, choices=list(PERIOD_LABELS.items()), default="year"
    )
    yearly_quantity = models.FloatField(_("quantité annuelle (unité canonique)"), editable=False)
    canonical_unit = models.CharField(_("unité canonique"), max_length=10, editable=False)
    physical_state = models.CharField(
        _("état physique"), max_length=10, choices=State.choices, default=State.NA
    )
    temperature_c = models.FloatField(_("température (°C)"), null=True, blank=True)
    available_from = models.DateField(_("disponible à partir du"), null=True, blank=True)
    available_until = models.DateField(_("disponible jusqu'au"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_archived = models.BooleanField(_("archivé"), default=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = FlowQuerySet.as_manager()

    class Meta:
        verbose_name = _("flux")
        verbose_name_plural = _("flux")
        ordering = ["establishment_id", "direction", "pk"]
        indexes = [
            models.Index(fields=["resource_class", "direction"]),
            models.Index(fields=["establishment", "is_archived"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="flow_quantity_positive"),
            models.CheckConstraint(
                condition=Q(available_until__isnull=True)
                | Q(available_from__isnull=True)
                | Q(available_until__gte=models.F("available_from")),
                name="flow_availability_order",
            ),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} : {self.resource_class} ({self.establishment.name})"

    def save(self, *args, **kwargs):
        # Always recomputed so that it can never drift from the quantity the user typed.
        self.compute_yearly()
        super().save(*args, **kwargs)

    @property
    def hazardous(self) -> bool:
        return bool(self.waste_code and self.waste_code.hazardous) or (
            self.resource_class.hazardous
        )

    def clean(self):
        errors: dict[str, list] = {}
        if self.period not in PERIODS:
            errors.setdefault("period", []).append(_("Période inconnue."))
        elif self.quantity is not None and self.unit:
            try:
                to_yearly(float(self.quantity), self.unit, self.period)
            except QuantityError as exc:
                errors.setdefault("unit", []).append(str(exc))
        if (
            self.resource_class_id
            and self.category
            and (self.resource_class.category != self.category)
        ):
            errors.setdefault("resource_class", []).append(
                _("La classe « %(cls)s » relève de la catégorie « %(cat)s ».")
                % {
                    "cls": self.resource_class.label,
                    "cat": CATEGORIES[self.resource_class.category],
                }
            )
        if self.waste_code_id and self.category != "waste":
            errors.setdefault("waste_code", []).append(
                _("Un code déchet n'a de sens que pour un flux de catégorie « Déchet ».")
            )
        if self.temperature_c is not None and not -60 <= self.temperature_c <= 2000:
            errors.setdefault("temperature_c", []).append(
                _("Température hors des limites plausibles (-60 à 2 000 °C).")
            )
        if errors:
            raise ValidationError(errors)

    def compute_yearly(self) -> None:
        """Set the canonical yearly quantity, what the engine compares, from what the user typed."""
        yearly = to_yearly(float(self.quantity), self.unit, self.period)
        self.yearly_quantity = yearly.value
        self.canonical_unit = yearly.unit


class FlowRevision(models.Model):
    """One change of a flow (creation, edit, archive, restore): who, when and what changed.
    ``changes`` maps a field name to ``[before, after]`` as displayed text."""

    class Action(models.TextChoices):
        CREATE = "create", _("création")
        UPDATE = "update", _("modification")
        ARCHIVE = "archive", _("archivage")
        RESTORE = "restore", _("restauration")

    flow = models.ForeignKey(
        Flow, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("flux")
    )
    at = models.DateTimeField(_("date"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    changes = models.JSONField(_("changements"), default=dict, blank=True)

    class Meta:
        verbose_name = _("version d'un flux")
        verbose_name_plural = _("historique des flux")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"
