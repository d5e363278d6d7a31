"""Marketplace ("tous acheteurs, tous vendeurs"): needs with their lots and attachments, supplier
profiles, one match row per (need, supplier) with a timestamp per step, responses and consortia
(the notifications they send are the notifications app's)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import Chamber
from maillage.directory.models import Establishment
from maillage.reference.models import Commune
from maillage.runs import BackgroundRun


class Category(models.TextChoices):
    """Purchasing categories of the sourcing directory; each maps to NAF prefixes for matching."""

    MECHANICS = "mechanics", _("mécanique, usinage, chaudronnerie")
    CONSTRUCTION = "construction", _("bâtiment et travaux")
    ELECTRICITY = "electricity", _("électricité, automatismes")
    CLEANING = "cleaning", _("nettoyage, propreté")
    IT = "it", _("informatique, numérique")
    TRANSPORT = "transport", _("transport, logistique")
    PACKAGING = "packaging", _("emballages, cartonnages")
    PRINTING = "printing", _("impression, communication")
    ENGINEERING = "engineering", _("études, ingénierie, conseil")
    TRAINING = "training", _("formation, ressources humaines")
    FOOD = "food", _("restauration, alimentation")
    ENERGY = "energy", _("énergie")
    WASTE = "waste", _("déchets, recyclage")
    FURNITURE = "furniture", _("mobilier, bois")
    CHEMICALS = "chemicals", _("chimie, plasturgie")
    OTHER = "other", _("autre")


# NAF prefixes of the activities that usually supply each category.
CATEGORY_NAF: dict[str, tuple[str, ...]] = {
    "mechanics": ("25", "28", "33"),
    "construction": ("41", "42", "43.1", "43.3", "43.9", "71.1"),
    "electricity": ("43.2", "27", "26"),
    "cleaning": ("81.2",),
    "it": ("62", "63", "58.2"),
    "transport": ("49.4", "52", "53"),
    "packaging": ("17.2", "22.2", "16.24"),
    "printing": ("18", "73"),
    "engineering": ("71", "70.2", "72", "74.9"),
    "training": ("85.5", "78"),
    "food": ("56", "10"),
    "energy": ("35",),
    "waste": ("38", "39"),
    "furniture": ("31", "16"),
    "chemicals": ("20", "22"),
    "other": (),
}


class SupplierProfile(models.Model):
    """What an establishment offers to buyers; published in the sourcing directory when active."""

    establishment = models.OneToOneField(
        Establishment,
        on_delete=models.CASCADE,
        related_name="supplier_profile",
        verbose_name=_("établissement"),
    )
    capabilities = models.TextField(
        _("savoir-faire"), help_text=_("ce que vous savez faire, en quelques phrases")
    )
    tags = models.CharField(
        _("mots-clés"), max_length=500, blank=True, help_text=_("séparés par des virgules")
    )
    categories = models.CharField(
        _("catégories"),
        max_length=300,
        blank=True,
        help_text=_("codes de catégorie séparés par des espaces"),
    )
    certifications = models.CharField(_("certifications"), max_length=300, blank=True)
    service_radius_km = models.PositiveIntegerField(
        _("rayon d'intervention (km)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    references = models.TextField(_("références"), blank=True)
    is_active = models.BooleanField(_("publié dans l'annuaire"), default=True)
    # Accent-folded, singularised words of name, capabilities and tags: the SQLite search index.
    search_text = models.TextField(editable=False, blank=True)
    # The PostgreSQL search index (French, unaccented, weighted: name and tags, capabilities,
    # certifications, references), GIN-indexed. Kept by database triggers (migration 0004) on
    # every write of the profile and every change of the establishment's name; NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("profil fournisseur")
        verbose_name_plural = _("profils fournisseurs")
        ordering = ["establishment__name", "pk"]

    def __str__(self):
        return str(self.establishment)

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()

    @property
    def category_labels(self) -> list[str]:
        labels = dict(Category.choices)
        return [str(labels[c]) for c in self.category_list if c in labels]

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class Need(models.Model):
    class Theme(models.TextChoices):
        PURCHASING = "purchasing", _("achats")
        INNOVATION = "innovation", _("innovation")
        HR = "hr", _("RH et compétences")

    class Kind(models.TextChoices):
        PRODUCT = "product", _("produit")
        SERVICE = "service", _("prestation de service")
        WORKS = "works", _("travaux")
        PROBLEM = "problem", _("problème à résoudre")
        RECRUIT = "recruit", _("recrutement")
        SHARE_STAFF = "share_staff", _("partage de personnel")
        TRAINING = "training", _("formation")
        APPRENTICESHIP = "apprenticeship", _("apprentissage")

    class Visibility(models.TextChoices):
        PLATFORM = "platform", _("toute la plateforme")
        CHAMBER = "chamber", _("une chambre")
        NETWORK = "network", _("un réseau")

    class Status(models.TextChoices):
        DRAFT = "draft", _("brouillon")
        PUBLISHED = "published", _("publié")
        AWARDED = "awarded", _("clos — attribué")
        NOT_AWARDED = "not_awarded", _("clos — non attribué")
        ARCHIVED = "archived", _("archivé")

    class Budget(models.TextChoices):
        UNKNOWN = "", _("non précisé")
        LT_5K = "lt5k", _("moins de 5 000 €")
        LT_25K = "lt25k", _("5 000 à 25 000 €")
        LT_100K = "lt100k", _("25 000 à 100 000 €")
        GT_100K = "gt100k", _("plus de 100 000 €")

    buyer = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="needs", verbose_name=_("acheteur")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("créé par"),
    )
    theme = models.CharField(_("thème"), max_length=12, choices=Theme.choices)
    kind = models.CharField(_("nature"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("intitulé"), max_length=200)
    description = models.TextField(_("description"))
    # purchasing
    category = models.CharField(_("catégorie"), max_length=20, choices=Category.choices, blank=True)
    quantity = models.CharField(_("quantité"), max_length=100, blank=True)
    delivery_commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lieu de livraison ou d'exécution"),
    )
    budget = models.CharField(
        _("budget"), max_length=8, choices=Budget.choices, blank=True, default=""
    )
    deadline = models.DateField(_("échéance souhaitée"), null=True, blank=True)
    # innovation
    expertise = models.CharField(_("expertise recherchée"), max_length=300, blank=True)
    # HR / skills
    positions = models.PositiveIntegerField(
        _("nombre de postes ou de places"), null=True, blank=True
    )
    skills = models.CharField(_("compétences"), max_length=300, blank=True)

    visibility = models.CharField(
        _("visibilité"), max_length=10, choices=Visibility.choices, default=Visibility.PLATFORM
    )
    visibility_chamber = models.ForeignKey(
        Chamber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chambre"),
    )
    visibility_network = models.ForeignKey(
        "networks.Network",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("réseau"),
    )
    hide_buyer = models.BooleanField(_("masquer l'acheteur jusqu'à la présélection"), default=False)
    closes_on = models.DateField(_("date de clôture des réponses"))
    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)

    class Meta:
        verbose_name = _("besoin")
        verbose_name_plural = _("besoins")
        ordering = ["-published_at", "-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "visibility"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(visibility="chamber") | Q(visibility_chamber__isnull=False),
                name="need_chamber_visibility_has_chamber",
            ),
            models.CheckConstraint(
                condition=~Q(visibility="network") | Q(visibility_network__isnull=False),
                name="need_network_visibility_has_network",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.AWARDED, self.Status.NOT_AWARDED)

    @property
    def accepts_responses(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.closes_on >= timezone.localdate()


# Which kinds belong to which theme (checked by the form and the service).
THEME_KINDS: dict[str, tuple[str, ...]] = {
    Need.Theme.PURCHASING: (Need.Kind.PRODUCT, Need.Kind.SERVICE, Need.Kind.WORKS),
    Need.Theme.INNOVATION: (Need.Kind.PROBLEM,),
    Need.Theme.HR: (
        Need.Kind.RECRUIT,
        Need.Kind.SHARE_STAFF,
        Need.Kind.TRAINING,
        Need.Kind.APPRENTICESHIP,
    ),
}


class Lot(models.Model):
    """A part of a need, awarded on its own: to one response for this lot (or for the whole
    need), or closed without award. ``decided_at`` says the lot is decided; ``winner`` which
    response won it (none: closed without award). The need closes when every lot is decided."""

    class Outcome(models.TextChoices):
        OPEN = "open", _("ouvert")
        AWARDED = "awarded", _("attribué")
        NOT_AWARDED = "not_awarded", _("clos sans attribution")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveSmallIntegerField(_("numéro"))
    title = models.CharField(_("intitulé du lot"), max_length=200)
    category = models.CharField(_("catégorie"), max_length=20, choices=Category.choices, blank=True)
    # RESTRICT: a retained response is deleted only with its need (and so its lots).
    winner = models.ForeignKey(
        "Response",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="won_lots",
        verbose_name=_("réponse retenue"),
    )
    decided_at = models.DateTimeField(_("attribué ou clos le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("décidé par"),
    )

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = ["need_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["need", "number"], name="unique_lot_number"),
            models.CheckConstraint(
                condition=Q(winner__isnull=True) | Q(decided_at__isnull=False),
                name="lot_winner_has_decision_date",
            ),
        ]

    def __str__(self):
        return f"{self.number}. {self.title}"

    @property
    def outcome(self) -> str:
        if self.decided_at is None:
            return self.Outcome.OPEN
        return self.Outcome.AWARDED if self.winner_id else self.Outcome.NOT_AWARDED

    def get_outcome_display(self) -> str:
        return str(self.Outcome(self.outcome).label)


class NeedEvent(models.Model):
    """Every lifecycle transition of a need: who, when, from, to."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("date"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_status = models.CharField(max_length=12, choices=Need.Status.choices)
    to_status = models.CharField(max_length=12, choices=Need.Status.choices)
    # A lot's decision (awarded or closed without award), the need's status unchanged or not.
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("étape d'un besoin")
        verbose_name_plural = _("historique des besoins")
        ordering = ["need_id", "at", "pk"]

    def __str__(self):
        return f"{self.need_id}: {self.from_status} → {self.to_status}"


class Consortium(models.Model):
    """SMEs that answer a need together (co-traitance); the lead answers on behalf of all."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="consortia")
    lead = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="+", verbose_name=_("mandataire")
    )
    members = models.ManyToManyField(
        Establishment, related_name="consortia", verbose_name=_("membres")
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("groupement")
        verbose_name_plural = _("groupements")
        ordering = ["need_id", "pk"]

    def __str__(self):
        return f"{self.lead} (+{self.need_id})"


class ConsortiumSuggestions(BackgroundRun):
    """The groups of suppliers the platform suggests for a need with lots (CP-SAT, computed in the
    background), kept until their inputs change: ``fingerprint`` hashes the lots and the candidate
    supplier profiles with their establishments' last change. One row per need, reset to
    pending for each new computation."""

    need = models.OneToOneField(
        Need, on_delete=models.CASCADE, related_name="consortium_suggestions"
    )
    fingerprint = models.CharField(_("empreinte des données"), max_length=64)
    candidates = models.PositiveIntegerField(_("fournisseurs candidats"), default=0)
    # [{"members": [establishment id…], "lots": [[lot number, establishment id]…],
    #   "mean_lot_score": float, "max_distance_km": float, "total_headcount": float}], best first
    groups = models.JSONField(_("groupements"), default=list, blank=True)

    class Meta:
        verbose_name = _("groupements suggérés")
        verbose_name_plural = _("groupements suggérés")
        ordering = ["need_id"]

    def __str__(self):
        return f"{self.need_id}: {self.state}"


class Response(models.Model):
    class PriceBand(models.TextChoices):
        UNKNOWN = "", _("sur devis")
        LT_5K = "lt5k", _("moins de 5 000 €")
        LT_25K = "lt25k", _("5 000 à 25 000 €")
        LT_100K = "lt100k", _("25 000 à 100 000 €")
        GT_100K = "gt100k", _("plus de 100 000 €")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="responses")
    supplier = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="marketplace_responses",
        verbose_name=_("fournisseur"),
    )
    consortium = models.ForeignKey(
        Consortium,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("groupement"),
    )
    # The lot answered; none for a response to the whole need. A supplier answers each lot at
    # most once (and the whole need at most once); a lot with responses cannot be removed
    # (RESTRICT: unless with its need, which takes its lots and responses along).
    lot = models.ForeignKey(
        Lot,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("lot"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    message = models.TextField(_("message"))
    price_band = models.CharField(
        _("fourchette de prix"), max_length=8, choices=PriceBand.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(_("reçue le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    shortlisted_at = models.DateTimeField(_("présélectionnée le"), null=True, blank=True)
    # Retained: for the need (without lots) or for at least one lot (Lot.winner says which).
    is_winner = models.BooleanField(_("retenue"), default=False)

    class Meta:
        verbose_name = _("réponse")
        verbose_name_plural = _("réponses")
        ordering = ["need_id", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["need", "supplier"],
                condition=Q(lot__isnull=True),
                name="one_whole_need_response_per_supplier",
            ),
            models.UniqueConstraint(
                fields=["need", "supplier", "lot"],
                condition=Q(lot__isnull=False),
                name="one_response_per_supplier_and_lot",
            ),
        ]

    def __str__(self):
        return f"{self.supplier} → {self.need}"

    @property
    def version_count(self) -> int:
        return self.versions.count()


class ResponseVersion(models.Model):
    """Every state a response has had: the first one and each revision, never overwritten. The
    response row holds the latest; the buyer and the supplier read the whole history."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    message = models.TextField(_("message"))
    price_band = models.CharField(
        _("fourchette de prix"),
        max_length=8,
        choices=Response.PriceBand.choices,
        blank=True,
        default="",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("déposée le"), default=timezone.now)

    class Meta:
        verbose_name = _("version d'une réponse")
        verbose_name_plural = _("versions des réponses")
        ordering = ["response_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "number"], name="unique_response_version_number"
            )
        ]

    def __str__(self):
        return f"{self.response_id} v{self.number}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"marketplace/need-{instance.need_id}/{filename}"


class Attachment(models.Model):
    """A file joined to a need (by the buyer) or to a response (by the supplier); under MEDIA_ROOT."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="attachments")
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("fichier"), upload_to=attachment_path, max_length=255)
    name = models.CharField(_("nom"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ["need_id", "uploaded_at", "pk"]

    def __str__(self):
        return self.name


class Match(models.Model):
    """One row per (need, supplier) found relevant: score, explanation and a timestamp per step.
    The supplier's status on the need is derived from these dates."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="matches")
    supplier = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="marketplace_matches"
    )
    rank = models.PositiveIntegerField(_("rang"))
    score = models.FloatField(_("score"))
    explanation = models.JSONField(_("explication"), default=dict)
    matched_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(_("notifié le"), null=True, blank=True)
    seen_at = models.DateTimeField(_("consulté le"), null=True, blank=True)
    responded_at = models.DateTimeField(_("répondu le"), null=True, blank=True)
    shortlisted_at = models.DateTimeField(_("présélectionné le"), null=True, blank=True)
    # The buyer invited this supplier from the match list (its users notified, its contacts
    # e-mailed): when and by whom.
    invited_at = models.DateTimeField(_("invité le"), null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invité par"),
    )
    outcome_notified_at = models.DateTimeField(null=True, blank=True)
    # the one reminder sent before the closing date to a notified supplier that has not answered
    reminded_at = models.DateTimeField(_("relancé le"), null=True, blank=True)

    # Set on the rows for the buyer's template by selectors.matches_for_buyer (not columns).
    reachable: bool
    reason_words: list[str]

    class Meta:
        verbose_name = _("fournisseur pertinent")
        verbose_name_plural = _("fournisseurs pertinents")
        ordering = ["need_id", "rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["need", "supplier"], name="one_match_per_supplier")
        ]

    def __str__(self):
        return f"{self.need_id} ↔ {self.supplier_id}"
