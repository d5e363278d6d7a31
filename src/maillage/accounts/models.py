"""Chambers, their territories and data-sharing agreements; users and their roles; the audit log."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.fr import siren as siren_check

from maillage.reference.models import Commune


def validate_siren(value: str) -> None:
    if not siren_check.is_valid(value):
        raise ValidationError(
            _("« %(value)s » n'est pas un SIREN valide (9 chiffres, clé de Luhn)."),
            params={"value": value},
        )


class Chamber(models.Model):
    class Kind(models.TextChoices):
        CCI = "CCI", _("CCI")
        CCIT = "CCIT", _("CCI territoriale")
        CCIR = "CCIR", _("CCI de région")

    slug = models.SlugField(_("identifiant"), max_length=50, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=4, choices=Kind.choices, default=Kind.CCI)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, validators=[validate_siren])
    communes: models.ManyToManyField[Commune, TerritoryCommune] = models.ManyToManyField(
        Commune, through="TerritoryCommune", related_name="+", verbose_name=_("territoire")
    )

    class Meta:
        verbose_name = _("chambre")
        verbose_name_plural = _("chambres")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class TerritoryCommune(models.Model):
    """A commune belongs to the territory of at most one chamber."""

    chamber = models.ForeignKey(Chamber, on_delete=models.CASCADE, related_name="territory")
    commune = models.OneToOneField(
        Commune, on_delete=models.PROTECT, related_name="territory", verbose_name=_("commune")
    )

    class Meta:
        verbose_name = _("commune du territoire")
        verbose_name_plural = _("communes du territoire")
        ordering = ["commune_id"]

    def __str__(self):
        return f"{self.chamber} — {self.commune}"


class DataSharingAgreementQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None):
        on = on or timezone.localdate()
        return self.filter(Q(start__lte=on), Q(end__isnull=True) | Q(end__gte=on))

    def involving(self, chamber_id: int):
        return self.filter(Q(chamber_a_id=chamber_id) | Q(chamber_b_id=chamber_id))


class DataSharingAgreement(models.Model):
    """Two chambers agree that matching (and, with the full scope, raw flows) cross their border."""

    class Scope(models.TextChoices):
        MATCHING = "matching", _("mise en relation seulement (données anonymisées)")
        FLOWS = "flows", _("mise en relation et consultation des flux par les conseillers")

    chamber_a = models.ForeignKey(
        Chamber, on_delete=models.CASCADE, related_name="+", verbose_name=_("chambre A")
    )
    chamber_b = models.ForeignKey(
        Chamber, on_delete=models.CASCADE, related_name="+", verbose_name=_("chambre B")
    )
    scope = models.CharField(_("portée"), max_length=10, choices=Scope.choices, default=Scope.FLOWS)
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = DataSharingAgreementQuerySet.as_manager()

    class Meta:
        verbose_name = _("convention de partage de données")
        verbose_name_plural = _("conventions de partage de données")
        ordering = ["start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(chamber_a=models.F("chamber_b")), name="agreement_two_chambers"
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="agreement_end_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.chamber_a} ↔ {self.chamber_b}"


class User(AbstractUser):
    class Role(models.TextChoices):
        CHAMBER_ADMIN = "chamber_admin", _("administrateur de chambre")
        ADVISOR = "advisor", _("conseiller CCI")
        COMPANY = "company", _("utilisateur d'entreprise")
        ANIMATOR = "animator", _("animateur de réseau")
        # Outside the chambers: they answer SMEs' contact requests (directory app, export).
        EXPORT_ADVISOR = "export_advisor", _("conseiller du commerce extérieur")
        CLUSTER_MANAGER = "cluster_manager", _("contact d'un pôle de compétitivité")

    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.COMPANY)
    chamber = models.ForeignKey(
        Chamber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("chambre"),
        help_text=_("obligatoire pour les conseillers et les administrateurs de chambre"),
    )
    establishments = models.ManyToManyField(
        "directory.Establishment",
        blank=True,
        related_name="users",
        verbose_name=_("établissements"),
        help_text=_("établissements que cet utilisateur d'entreprise représente"),
    )

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        ordering = ["username"]

    def clean(self):
        super().clean()
        needs_chamber = {self.Role.CHAMBER_ADMIN, self.Role.ADVISOR}
        if self.role in needs_chamber and self.chamber_id is None:
            raise ValidationError(
                {
                    "chamber": _(
                        "Un conseiller ou un administrateur de chambre "
                        "doit être rattaché à une chambre."
                    )
                }
            )


class AuditLog(models.Model):
    """Who looked at or changed what, and when: every advisor view of raw flows is recorded, and
    every change made by staff (chamber staff, platform administrators) to a company's data."""

    class Action(models.TextChoices):
        VIEW_FLOWS = "view_flows", _("consultation des flux")
        CHANGE_FLOWS = "change_flows", _("modification des flux")
        EXPORT = "export", _("export")
        CHANGE_ESTABLISHMENT = "change_establishment", _("modification de l'établissement")
        CHANGE_SYNERGY = "change_synergy", _("changement de statut d'une synergie")
        CHANGE_NEED = "change_need", _("changement de statut d'un besoin")

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("utilisateur")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    establishment = models.ForeignKey(
        "directory.Establishment",
        on_delete=models.CASCADE,
        related_name="audit_entries",
        verbose_name=_("établissement"),
    )
    detail = models.CharField(_("détail"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("entrée du journal d'accès")
        verbose_name_plural = _("journal d'accès")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.get_action_display()}"


class ApiToken(models.Model):
    """A personal API token: the API acts as its user, with the same rights as on the web.
    Only a SHA-256 digest of the token is stored."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("utilisateur")
    )
    name = models.CharField(_("nom"), max_length=100)
    digest = models.CharField(_("empreinte"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")
        ordering = ["-created_at", "pk"]

    def __str__(self):
        return f"{self.user} — {self.name}"

    def is_valid(self, now=None) -> bool:
        """Neither revoked nor expired."""
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
