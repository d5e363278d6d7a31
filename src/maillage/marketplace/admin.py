"""Back-office for the marketplace (platform staff; chamber staff see what the policy allows)."""

from django.contrib import admin

from maillage.accounts.admin_mixins import PolicyAdmin
from maillage.marketplace import policy
from maillage.marketplace.models import Need, NeedEvent, Response, SupplierProfile


class NeedEventInline(admin.TabularInline):
    model = NeedEvent
    extra = 0
    readonly_fields = ["at", "by", "from_status", "to_status", "note"]


@admin.register(Need)
class NeedAdmin(PolicyAdmin):
    policy_queryset = policy.administrable_needs
    list_display = ["title", "buyer", "theme", "status", "closes_on"]
    list_filter = ["theme", "status", "visibility"]
    search_fields = ["title"]
    raw_id_fields = ["buyer", "delivery_commune", "created_by"]
    inlines = [NeedEventInline]


@admin.register(SupplierProfile)
class SupplierProfileAdmin(PolicyAdmin):
    policy_queryset = policy.visible_supplier_profiles
    list_display = ["establishment", "service_radius_km", "is_active"]
    raw_id_fields = ["establishment"]
    search_fields = ["establishment__name", "capabilities"]


@admin.register(Response)
class ResponseAdmin(PolicyAdmin):
    policy_queryset = policy.visible_responses
    list_display = ["need", "supplier", "created_at", "shortlisted_at", "is_winner"]
    raw_id_fields = ["need", "supplier", "consortium", "author"]
