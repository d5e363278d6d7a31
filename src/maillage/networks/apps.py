from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage.networks.notifications import KINDS as NOTIFICATION_KINDS
from maillage.notifications.registry import register


class NetworksConfig(AppConfig):
    name = "maillage.networks"
    verbose_name = _("Réseaux et espaces membres")

    def ready(self):
        register(*NOTIFICATION_KINDS)
