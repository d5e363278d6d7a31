from django.urls import path

from maillage.notifications import views

app_name = "notifications"

# Mounted at /marche/notifications/ (config.urls), the address the page had in the marketplace.
urlpatterns = [
    path("", views.notification_list, name="list"),
]
