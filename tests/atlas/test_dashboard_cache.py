"""The territorial dashboard through the shared cache (``atlas.dashboard.cached``): a second load
of the same scope reads the cache, every write it counts (a visit, a flow, a status change, an
establishment) shows at the next load, and an entry never answers another chamber or scope. Also
the commit callbacks of ``caching.bump``: one per topic and transaction, savepoint-safe."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from maillage import caching
from maillage.flows.models import Flow, Visit
from maillage.flows.services import build_flow
from maillage.synergies.models import Suggestion
from tests.atlas.test_pages import implement
from tests.flows.factories import VisitFactory

pytestmark = pytest.mark.django_db

URL = "/tableau-de-bord/"


def figures(client, user, url=URL) -> dict:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["d"]


def dashboard_queries(client, user, url=URL) -> list[str]:
    """The SQL of one load that reads what the dashboard counts (visits, flows, suggestions)."""
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [
        q["sql"]
        for q in ctx.captured_queries
        if any(t in q["sql"] for t in ('"flows_visit"', '"flows_flow"', '"synergies_suggestion"'))
    ]


def test_second_load_is_served_from_the_cache(client, mapped):
    advisor = mapped["advisor77"]
    first = dashboard_queries(client, advisor)
    assert len(first) >= 5  # the figures were computed from the database
    assert dashboard_queries(client, advisor) == []
    # Both exports of the same scope read the same entry.
    client.force_login(advisor)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/tableau-de-bord/export.xlsx").status_code == 200
        assert client.get("/tableau-de-bord/export.csv").status_code == 200
    assert not [q for q in ctx.captured_queries if '"flows_visit"' in q["sql"]]


def test_a_new_visit_shows_at_the_next_load(client, mapped):
    advisor = mapped["advisor77"]
    before = figures(client, advisor)["kpis"]
    VisitFactory(establishment=mapped["e77"], advisor=advisor, date=datetime.date.today())
    after = figures(client, advisor)["kpis"]
    assert after["visits"] == before["visits"] + 1
    assert after["visited"] == before["visited"] + 1


def test_visits_moved_by_a_queryset_update_show_at_the_next_load(client, mapped):
    advisor = mapped["advisor77"]
    visit = VisitFactory(
        establishment=mapped["e77"], advisor=advisor, date=datetime.date(2025, 3, 14)
    )
    months = {r["month"]: r["visits"] for r in figures(client, advisor)["monthly"]}
    assert months.get("2025-03") == 1
    Visit.objects.filter(pk=visit.pk).update(date=datetime.date(2024, 11, 2))
    months = {r["month"]: r["visits"] for r in figures(client, advisor)["monthly"]}
    assert months.get("2024-11") == 1 and months.get("2025-03", 0) == 0
    Visit.objects.filter(pk=visit.pk).delete()
    assert figures(client, advisor)["kpis"]["visits"] == 0


def test_a_new_flow_and_an_archived_one_show_at_the_next_load(client, mapped):
    advisor = mapped["advisor77"]
    before = figures(client, advisor)["kpis"]["flows"]
    flow = build_flow(
        mapped["e77"], direction="need", resource_class="wood_fuel", quantity=3, unit="t"
    )
    flow.save()
    assert figures(client, advisor)["kpis"]["flows"] == before + 1
    Flow.objects.filter(pk=flow.pk).update(is_archived=True)
    assert figures(client, advisor)["kpis"]["flows"] == before


def test_a_status_change_shows_at_the_next_load(client, mapped):
    advisor = mapped["advisor77"]
    d = figures(client, advisor)
    assert d["kpis"]["implemented"] == 0
    s = Suggestion.objects.filter(
        kind="substitution", chamber=mapped["chambers"][0], offer_flow__isnull=False
    ).first()
    implement(s, advisor, quantity=123.0)
    d = figures(client, advisor)
    assert d["kpis"]["implemented"] == 1
    assert d["impacts"][0]["tonnes"] == pytest.approx(123.0)
    by_status = dict(d["by_status"])
    assert by_status[Suggestion.Status.IMPLEMENTED.label] == 1


def test_an_entry_never_answers_another_chamber_or_scope(client, mapped):
    advisor77, advisor78 = mapped["advisor77"], mapped["advisor78"]
    s = Suggestion.objects.filter(
        kind="substitution", chamber=mapped["chambers"][0], offer_flow__isnull=False
    ).first()
    implement(s, advisor77)
    VisitFactory(establishment=mapped["e77"], advisor=advisor77, date=datetime.date.today())
    own = figures(client, advisor77)
    assert own["kpis"]["implemented"] == 1 and own["kpis"]["visits"] == 1
    # 78 loads right after 77 filled the cache: its own figures, nothing of 77's.
    other = figures(client, advisor78)
    assert other["kpis"]["implemented"] == 0 and other["kpis"]["visits"] == 0
    assert other["kpis"]["establishments"] == 1
    assert "Melun" not in client.get(URL).content.decode()
    # A narrower scope of the same chamber is its own entry.
    narrower = f"{URL}?epci={mapped['e77'].commune.epci_id}"
    assert dashboard_queries(client, advisor77, narrower) != []
    assert dashboard_queries(client, advisor77, narrower) == []
    assert figures(client, advisor77)["kpis"] == own["kpis"]
    # Another chamber's scope asked by its id is refused by the form: the own chamber is shown.
    asked = figures(client, advisor78, f"{URL}?chamber={mapped['chambers'][0].pk}")
    assert asked["kpis"]["visits"] == 0


def _commit_callbacks() -> list[str]:
    return [
        getattr(callback, "maillage_topic", "")
        for _sids, callback, *_rest in connection.run_on_commit
        if getattr(callback, "maillage_topic", None)
    ]


def test_many_writes_in_one_transaction_register_one_callback_per_topic(mapped):
    advisor = mapped["advisor77"]
    with transaction.atomic():
        already = _commit_callbacks()
        for day in range(1, 21):
            VisitFactory(
                establishment=mapped["e77"], advisor=advisor, date=datetime.date(2025, 1, day)
            )
            mapped["e77"].save()
        Visit.objects.filter(establishment=mapped["e77"]).update(notes="vue")
        added = _commit_callbacks()[len(already) :]
        assert sorted(added) == sorted({caching.ACTIVITY, caching.DIRECTORY} - set(already)), added


def test_a_rolled_back_savepoint_does_not_lose_the_commit_renewal(
    mapped, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                caching.bump(caching.ACTIVITY)
                assert caching.ACTIVITY in _commit_callbacks()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert caching.ACTIVITY not in _commit_callbacks()
        caching.bump(caching.ACTIVITY)
        assert _commit_callbacks().count(caching.ACTIVITY) == 1
        generation = caching.generations([caching.ACTIVITY])
    assert [getattr(c, "maillage_topic", None) for c in callbacks].count(caching.ACTIVITY) == 1
    assert caching.generations([caching.ACTIVITY]) != generation  # renewed at commit


def test_a_queryset_write_renews_after_the_rows_changed(mapped, monkeypatch):
    """A reader between the renewal and the write would store the old rows under the new
    generation: the renewal must come once the rows are written."""
    visit = VisitFactory(
        establishment=mapped["e77"], advisor=mapped["advisor77"], date=datetime.date(2025, 5, 5)
    )
    seen = []

    def spy(*topics):
        written = Visit.objects.filter(pk=visit.pk, notes="après").exists()
        written |= Flow.objects.filter(establishment=mapped["e77"], description="après").exists()
        seen.append((topics, written))

    monkeypatch.setattr(caching, "bump", spy)
    Visit.objects.filter(pk=visit.pk).update(notes="après")
    assert seen == [((caching.ACTIVITY,), True)]
    seen.clear()
    Flow.objects.filter(establishment=mapped["e77"]).update(description="après")
    assert seen == [((caching.DIRECTORY,), True)]
