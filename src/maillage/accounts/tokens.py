"""Creation, checking and revocation of API tokens (only their SHA-256 digest is stored).

A token lives ``MAILLAGE_API_TOKEN_DAYS`` days (90 by default) unless given another lifetime, and
can be revoked by its owner at any time; an expired or revoked token is refused."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from maillage.accounts.models import ApiToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime_days() -> int:
    return int(getattr(settings, "MAILLAGE_API_TOKEN_DAYS", 90))


def create_token(user, name: str, days: int | None = None) -> str:
    """A new token for ``user``; the clear value is returned once and never stored."""
    token = "mlg_" + secrets.token_urlsafe(32)
    days = lifetime_days() if days is None else days
    ApiToken.objects.create(
        user=user,
        name=name,
        digest=digest(token),
        expires_at=timezone.now() + timedelta(days=days),
    )
    return token


def valid_tokens():
    now = timezone.now()
    return ApiToken.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def user_for(token: str):
    found = (
        valid_tokens()
        .select_related("user", "user__chamber")
        .filter(digest=digest(token), user__is_active=True)
        .first()
    )
    if found is None:
        return None
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found.user


def revoke(user, pk: int) -> bool:
    """Revoke one of ``user``'s own tokens; False when it is not theirs or already revoked."""
    return bool(
        ApiToken.objects.filter(pk=pk, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )
