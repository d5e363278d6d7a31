"""What the notification pages show: a user's own notifications, never anyone else's."""

from __future__ import annotations

from maillage.notifications.models import Notification


def latest_for(user, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-pk")[:limit])


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
