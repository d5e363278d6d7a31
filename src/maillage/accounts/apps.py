from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "maillage.accounts"
    verbose_name = _("Chambres, utilisateurs et droits")

    def ready(self):
        # cycle: the checks import the models, which load only once the app registry is ready
        from maillage.accounts import checks  # noqa: F401 - registers the system checks
