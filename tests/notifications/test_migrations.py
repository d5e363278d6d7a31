"""The notification rows change app without moving (issue 14): rows written by the previous code
(need- and lot-bound, or bound to nothing) keep their ids and values, get their duplicate key,
and come back with their need and lot when migrated backwards — on the test database, SQLite or
PostgreSQL, whichever the suite runs on."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import Chamber, User
from maillage.directory.models import Establishment
from maillage.marketplace.notifications import LOT_AWARD, OUTCOME
from maillage.notifications import notify
from maillage.notifications.models import Notification, NotificationPreference
from maillage.notifications.registry import subject_key
from tests.migrating import leaves, migrate

BEFORE = [
    ("marketplace", "0007_consortiumsuggestions_background_run"),
    ("notifications", None),
]


def _values(rows):
    return {
        r.pk: (r.user_id, r.kind, r.title, r.body, r.url, r.created_at, r.read_at, r.email_due)
        for r in rows
    }


@pytest.mark.django_db(transaction=True)
def test_notifications_change_app_keep_their_rows_and_get_their_key(reference_data):
    t1 = timezone.now() - datetime.timedelta(days=2)
    try:
        old = migrate(BEFORE)
        chamber = Chamber.objects.create(slug="cci-n", name="CCI N")
        buyer = Establishment.objects.create(
            siret="73282932000074", name="Acheteur", naf_id="16.10A", commune_id="77288"
        )
        user = User.objects.create(username="lecteur", email="l@example.test", chamber=chamber)
        need = old.get_model("marketplace", "Need").objects.create(
            buyer_id=buyer.pk,
            theme="purchasing",
            kind="product",
            title="Pièces",
            description="d",
            closes_on=t1.date(),
        )
        lot = old.get_model("marketplace", "Lot").objects.create(
            need=need, number=1, title="Lot 1", category="mechanical"
        )
        rows = old.get_model("marketplace", "Notification").objects
        about_need = rows.create(
            user_id=user.pk, kind=OUTCOME, need=need, title="Issue", url="/n/", created_at=t1
        )
        about_lot = rows.create(
            user_id=user.pk, kind=LOT_AWARD, need=need, lot=lot, title="Lot", read_at=t1
        )
        about_nothing = rows.create(user_id=user.pk, kind="event_registration", title="Inscrit")
        old.get_model("marketplace", "NotificationPreference").objects.create(
            user_id=user.pk, kind=LOT_AWARD, frequency="daily"
        )
        before = _values(rows.all())

        migrate(leaves())
        assert _values(Notification.objects.all()) == before
        keys = dict(Notification.objects.values_list("pk", "dedup_key"))
        assert keys == {
            about_need.pk: f"marketplace.need:{need.pk}",
            about_lot.pk: f"marketplace.lot:{lot.pk}",
            about_nothing.pk: "",
        }
        Lot = old.get_model("marketplace", "Lot")
        assert keys[about_lot.pk] == subject_key(Lot(pk=lot.pk))
        assert list(NotificationPreference.objects.values_list("user_id", "kind", "frequency")) == [
            (user.pk, LOT_AWARD, "daily")
        ]
        # The migrated key guards against a second notification of the same lot, not of another.
        assert (
            notify([user], LOT_AWARD, title="x", body="", url="", dedup_key=keys[about_lot.pk])
            == []
        )
        assert notify([user], LOT_AWARD, title="x", body="", url="", dedup_key="x") != []

        back = migrate(BEFORE)
        rows = back.get_model("marketplace", "Notification").objects
        assert rows.count() == 4
        restored = {r.pk: (r.need_id, r.lot_id) for r in rows.filter(pk__in=before)}
        assert restored == {
            about_need.pk: (need.pk, None),
            about_lot.pk: (need.pk, lot.pk),
            about_nothing.pk: (None, None),
        }
        assert _values(rows.filter(pk__in=before)) == before
    finally:
        migrate(leaves())
