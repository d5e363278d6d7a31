from django.urls import path

from maillage.directory import views

urlpatterns = [
    path("", views.export_directory, name="export-directory"),
    path("etablissement/<int:pk>/", views.export_project, name="export-project"),
    path(
        "etablissement/<int:pk>/contact/<int:advisor_pk>/",
        views.export_contact,
        name="export-contact",
    ),
    path(
        "etablissement/<int:pk>/contact-pole/<int:cluster_pk>/",
        views.export_cluster_contact,
        name="export-cluster-contact",
    ),
    path("demandes/", views.export_inbox, name="export-inbox"),
    path("demandes/<int:pk>/", views.export_request, name="export-request"),
    path("demandes/<int:pk>/reponse/", views.export_answer, name="export-answer"),
    path("demandes/<int:pk>/retrait/", views.export_withdraw, name="export-withdraw"),
    path("ma-fiche/", views.export_advisor_profile, name="export-advisor-profile"),
]
