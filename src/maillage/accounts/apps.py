from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from maillage import caching


class AccountsConfig(AppConfig):
    name = "maillage.accounts"
    verbose_name = _("Chambres, utilisateurs et droits")

    def ready(self):
        # cycle: the checks import the models, which load only once the app registry is ready
        from maillage.accounts import checks  # noqa: F401 - registers the system checks
        from maillage.accounts.models import (  # cycle: idem
            DataSharingAgreement,
            TerritoryCommune,
            User,
        )

        # Cached reads depend on who sees what: territories, agreements, a company user's sites.
        caching.watch(TerritoryCommune, caching.DIRECTORY)
        caching.watch(DataSharingAgreement, caching.DIRECTORY)
        caching.watch(User.establishments.through, caching.DIRECTORY)
        # A migrated or flushed database holds other rows under the same keys.
        post_migrate.connect(_renew_caches, dispatch_uid="maillage-caching-migrate")


def _renew_caches(**kwargs):
    caching.bump()
