from django.urls import path

from maillage.accounts import two_factor_views, views

urlpatterns = [
    path("jetons/", views.api_tokens, name="api-tokens"),
    path("jetons/<int:pk>/revoquer/", views.api_token_revoke, name="api-token-revoke"),
    path("double-authentification/", two_factor_views.two_factor_settings, name="two-factor"),
    path("double-authentification/qr.svg", two_factor_views.two_factor_qr, name="two-factor-qr"),
]
