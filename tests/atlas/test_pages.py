"""Map page and side panel, territorial dashboard and its XLSX export, audit log, password reset,
animator home: who may open them, what they show, and constant query counts."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core import mail
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import escape

from maillage.accounts.models import AuditLog, User
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.accounts.factories import AuditLogFactory
from tests.atlas.conftest import SECRET_FORMS
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def implement(suggestion, user, quantity=300.0, savings=12000.0):
    services.change_status(suggestion, user, "proposed")
    services.change_status(
        suggestion,
        user,
        "discussion",
        "Accord obtenu hors plateforme",
        agreement_on=datetime.date.today(),
    )
    services.change_status(suggestion, user, "implemented", "", quantity, savings)


@pytest.fixture
def implemented(mapped):
    s = Suggestion.objects.filter(
        kind="substitution", chamber=mapped["chambers"][0], offer_flow__isnull=False
    ).first()
    implement(s, mapped["advisor77"])
    s.refresh_from_db()
    return s


@pytest.mark.parametrize("who", [None, "advisor77", "company77"])
def test_map_page_for_everyone_with_local_leaflet(client, mapped, who):
    if who:
        client.force_login(mapped[who])
    html = client.get("/carte/").content.decode()
    assert "/static/leaflet/leaflet.js" in html
    assert "/static/leaflet-markercluster/leaflet.markercluster.js" in html
    assert "http://" not in html.split("<main>")[1].split("</main>")[0].replace(
        'xmlns="http://www.w3.org', ""
    )
    assert "Melun-Test" not in html


def test_tile_url_setting_is_used(client, mapped, settings):
    settings.MAILLAGE_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    assert "tiles.example" in client.get("/carte/").content.decode()


def test_side_panel_shows_flows_and_is_audited(client, mapped):
    client.force_login(mapped["advisor91"])
    html = client.get(f"/carte/panneau/{mapped['e77'].pk}/").content.decode()
    assert "Scierie de Melun-Test" in html and any(s in html for s in SECRET_FORMS)
    assert AuditLog.objects.get().detail == "panneau de la carte"


@pytest.mark.parametrize("who", [None, "advisor78", "company78"])
def test_side_panel_is_404_for_others(client, mapped, who):
    if who:
        client.force_login(mapped[who])
    response = client.get(f"/carte/panneau/{mapped['e77'].pk}/")
    assert "Melun" not in response.content.decode()
    if who:
        assert response.status_code == 404
    else:  # an anonymous visitor is asked to log in, whether the establishment exists or not
        assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")


def test_dashboard_shows_implemented_impact_and_exports_xlsx(client, mapped, implemented):
    client.force_login(mapped["advisor77"])
    response = client.get("/tableau-de-bord/")
    html = response.content.decode()
    assert response.status_code == 200
    # the quantity actually exchanged (300 t), not the detection's estimate
    assert f"{implemented.actual_quantity:.1f}".replace(".", ",") in html
    assert "<svg" in html and "Suggestions par statut" in html
    month = timezone.localdate().strftime("%Y-%m")
    assert month in html
    xlsx = client.get("/tableau-de-bord/export.xlsx")
    assert xlsx["Content-Disposition"].startswith("attachment")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx.content))
    assert "Synergies mises en œuvre" in wb.sheetnames
    areas = list(wb["Par territoire"].iter_rows(values_only=True))
    assert areas[1][:4] == ("77", "Seine-et-Marne", 1, 0)
    rows = list(wb["Synergies mises en œuvre"].iter_rows(values_only=True))
    assert rows[1][3] == pytest.approx(implemented.actual_quantity)
    assert rows[1][8] == pytest.approx(12000.0)


def test_dashboard_exports_the_same_tables_as_csv(client, mapped, implemented):
    client.force_login(mapped["advisor77"])
    response = client.get("/tableau-de-bord/export.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").split("\r\n")
    # every table: its title, then its header; the territory row of Seine-et-Marne
    start = lines.index("Par territoire")
    assert lines[start + 1].startswith("Code;Territoire;")
    assert lines[start + 2].startswith("77;Seine-et-Marne;1;0;")
    impacts = lines.index("Synergies mises en œuvre", lines.index("Par territoire"))
    tonnes = lines[impacts + 2].split(";")[3]
    assert float(tonnes.replace(",", ".")) == pytest.approx(implemented.actual_quantity)


def test_dashboard_filters_by_departement_and_epci(client, mapped, implemented):
    client.force_login(mapped["advisor77"])
    html = client.get("/tableau-de-bord/?departement=77").content.decode()
    assert "Aucune synergie mise en œuvre" not in html
    assert "Par EPCI" in html and escape(mapped["e77"].commune.epci.name) in html
    epci = mapped["e77"].commune.epci_id
    assert "Aucune synergie" not in client.get(f"/tableau-de-bord/?epci={epci}").content.decode()
    # a département outside the chamber is not a valid choice: the default scope applies
    html = client.get("/tableau-de-bord/?departement=78").content.decode()
    assert "Sélectionnez un choix valide" in html


@pytest.mark.parametrize("who", ["company77", "company78"])
def test_dashboard_forbidden_to_companies(client, mapped, who):
    client.force_login(mapped[who])
    assert client.get("/tableau-de-bord/").status_code == 403
    assert client.get("/tableau-de-bord/export.xlsx").status_code == 403
    assert client.get("/tableau-de-bord/export.csv").status_code == 403


def test_dashboard_redirects_anonymous_to_login(client, mapped):
    response = client.get("/tableau-de-bord/")
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]


def test_other_chamber_dashboard_shows_nothing_of_ours(client, mapped, implemented):
    client.force_login(mapped["advisor78"])
    html = client.get("/tableau-de-bord/").content.decode()
    assert "Aucune synergie mise en œuvre" in html
    c77 = mapped["chambers"][0]
    html = client.get(f"/tableau-de-bord/?chamber={c77.pk}").content.decode()
    assert "Aucune synergie mise en œuvre" in html  # not a valid choice: own chamber shown


def test_dashboard_query_count_does_not_grow(client, mapped, django_assert_max_num_queries):
    client.force_login(mapped["advisor77"])
    client.get("/tableau-de-bord/")
    for s in Suggestion.objects.filter(chamber=mapped["chambers"][0], kind="substitution"):
        implement(s, mapped["advisor77"])
    with django_assert_max_num_queries(24):
        assert client.get("/tableau-de-bord/").status_code == 200


@pytest.fixture
def log(mapped, make_user):
    admin77 = make_user("adm77", User.Role.CHAMBER_ADMIN, mapped["chambers"][0])
    now = timezone.now()
    entries = [
        (mapped["advisor77"], mapped["e77"], now),
        (mapped["advisor91"], mapped["e77"], now - datetime.timedelta(days=40)),
        (mapped["advisor77"], mapped["e91"], now - datetime.timedelta(days=2)),
        (mapped["advisor78"], mapped["e78"], now),
    ]
    for user, est, at in entries:
        AuditLogFactory(user=user, establishment=est, action="view_flows", at=at)
    return {**mapped, "admin77": admin77}


def test_chamber_admin_reads_own_chamber_log(client, log):
    client.force_login(log["admin77"])
    html = client.get("/journal/").content.decode()
    assert html.count("<tr><td>") == 3  # about our establishments, or by our advisors
    assert "Boulangerie de Versailles" not in html
    html = client.get(f"/journal/?advisor={log['advisor91'].pk}").content.decode()
    assert html.count("<tr><td>") == 1
    html = client.get("/journal/?establishment=Chaufferie").content.decode()
    assert html.count("<tr><td>") == 1
    start = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    assert client.get(f"/journal/?start={start}").content.decode().count("<tr><td>") == 2
    bad = client.get(f"/journal/?start={start}&end=2000-01-01").content.decode()
    assert "La date de fin précède la date de début" in bad


@pytest.mark.parametrize("who", ["advisor77", "company77", "advisor78"])
def test_audit_log_forbidden_to_non_admins(client, log, who):
    client.force_login(log[who])
    assert client.get("/journal/").status_code == 403


def test_other_chamber_admin_sees_none_of_ours(client, log):
    client.force_login(log["admin78"])
    html = client.get("/journal/").content.decode()
    assert "Melun" not in html and "Évry" not in html
    assert html.count("<tr><td>") == 1


def test_audit_log_paginated_in_constant_queries(client, log, django_assert_max_num_queries):
    AuditLog.objects.bulk_create(
        AuditLog(user=log["advisor77"], establishment=log["e77"], action="view_flows")
        for _ in range(120)
    )
    client.force_login(log["admin77"])
    with django_assert_max_num_queries(10):
        html = client.get("/journal/?page=2").content.decode()
    assert html.count("<tr><td>") == 50 and "Page 2 sur 3" in html


def test_password_reset_by_email_in_french(client, make_user):
    user = make_user("oubli", User.Role.COMPANY)
    user.email = "oubli@example.org"
    user.save()
    assert "Mot de passe oublié" in client.get("/comptes/login/").content.decode()
    response = client.post("/comptes/password_reset/", {"email": "oubli@example.org"})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject == "Maillage : réinitialisation de votre mot de passe"
    assert "Votre identifiant : oubli" in message.body
    link = re.search(r"http://testserver(/comptes/reset/\S+)", message.body).group(1)
    form = client.get(link, follow=True)
    assert "Nouveau mot de passe" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Une-phrase-longue-42", "new_password2": "Une-phrase-longue-42"},
        follow=True,
    )
    assert "Votre mot de passe a été enregistré" in done.content.decode()
    assert client.login(request=HttpRequest(), username="oubli", password="Une-phrase-longue-42")


def test_password_reset_unknown_address_reveals_nothing(client, db):
    response = client.post("/comptes/password_reset/", {"email": "personne@example.org"})
    assert response.status_code == 302 and not mail.outbox


def test_animator_home_lists_networks_and_members(client, mapped, make_user):

    animator = make_user("anim", User.Role.ANIMATOR)
    club = NetworkFactory(name="Club des éco-entreprises test")
    club.animators.add(animator)
    MembershipFactory(establishment=mapped["e78"], network=club, since="2024-01-01")
    client.force_login(animator)
    html = client.get("/").content.decode()
    assert "Espace animateur de réseau" in html and "Club des éco-entreprises test" in html
    assert "Boulangerie de Versailles-Test" in html and "Melun" not in html
