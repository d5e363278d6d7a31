from django.urls import path

from maillage.events import views

urlpatterns = [
    path("", views.event_list, name="event-list"),
    path("nouveau/", views.event_create, name="event-create"),
    path("<int:pk>/", views.event_detail, name="event-detail"),
    path("<int:pk>/inscription/", views.event_register, name="event-register"),
    path("<int:pk>/annulation/", views.event_cancel, name="event-cancel"),
    path("<int:pk>/rendez-vous/", views.meetings, name="event-meetings"),
    path("<int:pk>/rendez-vous/profil/", views.meeting_profile, name="event-profile"),
    path("<int:pk>/rendez-vous/demande/", views.meeting_request, name="event-request"),
    path(
        "<int:pk>/rendez-vous/demande/<int:request_pk>/reponse/",
        views.meeting_answer,
        name="event-answer",
    ),
    path("<int:pk>/agenda/", views.agenda, name="event-agenda"),
    path("<int:pk>/agenda.ics", views.agenda_ics, name="event-agenda-ics"),
    path("<int:pk>/organisation/", views.organise, name="event-organise"),
    path(
        "<int:pk>/organisation/participants.<str:fmt>",
        views.participants_export,
        name="event-participants-export",
    ),
    path("<int:pk>/organisation/presence/<int:reg_pk>/", views.attendance, name="event-attendance"),
    path("<int:pk>/organisation/paires/", views.pair_rule, name="event-pair-rule"),
    path(
        "<int:pk>/organisation/paires/<int:rule_pk>/suppression/",
        views.pair_rule_delete,
        name="event-pair-rule-delete",
    ),
    path("<int:pk>/organisation/planning/", views.schedule_start, name="event-schedule"),
    path(
        "<int:pk>/organisation/planning/<int:run_pk>/",
        views.schedule_status,
        name="event-schedule-status",
    ),
]
