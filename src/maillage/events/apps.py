from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from maillage.events.notifications import KINDS as NOTIFICATION_KINDS
from maillage.notifications.registry import register


class EventsConfig(AppConfig):
    name = "maillage.events"
    verbose_name = _("Événements et rendez-vous d'affaires")

    def ready(self):
        register(*NOTIFICATION_KINDS)
