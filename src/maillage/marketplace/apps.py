from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

from maillage.marketplace.notifications import KINDS as NOTIFICATION_KINDS
from maillage.notifications.registry import register


class MarketplaceConfig(AppConfig):
    name = "maillage.marketplace"
    verbose_name = _("Tous acheteurs, tous vendeurs")

    def ready(self):
        register(*NOTIFICATION_KINDS)
        # cycle: models are imported once the app registry is ready, not with the AppConfig.
        from maillage.directory.models import Establishment
        from maillage.marketplace.services import establishment_saved  # cycle: idem

        # The directory knows nothing of the marketplace: the marketplace listens.
        post_save.connect(
            establishment_saved, sender=Establishment, dispatch_uid="marketplace-search"
        )
