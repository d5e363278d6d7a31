from django.urls import path

from maillage.accounts import views

urlpatterns = [
    path("jetons/", views.api_tokens, name="api-tokens"),
    path("jetons/<int:pk>/revoquer/", views.api_token_revoke, name="api-token-revoke"),
]
