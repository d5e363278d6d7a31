from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SynergiesConfig(AppConfig):
    name = "maillage.synergies"
    verbose_name = _("Synergies")

    def ready(self):
        # cycle: partners imports models, which need the app registry this method is part of
        from maillage.synergies import partners

        partners.connect_signals()
