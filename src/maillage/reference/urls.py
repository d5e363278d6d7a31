"""URLs of the autocompletion endpoints (under /reference/)."""

from django.urls import path

from maillage.reference import views

urlpatterns = [
    path("naf/", views.naf_suggestions, name="reference-naf"),
    path("communes/", views.commune_suggestions, name="reference-communes"),
]
