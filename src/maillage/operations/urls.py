from django.urls import path

from maillage.operations import views

urlpatterns = [
    path("sante/", views.health, name="health"),
]
