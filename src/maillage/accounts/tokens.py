"""Creation and checking of API tokens (only their SHA-256 digest is stored)."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from maillage.accounts.models import ApiToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name: str) -> str:
    """A new token for ``user``; the clear value is returned once and never stored."""
    token = "mlg_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, digest=digest(token))
    return token


def user_for(token: str):
    found = (
        ApiToken.objects.select_related("user", "user__chamber")
        .filter(digest=digest(token), user__is_active=True)
        .first()
    )
    if found is None:
        return None
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found.user
