from django.urls import path

from maillage.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("etablissements/<int:pk>/", views.establishment_detail, name="establishment-detail"),
]
