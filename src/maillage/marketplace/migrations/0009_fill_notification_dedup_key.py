"""Existing notifications get their duplicate key from the need or lot they were about
("marketplace.lot:34", else "marketplace.need:12", as registry.subject_key writes it). Backwards,
the need and the lot are read back from the key. A migration of its own: on PostgreSQL, the rows
changed here must be committed before the table's columns change (0008, 0010)."""

from django.db import migrations
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

LOT, NEED = "marketplace.lot:", "marketplace.need:"


def keys_from_need_and_lot(apps, schema_editor):
    Notification = apps.get_model("marketplace", "Notification")
    Notification.objects.filter(lot__isnull=False).update(
        dedup_key=Concat(Value(LOT), Cast("lot_id", CharField()))
    )
    Notification.objects.filter(lot__isnull=True, need__isnull=False).update(
        dedup_key=Concat(Value(NEED), Cast("need_id", CharField()))
    )


def need_and_lot_from_keys(apps, schema_editor):
    Notification = apps.get_model("marketplace", "Notification")
    Lot = apps.get_model("marketplace", "Lot")
    Need = apps.get_model("marketplace", "Need")
    rows = list(
        Notification.objects.filter(dedup_key__startswith="marketplace.").only("pk", "dedup_key")
    )
    ids = {(r.pk, r.dedup_key.partition(":")[0]): int(r.dedup_key.partition(":")[2]) for r in rows}
    lot_need = dict(
        Lot.objects.filter(pk__in=[v for (_, k), v in ids.items() if k + ":" == LOT]).values_list(
            "pk", "need_id"
        )
    )
    needs = set(
        Need.objects.filter(pk__in=[v for (_, k), v in ids.items() if k + ":" == NEED]).values_list(
            "pk", flat=True
        )
    )
    changed = []
    for r in rows:
        prefix, _, pk = r.dedup_key.partition(":")
        if prefix + ":" == LOT and int(pk) in lot_need:
            r.lot_id, r.need_id = int(pk), lot_need[int(pk)]
        elif prefix + ":" == NEED and int(pk) in needs:
            r.lot_id, r.need_id = None, int(pk)
        else:
            continue  # a need or lot deleted since: the row stays, about nothing in particular
        changed.append(r)
    Notification.objects.bulk_update(changed, ["need", "lot"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0008_notification_dedup_key"),
    ]

    operations = [
        migrations.RunPython(keys_from_need_and_lot, need_and_lot_from_keys),
    ]
