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
    path("demandes/<int:pk>/reponse/", views.export_answer, name="export-answer"),
]
