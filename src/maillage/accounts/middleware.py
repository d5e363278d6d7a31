"""Mandatory second factor: users of ``MAILLAGE_OTP_REQUIRED_ROLES`` reach nothing but their
enrolment (or the code of the second step) until their session is verified."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from maillage.accounts import two_factor

# What an unverified user of a required role may still open: enrol, give a code, leave.
ALLOWED_URL_NAMES = {"two-factor", "two-factor-qr", "login", "login-verify", "logout", "health"}


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Empty by default: then nothing is read for any request.
        if not settings.MAILLAGE_OTP_REQUIRED_ROLES:
            return None
        user = request.user
        match = request.resolver_match
        if not two_factor.required_for(user) or match.url_name in ALLOWED_URL_NAMES:
            return None
        if user.is_verified():
            return None
        if match.namespace == "api":
            # Session calls only: a personal token is checked by the API itself, and only a
            # verified session can create one.
            return JsonResponse(
                {"detail": _("Double authentification requise : activez-la sur le site.")},
                status=403,
            )
        if two_factor.has_device(user):
            return redirect("login-verify")
        return redirect("two-factor")
