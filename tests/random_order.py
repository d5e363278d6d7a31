"""Querysets evaluated without any ordering come back in a random order during the tests.

A page or a function that shows the first rows of an unordered queryset, or that relies on rows
coming back in insertion order, works by luck: SQLite and PostgreSQL give no order without
ORDER BY. In the tests, every SELECT that has no ordering at all (no ``order_by()``, no
``Meta.ordering``, no ``extra(order_by=…)``) is compiled with ``ORDER BY RANDOM()`` so that such
code fails here instead of in production. So is a GROUP BY query (``values().annotate()``) whose
only ordering is ``Meta.ordering``, which Django leaves out of such queries.

Left alone, where ORDER BY is meaningless or refused: subqueries, DISTINCT, the parts and the
whole of UNION/INTERSECT/EXCEPT, and querysets whose ordering was cleared on purpose
(``.order_by()``, which ``get()``, ``exists()`` and ``count()`` also do). INSERT, UPDATE,
DELETE and aggregate queries have their own compilers, which never ask for an ordering.

The order is the same from one run to the next with the same seed: the run's seed (printed at
the end of pytest's output; ``MAILLAGE_RANDOM_ORDER_SEED`` to repeat it) and the test's id seed PostgreSQL's
``setseed()`` and, on SQLite, whose ``random()`` cannot be seeded, a Python generator behind a
function of our own. ``MAILLAGE_RANDOM_ORDER=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import random
from collections.abc import Iterator

from django.db.models.expressions import OrderBy
from django.db.models.functions import Random
from django.db.models.sql.compiler import SQLCompiler
from psycopg.pq import TransactionStatus

SEED_ENV = "MAILLAGE_RANDOM_ORDER_SEED"
SWITCH_ENV = "MAILLAGE_RANDOM_ORDER"
SQLITE_FUNCTION = "maillage_test_random"

# Off while compiling the parts of a compound query, or inside ``suspended()``.
_off: contextvars.ContextVar[bool] = contextvars.ContextVar("random_order_off", default=False)
_rng = random.Random()  # noqa: S311 - ordering rows in tests, not secrets
_state = {"seed": 0, "generation": 0}


class _SeededRandom(Random):
    """RANDOM() on PostgreSQL (seeded per test with setseed); our seeded function on SQLite."""

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function=SQLITE_FUNCTION, **extra_context)


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def run_seed() -> int:
    value = os.environ.get(SEED_ENV, "")
    return int(value) if value else random.SystemRandom().randrange(1_000_000)


def _wants_random_order(compiler: SQLCompiler) -> bool:
    query = compiler.query
    return not (
        _off.get()
        or query.subquery
        or query.distinct
        or query.combinator
        or not query.default_ordering
        or query.model is None
    )


def _get_order_by(self: SQLCompiler):
    order_by = _original["get_order_by"](self)
    # Django drops Meta.ordering from GROUP BY queries (values().annotate()): no order either.
    dropped = bool(self._meta_ordering) and self.query.group_by is not None
    if (order_by and not dropped) or not _wants_random_order(self):
        return order_by
    self._meta_ordering = None
    expression = OrderBy(_SeededRandom())
    sql, params = self.compile(expression)
    return [(expression, (sql, params, False))]


def _get_combinator_sql(self: SQLCompiler, combinator, all):
    token = _off.set(True)
    try:
        return _original["get_combinator_sql"](self, combinator, all)
    finally:
        _off.reset(token)


def _execute_sql(self: SQLCompiler, *args, **kwargs):
    _prepare(self.connection)
    return _original["execute_sql"](self, *args, **kwargs)


def _prepare(connection) -> None:
    """Give this connection the generator (SQLite) or this test's seed (PostgreSQL), once."""
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite":
        if getattr(connection, "_random_order_raw", None) is not raw:
            raw.create_function(SQLITE_FUNCTION, 0, lambda: _rng.random())
            connection._random_order_raw = raw
    elif connection.vendor == "postgresql":
        key = (id(raw), _state["generation"])
        # Not in a failed transaction: the query about to run must raise Django's own error.
        failed = (
            connection.needs_rollback or raw.info.transaction_status == TransactionStatus.INERROR
        )
        if getattr(connection, "_random_order_seeded", None) != key and not failed:
            # Straight on the driver's connection: not a query the test counts or captures.
            raw.execute("SELECT setseed(%s)", [_rng.uniform(-1.0, 1.0)])
            connection._random_order_seeded = key


_original: dict = {}


def install(seed: int) -> None:
    _state["seed"] = seed
    if _original:
        return
    _original.update(
        get_order_by=SQLCompiler.get_order_by,
        get_combinator_sql=SQLCompiler.get_combinator_sql,
        execute_sql=SQLCompiler.execute_sql,
    )
    SQLCompiler.get_order_by = _get_order_by  # type: ignore[method-assign]
    SQLCompiler.get_combinator_sql = _get_combinator_sql  # type: ignore[method-assign]
    SQLCompiler.execute_sql = _execute_sql  # type: ignore[method-assign]


def start_test(test_id: str) -> None:
    """Seed the order from the run's seed and this test's id: a test run alone with the same
    seed sees the same orders as in the full run."""
    digest = hashlib.sha256(f"{_state['seed']}:{test_id}".encode()).digest()
    _rng.seed(int.from_bytes(digest[:8], "big"))
    _state["generation"] += 1  # PostgreSQL connections take the new seed at their next query


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """The product's own SQL, e.g. for query snapshots."""
    token = _off.set(True)
    try:
        yield
    finally:
        _off.reset(token)


@contextlib.contextmanager
def preserved() -> Iterator[None]:
    """Queries of a world built once for several tests (``tests/worlds.py``) leave the orders of
    the test being set up as they would be without them: a row run alone sees the same orders."""
    state = _rng.getstate()
    try:
        yield
    finally:
        _rng.setstate(state)
        _state["generation"] += 1  # PostgreSQL takes the test's seed again at its next query
