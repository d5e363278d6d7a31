"""The registry: each app's kinds are registered at start-up, in their sections' order; a code
cannot mean two kinds; the duplicate key works for any object, not only a need."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from maillage.directory.notifications import EXPORT
from maillage.events.notifications import EVENT_REMINDER, EVENTS
from maillage.marketplace.notifications import MARKETPLACE, NEW_NEED
from maillage.networks.notifications import NETWORKS
from maillage.notifications import notify, registry
from maillage.notifications.models import Notification, NotificationPreference
from maillage.notifications.registry import Kind, Section, subject_key
from maillage.privacy.notifications import ACCOUNT
from maillage.synergies.notifications import SYNERGIES
from tests.factories import ChamberFactory, UserFactory


def test_every_app_registered_its_kinds_in_the_order_of_its_section():
    sections = list(dict.fromkeys(k.section for k in registry.kinds()))
    assert sections == [MARKETPLACE, EVENTS, NETWORKS, EXPORT, SYNERGIES, ACCOUNT]
    assert registry.kinds()[0].code == NEW_NEED
    assert len(registry.REGISTRY) == 21


def test_registering_again_is_harmless_but_a_code_cannot_mean_two_kinds():
    known = registry.REGISTRY[NEW_NEED]
    registry.register(known)
    assert registry.REGISTRY[NEW_NEED] is known
    other = Kind(NEW_NEED, "Autre chose", Section("Ailleurs", order=99))
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register(other)
    with pytest.raises(ImproperlyConfigured, match="too long"):
        registry.register(Kind("x" * 31, "Trop long", known.section))
    assert registry.REGISTRY[NEW_NEED] is known and "x" * 31 not in registry.REGISTRY


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown notification kind"):
        registry.get("nothing_like_it")


@pytest.mark.django_db
def test_the_duplicate_key_holds_for_any_object():
    chamber = ChamberFactory(slug="cci-r", departement="77")
    user = UserFactory(username="lecteur", chamber=chamber)
    key = subject_key(chamber)
    assert key == f"accounts.chamber:{chamber.pk}"
    once = {"title": "Rappel", "body": "", "url": "/"}
    assert len(notify([user], EVENT_REMINDER, dedup_key=key, **once)) == 1
    assert notify([user], EVENT_REMINDER, dedup_key=key, **once) == []
    # Another kind about the same object, or no key at all, is another notification.
    assert len(notify([user], NEW_NEED, dedup_key=key, **once)) == 1
    assert len(notify([user], EVENT_REMINDER, **once)) == 1
    assert len(notify([user], EVENT_REMINDER, **once)) == 1
    assert Notification.objects.filter(user=user).count() == 4


def test_the_notification_rows_point_at_users_only():
    # A foreign key to a domain app's model would tie this lower layer to it, import or not.
    for model in (Notification, NotificationPreference):
        related = {f.related_model._meta.label for f in model._meta.get_fields() if f.is_relation}
        assert related == {"accounts.User"}
