"""Notification and NotificationPreference now belong to the notifications app (issue 14): they
leave the marketplace's state only; their tables, rows and names stay (db_table). The content
types follow them, so that admin permissions and log entries keep pointing at them."""

from django.db import migrations

MODELS = ("notification", "notificationpreference")


def _move_content_types(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def forwards(apps, schema_editor):
    _move_content_types(apps, "marketplace", "notifications")


def backwards(apps, schema_editor):
    _move_content_types(apps, "notifications", "marketplace")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("marketplace", "0010_notification_generic_key"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Notification"),
                migrations.DeleteModel(name="NotificationPreference"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
