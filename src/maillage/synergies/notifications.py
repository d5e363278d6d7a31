"""The synergies' kinds of notification: an advisor proposes an introduction; both sides accepted
it (registered in SynergiesConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Kind, Section

SYNERGIES = Section(_("Synergies entre entreprises"), order=50)

INTRODUCTION_PROPOSED = "introduction_proposed"
INTRODUCTION_MUTUAL = "introduction_mutual"

KINDS = (
    Kind(INTRODUCTION_PROPOSED, _("Proposition de mise en relation pour une synergie"), SYNERGIES),
    Kind(INTRODUCTION_MUTUAL, _("Mise en relation acceptée par les deux entreprises"), SYNERGIES),
)
