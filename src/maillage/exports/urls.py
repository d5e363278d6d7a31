"""Export page and downloads (/export/)."""

from django.urls import path

from maillage.exports import views

urlpatterns = [
    path("", views.export_page, name="export"),
    path("<str:name>.<str:fmt>", views.export_download, name="export-download"),
]
