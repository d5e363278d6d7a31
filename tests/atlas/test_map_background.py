"""The readable offline background (départements, EPCI, communes per département, town labels),
the ranked synergy links (the best N, the rest on demand) and French numbers on the map."""

from __future__ import annotations

import pytest

from maillage.atlas import charts, selectors
from maillage.synergies import services
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db


def test_epci_background_covers_the_territory_departements(client, mapped):
    layer = client.get("/api/map/background?level=epci").json()
    assert layer["meta"]["layer"] == "epci"
    names = {f["properties"]["name"] for f in layer["features"]}
    assert any("Melun" in n for n in names)  # CA Melun Val de Seine
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in layer["features"])


def test_communes_background_is_served_one_departement_at_a_time(client, mapped):
    response = client.get("/api/map/background?level=communes&departement=77")
    assert response.status_code == 200
    layer = response.json()
    codes = {f["id"] for f in layer["features"]}
    assert "77288" in codes and all(code.startswith("77") for code in codes)
    assert next(f for f in layer["features"] if f["id"] == "77288")["properties"]["name"] == "Melun"
    # simplified: one département of about 500 communes stays well under a megabyte
    assert len(response.content) < 1_000_000


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("level=communes", 422),
        ("level=communes&departement=<b>", 422),
        ("level=communes&departement=99", 404),
        ("level=pays", 422),
    ],
)
def test_background_refuses_bad_queries_in_french(client, mapped, query, status):
    response = client.get(f"/api/map/background?{query}")
    assert response.status_code == status
    if status == 404:
        assert response.json()["detail"] == "Département inconnu."


def test_towns_are_the_main_town_halls_in_view(client, mapped):
    view = "west=2.3&south=48.4&east=2.9&north=48.7"
    big = client.get(f"/api/map/towns?{view}&min_population=30000").json()
    names = [f["properties"]["name"] for f in big["features"]]
    assert "Melun" in names and "Évry-Courcouronnes" in names
    assert "Versailles" not in names  # outside the view
    populations = [f["properties"]["population"] for f in big["features"]]
    assert populations == sorted(populations, reverse=True) and min(populations) >= 30000
    every = client.get(f"/api/map/towns?{view}").json()
    assert len(every["features"]) > len(big["features"])
    assert len(every["features"]) <= selectors.TOWNS_LIMIT


def test_towns_refuse_an_inverted_view(client, mapped):
    response = client.get("/api/map/towns?west=3&south=48&east=2&north=49")
    assert response.status_code == 422
    assert "Emprise invalide" in response.json()["detail"]


@pytest.fixture
def many_links(mapped, make_establishment):
    for i in range(3):
        e = make_establishment(
            "77288", name=f"Scierie {i}", latitude=48.54 + i / 100, longitude=2.66
        )
        FlowFactory(
            establishment=e, direction="offer", waste_code="03 01 05", quantity=100 + i, unit="t"
        )
    services.detect()
    return mapped


def test_links_are_the_best_by_score_with_the_total(client, many_links):
    client.force_login(many_links["advisor77"])
    every = client.get("/api/map/links?limit=2000").json()
    assert every["meta"]["total"] >= 3 and not every["meta"]["truncated"]
    best = client.get("/api/map/links?limit=2").json()
    assert len(best["features"]) == 2
    assert best["meta"]["truncated"] and best["meta"]["total"] == every["meta"]["total"]
    scores = sorted((f["properties"]["score"] for f in every["features"]), reverse=True)
    assert [f["properties"]["score"] for f in best["features"]] == scores[:2]
    assert client.get("/api/map/links?limit=0").status_code == 422
    assert client.get("/api/map/links?limit=2001").status_code == 422


def test_links_by_default_are_limited(client, many_links, monkeypatch):
    monkeypatch.setattr(selectors, "LINKS_DEFAULT", 1)
    client.force_login(many_links["advisor77"])
    layer = client.get("/api/map/links").json()
    assert len(layer["features"]) == 1 and layer["meta"]["truncated"]


def test_other_chamber_and_anonymous_get_no_links(client, many_links):
    client.force_login(many_links["advisor78"])
    assert client.get("/api/map/links?limit=2000").json()["features"] == []
    client.logout()
    response = client.get("/api/map/links?limit=2000")
    assert response.status_code in (401, 403) or response.json()["features"] == []


def test_numbers_are_french_on_the_map_and_charts():
    assert selectors._quantity_band(0.5, "t") == "0,1 à 1 t/an"
    assert selectors._quantity_band(4217.375, "t") == "1\xa0000 à 10\xa0000 t/an"
    assert selectors.quantity_text("12.500") == "12,5"
    assert selectors.quantity_text("4217.375") == "4\xa0217,375"
    assert selectors.quantity_text(300) == "300"
    assert charts._num(19.94) == "19,9"
    assert charts._num(12.0) == "12"
    assert charts._num(1234.4) == "1\xa0234"


@pytest.mark.parametrize("who", [None, "advisor78", "company78"])
def test_background_and_towns_are_reference_data_only(client, mapped, who):
    """Public layers (no credentials): the same for everyone, and no company data in them."""
    if who:
        client.force_login(mapped[who])
    urls = [
        "/api/map/background?level=epci",
        "/api/map/background?level=communes&departement=77",
        "/api/map/towns?west=2.3&south=48.4&east=2.9&north=48.7",
    ]
    for url in urls:
        body = client.get(url).content.decode()
        assert "Scierie de Melun-Test" not in body and "Sciure" not in body
        assert not any(form in body for form in ("217.375", "217,375"))
        assert "2.6606" not in body  # the sawmill's position


def test_the_background_is_served_from_the_precomputed_files_per_departement(
    client, mapped, monkeypatch
):
    """A fresh process draws the background from the small per-département files written by
    ``build_boundaries``: it never parses the France-wide contour caches (9–18 s before)."""
    from maillage.atlas import boundaries

    boundaries.ensure_background()
    assert (boundaries.background_dir() / "communes-77.json").exists()
    assert (boundaries.background_dir() / "epci-91.json").exists()
    for cached in (
        selectors._background,
        selectors._epci_background,
        selectors._communes_background,
        selectors._area_departements,
        boundaries.background_departements,
        boundaries.background_shapes,
        boundaries.shapes,
    ):
        cached.cache_clear()

    def whole_france(layer):
        raise AssertionError(f"the France-wide {layer} cache was read")

    monkeypatch.setattr(boundaries, "shapes", whole_france)
    for query in ("", "?level=epci", "?level=communes&departement=77"):
        response = client.get(f"/api/map/background{query}")
        assert response.status_code == 200 and response.json()["features"], query
    for level in ("epci", "commune"):  # the choropleth too
        response = client.get(f"/api/map/choropleth?level={level}")
        assert response.status_code == 200 and response.json()["features"], level
    melun = client.get("/api/map/background?level=communes&departement=77").json()
    assert next(f for f in melun["features"] if f["id"] == "77288")["properties"]["name"] == "Melun"
    deps = {f["id"] for f in client.get("/api/map/background").json()["features"]}
    assert {"77", "78", "91"} <= deps and "13" not in deps  # around the territories only


def test_without_the_precomputed_files_the_background_is_drawn_in_the_process(
    client, mapped, monkeypatch, tmp_path
):
    """A var dir prepared by an older version (France-wide caches only): requests still answer,
    drawing from those caches, and never wait for the full per-département build."""
    from maillage.atlas import boundaries

    for cached in (
        selectors._background,
        selectors._epci_background,
        selectors._communes_background,
        selectors._area_departements,
        boundaries.background_departements,
        boundaries.background_shapes,
    ):
        cached.cache_clear()
    monkeypatch.setattr(boundaries, "background_dir", lambda: tmp_path / "absent")
    monkeypatch.setattr(boundaries, "build", lambda *a, **k: pytest.fail("full build"))
    monkeypatch.setattr(
        boundaries, "build_background_from_cache", lambda *a, **k: pytest.fail("build")
    )
    communes = client.get("/api/map/background?level=communes&departement=77").json()
    assert "77288" in {f["id"] for f in communes["features"]}
    epci = client.get("/api/map/background?level=epci").json()
    assert any("Melun" in f["properties"]["name"] for f in epci["features"])
    for cached in (
        selectors._background,
        selectors._epci_background,
        selectors._communes_background,
        selectors._area_departements,
        boundaries.background_departements,
        boundaries.background_shapes,
    ):
        cached.cache_clear()  # later tests read the real files again
