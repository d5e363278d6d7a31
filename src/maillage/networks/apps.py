from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage import caching
from maillage.networks.notifications import KINDS as NOTIFICATION_KINDS
from maillage.notifications.registry import register


class NetworksConfig(AppConfig):
    name = "maillage.networks"
    verbose_name = _("Réseaux et espaces membres")

    def ready(self):
        register(*NOTIFICATION_KINDS)
        # cycle: models are imported once the app registry is ready, not with the AppConfig.
        from maillage.networks.models import Membership

        # Memberships widen what a company's users see on the map (cached layers).
        caching.watch(Membership, caching.DIRECTORY)
