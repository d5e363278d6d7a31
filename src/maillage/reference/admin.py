from django.contrib import admin

from maillage.reference.models import (
    Commune,
    Departement,
    Epci,
    NafCode,
    Region,
    ResourceClass,
    WasteCode,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Reference data is loaded by ``load_reference``, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
