from django.urls import path

from maillage.synergies import views

urlpatterns = [
    path("", views.suggestion_list, name="suggestion-list"),
    path("detection/", views.start_detection, name="detection-start"),
    path("detection/<int:pk>/", views.detection_run, name="detection-run"),
]
