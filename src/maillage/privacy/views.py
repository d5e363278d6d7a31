"""Rights of access and erasure in the product (docs/privacy.md).

Who (accounts.policy, « Personal data »):
- « Mes données personnelles », its export and erasure request: the signed-in user, for
  themselves only;
- a user's export and erasure, and the list of users: platform staff, and a chamber
  administrator for the users of their chamber (``privacy_managed_users``); anyone else gets 404
  for a user (403 for the list);
- a contact's export and erasure: chamber staff who may edit its establishment, platform staff;
  anyone else gets 404.
Anonymous visitors are sent to the login page. Erasures are POST only (CSRF) behind a
confirmation form."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.accounts.models import User
from maillage.directory.models import Contact
from maillage.privacy import policy, services


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("Je confirme l'effacement définitif de ces données personnelles"),
        error_messages={"required": gettext_lazy("Cochez la case pour confirmer l'effacement.")},
    )


class OwnErasureForm(ConfirmForm):
    password = forms.CharField(
        label=gettext_lazy("Votre mot de passe"), widget=forms.PasswordInput, strip=False
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Mot de passe incorrect."))
        return password


def _posted(request):
    """The POST data, also when empty (an empty POST is a refused confirmation, not a GET)."""
    return request.POST if request.method == "POST" else None


def _download(data: dict, name: str) -> HttpResponse:
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.json"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- The signed-in user's own data --------------------------------------------------------------


@login_required
def my_data(request):
    return render(
        request,
        "privacy/my_data.html",
        {
            "direct": policy.erases_own_account_directly(request.user),
            "may_request": policy.can_request_own_erasure(request.user),
        },
    )


@login_required
def my_data_export(request):
    data = services.export_user(request.user, request.user)
    return _download(data, "mes-donnees-maillage")


@login_required
def my_data_erase(request):
    if not policy.can_request_own_erasure(request.user):
        raise PermissionDenied(
            _("Un compte d'administration de la plateforme est effacé par un autre administrateur.")
        )
    direct = policy.erases_own_account_directly(request.user)
    form = OwnErasureForm(request.user, _posted(request))
    if request.method == "POST" and form.is_valid():
        if direct:
            services.erase_user(request.user, request.user)
            logout(request)
            messages.success(
                request,
                _(
                    "Votre compte a été effacé : vos données personnelles sont supprimées, les "
                    "données des établissements sont conservées."
                ),
            )
            return redirect("home")
        notified = services.request_erasure(request.user)
        messages.success(
            request,
            _(
                "Votre demande d'effacement a été transmise (%(n)d destinataire(s)) ; elle sera "
                "traitée dans un délai d'un mois."
            )
            % {"n": notified},
        )
        return redirect("privacy-mine")
    return render(request, "privacy/my_data_erase.html", {"form": form, "direct": direct})


# --- Users of a chamber --------------------------------------------------------------------------


@login_required
def user_list(request):
    if not policy.can_list_managed_users(request.user):
        raise PermissionDenied
    users = policy.privacy_managed_users(request.user)
    page = Paginator(users.select_related("chamber").order_by("username", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "privacy/user_list.html", {"page": page})


def _managed_user(request, pk: int) -> User:
    return get_object_or_404(policy.privacy_managed_users(request.user), pk=pk)


@login_required
def user_export(request, pk: int):
    subject = _managed_user(request, pk)
    data = services.export_user(request.user, subject)
    return _download(data, f"donnees-utilisateur-{subject.pk}")


@login_required
def user_erase(request, pk: int):
    subject = _managed_user(request, pk)
    if services.is_erased(subject):
        messages.info(request, _("Ce compte est déjà effacé."))
        return redirect("privacy-users")
    form = ConfirmForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        services.erase_user(request.user, subject)
        messages.success(
            request,
            _(
                "Compte effacé : son identité est remplacée par « %(name)s », ses jetons, "
                "sessions et notifications sont supprimés ; les données des établissements "
                "sont conservées."
            )
            % {"name": services.pseudonym(subject)},
        )
        return redirect("privacy-users")
    return render(request, "privacy/user_erase.html", {"form": form, "subject": subject})


# --- Contacts of an establishment ----------------------------------------------------------------


def _managed_contact(request, pk: int) -> Contact:
    contact = get_object_or_404(
        Contact.objects.select_related("establishment__commune__territory"), pk=pk
    )
    if not policy.can_manage_contact_data(request.user, contact):
        raise Http404
    return contact


@login_required
def contact_export(request, pk: int):
    contact = _managed_contact(request, pk)
    data = services.export_contact(request.user, contact)
    return _download(data, f"donnees-contact-{contact.pk}")


@login_required
def contact_erase(request, pk: int):
    contact = _managed_contact(request, pk)
    establishment = contact.establishment
    form = ConfirmForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        services.erase_contact(request.user, contact)
        messages.success(
            request,
            _(
                "Contact effacé : ses données personnelles sont supprimées ; les données de "
                "l'établissement sont conservées."
            ),
        )
        return redirect("establishment-detail", establishment.pk)
    return render(request, "privacy/contact_erase.html", {"form": form, "contact": contact})
