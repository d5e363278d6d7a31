from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage import caching
from maillage.notifications.registry import register
from maillage.synergies.notifications import KINDS as NOTIFICATION_KINDS


class SynergiesConfig(AppConfig):
    name = "maillage.synergies"
    verbose_name = _("Synergies")

    def ready(self):
        register(*NOTIFICATION_KINDS)
        # cycle: models are imported once the app registry is ready, not with the AppConfig.
        from maillage.synergies.models import Suggestion, SuggestionEvent

        caching.watch(Suggestion, caching.SYNERGIES)
        caching.watch(SuggestionEvent, caching.SYNERGIES)

        # cycle: partners imports models, which need the app registry this method is part of
        from maillage.synergies import partners

        partners.connect_signals()
