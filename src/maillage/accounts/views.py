"""The signed-in user's own API tokens: list, create (the value is shown once), revoke.

Who: any signed-in user, for their own tokens only; another user's token is never listed and
cannot be revoked (404); anonymous visitors go to the login page.

A token does not ask for the second factor: it is a credential the user made after signing in.
So a user who has a second factor can create one only from a session verified by it (otherwise
a stolen password alone, through an unverified session, would yield a token)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from maillage.accounts import tokens, two_factor


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom du jeton"), max_length=100)
    days = forms.IntegerField(
        label=gettext_lazy("Durée de validité (jours)"), min_value=1, max_value=365
    )


@login_required
def api_tokens(request):
    created = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if two_factor.has_device(request.user) and not request.user.is_verified():
            form.add_error(
                None,
                _(
                    "Confirmez d'abord votre connexion avec votre code de vérification "
                    "(double authentification) : un jeton ne peut être créé qu'ainsi."
                ),
            )
        elif form.is_valid():
            created = tokens.create_token(
                request.user, form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
            form = TokenForm(initial={"days": tokens.lifetime_days()})
    else:
        form = TokenForm(initial={"days": tokens.lifetime_days()})
    now = timezone.now()
    rows = [
        {
            "token": t,
            "valid": t.is_valid(now),
            "expired": t.expires_at is not None and t.expires_at <= now,
        }
        for t in request.user.api_tokens.all()
    ]
    return render(
        request, "accounts/api_tokens.html", {"form": form, "rows": rows, "created": created}
    )


@login_required
@require_POST
def api_token_revoke(request, pk: int):
    if not tokens.revoke(request.user, pk):
        raise Http404
    messages.success(request, _("Jeton révoqué : il ne donne plus accès à l'API."))
    return redirect("api-tokens")
