from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlowsConfig(AppConfig):
    name = "maillage.flows"
    verbose_name = _("Visites et flux de ressources")
