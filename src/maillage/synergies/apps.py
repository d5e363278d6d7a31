from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SynergiesConfig(AppConfig):
    name = "maillage.synergies"
    verbose_name = _("Synergies")

    def ready(self):
        from maillage.synergies import partners  # the app registry must be ready first

        partners.connect_signals()
