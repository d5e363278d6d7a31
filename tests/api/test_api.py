"""REST API: tokens, the access policy on every endpoint, audit, errors as JSON, OpenAPI."""

import pytest

from maillage.accounts.models import AuditLog
from maillage.accounts.tokens import create_token
from maillage.synergies import partners, services
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(territory):
    partners.clear_cache()
    offer, need = wood_synergy(territory, offered=400, needed=500, description="Sciure secrète")
    other = FlowFactory(
        establishment=territory["e78"],
        direction="offer",
        waste_code="15 01 03",
        quantity=3,
        unit="t",
        description="Palettes secrètes de Versailles",
    )
    services.detect()
    tokens = {
        who: create_token(territory[who], "test")
        for who in ("advisor77", "advisor91", "advisor78", "company77", "company78")
    }
    return {**territory, "offer": offer, "need": need, "other": other, "tokens": tokens}


def get(client, data, who, url):
    headers = {"Authorization": f"Bearer {data['tokens'][who]}"} if who else {}
    return client.get(f"/api{url}", headers=headers)


def test_anonymous_and_bad_tokens_get_401(client, data):
    assert client.get("/api/establishments").status_code == 401
    r = client.get("/api/flows", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "detail" in r.json()


def test_establishments_follow_the_policy(client, data):
    names = {e["name"] for e in get(client, data, "advisor77", "/establishments").json()["items"]}
    assert names == {"Scierie de Melun-Test", "Chaufferie d'Évry-Test"}
    names = {e["name"] for e in get(client, data, "company78", "/establishments").json()["items"]}
    assert names == {"Boulangerie de Versailles-Test"}
    assert get(client, data, "advisor78", f"/establishments/{data['e77'].pk}").status_code == 404


def test_flows_follow_the_policy_and_are_audited(client, data):
    r = get(client, data, "advisor91", "/flows")
    assert {f["id"] for f in r.json()["items"]} == {data["offer"].pk, data["need"].pk}
    assert AuditLog.objects.filter(user=data["advisor91"]).count() == 2
    for who in ("advisor78", "company78"):
        body = get(client, data, who, "/flows").content.decode()
        assert "Sciure secrète" not in body
    assert get(client, data, "company78", f"/flows/{data['offer'].pk}").status_code == 404
    own = get(client, data, "company77", f"/flows/{data['offer'].pk}").json()
    assert own["resource_class"] == "wood_waste" and own["waste_code"] == "030105"


def test_partners_of_a_flow(client, data):
    r = get(client, data, "advisor77", f"/flows/{data['offer'].pk}/partners")
    assert r.status_code == 200
    best = r.json()[0]
    assert (
        best["flow"] == data["need"].pk and best["establishment_name"] == "Chaufferie d'Évry-Test"
    )
    assert best["distance_km"] > 0 and 0 < best["score"] <= 1
    # the reverse query, from the need
    r = get(client, data, "advisor91", f"/flows/{data['need'].pk}/partners")
    assert [p["flow"] for p in r.json()] == [data["offer"].pk]
    # a company sees partners without their identity
    r = get(client, data, "company77", f"/flows/{data['offer'].pk}/partners")
    assert r.json()[0]["establishment"] is None and r.json()[0]["establishment_name"] is None
    anonymous = r.json()[0]
    assert anonymous["commune"] is None and anonymous["distance_km"] % 5 == 0
    assert "Évry" not in r.content.decode()
    assert get(client, data, "advisor78", f"/flows/{data['offer'].pk}/partners").status_code == 404


def test_suggestions_and_pipeline(client, data):
    r = get(client, data, "advisor77", "/suggestions?kind=substitution")
    items = r.json()["items"]
    s = next(i for i in items if i["need_flow"] == data["need"].pk)
    assert any("peut remplacer" in line for line in s["explanation"])
    headers = {"Authorization": f"Bearer {data['tokens']['advisor77']}"}
    r = client.post(
        f"/api/suggestions/{s['id']}/status",
        {"status": "implemented"},
        content_type="application/json",
        headers=headers,
    )
    assert r.status_code == 400 and "impossible" in r.json()["detail"]
    r = client.post(
        f"/api/suggestions/{s['id']}/status",
        {"status": "proposed", "note": "ok"},
        content_type="application/json",
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "proposed"
    headers78 = {"Authorization": f"Bearer {data['tokens']['advisor78']}"}
    r = client.post(
        f"/api/suggestions/{s['id']}/status",
        {"status": "discussion"},
        content_type="application/json",
        headers=headers78,
    )
    assert r.status_code == 404
    assert get(client, data, "company77", "/suggestions").json()["items"] == []
    assert Suggestion.objects.get(pk=s["id"]).status == "proposed"


def test_openapi_schema_and_docs(client, data):
    schema = client.get("/api/openapi.json").json()
    assert "/api/flows/{flow_id}/partners" in schema["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.content.decode().lower()  # works offline


def test_openapi_docs_speak_french(client, db):
    """Issue 16.12: an API summary in English. No operation keeps django-ninja's summary made
    from its Python name (« Get Suggestion »), and the schema descriptions /api/docs shows are
    French."""
    schema = client.get("/api/openapi.json").json()
    ops = [op for path in schema["paths"].values() for op in path.values()]
    assert len(ops) > 30
    for op in ops:
        # ninja's default summary: the function name, title-cased ("get_suggestion")
        name = op["operationId"]
        assert op["summary"] not in {
            " ".join(w.capitalize() for w in name.split("_")[k:])
            for k in range(len(name.split("_")))
        }, op["operationId"]
    detail = schema["paths"]["/api/suggestions/{suggestion_id}"]["get"]["summary"]
    assert detail.startswith("Une suggestion")
    legal = schema["components"]["schemas"]["LegalPathOut"]["description"]
    assert "droit français" in legal and "What a substitution" not in legal


def test_category_literal_matches_the_taxonomy():
    from typing import get_args

    from maillage.api.schemas import Category
    from maillage.engine.taxonomy import CATEGORIES

    assert set(get_args(Category)) - {""} == set(CATEGORIES)


def test_nul_characters_are_a_client_error(client, data):
    r = get(client, data, "advisor77", "/establishments?q=a%00b")
    assert r.status_code == 422
    r = get(client, data, "advisor77", "/flows?direction=x")
    assert r.status_code == 422
