"""The networks app takes over four models without moving a row: Network and Membership (from
directory), NetworkPost and NetworkDocument (from events). Their tables keep their names
(``db_table``), so the database is not touched: the models are created in the migration state
only, and deleted from the old apps' states by directory 0006 and events 0004 (after events 0004
and marketplace 0008 point their foreign keys here). The content types follow the models, so
that permissions and the back-office history stay attached to them."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# (app the model comes from, model name)
MOVED = [
    ("directory", "network"),
    ("directory", "membership"),
    ("events", "networkpost"),
    ("events", "networkdocument"),
]


def _relabel(apps, schema_editor, forward: bool) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(
        schema_editor.connection.alias
    )
    for app_label, model in MOVED:
        source, target = (app_label, "networks") if forward else ("networks", app_label)
        if content_types.filter(app_label=target, model=model).exists():
            continue  # already there (created by a post_migrate signal): leave both as they are
        content_types.filter(app_label=source, model=model).update(app_label=target)
    content_types.clear_cache()


def relabel_content_types(apps, schema_editor):
    _relabel(apps, schema_editor, forward=True)


def restore_content_types(apps, schema_editor):
    _relabel(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0006_api_token_expiry_revocation"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("directory", "0005_establishment_icpe_rubriques"),
        ("events", "0003_schedulerun_background_run"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Network",
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
                        ("name", models.CharField(max_length=200, unique=True, verbose_name="nom")),
                        (
                            "kind",
                            models.CharField(
                                choices=[("club", "club"), ("federation", "fédération")],
                                default="club",
                                max_length=12,
                                verbose_name="type",
                            ),
                        ),
                        ("description", models.TextField(blank=True, verbose_name="description")),
                        (
                            "animators",
                            models.ManyToManyField(
                                blank=True,
                                related_name="animated_networks",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="animateurs",
                            ),
                        ),
                        (
                            "chamber",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="networks",
                                to="accounts.chamber",
                                verbose_name="chambre porteuse",
                            ),
                        ),
                        (
                            "federation",
                            models.ForeignKey(
                                blank=True,
                                limit_choices_to={"kind": "federation"},
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="clubs",
                                to="networks.network",
                                verbose_name="fédération",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "réseau",
                        "verbose_name_plural": "réseaux",
                        "db_table": "directory_network",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="Membership",
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
                        ("since", models.DateField(verbose_name="membre depuis")),
                        (
                            "establishment",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="directory.establishment",
                                verbose_name="établissement",
                            ),
                        ),
                        (
                            "network",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="networks.network",
                                verbose_name="réseau",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "adhésion",
                        "verbose_name_plural": "adhésions",
                        "db_table": "directory_membership",
                        "ordering": ["network_id", "establishment_id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("establishment", "network"), name="unique_membership"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="NetworkPost",
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
                        ("title", models.CharField(max_length=200, verbose_name="titre")),
                        ("body", models.TextField(verbose_name="texte")),
                        (
                            "published_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="publié le"
                            ),
                        ),
                        (
                            "author",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "network",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="posts",
                                to="networks.network",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "actualité de réseau",
                        "verbose_name_plural": "actualités de réseau",
                        "db_table": "events_networkpost",
                        "ordering": ["-published_at", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="NetworkDocument",
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
                        ("title", models.CharField(max_length=200, verbose_name="titre")),
                        (
                            "file",
                            models.FileField(upload_to="reseaux/%Y/", verbose_name="fichier"),
                        ),
                        (
                            "uploaded_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="déposé le"
                            ),
                        ),
                        (
                            "network",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="documents",
                                to="networks.network",
                            ),
                        ),
                        (
                            "uploaded_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "document de réseau",
                        "verbose_name_plural": "documents de réseau",
                        "db_table": "events_networkdocument",
                        "ordering": ["-uploaded_at", "-pk"],
                    },
                ),
            ],
        ),
        migrations.RunPython(relabel_content_types, restore_content_types),
    ]
