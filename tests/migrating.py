"""Migrating the test database to a given state and back, for the tests that check that a
migration keeps existing rows (the app registry of that state is returned for its models)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    nodes = [(app, name) for app, name in targets if name is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()
