"""The marketplace's kinds of notification (registered in MarketplaceConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Kind, Section

MARKETPLACE = Section(_("Marché : besoins et réponses"), order=10)

NEW_NEED = "new_need"
NEW_RESPONSE = "new_response"
SHORTLISTED = "shortlisted"
OUTCOME = "need_outcome"
LOT_AWARD = "lot_award"
CONSORTIUM_RESPONSE = "consortium_response"
NEED_EXPIRED = "need_expired"
REMINDER = "closing_reminder"

KINDS = (
    Kind(NEW_NEED, _("Nouveau besoin correspondant à mon activité"), MARKETPLACE),
    Kind(NEW_RESPONSE, _("Nouvelle réponse à l'un de mes besoins"), MARKETPLACE),
    Kind(SHORTLISTED, _("Ma réponse est présélectionnée"), MARKETPLACE),
    Kind(OUTCOME, _("Issue d'un besoin auquel j'ai répondu"), MARKETPLACE),
    Kind(LOT_AWARD, _("Attribution d'un lot (auquel j'ai répondu, ou de mon besoin)"), MARKETPLACE),
    Kind(
        CONSORTIUM_RESPONSE,
        _("Réponse déposée par un groupement dont je fais partie"),
        MARKETPLACE,
    ),
    Kind(NEED_EXPIRED, _("Mon besoin est clos à sa date de clôture"), MARKETPLACE),
    Kind(REMINDER, _("Rappel avant la clôture d'un besoin sans réponse de ma part"), MARKETPLACE),
)
