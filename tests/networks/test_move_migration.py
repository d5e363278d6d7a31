"""The networks app took over four models without moving a row: a database migrated with the
previous migrations and filled with the demo territory, then migrated with the networks app's,
has the same tables, columns, constraints and row counts in every table; the moved models read
the same rows, the content types follow the models, and the way back keeps everything too. Runs
on the suite's database, SQLite or PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from maillage.ingest.demo import load_demo
from maillage.marketplace.models import Need
from maillage.networks.models import Network, NetworkDocument

# the last migrations before the move of the apps it touches, and no networks app yet
BEFORE = [
    ("directory", "0005_establishment_icpe_rubriques"),
    ("events", "0003_schedulerun_background_run"),
    ("marketplace", "0011_notifications_move_to_their_app"),
    ("networks", None),
]
MOVED = {
    "network": "directory",
    "membership": "directory",
    "networkpost": "events",
    "networkdocument": "events",
}


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    nodes = [(app, name) for app, name in targets if name is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def row_counts() -> dict[str, int]:
    """Rows per table, but the migration history (the four migrations of the move are added)."""
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            if table == "django_migrations":
                continue
            # A table name from the introspection, quoted.
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
        return counts


def schema() -> dict[str, tuple]:
    """Each table's columns (name, type, nullable) and constraints (columns, keys, targets)."""
    out = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            columns = tuple(
                (c.name, c.type_code, c.null_ok)
                for c in connection.introspection.get_table_description(cursor, table)
            )
            constraints = sorted(
                (
                    tuple(c["columns"]),
                    bool(c["primary_key"]),
                    bool(c["unique"]),
                    tuple(c["foreign_key"] or ()),
                    bool(c["index"]),
                )
                for c in connection.introspection.get_constraints(cursor, table).values()
            )
            out[table] = (columns, tuple(constraints))
    return out


def _content_types(app_label=None) -> dict[str, int]:
    """The moved models' content types (primary keys by model), under ``app_label`` or, without
    one, under the apps they come from; each keeps its permissions."""
    pks = {}
    for model, source in MOVED.items():
        content_type = ContentType.objects.get(app_label=app_label or source, model=model)
        assert Permission.objects.filter(content_type=content_type).count() == 4
        pks[model] = content_type.pk
    return pks


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_every_table_row_and_constraint(reference_data):
    try:
        old = migrate(BEFORE)
        assert old.get_model("directory", "Network")._meta.db_table == "directory_network"
        # The way back relabels the suite's content types as main's database has them.
        content_types = _content_types()
        assert not ContentType.objects.filter(app_label="networks").exists()
        # The tables are today's (the move changes none), so today's code fills them.
        load_demo(seed=1, n_establishments=300, n_visited=20)
        club = Network.objects.get(kind=Network.Kind.CLUB)
        NetworkDocument.objects.create(
            network=club, title="Charte du club", file="reseaux/2026/charte.pdf"
        )
        buyer = club.memberships.order_by("pk").first().establishment
        Need.objects.create(
            buyer=buyer,
            theme="purchasing",
            kind="product",
            title="Palettes",
            description="Palettes bois",
            closes_on=datetime.date(2027, 1, 1),
            visibility="network",
            visibility_network=club,
        )
        counts, tables = row_counts(), schema()
        old_memberships = old.get_model("directory", "Membership").objects.count()
        assert old_memberships > 0
        assert old.get_model("events", "NetworkPost").objects.count() > 0

        # Up to the move only: later migrations of these apps change their own tables.
        new = migrate(
            [(a, "0006_network_models_moved") if a == "directory" else (a, n) for a, n in leaves()]
        )
        assert row_counts() == counts
        assert schema() == tables
        assert new.get_model("networks", "Membership").objects.count() == old_memberships
        assert new.get_model("events", "Event").objects.filter(network=club.pk).exists()
        assert (
            new.get_model("marketplace", "Need").objects.get(title="Palettes").visibility_network_id
            == club.pk
        )
        assert _content_types("networks") == content_types

        back = migrate(BEFORE)
        assert row_counts() == counts
        assert schema() == tables
        assert back.get_model("directory", "Membership").objects.count() == old_memberships
        assert (
            ContentType.objects.get(app_label="directory", model="network").pk
            == (content_types["network"])
        )
    finally:
        migrate(leaves())
