from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SynergiesConfig(AppConfig):
    name = "maillage.synergies"
    verbose_name = _("Synergies")
