"""Detection started from the web runs as a background task and reports its progress."""

import pytest
from django.urls import reverse

from maillage.synergies.models import DetectionRun, Suggestion
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy
from tests.synergies.factories import DetectionRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def wood(territory):
    wood_synergy(territory, offered=400, needed=500)
    return territory


def test_advisor_starts_a_detection_and_follows_it(client, wood):
    client.force_login(wood["advisor77"])
    response = client.post(reverse("detection-start"))
    run = DetectionRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("detection-run", args=[run.pk])
    assert run.state == DetectionRun.State.DONE and run.progress == 100
    assert run.chamber == wood["chambers"][0]
    assert Suggestion.objects.filter(kind="substitution").exists()
    page = client.get(response.url)
    assert "Terminée" in page.content.decode() or "terminée" in page.content.decode()
    partial = client.get(response.url, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    home = client.get("/").content.decode()
    assert "Lancer la détection des synergies" in home


@pytest.mark.parametrize("who", ["company77", "company78"])
def test_companies_cannot_start_a_detection(client, wood, who):
    client.force_login(wood[who])
    assert client.post(reverse("detection-start")).status_code == 403
    assert not DetectionRun.objects.exists()


def test_anonymous_is_sent_to_login(client, wood):
    response = client.post(reverse("detection-start"))
    assert response.status_code == 302 and "/comptes/login/" in response.url
    assert not DetectionRun.objects.exists()


def test_another_chamber_cannot_follow_the_run(client, wood):
    run = DetectionRunFactory(chamber=wood["chambers"][0], pending=True)
    for who in ("advisor78", "advisor91", "company77"):
        client.force_login(wood[who])
        assert client.get(reverse("detection-run", args=[run.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("detection-run", args=[run.pk])).status_code == 302


def test_suggestion_list_explains_in_french_and_respects_the_policy(client, wood):
    from maillage.synergies import services

    services.detect()
    client.force_login(wood["advisor77"])
    html = client.get(reverse("suggestion-list") + "?type=substitution").content.decode()
    assert "Scierie de Melun-Test" in html and "Chaufferie d&#x27;Évry-Test" in html
    assert "peut remplacer" in html and "Code déchet déclaré : 03 01 05" in html
    assert "Impact estimé" in html
    # the rules that ranked it reach the advisor's page
    assert "Substitution (0,85)" in html and "Besoin déclaré" in html
    client.force_login(wood["advisor78"])
    html = client.get(reverse("suggestion-list")).content.decode()
    assert "Scierie de Melun-Test" not in html and "Aucune suggestion" in html
    for who in ("company77", "company78"):
        client.force_login(wood[who])
        assert client.get(reverse("suggestion-list")).status_code == 403
    client.logout()
    assert client.get(reverse("suggestion-list")).status_code == 302


def test_suggestion_list_queries_do_not_grow_with_rows(client, territory, make_establishment):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.synergies import services

    client.force_login(territory["advisor77"])

    def count(n):
        Suggestion.objects.all().delete()
        for i in range(n):
            site = make_establishment("77288", name=f"Menuiserie {n}-{i}", naf="16.23Z")
            FlowFactory(
                establishment=site,
                direction="offer",
                waste_code="03 01 05",
                quantity=10 + i,
                unit="t",
            )
        FlowFactory(
            establishment=territory["e91"],
            direction="need",
            resource_class="wood_fuel",
            quantity=50,
            unit="t",
        )
        services.detect()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("suggestion-list")).status_code == 200
        return len(ctx.captured_queries)

    assert count(2) == count(8)
