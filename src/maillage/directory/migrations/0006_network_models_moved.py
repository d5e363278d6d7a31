"""Network and Membership now belong to the networks app (same tables, see networks 0001):
removed from this app's state once nothing points at them here. The database is not touched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0005_establishment_icpe_rubriques"),
        ("events", "0004_network_models_moved"),
        ("marketplace", "0012_need_visibility_network_moved"),
        ("networks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="Network"),
            ],
        ),
    ]
