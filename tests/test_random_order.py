"""The tests' random order for querysets that have none (tests/random_order.py)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from maillage.accounts.models import Chamber
from tests import random_order

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not random_order.enabled(), reason="random order turned off"),
]

RANDOM_SQL = {"sqlite": random_order.SQLITE_FUNCTION, "postgresql": "RANDOM()"}


def _sql(evaluate) -> str:
    with CaptureQueriesContext(connection) as ctx:
        evaluate()
    return "\n".join(q["sql"] for q in ctx.captured_queries)


def _is_random(sql: str) -> bool:
    return RANDOM_SQL[connection.vendor] in sql


def test_a_queryset_without_ordering_is_ordered_at_random():
    sql = _sql(lambda: list(ContentType.objects.all()))
    assert _is_random(sql.rsplit("ORDER BY", 1)[-1])


def test_a_grouped_query_loses_meta_ordering_and_is_ordered_at_random():
    grouped = Chamber.objects.values("kind").annotate(n=Count("pk"))
    assert _is_random(_sql(lambda: list(grouped)))
    assert not _is_random(_sql(lambda: list(grouped.order_by("kind"))))


def test_an_explicit_or_default_ordering_is_kept():
    assert not _is_random(_sql(lambda: list(ContentType.objects.order_by("pk"))))
    assert not _is_random(_sql(lambda: list(Chamber.objects.all())))  # Meta.ordering


def test_queries_where_an_order_is_meaningless_are_left_alone():
    models = ContentType.objects.filter(app_label="accounts")
    checks = {
        "count": lambda: models.count(),
        "exists": lambda: models.exists(),
        "get": lambda: models.get(model="user"),
        "cleared": lambda: list(models.order_by()),
        "distinct": lambda: list(models.values_list("app_label", flat=True).distinct()),
        "subquery": lambda: list(
            ContentType.objects.filter(pk__in=models.values("pk")).order_by("pk")
        ),
        "union": lambda: list(models.union(ContentType.objects.filter(app_label="directory"))),
    }
    for name, evaluate in checks.items():
        assert not _is_random(_sql(evaluate)), name


def test_results_are_unchanged_only_reordered():
    everything = sorted(ContentType.objects.values_list("pk", flat=True))
    assert everything and sorted(ContentType.objects.values_list("pk", flat=True)) == everything
    grouped = dict(ContentType.objects.values_list("app_label").annotate(n=Count("pk")))
    assert sum(grouped.values()) == len(everything)
    union = ContentType.objects.filter(app_label="accounts").union(
        ContentType.objects.filter(app_label="directory")
    )
    assert (
        len(list(union))
        == ContentType.objects.filter(app_label__in=["accounts", "directory"]).count()
    )


def test_the_order_depends_on_the_seed_and_the_test_only():
    def order(test_id: str) -> list[int]:
        random_order.start_test(test_id)
        return list(ContentType.objects.values_list("pk", flat=True))

    assert order("a") == order("a")
    assert order("a") != order("b")  # some fifty content types: equal orders are not a chance


def test_suspended_gives_the_products_own_sql():
    with random_order.suspended():
        assert not _is_random(_sql(lambda: list(ContentType.objects.all())))
