from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IngestConfig(AppConfig):
    name = "maillage.ingest"
    verbose_name = _("Imports de fichiers")
