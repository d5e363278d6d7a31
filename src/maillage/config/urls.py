"""URL configuration."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from maillage.api.api import api
from maillage.events.urls import network_urlpatterns

# French error pages; JSON under /api/; 503 + Retry-After while the database is unreachable.
handler500 = "maillage.operations.views.server_error"
handler404 = "maillage.operations.views.not_found"

admin.site.site_header = _("Maillage — administration")
admin.site.site_title = _("Maillage")
admin.site.index_title = _("Back-office")

urlpatterns = [
    path("", include("maillage.operations.urls")),
    path("admin/", admin.site.urls),
    path("comptes/", include("django.contrib.auth.urls")),
    path("compte/", include("maillage.accounts.urls")),
    path("api/", api.urls),
    path("synergies/", include("maillage.synergies.urls")),
    path("flux/", include("maillage.flows.urls")),
    path("import/", include("maillage.ingest.urls")),
    path("marche/", include("maillage.marketplace.urls")),
    path("evenements/", include("maillage.events.urls")),
    path("reseaux/", include(network_urlpatterns)),
    path("international/", include("maillage.directory.urls")),
    path("export/", include("maillage.ingest.export_urls")),
    path("reference/", include("maillage.reference.urls")),
    path("", include("maillage.atlas.urls")),
    path("", include("maillage.web.urls")),
]
