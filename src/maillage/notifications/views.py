"""The notifications page: the user's latest notifications and their e-mail preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from maillage.notifications import selectors, services
from maillage.notifications.forms import PreferencesForm


@login_required
def notification_list(request):
    """Who: each user sees only their own notifications and preferences."""
    form = PreferencesForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.save_preferences(request.user, form.cleaned_data)
        messages.success(request, _("Préférences enregistrées."))
        return redirect("notifications:list")
    items = selectors.latest_for(request.user)
    services.mark_all_read(request.user)
    return render(request, "notifications/notifications.html", {"items": items, "form": form})
