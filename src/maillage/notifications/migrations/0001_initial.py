"""The notifications app takes over the two tables the marketplace app created
(marketplace_notification, marketplace_notificationpreference): state only, no table created,
no row moved. The marketplace's migrations run first (their 0010 says so) and drop the models
from their state afterwards (0011)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=30, verbose_name="type")),
                        (
                            "dedup_key",
                            models.CharField(
                                blank=True,
                                default="",
                                max_length=100,
                                verbose_name="clé d'unicité",
                            ),
                        ),
                        ("title", models.CharField(max_length=255, verbose_name="titre")),
                        ("body", models.TextField(blank=True, verbose_name="texte")),
                        ("url", models.CharField(blank=True, max_length=255)),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_index=True, default=django.utils.timezone.now
                            ),
                        ),
                        ("read_at", models.DateTimeField(blank=True, null=True)),
                        ("email_due", models.BooleanField(default=False)),
                        ("emailed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "notification",
                        "verbose_name_plural": "notifications",
                        "db_table": "marketplace_notification",
                        "ordering": ["-created_at", "-pk"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("dedup_key", ""), _negated=True),
                                fields=("user", "kind", "dedup_key"),
                                name="one_notification_per_kind_and_key",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="NotificationPreference",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=30, verbose_name="type")),
                        (
                            "frequency",
                            models.CharField(
                                choices=[
                                    ("immediate", "immédiatement"),
                                    ("daily", "résumé quotidien"),
                                    ("never", "jamais"),
                                ],
                                default="immediate",
                                max_length=10,
                                verbose_name="fréquence",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notification_preferences",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "préférence de notification",
                        "verbose_name_plural": "préférences de notification",
                        "db_table": "marketplace_notificationpreference",
                        "ordering": ["user_id", "kind"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "kind"), name="one_preference_per_kind"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
