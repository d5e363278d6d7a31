"""Signing in with an optional second factor, and the « Double authentification » page.

Who: the login and its second step are public (the visitor is not signed in yet); the second
step only ever concerns the user whose password was just checked in this session. The
enrolment page and its QR code concern the signed-in user alone (no id in the URL, so nobody
can ask for someone else's secret); anonymous visitors go to the login page."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_safe

from maillage.accounts import two_factor

# Session key of a login waiting for its second factor: the user whose password was right.
PENDING = "maillage_2fa_pending"
PENDING_SECONDS = 300
# Wrong codes allowed for one password check before the password is asked again; each one also
# counts as a failed login for django-axes (the account locks as for wrong passwords).
MAX_CODE_FAILURES = 5


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code de vérification"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text=gettext_lazy(
            "Le code à 6 chiffres de votre application d'authentification, ou un code de secours."
        ),
    )


def _next_url(request) -> str:
    url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


class LoginView(auth_views.LoginView):
    """Django's login; a user with a confirmed second factor is not signed in yet but sent to
    the second step."""

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_device(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "failures": 0,
        }
        url = reverse("login-verify")
        if next_url := self.get_redirect_url():
            url += "?" + urlencode({REDIRECT_FIELD_NAME: next_url})
        return redirect(url)


def _pending_user(request):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


@login_not_required
@never_cache
@sensitive_post_parameters("code")
def login_verify(request):
    """Second step of the login: « Code de vérification ». Also where a signed-in user who must
    use their second factor but whose session did not is sent."""
    if request.user.is_authenticated:
        if request.user.is_verified() or not two_factor.has_device(request.user):
            return redirect(_next_url(request))
        user = request.user
    else:
        user = _pending_user(request)
        if user is None:
            request.session.pop(PENDING, None)
            messages.error(
                request,
                _(
                    "Votre connexion a expiré : saisissez de nouveau votre identifiant et "
                    "votre mot de passe."
                ),
            )
            return redirect_to_login(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, error = two_factor.verify(user, form.cleaned_data["code"])
        if device is not None:
            if not request.user.is_authenticated:
                auth_login(request, user, backend=request.session[PENDING]["backend"])
            request.session.pop(PENDING, None)
            django_otp.login(request, device)
            return redirect(_next_url(request))
        form.add_error("code", error)
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
        if PENDING in request.session:
            pending = request.session[PENDING]
            pending["failures"] += 1
            request.session.modified = True
            if pending["failures"] >= MAX_CODE_FAILURES:
                request.session.pop(PENDING)
                messages.error(
                    request,
                    _("Trop de codes erronés : saisissez de nouveau votre mot de passe."),
                )
                return redirect_to_login(_next_url(request))
    return render(
        request,
        "registration/login_verify.html",
        {"form": form, "next": request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get("next")},
    )


@login_not_required
def admin_login(request):
    """The back-office's own login form would skip the second factor: it is the site's login."""
    return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))


@login_required
@never_cache
@sensitive_post_parameters("code")
def two_factor_settings(request):
    """« Double authentification »: enrol an application (QR code, secret, first code), get new
    backup codes, or turn it off — each with a valid code."""
    user = request.user
    enrolled = two_factor.enrolled_totp(user)
    form = CodeForm(request.POST or None)
    codes = None
    action = request.POST.get("action")
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if action == "confirm" and enrolled is None:
            device = two_factor.pending_totp(user)
            if two_factor.confirm(device, code):
                codes = two_factor.new_backup_codes(user)
                django_otp.login(request, device)
                enrolled = device
                form = CodeForm()
                messages.success(
                    request,
                    _("Double authentification activée : chaque connexion vous demandera un code."),
                )
            else:
                form.add_error(
                    "code",
                    _(
                        "Code incorrect : vérifiez que l'heure de votre téléphone est juste et "
                        "saisissez le code affiché."
                    ),
                )
        elif action in ("disable", "backup") and enrolled is not None:
            device, error = two_factor.verify(user, code)
            if device is None:
                form.add_error("code", error)
            elif action == "disable":
                two_factor.disable(user)
                request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
                messages.success(request, _("Double authentification désactivée."))
                return redirect("two-factor")
            else:
                django_otp.login(request, device)
                codes = two_factor.new_backup_codes(user)
                form = CodeForm()
        else:
            form.add_error(None, _("Action inconnue : rechargez la page et recommencez."))
    context = {
        "form": form,
        "enrolled": enrolled,
        "codes": codes,
        "required": two_factor.required_for(user),
    }
    if enrolled is None:
        device = two_factor.pending_totp(user)
        context["secret"] = two_factor.secret_text(device)
    else:
        context["backup_left"] = two_factor.backup_codes_left(user)
    return render(request, "accounts/two_factor.html", context)


@login_required
@never_cache
@require_safe
def two_factor_qr(request):
    """The QR code of the signed-in user's enrolment in progress (none once it is confirmed)."""
    if two_factor.enrolled_totp(request.user) is not None:
        raise Http404
    device = two_factor.pending_totp(request.user)
    response = HttpResponse(two_factor.qr_svg(device), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store, private"
    return response
