from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import register
from maillage.privacy.notifications import KINDS as NOTIFICATION_KINDS


class PrivacyConfig(AppConfig):
    name = "maillage.privacy"
    verbose_name = _("Données personnelles")

    def ready(self):
        register(*NOTIFICATION_KINDS)
