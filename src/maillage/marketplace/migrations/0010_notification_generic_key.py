"""The duplicate key replaces the need-specific guard; the need and lot columns go (their values
are in the key since 0009, and come back from it backwards)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0009_fill_notification_dedup_key"),
    ]
    # The notifications app takes the table over once it has its final columns.
    run_before = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="notification",
            name="one_notification_per_kind_and_need",
        ),
        migrations.RemoveConstraint(
            model_name="notification",
            name="one_notification_per_kind_and_lot",
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dedup_key", ""), _negated=True),
                fields=("user", "kind", "dedup_key"),
                name="one_notification_per_kind_and_key",
            ),
        ),
        migrations.RemoveField(
            model_name="notification",
            name="lot",
        ),
        migrations.RemoveField(
            model_name="notification",
            name="need",
        ),
    ]
