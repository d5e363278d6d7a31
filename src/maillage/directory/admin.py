from django.contrib import admin
from django.db import models

from maillage.accounts.admin_mixins import PolicyAdmin
from maillage.accounts.models import AuditLog
from maillage.directory import policy
from maillage.directory.forms import EstablishmentForm
from maillage.directory.models import (
    Cluster,
    ClusterProgramme,
    Contact,
    Establishment,
    ExportAdvisor,
)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Establishment)
class EstablishmentAdmin(PolicyAdmin):
    policy_queryset = policy.visible_establishments
    form = EstablishmentForm
    list_display = ["name", "siret", "naf", "headcount_band", "commune", "is_active"]
    list_select_related = ["naf", "commune"]
    list_filter = ["is_active", "headcount_band", "commune__departement"]
    search_fields = ["name", "siret"]
    inlines = [ContactInline]


class ClusterProgrammeInline(admin.TabularInline):
    model = ClusterProgramme
    extra = 0


@admin.register(ExportAdvisor)
class ExportAdvisorAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "available"]
    raw_id_fields = ["user"]
    search_fields = ["name", "organisation"]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "website"]
    raw_id_fields = ["members"]
    filter_horizontal = ["managers"]
    # Django 6 assumes https for scheme-less URLs; say so now (the warning is an error in tests).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [ClusterProgrammeInline]


# The audit log is the accounts app's, but its back-office list shows the entries about the
# establishments the user sees, so it is registered here, above the directory's rules.
@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "action", "establishment", "detail"]
    list_select_related = ["user", "establishment"]
    list_filter = ["action"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(establishment__in=policy.visible_establishments(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
