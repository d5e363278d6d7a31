from django.contrib import admin

from maillage.accounts.admin_mixins import ReadOnlyAdmin
from maillage.reference.models import (
    Commune,
    Departement,
    Epci,
    NafCode,
    Region,
    ResourceClass,
    WasteCode,
)


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Departement)
class DepartementAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "region"]
    list_select_related = ["region"]
    search_fields = ["code", "name"]


@admin.register(Epci)
class EpciAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(Commune)
class CommuneAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "postal_codes", "departement", "epci"]
    list_select_related = ["departement", "epci"]
    list_filter = ["departement__region"]
    search_fields = ["code", "name", "postal_codes"]


@admin.register(NafCode)
class NafCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "label", "level"]
    list_filter = ["level"]
    search_fields = ["code", "label"]


@admin.register(ResourceClass)
class ResourceClassAdmin(ReadOnlyAdmin):
    list_display = ["code", "label", "category", "unit", "max_distance_km", "hazardous"]
    list_filter = ["category", "hazardous"]
    search_fields = ["code", "label", "keywords"]


@admin.register(WasteCode)
class WasteCodeAdmin(ReadOnlyAdmin):
    list_display = ["display", "label", "level", "hazardous", "resource_class"]
    list_select_related = ["resource_class"]
    list_filter = ["level", "hazardous"]
    search_fields = ["code", "label"]
