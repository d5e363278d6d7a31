"""The log of privacy operations (exports and erasures of a person's data): who did what, when, on
which account or contact — by id only, so that the log itself holds no personal data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PrivacyLogEntry(models.Model):
    class Action(models.TextChoices):
        EXPORT_USER = "export_user", _("export des données d'un utilisateur")
        EXPORT_CONTACT = "export_contact", _("export des données d'un contact")
        ERASE_USER = "erase_user", _("effacement d'un utilisateur")
        ERASE_CONTACT = "erase_contact", _("effacement d'un contact")
        ERASURE_REQUESTED = "erasure_requested", _("demande d'effacement de son compte")

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    # The person concerned, by id: an erased contact's row is gone, an erased user's is anonymised.
    subject_id = models.PositiveBigIntegerField(_("identifiant de la personne"))
    chamber = models.ForeignKey(
        "accounts.Chamber",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chambre"),
    )
    establishment = models.ForeignKey(
        "directory.Establishment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("établissement"),
    )

    class Meta:
        verbose_name = _("opération sur des données personnelles")
        verbose_name_plural = _("journal des données personnelles")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} #{self.subject_id}"
