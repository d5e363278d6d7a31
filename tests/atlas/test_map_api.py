"""GeoJSON map layers: what each role gets, statistical secrecy, downloads, query counts."""

from __future__ import annotations

import json

import pytest

from maillage.accounts.models import User
from maillage.directory.models import Establishment
from maillage.synergies.models import Suggestion
from tests.atlas.conftest import SECRET_FORMS, SECRET_QUANTITY
from tests.factories import FlowFactory
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def names(layer: dict) -> set[str]:
    return {f["properties"].get("name") for f in layer["features"]} - {None}


def get(client, url, user=None):
    if user is not None:
        client.force_login(user)
    return client.get(url)


def test_advisor_sees_own_and_agreement_establishments_coloured_by_category(client, mapped):
    layer = get(client, "/api/map/establishments", mapped["advisor77"]).json()
    assert names(layer) == {"Scierie de Melun-Test", "Chaufferie d'Évry-Test"}
    by_name = {f["properties"]["name"]: f for f in layer["features"]}
    melun = by_name["Scierie de Melun-Test"]
    assert melun["geometry"] == {"type": "Point", "coordinates": [2.6606, 48.5394]}
    assert melun["properties"]["category"] == "waste"
    assert by_name["Chaufferie d'Évry-Test"]["properties"]["category"] == "material"


def test_filters_category_direction_chamber_and_network(client, mapped):
    client.force_login(mapped["advisor77"])
    assert names(client.get("/api/map/establishments?category=waste").json()) == {
        "Scierie de Melun-Test"
    }
    assert names(client.get("/api/map/establishments?direction=need").json()) == {
        "Chaufferie d'Évry-Test"
    }
    assert names(client.get("/api/map/establishments?resource_class=wood_fuel").json()) == {
        "Chaufferie d'Évry-Test"
    }
    c91 = mapped["chambers"][1]
    assert names(client.get(f"/api/map/establishments?chamber={c91.pk}").json()) == {
        "Chaufferie d'Évry-Test"
    }

    club = NetworkFactory(name="Club test")
    MembershipFactory(establishment=mapped["e91"], network=club, since="2024-01-01")
    assert names(client.get(f"/api/map/establishments?network={club.pk}").json()) == {
        "Chaufferie d'Évry-Test"
    }
    assert client.get("/api/map/establishments?category=plutonium").status_code == 422


def test_matching_only_partner_sees_identity_but_not_flow_categories(client, mapped):
    from maillage.accounts.models import DataSharingAgreement

    mapped["agreement"].scope = DataSharingAgreement.Scope.MATCHING
    mapped["agreement"].save()
    layer = get(client, "/api/map/establishments", mapped["advisor91"]).json()
    melun = next(f for f in layer["features"] if f["properties"]["name"].startswith("Scierie"))
    assert melun["properties"]["category"] == "none" and melun["properties"]["n_flows"] == 0


def test_other_chamber_sees_nothing_of_ours(client, mapped):
    for url in ("/api/map/establishments", "/api/map/links", "/api/map/choropleth?level=commune"):
        body = get(client, url, mapped["advisor78"]).content.decode()
        assert "Melun-Test" not in body
        assert not any(secret in body for secret in SECRET_FORMS)


def test_links_join_two_visible_establishments(client, mapped):
    layer = get(client, "/api/map/links", mapped["advisor77"]).json()
    assert layer["features"], "the sawdust → wood fuel substitution is drawn"
    line = layer["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"] == [[2.6606, 48.5394], [2.441, 48.629]]
    assert get(client, "/api/map/links?status=implemented").json()["features"] == []
    assert get(client, "/api/map/links", mapped["advisor78"]).json()["features"] == []


def test_company_sees_itself_and_anonymised_opportunities_only(client, mapped):
    response = get(client, "/api/map/establishments", mapped["company77"])
    layer = response.json()
    kinds = [f["properties"]["kind"] for f in layer["features"]]
    assert kinds.count("establishment") == 1 and kinds.count("opportunity") >= 1
    body = response.content.decode()
    assert "Évry" not in body and "Chaufferie" not in body and "2.441" not in body
    opportunity = next(f for f in layer["features"] if f["properties"]["kind"] == "opportunity")
    # drawn at the company's own site, with a distance band and a quantity band
    assert opportunity["geometry"]["coordinates"] == [2.6606, 48.5394]
    assert opportunity["properties"]["distance_band_km"] % 5 == 0
    assert "à" in opportunity["properties"]["quantity_band"]
    assert get(client, "/api/map/links").json()["features"] == []


def test_anonymous_gets_no_establishments_and_suppressed_aggregates(client, mapped):
    assert client.get("/api/map/establishments").status_code == 401
    assert client.get("/api/map/links").status_code == 401
    response = client.get("/api/map/choropleth?level=commune")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Melun-Test" not in body
    assert not any(secret in body for secret in SECRET_FORMS)
    melun = next(f for f in response.json()["features"] if f["id"] == "77288")
    assert melun["properties"]["establishments"] is None
    assert melun["properties"]["quantity"] is None


def test_animator_map_is_public_aggregates(client, mapped, make_user):
    animator = make_user("anim", User.Role.ANIMATOR)
    assert get(client, "/api/map/establishments", animator).status_code == 403


def _melun(client, query=""):
    return next(
        f["properties"]
        for f in client.get(f"/api/map/choropleth?level=commune{query}").json()["features"]
        if f["id"] == "77288"
    )


def test_public_choropleth_publishes_groups_of_five(client, mapped, make_establishment):
    # four more sawmills in Melun: five establishments with an offer of wood waste, none dominant
    for i in range(4):
        e = make_establishment("77288", name=f"Scierie {i}")
        FlowFactory(
            establishment=e, direction="offer", waste_code="03 01 05", quantity=1500, unit="t"
        )
    feature = _melun(client)
    assert feature["establishments"] == 5
    assert feature["quantity"] == pytest.approx(float(SECRET_QUANTITY) + 6000, abs=0.1)
    epci = client.get("/api/map/choropleth?level=epci&category=waste").json()
    assert any(f["properties"]["quantity"] for f in epci["features"])
    assert (
        client.get("/api/map/choropleth?level=commune&category=energy").json()["features"][0][
            "properties"
        ]["quantity"]
        is None
    )


def test_public_choropleth_suppresses_a_dominant_contributor(client, mapped, make_establishment):
    # five establishments, but the first sawmill makes 4217 t of 4257 t (99 %): secret
    for i in range(4):
        e = make_establishment("77288", name=f"Scierie {i}")
        FlowFactory(
            establishment=e, direction="offer", waste_code="03 01 05", quantity=10, unit="t"
        )
    feature = _melun(client)
    assert feature["establishments"] == 5  # a count reveals no one
    assert feature["quantity"] is None
    body = client.get("/api/map/choropleth?level=commune&download=true").content.decode()
    assert not any(form in body for form in SECRET_FORMS)
    epci = client.get("/api/map/choropleth?level=epci").content.decode()
    assert not any(form in epci for form in SECRET_FORMS)


def test_public_choropleth_suppresses_two_dominant_contributors(client, mapped, make_establishment):
    # largest 4217 t (≈ 66 %, under 85 %), but with a second of 1800 t the two make 94 %
    quantities = [1800, 130, 130, 130]
    for i, q in enumerate(quantities):
        e = make_establishment("77288", name=f"Scierie {i}")
        FlowFactory(establishment=e, direction="offer", waste_code="03 01 05", quantity=q, unit="t")
    assert _melun(client)["quantity"] is None


def test_advisor_choropleth_is_exact_over_visible_territory(client, mapped):
    layer = get(client, "/api/map/choropleth?level=commune", mapped["advisor77"]).json()
    codes = {f["id"] for f in layer["features"]}
    assert "77288" in codes and "91228" in codes and "78646" not in codes
    melun = next(f for f in layer["features"] if f["id"] == "77288")
    assert melun["properties"]["quantity"] == pytest.approx(float(SECRET_QUANTITY))
    assert melun["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_download_is_an_attachment(client, mapped):
    response = get(client, "/api/map/establishments?download=true", mapped["advisor77"])
    assert response["Content-Disposition"] == (
        'attachment; filename="maillage-etablissements.geojson"'
    )
    assert json.loads(response.content)["type"] == "FeatureCollection"
    response = client.get("/api/map/background?download=true")
    assert "attachment" in response["Content-Disposition"]


def test_background_is_offline_departements(client, mapped):
    layer = client.get("/api/map/background").json()
    codes = {f["id"] for f in layer["features"]}
    assert {"77", "78", "91"} <= codes and "2A" not in codes
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in layer["features"])


def test_layers_use_a_fixed_number_of_queries(
    client, mapped, make_establishment, django_assert_max_num_queries
):
    client.force_login(mapped["advisor77"])
    urls = ["/api/map/establishments", "/api/map/links", "/api/map/choropleth?level=epci"]
    for url in urls:
        client.get(url)  # warm the session
    for _ in range(30):
        e = make_establishment("77288", name="Autre", latitude=48.54, longitude=2.66)
        FlowFactory(
            establishment=e, direction="need", resource_class="wood_fuel", quantity=5, unit="t"
        )
    from maillage.synergies import services

    services.detect()
    assert Suggestion.objects.count() > 1 and Establishment.objects.count() > 30
    for url in urls:
        with django_assert_max_num_queries(12):
            layer = client.get(url).json()
        assert layer["meta"]["count"] >= 2


def test_matching_only_partner_gets_no_quantity_for_our_areas(client, mapped):
    from maillage.accounts.models import DataSharingAgreement

    mapped["agreement"].scope = DataSharingAgreement.Scope.MATCHING
    mapped["agreement"].save()
    layer = get(client, "/api/map/choropleth?level=commune", mapped["advisor91"]).json()
    by_code = {f["id"]: f["properties"] for f in layer["features"]}
    assert by_code["77288"]["quantity"] is None and by_code["77288"]["establishments"] == 1
    assert by_code["91228"]["quantity"] == pytest.approx(500.0)  # its own flows: a need in t
