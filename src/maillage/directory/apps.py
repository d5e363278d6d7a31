from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage import caching
from maillage.directory.notifications import KINDS as NOTIFICATION_KINDS
from maillage.notifications.registry import register


class DirectoryConfig(AppConfig):
    name = "maillage.directory"
    verbose_name = _("Annuaire des établissements")

    def ready(self):
        register(*NOTIFICATION_KINDS)
        # cycle: models are imported once the app registry is ready, not with the AppConfig.
        from maillage.directory.models import Establishment

        caching.watch(Establishment, caching.DIRECTORY)
