from django.urls import path

from maillage.ingest import views

urlpatterns = [
    path("", views.import_page, name="import"),
    path("modele/<str:kind>.xlsx", views.template_download, name="import-template"),
]
