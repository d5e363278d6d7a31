"""SQL snapshots of the five busiest pages: the advisor's home, the establishment search, the
suggestion list, the map's establishments GeoJSON and a company's opportunities.

Each page's queries, with their literals replaced by ``?``, are compared with the file
``query_snapshots/<page>.<database vendor>.sql``. A change in what a page asks the database (one
more query per row, a lost ``select_related``, a new join) then shows in review as a diff of that
file instead of passing unseen under an upper bound. After a deliberate change, refresh the files:

    MAILLAGE_UPDATE_QUERY_SNAPSHOTS=1 pytest tests/web/test_query_snapshots.py
    DATABASE_URL=postgres://… MAILLAGE_UPDATE_QUERY_SNAPSHOTS=1 pytest tests/web/test_query_snapshots.py
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maillage.synergies import introductions, services
from maillage.synergies.models import Suggestion
from tests import random_order
from tests.factories import FlowFactory, UserFactory
from tests.flows.factories import wood_synergy

SNAPSHOTS = Path(__file__).parent / "query_snapshots"
UPDATE = os.environ.get("MAILLAGE_UPDATE_QUERY_SNAPSHOTS") == "1"

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w\"])-?\d+(?:\.\d+)?(?![\w\"])")
_LIST = re.compile(r"\((?:\s*\?\s*,)+\s*\?\s*\)")
_SPACES = re.compile(r"\s+")


def normalise(sql: str) -> str:
    """A query without its values: strings, numbers and IN lists become ``?``."""
    sql = _STRING.sub("?", sql)
    sql = _NUMBER.sub("?", sql)
    sql = _LIST.sub("(?)", sql)
    return _SPACES.sub(" ", sql).strip()


@pytest.fixture
def busy(territory):
    """The shared territory with positions, two wood offers and a wood-fuel need, detected."""
    positions = {"e77": (48.5394, 2.6606), "e91": (48.6290, 2.4410), "e78": (48.8049, 2.1204)}
    for key, (lat, lon) in positions.items():
        e = territory[key]
        e.latitude, e.longitude = lat, lon
        e.save(update_fields=["latitude", "longitude"])
    wood_synergy(territory, offered=420, needed=500)
    FlowFactory(establishment=territory["e91"], waste_code="03 01 05", quantity=77)
    services.detect()
    # The company sees an opportunity: the advisor proposed the wood-to-boiler pair.
    pair = Suggestion.objects.filter(is_current=True, need_flow__establishment=territory["e91"])
    introductions.propose_introduction(pair.order_by("pk").first(), territory["advisor91"])
    territory["company91"] = UserFactory(username="co91", establishments=[territory["e91"]])
    return territory


def _pages(world):
    return {
        "advisor_home": ("advisor91", "/"),
        "establishment_search": ("advisor91", "/etablissements/?q=test"),
        "suggestion_list": ("advisor91", "/synergies/"),
        "map_establishments": ("advisor91", "/api/map/establishments"),
        "company_opportunities": ("company91", "/synergies/opportunites/"),
    }


PAGES = (
    "advisor_home",
    "establishment_search",
    "suggestion_list",
    "map_establishments",
    "company_opportunities",
)


@pytest.mark.parametrize("page", PAGES)
def test_query_snapshot(client, busy, page):
    who, url = _pages(busy)[page]
    client.force_login(busy[who])
    client.get(url)  # warm per-process caches (reference data, templates) out of the snapshot
    # The snapshot is of the page built from the database, not of its cached layer or cards, and
    # of the product's SQL, without the ORDER BY RANDOM() the tests add to unordered querysets.
    cache.clear()
    with random_order.suspended(), CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    got = "\n".join(normalise(q["sql"]) for q in ctx.captured_queries) + "\n"
    path = SNAPSHOTS / f"{page}.{connection.vendor}.sql"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), (
        f"no snapshot {path.name}: run with MAILLAGE_UPDATE_QUERY_SNAPSHOTS=1 and commit it"
    )
    expected = path.read_text(encoding="utf-8")
    if got != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                got.splitlines(keepends=True),
                fromfile=f"{path.name} (snapshot)",
                tofile=f"{page} (now)",
            )
        )
        pytest.fail(
            f"{url} asks the database something new ({len(ctx.captured_queries)} queries):\n"
            f"{diff}\nIf deliberate, refresh with MAILLAGE_UPDATE_QUERY_SNAPSHOTS=1.",
            pytrace=False,
        )


def test_normalise_hides_values_only():
    sql = 'SELECT "a"."id" FROM "t1" WHERE ("x" = \'l\'\'eau\' AND "y" IN (1, 2, 3)) LIMIT 21'
    assert normalise(sql) == 'SELECT "a"."id" FROM "t1" WHERE ("x" = ? AND "y" IN (?)) LIMIT ?'
