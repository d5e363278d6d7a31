"""The kinds of notification of events and business meetings (registered in EventsConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from maillage.notifications.registry import Kind, Section

EVENTS = Section(_("Événements et rendez-vous d'affaires"), order=20)

EVENT_REGISTRATION = "event_registration"
EVENT_PROMOTED = "event_promoted"
EVENT_REMINDER = "event_reminder"
MEETING_REQUEST = "meeting_request"
MEETING_ANSWER = "meeting_answer"
MEETING_SCHEDULE = "meeting_schedule"

KINDS = (
    Kind(
        EVENT_REGISTRATION,
        _("Confirmation de mon inscription à un événement (ou liste d'attente)"),
        EVENTS,
    ),
    Kind(EVENT_PROMOTED, _("Une place s'est libérée : je sors de la liste d'attente"), EVENTS),
    Kind(EVENT_REMINDER, _("Rappel avant un événement"), EVENTS),
    Kind(MEETING_REQUEST, _("Demande de rendez-vous d'affaires"), EVENTS),
    Kind(MEETING_ANSWER, _("Réponse à ma demande de rendez-vous d'affaires"), EVENTS),
    Kind(MEETING_SCHEDULE, _("Planning de mes rendez-vous publié ou modifié"), EVENTS),
)
