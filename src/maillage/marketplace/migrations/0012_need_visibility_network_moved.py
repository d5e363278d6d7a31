"""A need's audience network is networks.Network (the same table, see networks 0001). State
only: the database is not touched."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0011_notifications_move_to_their_app"),
        ("networks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="need",
                    name="visibility_network",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="networks.network",
                        verbose_name="réseau",
                    ),
                ),
            ],
        ),
    ]
