from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "maillage.exports"
    verbose_name = _("Exports")

    def ready(self):
        # Each app declares its datasets in its own ``exports`` module (as Django's admin finds
        # ``admin`` modules): importing them registers them, in the order of INSTALLED_APPS.
        autodiscover_modules("exports")
