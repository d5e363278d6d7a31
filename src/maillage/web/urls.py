from django.urls import path

from maillage.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("etablissements/", views.establishment_search, name="establishment-search"),
    path("etablissements/ajouter/", views.establishment_create, name="establishment-create"),
    path("etablissements/<int:pk>/", views.establishment_detail, name="establishment-detail"),
    path("etablissements/<int:pk>/modifier/", views.establishment_edit, name="establishment-edit"),
]
