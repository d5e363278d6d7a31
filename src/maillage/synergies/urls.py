from django.urls import path

from maillage.synergies import views

urlpatterns = [
    path("", views.suggestion_list, name="suggestion-list"),
    path("tableau/", views.suggestion_board, name="suggestion-board"),
    path("<int:pk>/", views.suggestion_detail, name="suggestion-detail"),
    path("<int:pk>/mise-en-relation/", views.suggestion_propose, name="suggestion-propose"),
    path("<int:pk>/statut/", views.suggestion_transition, name="suggestion-transition"),
    path("opportunites/", views.opportunity_list, name="opportunity-list"),
    path("opportunites/<int:pk>/reponse/", views.opportunity_respond, name="opportunity-respond"),
    path("flux/<int:pk>/partenaires/", views.flow_partners, name="flow-partners"),
    path("detection/", views.start_detection, name="detection-start"),
    path("detection/<int:pk>/", views.detection_run, name="detection-run"),
]
