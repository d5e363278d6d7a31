"""Second authentication factor (django-otp): a TOTP application and single-use backup codes,
and which users must have one (``MAILLAGE_OTP_REQUIRED_ROLES``)."""

from __future__ import annotations

import io
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

# In MAILLAGE_OTP_REQUIRED_ROLES, stands for every superuser whatever their role.
SUPERUSER = "superuser"
BACKUP_CODES = 10
TOTP_NAME = "Application d'authentification"
BACKUP_NAME = "Codes de secours"


def required_for(user) -> bool:
    """Must this user have a second factor before using the site?"""
    roles = settings.MAILLAGE_OTP_REQUIRED_ROLES
    if not roles or not user.is_authenticated:
        return False
    return user.role in roles or (user.is_superuser and SUPERUSER in roles)


def has_device(user) -> bool:
    """Has the user confirmed a second factor (then every login asks for a code)?"""
    return user_has_device(user, confirmed=True)


def enrolled_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_totp(user) -> TOTPDevice:
    """The TOTP device being enrolled: the same secret until it is confirmed or removed, so that
    reloading the page does not invalidate the QR code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret in base 32 by groups of four, for applications where it is typed in."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: TOTPDevice) -> bytes:
    """The otpauth:// address of the device as an SVG QR code (made here, no external service)."""
    out = io.BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()


def _clean(code: str) -> str:
    return "".join(code.split()).lower()


def confirm(device: TOTPDevice, code: str) -> bool:
    """Confirm an enrolment with the first code the application shows."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(_clean(code)):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def new_backup_codes(user) -> list[str]:
    """Replace the user's backup codes by new ones (each works once); returned in clear once."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_NAME, defaults={"confirmed": True}
    )
    codes = [StaticToken.random_token() for _i in range(BACKUP_CODES)]
    with transaction.atomic():
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user, code: str):
    """(device, None) when ``code`` is valid for one of the user's confirmed devices, else
    (None, French message). Each device throttles wrong codes (django-otp: the wait doubles)."""
    code = _clean(code)
    throttled = False
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if isinstance(device, TOTPDevice) and not (
                code.isdigit() and len(code) == device.digits
            ):
                continue  # a backup code: not a wrong code for the application
            allowed, _info = device.verify_is_allowed()
            if not allowed:
                throttled = True
                continue
            if device.verify_token(code):
                return device, None
    if throttled:
        return None, _(
            "Trop de codes erronés : attendez quelques secondes avant d'en saisir un nouveau."
        )
    return None, _("Code de vérification incorrect.")


def disable(user) -> None:
    """Remove every second factor of the user (application and backup codes)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
