"""The privacy app's kind of notification: a chamber staff member asks for the erasure of their
account (registered in PrivacyConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Kind, Section

ACCOUNT = Section(_("Comptes et données personnelles"), order=60)

ERASURE_REQUEST = "erasure_request"

KINDS = (Kind(ERASURE_REQUEST, _("Demande d'effacement d'un compte de ma chambre"), ACCOUNT),)
