"""Home pages per role, the establishment page's permissions, audit of flow views, query counts."""

import pytest
from django.urls import reverse

from maillage.accounts.models import AuditLog
from tests.factories import FlowFactory
from tests.flows.factories import VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_flows(territory):
    for key in ("e77", "e91", "e78"):
        FlowFactory(
            establishment=territory[key],
            direction="offer",
            waste_code="030105",
            quantity=42,
            unit="t",
            description=f"Sciure secrète {key}",
        )
    return territory


def detail(e):
    return reverse("establishment-detail", args=[e.pk])


def test_public_home_shows_only_aggregates(client, with_flows):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Scierie de Melun-Test" not in html
    assert "Sciure secrète" not in html
    # one establishment per chamber: below the statistical-secrecy threshold
    assert "secret statistique" in html


@pytest.mark.parametrize("who", ["advisor77", "company77"])
def test_establishment_page_with_flows_for_allowed_users(client, with_flows, who):
    client.force_login(with_flows[who])
    response = client.get(detail(with_flows["e77"]))
    assert response.status_code == 200
    assert "Sciure secrète e77" in response.content.decode()


def test_partner_chamber_advisor_reads_flows_and_is_audited(client, with_flows):
    client.force_login(with_flows["advisor91"])
    response = client.get(detail(with_flows["e77"]))
    assert "Sciure secrète e77" in response.content.decode()
    log = AuditLog.objects.get()
    assert log.user == with_flows["advisor91"] and log.establishment == with_flows["e77"]


def test_company_view_of_its_own_flows_is_not_audited(client, with_flows):
    client.force_login(with_flows["company77"])
    client.get(detail(with_flows["e77"]))
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize("who", ["advisor78", "admin78", "company78", None])
def test_others_get_404_and_nothing_leaks(client, with_flows, who):
    if who:
        client.force_login(with_flows[who])
    response = client.get(detail(with_flows["e77"]))
    # Signed-in outsiders get 404; an anonymous visitor the login page (issue 16.9).
    assert response.status_code == (404 if who else 302)
    assert "Sciure secrète" not in response.content.decode()
    assert not AuditLog.objects.exists()


def test_advisor_home_lists_recent_visits_in_constant_queries(client, with_flows):
    import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.flows.models import Visit

    client.force_login(with_flows["advisor77"])

    def queries_with(n_visits):
        Visit.objects.all().delete()
        for i in range(n_visits):
            VisitFactory(
                establishment=with_flows["e77"],
                advisor=with_flows["advisor77"],
                date=datetime.date(2025, 1, 1) + datetime.timedelta(days=i),
            )
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    few, _html = queries_with(1)
    many, html = queries_with(10)
    assert few == many  # no query per row
    assert "Scierie de Melun-Test" in html
    assert "Boulangerie de Versailles-Test" not in html


def test_company_home_lists_its_establishments_only(client, with_flows):
    client.force_login(with_flows["company77"])
    html = client.get("/").content.decode()
    assert "Scierie de Melun-Test" in html
    assert "Chaufferie" not in html


def test_admin_is_served_and_restricted(client, with_flows):
    admin78 = with_flows["admin78"]
    admin78.is_staff = True
    admin78.save()
    from django.contrib.auth.models import Permission

    admin78.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(admin78)
    response = client.get(reverse("admin:directory_establishment_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Boulangerie de Versailles-Test" in html
    assert "Scierie de Melun-Test" not in html
    assert client.get(reverse("admin:flows_flow_changelist")).status_code == 200


@pytest.mark.django_db
def test_an_english_browser_gets_the_whole_interface_in_french(client):
    """Only French has a catalogue: Django's own texts (dates, form errors) must not switch to
    English around ours when the browser prefers English."""
    response = client.post(
        reverse("login"), {"username": "", "password": ""}, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"
    )
    assert response.wsgi_request.LANGUAGE_CODE == "fr"
    assert '<html lang="fr">' in response.content.decode()
