"""A first SIRENE load into an empty establishment table, on PostgreSQL: the table's secondary
indexes and foreign keys are set aside while the batches are copied in, then built once at the end
(one sort per index and one join per key, instead of a B-tree insert and a key check for every
row). Their definitions are kept in the import's record, so that an import killed in between
still puts them back when it is resumed or restarted."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection, transaction

from maillage.directory.models import Establishment

TABLE = Establishment._meta.db_table
INDEX = "index"
FOREIGN_KEY = "foreign key"
# Settings of the session that rebuilds (the importer's connection only; the server's
# configuration is left alone): more sort memory than the server's default 64 MB, and no
# statement timeout, which is set for web requests and would cut a 13-million-row index build.
BUILD_SETTINGS = {"maintenance_work_mem": "512MB", "statement_timeout": "0"}


def secondary_schema() -> list[dict[str, str]]:
    """What the table does not need while it is loaded, each with the SQL that creates it again:
    the indexes that are neither the primary key nor unique (``ON CONFLICT`` and the repeated-SIRET
    check need those), and the foreign keys (every row written is checked against the reference
    tables beforehand)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary "
            "ORDER BY c.relname",
            [TABLE],
        )
        items = [{"kind": INDEX, "name": name, "sql": sql} for name, sql in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [TABLE],
        )
        table = connection.ops.quote_name(TABLE)
        items += [
            {
                "kind": FOREIGN_KEY,
                "name": name,
                "sql": f"ALTER TABLE {table} ADD CONSTRAINT "
                f"{connection.ops.quote_name(name)} {definition}",
            }
            for name, definition in cursor.fetchall()
        ]
    return items


def set_aside(items: list[dict[str, str]]) -> None:
    """Drop the given indexes and foreign keys, in one transaction."""
    table = connection.ops.quote_name(TABLE)
    with transaction.atomic(), connection.cursor() as cursor:
        for item in items:
            name = connection.ops.quote_name(item["name"])
            if item["kind"] == INDEX:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
            else:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


def missing(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """Those of the items that the table does not have (now)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass "
            "UNION ALL SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass",
            [TABLE, TABLE],
        )
        present = {name for (name,) in cursor.fetchall()}
    return [item for item in items if item["name"] not in present]


def restore(
    items: list[dict[str, str]], notify: Callable[[str], None] | None = None
) -> list[tuple[str, float]]:
    """Build again what the table lacks of ``items``: one statement (one transaction outside an
    atomic block) each, so that an interrupted rebuild keeps what it finished; the indexes
    first, then the foreign keys. Returns each one's name and build time (seconds)."""
    timings: list[tuple[str, float]] = []
    todo = missing(items) if items else []
    if not todo:
        return timings
    with connection.cursor() as cursor:
        previous = {}
        for name, value in BUILD_SETTINGS.items():
            cursor.execute(
                "SELECT current_setting(%s), set_config(%s, %s, false)", [name, name, value]
            )
            previous[name] = cursor.fetchone()[0]
        try:
            ordered = sorted(todo, key=lambda item: item["kind"] != INDEX)
            for number, item in enumerate(ordered, start=1):
                if notify is not None:
                    kind = "index" if item["kind"] == INDEX else "clé étrangère"
                    notify(f"reconstruction ({number}/{len(ordered)}) : {kind} {item['name']}")
                started = time.perf_counter()
                cursor.execute(item["sql"])
                timings.append((item["name"], time.perf_counter() - started))
        finally:
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
    return timings
