from django.contrib import admin

from maillage.accounts.admin_mixins import PolicyAdmin
from maillage.flows import policy
from maillage.flows.forms import FlowForm
from maillage.flows.models import Flow, Visit


class FlowInline(admin.TabularInline):
    model = Flow
    extra = 0
    raw_id_fields = ["establishment", "resource_class", "waste_code"]
    fields = ["direction", "category", "resource_class", "waste_code", "quantity", "unit", "period"]


@admin.register(Visit)
class VisitAdmin(PolicyAdmin):
    policy_queryset = policy.visible_visits
    list_display = ["establishment", "advisor", "date"]
    list_select_related = ["establishment", "advisor"]
    raw_id_fields = ["establishment"]
    date_hierarchy = "date"
    inlines = [FlowInline]


@admin.register(Flow)
class FlowAdmin(PolicyAdmin):
    policy_queryset = policy.visible_flows
    form = FlowForm
    list_display = [
        "establishment",
        "direction",
        "category",
        "resource_class",
        "quantity",
        "unit",
        "period",
    ]
    list_select_related = ["establishment", "resource_class"]
    list_filter = ["direction", "category", "is_archived"]
    raw_id_fields = ["establishment", "visit"]
    readonly_fields = ["yearly_quantity", "canonical_unit"]
