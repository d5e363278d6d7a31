"""Accounts factories (factory_boy) beyond the core ones of ``tests.factories`` (chambers, users,
agreements): entries of the audit log, two-factor devices, failed sign-in attempts.

    AuditLogFactory(user=advisor, establishment=e77, at=last_year)
    device = TOTPDeviceFactory(user=advisor)            # enrolled: codes from device.bin_key

Logging for real goes through ``maillage.accounts.services``.
"""

from __future__ import annotations

import factory
from axes.models import AccessAttempt
from django_otp.plugins.otp_totp.models import TOTPDevice

from maillage.accounts.models import AuditLog, User
from tests.factories import EstablishmentFactory, UserFactory


class AuditLogFactory(factory.django.DjangoModelFactory):
    """An advisor's view of an establishment's flows, now."""

    class Meta:
        model = AuditLog

    user = factory.SubFactory(UserFactory, role=User.Role.ADVISOR)
    establishment = factory.SubFactory(EstablishmentFactory)
    action = AuditLog.Action.VIEW_FLOWS


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed authenticator application (django-otp TOTP, with a random key of its own)."""

    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "app"
    confirmed = True


class AccessAttemptFactory(factory.django.DjangoModelFactory):
    """One failed sign-in of ``username`` (django-axes), from a documentation address."""

    class Meta:
        model = AccessAttempt

    username = factory.Sequence(lambda n: f"user-{n}")
    ip_address = "192.0.2.1"
    user_agent = "x"
    failures_since_start = 1
