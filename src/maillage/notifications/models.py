"""The rows of the notifications: one per message to a user (read in the app, e-mailed at once or in
the daily digest), and one per (user, kind) whose e-mail frequency the user changed.

The tables keep the names they had in the marketplace app (no data moved, issue 14)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Frequency


class Notification(models.Model):
    """An in-app notification; e-mailed at once or in the daily digest per the user's choice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("type"), max_length=30)
    # What the notification is about ("marketplace.lot:34", registry.subject_key): with a key, a
    # user gets one notification per (kind, key) whatever the calls; empty, one per call.
    dedup_key = models.CharField(_("clé d'unicité"), max_length=100, blank=True, default="")
    title = models.CharField(_("titre"), max_length=255)
    body = models.TextField(_("texte"), blank=True)
    url = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_due = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "marketplace_notification"
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "dedup_key"],
                condition=~Q(dedup_key=""),
                name="one_notification_per_kind_and_key",
            ),
        ]

    def __str__(self):
        return self.title


class NotificationPreference(models.Model):
    Frequency = Frequency

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("type"), max_length=30)
    frequency = models.CharField(
        _("fréquence"), max_length=10, choices=Frequency.choices, default=Frequency.IMMEDIATE
    )

    class Meta:
        db_table = "marketplace_notificationpreference"
        verbose_name = _("préférence de notification")
        verbose_name_plural = _("préférences de notification")
        ordering = ["user_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind}: {self.frequency}"
