"""The networks' members' spaces (/reseaux/)."""

from django.urls import path

from maillage.networks import views

urlpatterns = [
    path("", views.network_list, name="network-list"),
    path("<int:pk>/", views.network_space, name="network-space"),
    path("<int:pk>/membres/", views.network_members, name="network-members"),
    path("<int:pk>/membres/ajout/", views.network_member_add, name="network-member-add"),
    path(
        "<int:pk>/membres/<int:establishment_pk>/retrait/",
        views.network_member_remove,
        name="network-member-remove",
    ),
    path("<int:pk>/carte.geojson", views.network_map, name="network-map"),
    path("<int:pk>/actualites/", views.network_post, name="network-post"),
    path("<int:pk>/documents/", views.network_document, name="network-document"),
    path(
        "<int:pk>/documents/<int:doc_pk>/",
        views.network_document_download,
        name="network-document-download",
    ),
]
