"""The kinds of notification of networks' members' spaces (registered in NetworksConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Frequency, Kind, Section

NETWORKS = Section(_("Réseaux"), order=30)

NETWORK_NEWS = "network_news"

KINDS = (
    Kind(
        NETWORK_NEWS,
        _("Actualités et documents de mes réseaux"),
        NETWORKS,
        default=Frequency.DAILY,
    ),
)
