"""Notifications get a generic duplicate key (issue 14): what a notification is about, whatever
the app. Filled by 0009; the need-specific guard is replaced by 0010."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0007_consortiumsuggestions_background_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="dedup_key",
            field=models.CharField(
                blank=True, default="", max_length=100, verbose_name="clé d'unicité"
            ),
        ),
    ]
