"""NetworkPost and NetworkDocument now belong to the networks app (same tables, see networks
0001); an event's network is networks.Network. State only: the database is not touched."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_schedulerun_background_run"),
        ("networks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="network",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="networks.network",
                        verbose_name="réseau organisateur",
                    ),
                ),
                migrations.DeleteModel(name="NetworkDocument"),
                migrations.DeleteModel(name="NetworkPost"),
            ],
        ),
    ]
