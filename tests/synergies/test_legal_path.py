"""The « Parcours réglementaire » of a suggestion on its page and in the API, with the
suggestion's own visibility."""

import pytest

from maillage.accounts.tokens import create_token
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory
from tests.flows.factories import scrap_synergy

pytestmark = pytest.mark.django_db


@pytest.fixture
def scrap(territory):
    """Steel scrap (17 04 05) in Melun (77) for a scrap need in Évry (91, partner chamber)."""
    offer, need = scrap_synergy(territory, offered=80, needed=100)
    services.detect()
    s = Suggestion.objects.get(kind=Suggestion.Kind.SUBSTITUTION, offer_flow=offer, need_flow=need)
    return {**territory, "s": s}


def api(client, user, pk):
    headers = {"Authorization": f"Bearer {create_token(user, 'test')}"} if user else {}
    return client.get(f"/api/suggestions/{pk}", headers=headers)


def test_page_shows_the_legal_path(client, scrap):
    client.force_login(scrap["advisor77"])
    page = client.get(f"/synergies/{scrap['s'].pk}/").content.decode()
    assert "Parcours réglementaire" in page
    assert "333/2011" in page  # scrap may leave waste status
    assert "récépissé de déclaration" in page
    assert "Trackdéchets" not in page  # not hazardous


def test_api_detail_has_the_legal_path(client, scrap):
    body = api(client, scrap["advisor91"], scrap["s"].pk).json()  # the partner chamber
    path = body["legal_path"]
    assert path["stays_waste"] is False
    assert "333/2011" in path["end_of_waste"]
    assert any("registre" in step.lower() for step in path["steps"])


def test_no_legal_path_for_a_resource_that_is_not_waste(client, territory):
    heat = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        resource_class="wood_fuel",
        quantity=80,
        unit="t",
    )
    FlowFactory(
        establishment=territory["e91"],
        direction="need",
        resource_class="wood_fuel",
        quantity=100,
        unit="t",
    )
    services.detect()
    s = Suggestion.objects.get(kind=Suggestion.Kind.SUBSTITUTION, offer_flow=heat)
    assert api(client, territory["advisor77"], s.pk).json()["legal_path"] is None
    client.force_login(territory["advisor77"])
    assert "Parcours réglementaire" not in client.get(f"/synergies/{s.pk}/").content.decode()


def test_others_cannot_read_the_legal_path(client, scrap):
    pk = scrap["s"].pk
    # another chamber's advisor, another company, an anonymous visitor
    assert api(client, scrap["advisor78"], pk).status_code == 404
    assert api(client, scrap["company78"], pk).status_code in (403, 404)
    assert api(client, scrap["company77"], pk).status_code in (403, 404)
    assert api(client, None, pk).status_code == 401
    for who in ("advisor78", "company78", "company77"):
        client.force_login(scrap[who])
        r = client.get(f"/synergies/{pk}/")
        assert r.status_code in (403, 404)
        assert "Parcours réglementaire" not in r.content.decode()
    client.logout()
    r = client.get(f"/synergies/{pk}/")
    assert r.status_code == 302 and "Parcours" not in r.content.decode()
