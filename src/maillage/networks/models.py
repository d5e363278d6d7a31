"""Networks (clubs, federations), their member establishments and their members' space (news
posts, documents).

The tables keep the names they had in the directory and events apps (``db_table``): the models
moved here without moving a row (migration 0001, ``SeparateDatabaseAndState``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Network(models.Model):
    class Kind(models.TextChoices):
        CLUB = "club", _("club")
        FEDERATION = "federation", _("fédération")

    name = models.CharField(_("nom"), max_length=200, unique=True)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.CLUB)
    federation = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clubs",
        limit_choices_to={"kind": Kind.FEDERATION},
        verbose_name=_("fédération"),
    )
    chamber = models.ForeignKey(
        "accounts.Chamber",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="networks",
        verbose_name=_("chambre porteuse"),
    )
    description = models.TextField(_("description"), blank=True)
    # The many-to-many's table follows db_table: directory_network_animators, as before.
    animators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="animated_networks",
        verbose_name=_("animateurs"),
    )

    class Meta:
        db_table = "directory_network"
        verbose_name = _("réseau")
        verbose_name_plural = _("réseaux")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.federation_id and self.kind == self.Kind.FEDERATION:
            raise ValidationError(
                _("Une fédération ne peut pas appartenir à une autre fédération.")
            )
        if self.federation_id and self.federation_id == self.pk:
            raise ValidationError(_("Un réseau ne peut pas être sa propre fédération."))


class Membership(models.Model):
    establishment = models.ForeignKey(
        "directory.Establishment",
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("établissement"),
    )
    network = models.ForeignKey(
        Network, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("réseau")
    )
    since = models.DateField(_("membre depuis"))

    class Meta:
        db_table = "directory_membership"
        verbose_name = _("adhésion")
        verbose_name_plural = _("adhésions")
        ordering = ["network_id", "establishment_id"]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "network"], name="unique_membership")
        ]

    def __str__(self):
        return f"{self.establishment} ∈ {self.network}"


class NetworkPost(models.Model):
    """A news post in a network's members' space."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(_("titre"), max_length=200)
    body = models.TextField(_("texte"))
    published_at = models.DateTimeField(_("publié le"), default=timezone.now)

    class Meta:
        db_table = "events_networkpost"
        verbose_name = _("actualité de réseau")
        verbose_name_plural = _("actualités de réseau")
        ordering = ["-published_at", "-pk"]

    def __str__(self):
        return self.title


class NetworkDocument(models.Model):
    """A document shared with a network's members (stored under MEDIA_ROOT/reseaux/)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("titre"), max_length=200)
    file = models.FileField(_("fichier"), upload_to="reseaux/%Y/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("déposé le"), default=timezone.now)

    class Meta:
        db_table = "events_networkdocument"
        verbose_name = _("document de réseau")
        verbose_name_plural = _("documents de réseau")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self):
        return self.title
