"""Establishments, their contacts, export advisors, clusters and SMEs' export projects (networks
and memberships are the networks app's)."""

from __future__ import annotations

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from stdnum.fr import siret as siret_check

from maillage import caching
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.engine.legal import parse_rubriques
from maillage.reference.models import Commune, NafCode


def validate_siret(value: str) -> None:
    if not (value and value.isdigit() and len(value) == 14):
        raise ValidationError(
            _("Le SIRET doit comporter exactement 14 chiffres (reçu : « %(value)s »)."),
            params={"value": value},
        )
    if not siret_check.is_valid(value):
        raise ValidationError(
            _("Le SIRET « %(value)s » est invalide : la clé de contrôle (Luhn) ne correspond pas."),
            params={"value": value},
        )


def validate_naf_subclass(value: str) -> None:
    if not NafCode.objects.filter(pk=value, level=NafCode.Level.SUBCLASS).exists():
        raise ValidationError(
            _("Code NAF « %(value)s » inconnu : attendu une sous-classe NAF rév. 2 comme 38.32Z."),
            params={"value": value},
        )


def validate_icpe_rubriques(value) -> None:
    """A list of known 4-digit waste rubriques of the ICPE nomenclature (engine.legal table)."""

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("Les rubriques ICPE forment une liste de codes à quatre chiffres."))
    kept, errors = parse_rubriques(value)
    if errors:
        raise ValidationError("; ".join(errors))
    if list(kept) != value:
        raise ValidationError(
            _("Rubriques ICPE à écrire triées, sans doublon : %(k)s."),
            params={"k": ", ".join(kept)},
        )


HEADCOUNT_CHOICES = [(code, label) for code, (label, _low, _high) in HEADCOUNT_BANDS.items()]


class EstablishmentQuerySet(caching.InvalidatingQuerySet):
    cache_topics = (caching.DIRECTORY,)

    def active(self):
        return self.filter(is_active=True)

    def of_chambers(self, chamber_ids):
        return self.filter(commune__territory__chamber_id__in=chamber_ids)


class Establishment(models.Model):
    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[validate_siret])
    name = models.CharField(_("raison sociale ou enseigne"), max_length=255)
    naf = models.ForeignKey(
        NafCode,
        on_delete=models.PROTECT,
        related_name="establishments",
        verbose_name=_("code NAF"),
        limit_choices_to={"level": NafCode.Level.SUBCLASS},
    )
    headcount_band = models.CharField(
        _("tranche d'effectif"), max_length=2, choices=HEADCOUNT_CHOICES, default="NN"
    )
    address = models.CharField(_("adresse"), max_length=255, blank=True)
    # No index of its own: ``(commune, is_active)`` in Meta.indexes serves every lookup by commune
    # (its leading column). A second one, and its ``_like`` twin on PostgreSQL, cost 143 s of the
    # 375 s of index rebuild of a national SIRENE first load (docs/benchmarks.md).
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        related_name="establishments",
        verbose_name=_("commune"),
        db_index=False,
    )
    latitude = models.FloatField(_("latitude (WGS84)"), null=True, blank=True)
    longitude = models.FloatField(_("longitude (WGS84)"), null=True, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    closed_on = models.DateField(_("date de fermeture"), null=True, blank=True)
    is_large_buyer = models.BooleanField(_("donneur d'ordre"), default=False)
    # Set by the chamber's advisors: what the receiver's prefectoral order authorises. Empty means
    # unknown (the engine then assumes the default of the activity); a list without a hazardous
    # rubrique means the establishment may not receive hazardous waste.
    icpe_rubriques = models.JSONField(
        _("rubriques ICPE (déchets)"),
        default=list,
        blank=True,
        validators=[validate_icpe_rubriques],
        help_text=_("rubriques de la nomenclature des installations classées, ex. 2790, 2770"),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = EstablishmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("établissement")
        verbose_name_plural = _("établissements")
        ordering = ["name", "siret"]
        indexes = [models.Index(fields=["commune", "is_active"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="establishment_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="establishment_longitude_range",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.siret})"

    @property
    def siren(self) -> str:
        return self.siret[:9]

    @property
    def chamber(self):
        """The owning chamber, derived from the commune's territory (None outside every territory)."""
        territory = getattr(self.commune, "territory", None)
        return territory.chamber if territory else None


class Contact(models.Model):
    """A person at an establishment. Personal data: shown only to whoever may see the establishment's
    identity, and to the other side of a synergy only after both accepted the introduction."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(_("prénom"), max_length=100)
    last_name = models.CharField(_("nom"), max_length=100)
    role = models.CharField(_("fonction"), max_length=150, blank=True)
    email = models.EmailField(_("courriel"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "pk"]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"


# -- export: advisors (conseillers du commerce extérieur), clusters, SMEs' export projects ---------


class ExportSector(models.TextChoices):
    AGRIFOOD = "agrifood", _("agroalimentaire")
    ENVIRONMENT = "environment", _("environnement et éco-activités")
    ENERGY = "energy", _("énergie")
    INDUSTRY = "industry", _("industrie et mécanique")
    HEALTH = "health", _("santé")
    DIGITAL = "digital", _("numérique")
    TRANSPORT = "transport", _("transport et logistique")
    CONSTRUCTION = "construction", _("construction et ville durable")
    MARITIME = "maritime", _("mer et maritime")
    LUXURY = "luxury", _("luxe, mode et cosmétique")


def validate_countries(value) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Une liste de codes pays est attendue."))
    for code in value:
        if not (isinstance(code, str) and pycountry.countries.get(alpha_2=code.upper())):
            raise ValidationError(
                _("« %(code)s » n'est pas un code pays ISO 3166 (deux lettres, ex. MA, VN)."),
                params={"code": code},
            )


def validate_languages(value) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Une liste de codes langue est attendue."))
    for code in value:
        if not (isinstance(code, str) and pycountry.languages.get(alpha_2=code.lower())):
            raise ValidationError(
                _("« %(code)s » n'est pas un code langue ISO 639-1 (deux lettres, ex. fr, ar)."),
                params={"code": code},
            )


def validate_sectors(value) -> None:
    if not isinstance(value, list) or any(v not in ExportSector.values for v in value):
        raise ValidationError(
            _("Secteur inconnu : choisissez parmi %(list)s."),
            params={"list": ", ".join(ExportSector.values)},
        )


class ExportAdvisor(models.Model):
    """A conseiller du commerce extérieur: a business leader who helps SMEs on their countries."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="export_advisor",
        limit_choices_to={"role": "export_advisor"},
        verbose_name=_("compte"),
        help_text=_("un compte au rôle « conseiller du commerce extérieur »"),
    )
    name = models.CharField(_("nom"), max_length=200)
    organisation = models.CharField(_("entreprise"), max_length=200, blank=True)
    phone = models.CharField(
        _("téléphone"),
        max_length=30,
        blank=True,
        help_text=_("communiqué aux entreprises dont vous acceptez la demande"),
    )
    countries = models.JSONField(
        _("pays d'expertise (ISO 3166)"), default=list, validators=[validate_countries]
    )
    sectors = models.JSONField(_("secteurs"), default=list, validators=[validate_sectors])
    languages = models.JSONField(
        _("langues (ISO 639-1)"), default=list, validators=[validate_languages]
    )
    available = models.BooleanField(_("disponible"), default=True)
    availability_note = models.CharField(_("disponibilité"), max_length=200, blank=True)
    bio = models.TextField(_("présentation"), blank=True)

    class Meta:
        verbose_name = _("conseiller du commerce extérieur")
        verbose_name_plural = _("conseillers du commerce extérieur")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class Cluster(models.Model):
    """A competitiveness cluster (pôle de compétitivité) and its international programmes."""

    name = models.CharField(_("nom"), max_length=200, unique=True)
    themes = models.TextField(_("thèmes"), blank=True)
    sectors = models.JSONField(_("secteurs"), default=list, validators=[validate_sectors])
    members = models.ManyToManyField(
        Establishment, blank=True, related_name="clusters", verbose_name=_("membres")
    )
    website = models.URLField(_("site"), blank=True)
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="managed_clusters",
        limit_choices_to={"role": "cluster_manager"},
        verbose_name=_("contacts du pôle"),
        help_text=_(
            "comptes qui reçoivent les demandes de contact adressées au pôle et y répondent"
        ),
    )

    class Meta:
        verbose_name = _("pôle de compétitivité")
        verbose_name_plural = _("pôles de compétitivité")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClusterProgramme(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="programmes")
    title = models.CharField(_("programme international"), max_length=200)
    countries = models.JSONField(
        _("pays (ISO 3166)"), default=list, validators=[validate_countries]
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("programme international")
        verbose_name_plural = _("programmes internationaux")
        ordering = ["cluster_id", "title", "pk"]

    def __str__(self):
        return self.title


class ExportProject(models.Model):
    """What an SME targets abroad: countries and sectors."""

    establishment = models.OneToOneField(
        Establishment, on_delete=models.CASCADE, related_name="export_project"
    )
    countries = models.JSONField(
        _("pays visés (ISO 3166)"), default=list, validators=[validate_countries]
    )
    sectors = models.JSONField(_("secteurs"), default=list, validators=[validate_sectors])
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("projet export")
        verbose_name_plural = _("projets export")
        ordering = ["establishment_id"]

    def __str__(self):
        return f"{self.establishment} → {', '.join(self.countries)}"


class ExportContactRequest(models.Model):
    """An SME asks an export advisor or a cluster for a contact, with a copy of its export project
    at that moment; the addressee accepts or declines with a message. Contact details are
    exchanged only on acceptance (see directory.policy, export support)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        ACCEPTED = "accepted", _("acceptée")
        DECLINED = "declined", _("déclinée")
        WITHDRAWN = "withdrawn", _("retirée")
        EXPIRED = "expired", _("expirée sans réponse")

    # The only transitions, all from pending: an answer, a withdrawal or an expiry is final.
    TRANSITIONS = {
        Status.PENDING: {Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN, Status.EXPIRED}
    }
    # Closed without an answer: they do not stop the SME from asking the same addressee again.
    CLOSED_UNANSWERED = (Status.WITHDRAWN, Status.EXPIRED)

    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="export_contact_requests",
        verbose_name=_("entreprise"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    advisor = models.ForeignKey(
        ExportAdvisor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contact_requests",
        verbose_name=_("conseiller"),
    )
    cluster = models.ForeignKey(
        Cluster,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contact_requests",
        verbose_name=_("pôle"),
    )
    countries = models.JSONField(
        _("pays visés (ISO 3166)"), default=list, validators=[validate_countries]
    )
    sectors = models.JSONField(_("secteurs"), default=list, validators=[validate_sectors])
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("demandée le"), auto_now_add=True)
    answered_at = models.DateTimeField(_("répondue le"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("répondue par"),
    )
    answer = models.TextField(_("réponse"), blank=True)
    reminded_at = models.DateTimeField(_("relance envoyée le"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("retirée le"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expirée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande de contact export")
        verbose_name_plural = _("demandes de contact export")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(advisor__isnull=False, cluster__isnull=True)
                | Q(advisor__isnull=True, cluster__isnull=False),
                name="export_request_one_addressee",
            ),
            models.UniqueConstraint(
                fields=["establishment", "advisor"],
                condition=Q(advisor__isnull=False) & ~Q(status__in=["withdrawn", "expired"]),
                name="unique_open_advisor_contact_request",
            ),
            models.UniqueConstraint(
                fields=["establishment", "cluster"],
                condition=Q(cluster__isnull=False) & ~Q(status__in=["withdrawn", "expired"]),
                name="unique_open_cluster_contact_request",
            ),
        ]

    def __str__(self):
        return f"{self.establishment} → {self.addressee}"

    @property
    def addressee(self):
        return self.advisor if self.advisor_id else self.cluster
