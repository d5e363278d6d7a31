"""Admin back-office restricted by the access policy for chamber administrators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet


class PolicyAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list is what ``policy_queryset(user)`` returns for non-superusers."""

    # A function(user) -> QuerySet from an app's policy.py (a plain function, not a method).
    policy_queryset: ClassVar[Callable[[Any], QuerySet[Any]] | None] = None

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        visible = type(self).policy_queryset
        if request.user.is_superuser or visible is None:
            return qs
        allowed = visible(request.user).values("pk")
        return qs.filter(pk__in=allowed)
