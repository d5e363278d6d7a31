from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage import caching


class FlowsConfig(AppConfig):
    name = "maillage.flows"
    verbose_name = _("Visites et flux de ressources")

    def ready(self):
        # cycle: models are imported once the app registry is ready, not with the AppConfig.
        from maillage.flows.models import Flow, Visit

        caching.watch(Flow, caching.DIRECTORY)
        caching.watch(Visit, caching.ACTIVITY)
