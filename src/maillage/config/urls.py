"""URL configuration."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from maillage.api.api import api

admin.site.site_header = _("Maillage — administration")
admin.site.site_title = _("Maillage")
admin.site.index_title = _("Back-office")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("comptes/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    path("synergies/", include("maillage.synergies.urls")),
    path("import/", include("maillage.ingest.urls")),
    path("", include("maillage.atlas.urls")),
    path("", include("maillage.web.urls")),
]
