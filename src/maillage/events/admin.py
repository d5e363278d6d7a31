"""Back-office of events: organisers create events and their registration questions here;
chamber administrators see only the events they organise (policy.organised_events)."""

from django.contrib import admin

from maillage.accounts.admin_mixins import PolicyAdmin
from maillage.events import policy
from maillage.events.models import Event, Question


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 1


@admin.register(Event)
class EventAdmin(PolicyAdmin):
    policy_queryset = policy.organised_events
    list_display = ["title", "starts_at", "place", "capacity", "chamber", "network"]
    list_select_related = ["chamber", "network"]
    list_filter = ["meetings_enabled"]
    search_fields = ["title", "place"]
    inlines = [QuestionInline]
