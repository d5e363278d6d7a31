from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from maillage.accounts import policy
from maillage.accounts.admin_mixins import PolicyAdmin
from maillage.accounts.models import Chamber, DataSharingAgreement, TerritoryCommune, User

# django-otp's back-office pages show every user's TOTP secret and QR code to whoever may view
# devices: a second factor stays its owner's alone (a lost phone: `manage.py disable_two_factor`).
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class TerritoryInline(admin.TabularInline):
    model = TerritoryCommune
    raw_id_fields = ["commune"]
    extra = 0


@admin.register(Chamber)
class ChamberAdmin(PolicyAdmin):
    policy_queryset = policy.visible_chambers
    list_display = ["name", "kind", "siren"]
    search_fields = ["name", "siren"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TerritoryInline]


@admin.register(DataSharingAgreement)
class DataSharingAgreementAdmin(admin.ModelAdmin):
    list_display = ["chamber_a", "chamber_b", "scope", "start", "end"]
    list_select_related = ["chamber_a", "chamber_b"]


@admin.register(User)
class UserAdmin(PolicyAdmin, BaseUserAdmin):
    policy_queryset = policy.visible_users
    list_display = ["username", "email", "first_name", "last_name", "role", "chamber", "is_active"]
    list_select_related = ["chamber"]
    list_filter = ["role", "chamber", "is_active"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Rôle dans Maillage"), {"fields": ["role", "chamber", "establishments"]}),
    )
    raw_id_fields = ["establishments"]
