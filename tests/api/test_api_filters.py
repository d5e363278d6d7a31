"""API list filters: establishments (naf, commune, epci, departement, active, visited), flows
(direction, category, resource class), suggestions (status, kind), each within the policy."""

import datetime

import pytest

from maillage.accounts.models import DataSharingAgreement
from maillage.accounts.tokens import create_token
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.factories import DataSharingAgreementFactory
from tests.flows.factories import VisitFactory, wood_synergy

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(territory):
    c77, _c91, c78 = territory["chambers"]
    # 78 may match with 77 (identities) but not read its flows or visits.
    DataSharingAgreementFactory(
        chamber_a=c78,
        chamber_b=c77,
        start=datetime.date(2024, 1, 1),
        scope=DataSharingAgreement.Scope.MATCHING,
    )
    offer, need = wood_synergy(territory, offered=400, needed=500)
    VisitFactory(
        establishment=territory["e77"], advisor=territory["advisor77"], date=datetime.date.today()
    )
    services.detect()
    return {**territory, "offer": offer, "need": need}


def ids(client, data, who, url):
    token = create_token(data[who], "test")
    response = client.get(f"/api{url}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_establishment_filters(client, data):
    # The 77 advisor sees 77, 91 (flows agreement) and 78 (matching agreement).
    e77, e91, e78 = data["e77"].pk, data["e91"].pk, data["e78"].pk
    cases = {
        "": {e77, e91, e78},
        "?naf=16": {e77},
        "?naf=35.30Z": {e91},
        "?commune=91228": {e91},
        "?departement=77": {e77},
        f"?epci={data['e77'].commune.epci_id}": {e77},
        "?active=true": {e77, e91, e78},
        "?active=false": set(),
        "?visited=true": {e77},
        "?visited=false": {e91, e78},
        "?departement=77&visited=false": set(),
        "?q=Boulangerie": {e78},
    }
    for query, expected in cases.items():
        assert ids(client, data, "advisor77", f"/establishments{query}") == expected, query
    assert ids(client, data, "company77", "/establishments?departement=91") == set()


def test_visited_only_counts_visits_the_user_may_see(client, data):
    e77 = data["e77"].pk
    # The 78 advisor sees the 77 establishment (matching agreement), not its visits.
    assert e77 in ids(client, data, "advisor78", "/establishments")
    assert e77 not in ids(client, data, "advisor78", "/establishments?visited=true")
    # A company sees its own visit.
    assert ids(client, data, "company77", "/establishments?visited=true") == {e77}


def test_flow_filters(client, data):
    offer, need = data["offer"].pk, data["need"].pk
    cases = {
        "": {offer, need},
        "?direction=offer": {offer},
        "?direction=need": {need},
        "?category=waste": {offer},
        f"?resource_class={data['need'].resource_class_id}": {need},
        "?resource_class=wood_waste&direction=need": set(),
        f"?establishment={data['e91'].pk}": {need},
    }
    for query, expected in cases.items():
        assert ids(client, data, "advisor91", f"/flows{query}") == expected, query
    assert ids(client, data, "advisor78", "/flows?resource_class=wood_waste") == set()


def test_suggestion_filters(client, data):
    visible = ids(client, data, "advisor77", "/suggestions")
    assert visible
    by_kind = {
        kind: ids(client, data, "advisor77", f"/suggestions?kind={kind}")
        for kind in ("substitution", "mutualisation", "prospect")
    }
    assert set().union(*by_kind.values()) == visible
    assert all(
        Suggestion.objects.get(pk=pk).kind == "substitution" for pk in by_kind["substitution"]
    )
    chosen = min(by_kind["substitution"])
    Suggestion.objects.filter(pk=chosen).update(status="proposed")
    assert ids(client, data, "advisor77", "/suggestions?status=proposed") == {chosen}
    assert chosen not in ids(client, data, "advisor77", "/suggestions?status=detected")
    assert ids(client, data, "advisor78", "/suggestions?status=proposed") == set()
