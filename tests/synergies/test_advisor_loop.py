"""The advisor's loop past detection: impacts counted from the quantities actually exchanged
(dashboard, XLSX, CSV, suggestion page: one computation), the introduction notified to the
companies and enforced (double opt-in), every advisor read of partner data audited, and the
dashboard's month column without gaps."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from maillage.accounts.models import AuditLog, User
from maillage.atlas.dashboard import _month_range
from maillage.notifications import registry
from maillage.notifications.models import Notification, NotificationPreference
from maillage.synergies import introductions, services
from maillage.synergies.models import Suggestion
from maillage.synergies.notifications import INTRODUCTION_MUTUAL, INTRODUCTION_PROPOSED
from maillage.synergies.selectors import realised_impact
from tests.factories import FlowFactory
from tests.flows.factories import VisitFactory, wood_synergy
from tests.notifications.factories import NotificationPreferenceFactory
from tests.pages import html_of
from tests.synergies.factories import DetectionRunFactory, SuggestionEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def loop(territory, make_user):
    """A sawmill (77) offering 42 t of wood waste a year, a boiler (91) needing 50 t."""
    wood_synergy(territory, offered=42, needed=50)
    territory["company91"] = make_user("co91", User.Role.COMPANY, establishments=[territory["e91"]])
    services.detect()
    territory["s"] = Suggestion.objects.get(
        kind="substitution",
        offer_flow__establishment=territory["e77"],
        need_flow__establishment=territory["e91"],
    )
    return territory


def accept_both(loop):
    s = loop["s"]
    for side in s.introductions.all():
        user = loop["company77"] if side.establishment == loop["e77"] else loop["company91"]
        introductions.respond_introduction(user, side, accept=True)
    s.refresh_from_db()


def test_dashboard_and_exports_count_the_35_t_exchanged_not_the_42_t_detected(client, loop):
    s = loop["s"]
    assert s.tonnes_diverted == pytest.approx(42)
    introductions.propose_introduction(s, loop["advisor77"])
    accept_both(loop)
    services.change_status(s, loop["advisor77"], "implemented", "", 35.0, 5000.0)
    s.refresh_from_db()
    impact = realised_impact(s)
    assert impact["is_actual"] and impact["tonnes"] == pytest.approx(35)
    assert impact["co2e"] == pytest.approx(s.co2e_avoided_t * 35 / 42, rel=1e-3)
    assert impact["co2e"] == pytest.approx(s.actual_co2e_avoided_t)

    client.force_login(loop["advisor77"])
    page = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    co2e = f"{impact['co2e']:.1f}".replace(".", ",")
    assert "35,0" in page and co2e in page

    html = html_of(client.get("/tableau-de-bord/"))
    assert co2e in html and "35,0" in html
    assert f"{s.co2e_avoided_t:.1f}".replace(".", ",") not in html  # the estimate is gone

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(client.get("/tableau-de-bord/export.xlsx").content))
    summary = dict(wb["Synthèse"].iter_rows(values_only=True))
    assert summary["Tonnes détournées par an"] == pytest.approx(35)
    assert summary["tCO2e évitées par an"] == pytest.approx(impact["co2e"], abs=1e-3)
    header, row = list(wb["Synergies mises en œuvre"].iter_rows(values_only=True))[:2]
    assert row[header.index("Tonnes détournées par an")] == pytest.approx(35)
    assert row[header.index("tCO2e évitées par an")] == pytest.approx(impact["co2e"])
    assert row[header.index("Distance (km)")] == pytest.approx(s.distance_km)

    text = client.get("/tableau-de-bord/export.csv").content.decode("utf-8-sig")
    lines = text.split("\r\n")
    start = lines.index("Synergies mises en œuvre", lines.index("Par territoire"))
    cells = lines[start + 2].split(";")
    assert float(cells[3].replace(",", ".")) == pytest.approx(35)
    assert float(cells[4].replace(",", ".")) == pytest.approx(impact["co2e"], abs=1e-3)


def test_a_proposal_notifies_the_company_users_by_their_preferences(client, loop, make_user):
    NotificationPreferenceFactory(
        user=loop["company91"],
        kind=INTRODUCTION_PROPOSED,
        frequency=NotificationPreference.Frequency.NEVER,
    )
    assert INTRODUCTION_PROPOSED in registry.REGISTRY
    introductions.propose_introduction(loop["s"], loop["advisor77"])
    sent = Notification.objects.filter(kind=INTRODUCTION_PROPOSED)
    assert [n.user for n in sent] == [loop["company77"]]  # company91 chose « jamais »
    assert sent[0].url == reverse("opportunity-list")
    assert "mise en relation" in sent[0].title.lower()
    # the company sees the proposal in its space, and can answer it there
    client.force_login(loop["company77"])
    html = html_of(client.get(reverse("opportunity-list")))
    assert "Accepter" in html or "accepter" in html
    accept_both(loop)
    mutual = Notification.objects.filter(kind=INTRODUCTION_MUTUAL)
    assert {n.user for n in mutual} == {loop["company77"], loop["company91"]}


def test_proposing_to_a_company_without_users_warns_the_advisor(client, loop):
    loop["company91"].establishments.clear()
    client.force_login(loop["advisor77"])
    response = client.post(reverse("suggestion-propose", args=[loop["s"].pk]), follow=True)
    html = html_of(response)
    assert "aucun compte utilisateur" in html and "Invitez" in html
    # the side of the partner chamber is named only if the advisor may see it
    assert "Chaufferie d&#x27;Évry-Test" in html or "Chaufferie d'Évry-Test" in html


def test_no_warning_when_both_companies_have_users(client, loop):
    client.force_login(loop["advisor77"])
    response = client.post(reverse("suggestion-propose", args=[loop["s"].pk]), follow=True)
    assert "aucun compte utilisateur" not in html_of(response)


def test_cannot_go_on_while_the_introduction_waits_for_answers(client, loop):
    s = loop["s"]
    introductions.propose_introduction(s, loop["advisor77"])
    with pytest.raises(ValidationError, match="pas encore accepté"):
        services.change_status(s, loop["advisor77"], "discussion")
    side77 = s.introductions.get(establishment=loop["e77"])
    introductions.respond_introduction(loop["company77"], side77, accept=True)
    client.force_login(loop["advisor77"])
    response = client.post(
        reverse("suggestion-transition", args=[s.pk]), {"to_status": "discussion"}
    )
    assert response.status_code == 400 and "pas encore accepté" in html_of(response)
    s.refresh_from_db()
    assert s.status == "proposed"
    side91 = s.introductions.get(establishment=loop["e91"])
    introductions.respond_introduction(loop["company91"], side91, accept=True)
    s.refresh_from_db()
    assert s.status == "discussion"
    services.change_status(s, loop["advisor77"], "implemented", "", 35.0)


def test_the_suggestion_page_audits_the_view_of_both_sides(client, loop):
    s = loop["s"]
    client.force_login(loop["advisor77"])
    assert client.get(reverse("suggestion-detail", args=[s.pk])).status_code == 200
    entries = AuditLog.objects.filter(user=loop["advisor77"], action=AuditLog.Action.VIEW_FLOWS)
    assert {e.establishment_id for e in entries} == {loop["e77"].pk, loop["e91"].pk}
    assert all(e.detail == f"suggestion {s.pk}" for e in entries)


@pytest.mark.parametrize("who", ["advisor78", "company77", None])
def test_others_see_no_suggestion_page_and_leave_no_audit(client, loop, who):
    if who:
        client.force_login(loop[who])
    response = client.get(reverse("suggestion-detail", args=[loop["s"].pk]))
    assert response.status_code in (302, 403, 404)
    assert not AuditLog.objects.exists()


def test_month_range_has_no_gap():
    assert _month_range([]) == []
    assert _month_range(["2025-11", "2026-02"]) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_dashboard_month_table_fills_empty_months(client, loop):
    VisitFactory(
        establishment=loop["e77"], advisor=loop["advisor77"], date=datetime.date(2025, 10, 3)
    )
    VisitFactory(
        establishment=loop["e77"], advisor=loop["advisor77"], date=datetime.date(2026, 1, 9)
    )
    client.force_login(loop["advisor77"])
    html = html_of(client.get("/tableau-de-bord/"))
    for month in ("2025-10", "2025-11", "2025-12", "2026-01"):
        assert f'<td class="month nowrap">{month}</td>' in html


def test_per_flow_search_runs_the_engine_live_and_lists_ranked_partners(client, loop):
    from maillage.flows.models import Flow

    offer = Flow.objects.get(establishment=loop["e77"], direction="offer")
    Suggestion.objects.all().delete()
    client.force_login(loop["advisor77"])
    page = html_of(client.get(reverse("establishment-detail", args=[loop["e77"].pk])))
    assert reverse("flow-partners", args=[offer.pk]) in page and "Chercher des partenaires" in page
    response = client.post(reverse("flow-partners", args=[offer.pk]), follow=True)
    html = html_of(response)
    assert "Recherche terminée" in html
    s = Suggestion.objects.get(kind="substitution", offer_flow=offer)
    assert s.need_flow.establishment == loop["e91"]
    partners = html.split('id="partners"')[1]
    assert reverse("suggestion-detail", args=[s.pk]) in partners
    assert "Chaufferie d" in partners and '<ul class="why"><li>' in partners
    audited = AuditLog.objects.filter(
        user=loop["advisor77"], detail=f"partenaires du flux {offer.pk}"
    )
    assert {e.establishment_id for e in audited} == {loop["e91"].pk}


@pytest.mark.parametrize("who, status", [("advisor78", 404), ("company77", 403), (None, 302)])
def test_others_cannot_search_or_read_a_flows_partners(client, loop, who, status):
    from maillage.flows.models import Flow

    offer = Flow.objects.get(establishment=loop["e77"], direction="offer")
    Suggestion.objects.all().delete()
    if who:
        client.force_login(loop[who])
    url = reverse("flow-partners", args=[offer.pk])
    assert client.get(url).status_code == status
    assert client.post(url).status_code == status
    assert not Suggestion.objects.exists()
    if who == "company77":  # its own page offers no such button
        page = html_of(client.get(reverse("establishment-detail", args=[loop["e77"].pk])))
        assert "Chercher des partenaires" not in page


def test_a_finished_run_links_to_its_suggestions(client, loop):

    run = DetectionRunFactory(chamber=loop["chambers"][0], state="done", progress=100)
    client.force_login(loop["advisor77"])
    html = html_of(client.get(reverse("detection-run", args=[run.pk])))
    assert reverse("suggestion-list") in html and "Voir les suggestions" in html


def test_no_status_change_to_the_same_status_and_old_ones_hidden(client, loop):
    s = loop["s"]
    with pytest.raises(ValidationError, match="déjà"):
        services.change_status(s, loop["advisor77"], "detected")
    SuggestionEventFactory(suggestion=s, from_status="detected", to_status="detected")
    client.force_login(loop["advisor77"])
    html = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    assert "détectée → détectée" not in html and "Aucun changement de statut" in html


def list_pks(client, **params) -> list[int]:
    import re

    response = client.get(reverse("suggestion-list"), params)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'href="/synergies/(\d+)/"', html_of(response))]


def test_suggestion_list_filters_and_sorts(client, loop, make_establishment):
    s = loop["s"]
    client.force_login(loop["advisor77"])
    assert s.pk in list_pks(client)
    assert s.pk in list_pks(client, entreprise="chaufferie")
    assert s.pk not in list_pks(client, entreprise="Boulangerie")
    assert s.pk in list_pks(client, commune="91228")
    assert s.pk in list_pks(client, commune="Melun")
    assert s.pk not in list_pks(client, commune="78646")
    assert s.pk in list_pks(client, ressource="bois")
    assert s.pk not in list_pks(client, ressource="chaleur")
    assert s.pk in list_pks(client, distance_max=s.distance_km + 1)
    assert s.pk not in list_pks(client, distance_max=s.distance_km / 2)
    assert s.pk in list_pks(client, score_min=s.score - 0.01)
    assert s.pk not in list_pks(client, score_min=min(1, s.score + 0.01))
    assert s.pk in list_pks(client, type="substitution", statut="detected")
    assert s.pk not in list_pks(client, statut="implemented")
    # sort: a second boiler, in Melun itself, is nearer than Évry
    near = make_establishment("77288", name="Chaufferie de Melun-Test", naf="35.30Z")
    FlowFactory(
        establishment=near, direction="need", resource_class="wood_fuel", quantity=20, unit="t"
    )
    services.detect()
    subs = Suggestion.objects.filter(kind="substitution", offer_flow__establishment=loop["e77"])
    assert subs.count() == 2
    nearest_first = [x.pk for x in subs.order_by("distance_km")]
    assert nearest_first[1] == s.pk
    assert list_pks(client, tri="distance", type="substitution") == nearest_first
    assert list_pks(client, tri="-distance", type="substitution") == nearest_first[::-1]
    bad = client.get(reverse("suggestion-list"), {"score_min": "beaucoup"})
    assert bad.status_code == 200 and "Saisissez un nombre" in html_of(bad)


@pytest.mark.parametrize("who, status", [("advisor78", 200), ("company77", 403), (None, 302)])
def test_suggestion_list_shows_nothing_to_others(client, loop, who, status):
    if who:
        client.force_login(loop[who])
    response = client.get(reverse("suggestion-list"), {"entreprise": "Chaufferie"})
    assert response.status_code == status
    if status == 200:
        assert reverse("suggestion-detail", args=[loop["s"].pk]) not in html_of(response)
