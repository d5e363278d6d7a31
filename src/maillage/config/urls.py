"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, include, path
from django.utils.translation import gettext_lazy as _

from maillage.accounts import two_factor_views
from maillage.api.api import api

# French error pages; JSON under /api/; 503 + Retry-After while the database is unreachable.
handler500 = "maillage.operations.views.server_error"
handler404 = "maillage.operations.views.not_found"

admin.site.site_header = _("Maillage — administration")
admin.site.site_title = _("Maillage")
admin.site.index_title = _("Back-office")


def public_api(urls):
    """Every API operation authenticates the request itself (personal token or session) and
    answers 401 JSON without one: the login redirect of deny-by-default is not for programs."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)
    return patterns, app_name, namespace


# Django's authentication pages, but signing in is ours (password, then the second factor).
auth_patterns = [
    p for p in auth_urls.urlpatterns if not (isinstance(p, URLPattern) and p.name == "login")
]

urlpatterns = [
    path("", include("maillage.operations.urls")),
    # The back-office signs in through the site's login, never around its second factor.
    path("admin/login/", two_factor_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("comptes/login/", two_factor_views.LoginView.as_view(), name="login"),
    path("comptes/verification/", two_factor_views.login_verify, name="login-verify"),
    path("comptes/", include(auth_patterns)),
    path("compte/", include("maillage.accounts.urls")),
    path("api/", public_api(api.urls)),
    path("synergies/", include("maillage.synergies.urls")),
    path("flux/", include("maillage.flows.urls")),
    path("import/", include("maillage.ingest.urls")),
    # The notifications page kept the address it had in the marketplace.
    path("marche/notifications/", include("maillage.notifications.urls")),
    path("marche/", include("maillage.marketplace.urls")),
    path("evenements/", include("maillage.events.urls")),
    path("reseaux/", include("maillage.networks.urls")),
    path("international/", include("maillage.directory.urls")),
    path("export/", include("maillage.exports.urls")),
    path("reference/", include("maillage.reference.urls")),
    path("donnees-personnelles/", include("maillage.privacy.urls")),
    path("", include("maillage.atlas.urls")),
    path("", include("maillage.web.urls")),
]
