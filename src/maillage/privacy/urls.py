from django.urls import path

from maillage.privacy import views

urlpatterns = [
    path("mes-donnees/", views.my_data, name="privacy-mine"),
    path("mes-donnees/export/", views.my_data_export, name="privacy-mine-export"),
    path("mes-donnees/effacement/", views.my_data_erase, name="privacy-mine-erase"),
    path("utilisateurs/", views.user_list, name="privacy-users"),
    path("utilisateurs/<int:pk>/export/", views.user_export, name="privacy-user-export"),
    path("utilisateurs/<int:pk>/effacement/", views.user_erase, name="privacy-user-erase"),
    path("contacts/<int:pk>/export/", views.contact_export, name="privacy-contact-export"),
    path("contacts/<int:pk>/effacement/", views.contact_erase, name="privacy-contact-erase"),
]
