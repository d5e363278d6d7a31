"""Issue 17.11: a need's status changed by platform staff is in the audit log; the buyer's own
changes are not (they are in the need's history)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import AuditLog
from maillage.marketplace import services
from maillage.marketplace.models import Need
from tests.factories import SuperuserFactory
from tests.marketplace.factories import NeedFactory

pytestmark = pytest.mark.django_db


def test_staff_status_changes_of_a_need_are_audited(market, django_capture_on_commit_callbacks):
    buyer = market["buyer"]
    need = NeedFactory(
        buyer=buyer,
        theme="purchasing",
        kind="service",
        title="Tournage de bagues",
        description="Bagues en bronze.",
        category="mechanics",
        closes_on=timezone.localdate() + datetime.timedelta(days=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(market["users"]["buyer"], need)  # the buyer: its own data
    assert not AuditLog.objects.filter(action=AuditLog.Action.CHANGE_NEED).exists()
    root = SuperuserFactory(username="root")
    services.transition(root, need, Need.Status.NOT_AWARDED, "Doublon")
    entry = AuditLog.objects.get(action=AuditLog.Action.CHANGE_NEED)
    assert (entry.user, entry.establishment) == (root, buyer)
    assert entry.detail == f"besoin {need.pk} : published → not_awarded"
