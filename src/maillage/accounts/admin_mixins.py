"""Admin back-office restricted by the access policy for chamber administrators."""

from __future__ import annotations

from django.contrib import admin


class PolicyAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list is what ``policy_queryset(user)`` returns for non-superusers."""

    policy_queryset = None  # a function(user) -> QuerySet from an app's policy.py

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser or self.policy_queryset is None:
            return qs
        allowed = type(self).policy_queryset(request.user).values("pk")
        return qs.filter(pk__in=allowed)
