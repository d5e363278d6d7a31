from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage import caching


class DirectoryConfig(AppConfig):
    name = "maillage.directory"
    verbose_name = _("Annuaire des établissements et réseaux")

    def ready(self):
        # cycle: models are imported once the app registry is ready, not with the AppConfig.
        from maillage.directory.models import Establishment, Membership

        caching.watch(Establishment, caching.DIRECTORY)
        caching.watch(Membership, caching.DIRECTORY)
