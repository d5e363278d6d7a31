"""The directory's kinds of notification: export support, a contact request to an export advisor
or a cluster and its answer (registered in DirectoryConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Kind, Section

EXPORT = Section(_("International"), order=40)

EXPORT_REQUEST = "export_request"
EXPORT_ANSWER = "export_answer"
EXPORT_EXPIRED = "export_expired"

KINDS = (
    Kind(EXPORT_REQUEST, _("Demande de contact export adressée à moi ou à mon pôle"), EXPORT),
    Kind(EXPORT_ANSWER, _("Réponse à ma demande de contact export (conseiller ou pôle)"), EXPORT),
    Kind(EXPORT_EXPIRED, _("Demande de contact export close faute de réponse"), EXPORT),
)
