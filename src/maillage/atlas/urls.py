from django.urls import path

from maillage.atlas import views

urlpatterns = [
    path("carte/", views.map_page, name="map"),
    path("carte/panneau/<int:pk>/", views.map_panel, name="map-panel"),
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path("tableau-de-bord/export.xlsx", views.dashboard_xlsx, name="dashboard-xlsx"),
    path("tableau-de-bord/export.csv", views.dashboard_csv, name="dashboard-csv"),
    path("journal/", views.audit_log, name="audit-log"),
]
