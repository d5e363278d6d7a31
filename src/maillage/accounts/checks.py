"""System checks of the accounts settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from maillage.accounts.models import User
from maillage.accounts.two_factor import SUPERUSER


@register()
def otp_required_roles(app_configs, **kwargs):
    known = {*User.Role.values, SUPERUSER}
    unknown = sorted(set(settings.MAILLAGE_OTP_REQUIRED_ROLES) - known)
    if not unknown:
        return []
    return [
        Error(
            f"MAILLAGE_OTP_REQUIRED_ROLES: unknown role(s) {', '.join(unknown)}",
            hint=f"Use a comma-separated list of {', '.join(sorted(known))}.",
            id="maillage.E001",
        )
    ]
