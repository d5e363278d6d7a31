"""URLs of visits and flows (under /flux/)."""

from django.urls import path

from maillage.flows import views

urlpatterns = [
    path("etablissement/<int:pk>/visite/", views.visit_create, name="visit-create"),
    path("etablissement/<int:pk>/ajouter/", views.flow_create, name="flow-create"),
    path("<int:pk>/modifier/", views.flow_edit, name="flow-edit"),
    path("<int:pk>/archiver/", views.flow_archive, name="flow-archive"),
    path("<int:pk>/historique/", views.flow_history, name="flow-history"),
    path("codes-dechets/", views.waste_code_options, name="options-waste-codes"),
]
