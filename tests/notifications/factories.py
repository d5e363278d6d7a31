"""Notifications factories (factory_boy): in-app notifications, and a user's choice of how to
hear of a kind.

    NotificationFactory(user=company, kind=NETWORK_NEWS, created_at=last_year)
    NotificationPreferenceFactory(user=company, kind=NEW_NEED, frequency="never")

Notifying for real goes through ``maillage.notifications.notify``.
"""

from __future__ import annotations

import factory

from maillage.notifications.models import Notification, NotificationPreference
from tests.factories import UserFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    """An unread in-app notification, written as it stands (no e-mail, no duplicate key)."""

    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    kind = "network_news"
    title = factory.Sequence(lambda n: f"Notification {n}")


class NotificationPreferenceFactory(factory.django.DjangoModelFactory):
    """A user who wants no notification of ``kind`` (pass ``frequency`` for another choice)."""

    class Meta:
        model = NotificationPreference

    user = factory.SubFactory(UserFactory)
    kind = "new_need"
    frequency = NotificationPreference.Frequency.NEVER
